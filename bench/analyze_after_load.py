"""What analyzing after a large first read costs and buys (bot.sync.planner_stats): N marketplace and PSA companies
loaded at once into a fresh PostgreSQL database (as a first complete read does), then a join under row-level
security timed before and after `analyze_loaded_tables`, and the check of a second read that finds nothing stale.

    python bench/analyze_after_load.py [--companies 5000] [--repeats 5]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); it creates and drops its own database. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.db.engine import create_engine, session_factory  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import MarketplaceCompany, MarketplaceResource, MarketplaceSubscription  # noqa: E402
from bot.sync.planner_stats import analyze_loaded_tables  # noqa: E402
from tests.many_companies import insert_many_companies  # noqa: E402

TABLES = ("marketplace_companies", "marketplace_subscriptions", "marketplace_resources", "psa_companies",
          "psa_contracts", "psa_services")


async def timed_join(sessions, repeats: int) -> float:
    """Median seconds of a picker-like join of the three marketplace tables, as the app role under RLS."""
    query = (select(func.count()).select_from(MarketplaceResource)
             .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
             .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
             .where(MarketplaceCompany.name.ilike("%an%")))
    seconds = []
    for _ in range(repeats):
        async with sessions() as session:
            started = time.perf_counter()
            await session.scalar(query)
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


async def main(companies: int, repeats: int) -> dict:
    name = f"seatsync_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            await insert_many_companies(session=session, count=companies, now=datetime(2026, 11, 16, tzinfo=UTC))
        before = await timed_join(sessions, repeats)
        started = time.perf_counter()
        analyzed = await analyze_loaded_tables(engine, dict.fromkeys(TABLES, companies))
        analyze_s = time.perf_counter() - started
        after = await timed_join(sessions, repeats)
        started = time.perf_counter()
        again = await analyze_loaded_tables(engine, dict.fromkeys(TABLES, companies))
        check_s = time.perf_counter() - started
        await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {"companies": companies, "tables_analyzed": len(analyzed), "analyze_s": round(analyze_s, 3),
            "join_before_s": round(before, 4), "join_after_s": round(after, 4),
            "second_read_analyzed": len(again), "second_read_check_s": round(check_s, 4)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.companies, args.repeats))))
