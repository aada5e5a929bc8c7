"""Benchmark: read the whole `large` sandbox marketplace from Odin BA through OdinClient.

Starts a large sandbox in-process with 20 ms latency per call, reads the companies and every
subscription with its resources (XML-RPC, one call per customer and per subscription, 8 in flight,
at most the client's default 200 calls a second), twice: the first read (every customer's name from
AccountDetailsGet_API) and the next cycle's (names cached until the complete-read cadence comes round).
Prints one JSON line: calls per read (stats), wall time and records read.

    /work/venv/bin/python bench/read_odin.py [--seed 1] [--latency-ms 20] [--in-flight 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import date

from bot.connectors.connection import Connection
from bot.connectors.marketplace.odin.client import OdinClient
from bot.sandbox.app import Sandbox


async def run(seed: int, latency_ms: float, in_flight: int) -> dict:
    sandbox = await Sandbox.generate(seed=seed, scale="large", today=date.today()).start()
    sandbox.faults["odin"].update({"latency_ms": latency_ms})
    cfg = sandbox.config()["odin"]
    client = OdinClient.from_connection(
        Connection("odin", cfg["url"], {}, {"username": cfg["username"], "password": cfg["password"]}),
        max_in_flight=in_flight)
    try:
        started = time.perf_counter()
        companies = await client.list_companies()
        subscriptions = await client.list_subscriptions()
        wall = time.perf_counter() - started
        first = dict(client.stats.by_operation)
        client.stats.reset()
        started = time.perf_counter()
        await client.list_companies()
        await client.list_subscriptions()
        next_wall = time.perf_counter() - started
    finally:
        await client.aclose()
        await sandbox.stop()
    resources = [r for s in subscriptions for r in s.resources]
    return {
        "benchmark": "read_odin", "scale": "large", "seed": seed, "latency_ms": latency_ms, "in_flight": in_flight,
        "calls": sum(first.values()), "wall_s": round(wall, 2),
        "next_cycle_calls": client.stats.total, "next_cycle_wall_s": round(next_wall, 2),
        "next_cycle_by_operation": dict(client.stats.by_operation),
        "records": {"companies": len(companies), "subscriptions": len(subscriptions), "resources": len(resources),
                    "total": len(companies) + len(subscriptions) + len(resources)},
        "units": sum(r.total for r in resources),
        "calls_by_operation": first,
        "retries": client.stats.retries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.seed, args.latency_ms, args.in_flight))))


if __name__ == "__main__":
    main()
