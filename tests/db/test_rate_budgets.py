"""A tenant's vendor budget is one token bucket in PostgreSQL, shared by every instance (bot.db.rate_budgets).
PostgreSQL only (SQLite runs one instance, paced by the in-process limiters): skipped, saying why, without it."""

import pytest
from sqlalchemy import text

from bot.db import rate_budgets
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.rate_budgets import TenantRateBudget, bucket_size
from bot.db.tenancy import DEFAULT_TENANT_ID, ensure_tenant
from tests.fresh_postgres import fresh_postgres_database


@pytest.fixture
async def instances():
    async for url in fresh_postgres_database("a budget shared between instances"):
        engines = [create_engine(url), create_engine(url)]
        await upgrade(engines[0])
        async with session_factory(engines[0])() as session:
            other = await ensure_tenant(session, team_id="T-other", enterprise_id=None, is_enterprise_install=False)
            await session.commit()
        yield [session_factory(engine) for engine in engines], other
        for engine in engines:
            await engine.dispose()


@pytest.mark.parametrize(("per_window", "window_s"), [(1, 1.0), (10, 60.0), (700, 60.0), (10_000, 3600.0)])
def test_the_burst_and_a_windows_refill_never_exceed_the_window(per_window, window_s):
    burst, rate = bucket_size(per_window, window_s)
    assert burst >= 1 and burst + rate * window_s <= max(per_window, 2)


async def test_two_instances_draw_from_one_bucket_per_tenant_and_vendor(instances):
    sessions, other = instances
    first, second = (TenantRateBudget(each, DEFAULT_TENANT_ID) for each in sessions)
    budget = dict(system="connectwise", per_window=20, window_s=60.0)  # a burst of 2, then 18 a minute
    assert [await first.reserve(**budget), await first.reserve(**budget)] == [0.0, 0.0]
    waits = [await second.reserve(**budget), await first.reserve(**budget)]
    assert 0 < waits[0] < waits[1]  # each later taker waits for a later token: queued, not refused
    assert await TenantRateBudget(sessions[1], other).reserve(**budget) == 0.0  # another tenant: its own bucket
    assert await second.reserve(system="halopsa", per_window=20, window_s=60.0) == 0.0  # another vendor too
    assert await second.reserve(system="connectwise", per_window=20, window_s=1.0) == 0.0  # and another window


async def test_a_token_is_taken_as_the_tenant_under_row_level_security(instances, monkeypatch):
    """The reservation runs its statement on the session's connection, not through the ORM: still as the app role,
    with the tenant set (a probe in place of the statement answers a positive level only then)."""
    (sessions, _), other = instances
    probe = text("SELECT CASE WHEN current_user = 'seatsync_app' AND current_setting('app.tenant_id') = "
                 "CAST(CAST(:tenant_id AS int) AS text) AND :scope = 'ingram/60s' AND CAST(:burst AS float) > 0 "
                 "AND CAST(:rate AS float) > 0 THEN 1.0 ELSE -1000.0 END")
    monkeypatch.setattr(rate_budgets, "_TAKE_ONE", probe)
    assert await TenantRateBudget(sessions, other).reserve(system="ingram", per_window=60, window_s=60.0) == 0.0
