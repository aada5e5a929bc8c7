"""After a large complete read on PostgreSQL the engine analyzes the tables it loaded (bot.sync.planner_stats):
tables the planner believes empty get nested-loop plans under row-level security. ANALYZE runs as the login user,
outside the application's role, which owns no table and could not. PostgreSQL only (a fresh database, never
analyzed): skipped, saying why, without it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from bot.sync import planner_stats
from bot.sync.planner_stats import ANALYZE_AFTER_ROWS, analyze_loaded_tables
from tests.conftest import TEST_SECRET_KEY
from tests.fresh_postgres import fresh_postgres_database
from tests.many_companies import insert_many_companies

pytestmark = pytest.mark.db

LOADED = ("marketplace_companies", "marketplace_subscriptions", "marketplace_resources", "psa_companies",
          "psa_contracts", "psa_services")


@pytest.fixture
async def postgres():
    async for url in fresh_postgres_database("analyzing bulk-loaded tables"):
        yield url


async def last_analyzed(engine) -> dict[str, object]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT relname, last_analyze FROM pg_stat_user_tables"))
        return {name: at for name, at in rows if name in LOADED}


async def test_a_large_load_is_analyzed_once_and_a_small_one_is_left_to_autovacuum(postgres, clock):
    engine = create_engine(postgres)
    await upgrade(engine)
    async with session_factory(engine)() as session:  # as the app role, with the default tenant
        await insert_many_companies(session=session, count=ANALYZE_AFTER_ROWS + 200, now=clock())
    assert set((await last_analyzed(engine)).values()) == {None}

    assert await analyze_loaded_tables(engine, {"marketplace_companies": ANALYZE_AFTER_ROWS}) == []  # not large
    analyzed = await analyze_loaded_tables(engine, {"marketplace_companies": ANALYZE_AFTER_ROWS + 200,
                                                    "psa_services": ANALYZE_AFTER_ROWS + 200})
    assert analyzed == ["marketplace_companies", "psa_services"]
    seen = await last_analyzed(engine)
    assert seen["marketplace_companies"] is not None and seen["psa_services"] is not None
    assert seen["psa_companies"] is None
    # the planner knows them now: the next complete read of as many rows analyzes nothing
    assert await analyze_loaded_tables(engine, {"marketplace_companies": ANALYZE_AFTER_ROWS + 200}) == []
    await engine.dispose()


async def test_the_engines_first_complete_read_analyzes_what_it_loaded(postgres, clock, today, monkeypatch):
    # the small simulated MSP holds 50 customers: the threshold is lowered to that size, the path is the real one
    monkeypatch.setattr(planner_stats, "ANALYZE_AFTER_ROWS", 10)
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=postgres, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    try:
        assert set((await last_analyzed(workspace.db)).values()) == {None}
        await workspace.engine.run_cycle(trigger="test")
        first = await last_analyzed(workspace.db)
        assert all(first[table] is not None for table in LOADED), first
        await workspace.engine.run_cycle(trigger="test", force_full=True)  # as many rows again: known already
        assert await last_analyzed(workspace.db) == first
    finally:
        await workspace.close()
