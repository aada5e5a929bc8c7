"""Benchmark: how long the event loop waits while link suggestions pair thousands of companies.

Seeds a temporary SQLite database (migrated like production) with `--companies` marketplace and Autotask
companies spelled differently (`tests/many_companies.py`), then runs `suggest_links` while a ticker
on the same loop sleeps 10 ms at a time and records each gap between its turns. The pairing runs in a
worker thread, so the loop's longest gap stays far below the pairing's time; the unit test
(`tests/services/test_suggestions_off_loop.py`) checks that structure without any timing figure, this script
gives the figures. Prints one JSON line per run: the suggestion call's wall time, and the ticker's gap
p50/p99/max in ms.

    /work/venv/bin/python bench/suggestions_loop.py [--companies 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.clock import SYSTEM_CLOCK
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.services.suggestions import suggest_links

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the seeder lives with the tests

from tests.many_companies import insert_many_companies  # noqa: E402


async def one_run(sessions) -> dict:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    async with sessions() as session:
        suggestions = await suggest_links(session=session, psa="autotask")
    took = time.perf_counter() - started
    done.set()
    await ticking
    ordered = sorted(gaps)
    return {"suggestions": len(suggestions), "wall_s": round(took, 2),
            "gap_p50_ms": round(statistics.median(ordered) * 1000, 1),
            "gap_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
            "gap_max_ms": round(ordered[-1] * 1000, 1)}


async def main(companies: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="seatsync-bench-") as folder:
        db = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        try:
            await upgrade(db)
            sessions = session_factory(db)
            async with sessions() as session:
                await insert_many_companies(session=session, count=companies, now=SYSTEM_CLOCK())
            for _ in range(runs):
                print(json.dumps({"companies": companies, **await one_run(sessions)}), flush=True)
        finally:
            await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.companies, arguments.runs))
