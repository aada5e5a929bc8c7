"""Benchmark: read a whole `large` ConnectWise sandbox through ConnectWiseClient, 20 ms per call.

Reads companies, agreements, every agreement's additions (with catalog names), as a sync cycle's PSA
read does, then, apart, the units of every addition (`read_units` of them all, one call per agreement:
a pass no cycle makes, since posting reads only the services it is about to change); prints one JSON
line: calls and wall time of the read (`list_calls`, `list_wall_s`) and of the units pass, records read.

    python bench/read_connectwise.py [--scale large] [--latency-ms 20] [--requests-per-minute 600]

The client keeps to its default limiter (600 requests a minute, 6 in flight); additions are listed per
agreement, so the wall time is set by that limit, not by latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bot.connectors.connection import Connection
from bot.connectors.psa.connectwise.api import REQUESTS_PER_MINUTE
from bot.connectors.psa.connectwise.client import ConnectWiseClient
from bot.sandbox.app import Sandbox


async def run(scale: str, latency_ms: float, requests_per_minute: int) -> dict:
    sandbox = await Sandbox.generate(seed=1, scale=scale).start()  # type: ignore[arg-type]
    sandbox.faults["connectwise"].update({"latency_ms": latency_ms})
    cfg = sandbox.config()["connectwise"]
    connection = Connection("connectwise", cfg["site_url"],
                            {"company_id": cfg["company_id"], "public_key": cfg["public_key"],
                             "client_id": cfg["client_id"]},
                            {"private_key": cfg["private_key"]})
    client = ConnectWiseClient.from_connection(connection, requests_per_minute=requests_per_minute,
                                               today=lambda: sandbox.world.today)
    try:
        started = time.monotonic()
        companies = await client.list_companies()
        contracts = await client.list_contracts()
        services = await client.list_services()
        read_at, list_calls = time.monotonic(), client.stats.total
        units = await client.read_units([s.external_id for s in services])
        finished = time.monotonic()
    finally:
        await client.aclose()
        await sandbox.stop()
    return {
        "bench": "read_connectwise", "scale": scale, "latency_ms": latency_ms,
        "requests_per_minute": requests_per_minute, "list_calls": list_calls,
        "units_calls": client.stats.total - list_calls, "calls": client.stats.total, "retries": client.stats.retries,
        "wall_s": round(finished - started, 1), "list_wall_s": round(read_at - started, 1),
        "units_wall_s": round(finished - read_at, 1),
        "records": {"companies": len(companies), "contracts": len(contracts), "services": len(services),
                    "units": len(units)},
        "by_operation": dict(client.stats.by_operation), "by_status": dict(client.stats.by_status),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "large"))
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--requests-per-minute", type=int, default=REQUESTS_PER_MINUTE)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.scale, args.latency_ms, args.requests_per_minute))))


if __name__ == "__main__":
    main()
