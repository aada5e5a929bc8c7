"""Two cycles of one tenant storing the same first read at once (a queued poll and `seatsync sync --once`, say):
each in its own connection, as two processes would be. Whoever comes second waits and finds the first one's rows,
instead of inserting the same companies again and failing on the unique key. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.db.engine import create_engine, session_factory
from bot.db.models import MarketplaceCompany, MarketplaceResource, PsaCompany, PsaService
from bot.sync.psa_cache import apply_psa_records
from bot.sync.snapshot import apply_marketplace_snapshot
from tests.conftest import PINNED_NOW
from tests.sync.generated_reads import marketplace_read, psa_read

COMPANIES = 40


async def twice_at_once(database_url: str, store) -> list:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        async def one(engine):
            async with session_factory(engine)() as session:
                result = await store(session)
                await session.commit()
                return result
        return await asyncio.gather(*(one(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()


async def test_two_first_marketplace_reads_at_once_store_each_company_once(database_url, session):
    diffs = await twice_at_once(database_url, lambda s: apply_marketplace_snapshot(
        session=s, marketplace="odin", snapshot=marketplace_read(COMPANIES, read_at=PINNED_NOW), now=PINNED_NOW))
    assert sorted(len(diff.new_subscriptions) for diff in diffs) == [0, COMPANIES]  # the second found the first's
    assert await session.scalar(select(func.count()).select_from(MarketplaceCompany)) == COMPANIES
    assert await session.scalar(select(func.count()).select_from(MarketplaceResource)) == COMPANIES


async def test_two_first_psa_reads_at_once_store_each_record_once(database_url, session):
    await twice_at_once(database_url, lambda s: apply_psa_records(
        session=s, psa="autotask", now=PINNED_NOW, complete=True, **psa_read(COMPANIES)))
    assert await session.scalar(select(func.count()).select_from(PsaCompany)) == COMPANIES
    assert await session.scalar(select(func.count()).select_from(PsaService)) == COMPANIES
