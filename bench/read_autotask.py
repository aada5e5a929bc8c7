"""Benchmark: read the whole `large` sandbox MSP from Autotask through AutotaskClient.

Starts a large sandbox in-process with 20 ms latency per call, reads companies, Recurring Service
contracts and every contract service with its units (list_services reads the units in effect today),
then reads the units of every service again the way the poster does (read_units), and prints one JSON
line: calls (stats.total), wall time and records read.

    /work/venv/bin/python bench/read_autotask.py [--seed 1] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import date

from bot.connectors.connection import Connection
from bot.connectors.psa.autotask.client import AutotaskClient
from bot.sandbox.app import Sandbox


async def run(seed: int, latency_ms: float) -> dict:
    sandbox = await Sandbox.generate(seed=seed, scale="large", today=date.today()).start()
    sandbox.faults["autotask"].update({"latency_ms": latency_ms})
    cfg = sandbox.config()["autotask"]
    connection = Connection("autotask", cfg["url"], {"username": cfg["username"]},
                            {"integration_code": cfg["integration_code"], "secret": cfg["secret"]})
    try:
        async with AutotaskClient.from_connection(connection, today=lambda: sandbox.world.today) as client:
            started = time.perf_counter()
            companies = await client.list_companies()
            contracts = await client.list_contracts()
            services = await client.list_services()
            wall = time.perf_counter() - started
            calls, by_operation = client.stats.total, dict(client.stats.by_operation)
            started = time.perf_counter()
            units = await client.read_units([s.external_id for s in services])
            units_wall = time.perf_counter() - started
            return {
                "benchmark": "read_autotask", "scale": "large", "seed": seed, "latency_ms": latency_ms,
                "calls": calls, "wall_s": round(wall, 2),
                "records": {"companies": len(companies), "contracts": len(contracts), "services": len(services),
                            "total": len(companies) + len(contracts) + len(services)},
                "calls_by_operation": by_operation,
                "read_units_all": {"services": len(units), "calls": client.stats.total - calls,
                                   "wall_s": round(units_wall, 2)},
                "retries": client.stats.retries,
            }
    finally:
        await sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.seed, args.latency_ms))))


if __name__ == "__main__":
    main()
