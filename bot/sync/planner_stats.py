"""PostgreSQL's planner statistics after a large complete read: ANALYZE the tables it loaded.

A first sync loads thousands of rows into tables the planner still believes empty (never analyzed); under
row-level security it then picks nested-loop plans, and a link picker took over 3 s after a bulk load, until
autovacuum got round to it. So after a complete read of one side, each of its tables that received more than
`ANALYZE_AFTER_ROWS` rows this read, and that the planner believes holds fewer than half as many (`pg_class.
reltuples`, -1 when never analyzed), is analyzed at once. Steady full reads, or a new tenant's rows in tables
that hold many others', analyze nothing: autovacuum keeps those.

ANALYZE needs the table's owner (or, from PostgreSQL 17, the MAINTAIN privilege). The application's transactions
run as the role `seatsync_app`, which owns nothing (bot.db.tenant_filter); ANALYZE runs on a plain connection of
the engine, outside that role, as the login user, who ran the migrations and owns the tables. A login user that
does not own them gets PostgreSQL's "skipping" warning and nothing is analyzed: the sync carries on either way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

ANALYZE_AFTER_ROWS = 1000
LOCK_TIMEOUT = "2s"  # another instance analyzing the same table: leave it to that one


async def analyze_loaded_tables(engine: AsyncEngine | None, loaded: Mapping[str, int]) -> list[str]:
    """ANALYZE each table of `loaded` (table name -> rows this complete read holds for it) that got more than
    ANALYZE_AFTER_ROWS rows and whose planner estimate is below half of that; the tables analyzed. No-op on SQLite
    (its planner needs no statistics for these queries)."""
    if engine is None or engine.dialect.name != "postgresql":
        return []
    large = {table: rows for table, rows in loaded.items() if rows > ANALYZE_AFTER_ROWS}
    if not large:
        return []
    estimate = text("SELECT relname, reltuples FROM pg_class WHERE relname IN :names "
                    "AND relnamespace = 'public'::regnamespace").bindparams(bindparam("names", expanding=True))
    try:
        async with engine.begin() as connection:  # no tenant session: the login user, not the app role
            believed = dict((await connection.execute(estimate, {"names": sorted(large)})).all())
            stale = [table for table, rows in sorted(large.items()) if believed.get(table, -1) < rows / 2]
            await connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            for table in stale:
                await connection.execute(text(f'ANALYZE "{table}"'))
    except Exception as exc:
        log.warning("planner statistics not refreshed after a large read (%s); autovacuum will", type(exc).__name__)
        return []
    if stale:
        log.info("analyzed %s after a large complete read", ", ".join(stale))
    return stale
