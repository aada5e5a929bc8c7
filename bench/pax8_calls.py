"""Calls per Pax8 read against ceil(n/200) per list: a complete cycle's read and a no-change cycle's read (the
same: Pax8 cannot filter by modification), for the small and large sandbox books.

    python bench/pax8_calls.py [--scale small|large] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from datetime import date, timedelta

from bot.connectors.connection import Connection
from bot.connectors.registry import VENDORS
from bot.sandbox.app import Sandbox


async def measure(scale: str, seed: int) -> dict:
    sandbox = Sandbox.generate(seed=seed, scale=scale, today=date(2026, 11, 16), bill_pax8_in_psas=True)
    await sandbox.start()
    vendor = VENDORS.get("pax8")
    base, options, secrets = vendor.demo.connection(sandbox.config())
    client = vendor.build(Connection("pax8", base, options, secrets))
    book = sandbox.world.pax8
    expected = {"companies": math.ceil(len(book.companies) / 200),
                "subscriptions": math.ceil(len(book.subscriptions) / 200)}
    result = {"scale": scale, "companies": len(book.companies), "subscriptions": len(book.subscriptions),
              "ceil_n_over_200": expected}
    try:
        for name, since in (("complete", None), ("no_change", sandbox.world.now() - timedelta(minutes=5))):
            client.stats.reset()
            started = time.monotonic()
            await client.list_companies()
            await client.list_subscriptions(modified_since=since)
            result[name] = {**client.stats.by_operation, "total": client.stats.total,
                            "seconds": round(time.monotonic() - started, 2)}
    finally:
        await client.aclose()
        await sandbox.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "large"), default="large")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.scale, args.seed))))


if __name__ == "__main__":
    main()
