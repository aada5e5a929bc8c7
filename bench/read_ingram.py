"""Benchmark: read the whole `large` sandbox marketplace from Ingram CMP through IngramClient.

Starts a large sandbox in-process with 20 ms latency per call, reads the companies and every
subscription with its products (one details call per subscription: the list carries no products),
and prints one JSON line: calls (stats.total), wall time and records read. The client keeps to its
default 900 calls per minute (the sandbox gateway allows 1000 per key), so the quota, not latency,
sets the wall time of a full read. `--since-days N` also times the incremental read a fresh process makes (a
second client, which remembers nothing: the day rule, the subscriptions modified in the last N days and the orders
placed since; a client that has read before fetches only what changed since its last read).

    /work/venv/bin/python bench/read_ingram.py [--seed 1] [--latency-ms 20] [--since-days 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta

from bot.connectors.connection import Connection
from bot.connectors.marketplace.ingram.client import IngramClient
from bot.sandbox.app import Sandbox


async def run(seed: int, latency_ms: float, since_days: int | None) -> dict:
    sandbox = await Sandbox.generate(seed=seed, scale="large", today=date.today()).start()
    sandbox.faults["ingram"].update({"latency_ms": latency_ms})
    cfg = sandbox.config()["ingram"]
    connection = Connection("ingram", cfg["url"], {"username": cfg["username"], "marketplace": cfg["marketplace"]},
                            {"subscription_key": cfg["subscription_key"], "password": cfg["password"]})
    client = IngramClient.from_connection(connection)
    result: dict = {"benchmark": "read_ingram", "scale": "large", "seed": seed, "latency_ms": latency_ms}
    try:
        started = time.perf_counter()
        companies = await client.list_companies()
        subscriptions = await client.list_subscriptions()
        wall = time.perf_counter() - started
        resources = [r for s in subscriptions for r in s.resources]
        result.update({
            "calls": client.stats.total, "wall_s": round(wall, 2),
            "records": {"companies": len(companies), "subscriptions": len(subscriptions),
                        "resources": len(resources), "total": len(companies) + len(subscriptions) + len(resources)},
            "units": sum(r.total for r in resources),
            "calls_by_operation": dict(client.stats.by_operation),
            "retries": client.stats.retries, "status_429": client.stats.by_status.get("429", 0),
        })
        if since_days is not None:
            fresh = IngramClient.from_connection(connection)
            since = datetime.combine(sandbox.world.today - timedelta(days=since_days), datetime.min.time(), UTC)
            started = time.perf_counter()
            try:
                changed = await fresh.list_subscriptions(modified_since=since)
            finally:
                await fresh.aclose()
            result["incremental"] = {"since_days": since_days, "subscriptions": len(changed),
                                     "calls": fresh.stats.total, "wall_s": round(time.perf_counter() - started, 2)}
    finally:
        await client.aclose()
        await sandbox.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--since-days", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.seed, args.latency_ms, args.since_days))))


if __name__ == "__main__":
    main()
