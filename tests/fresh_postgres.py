"""A PostgreSQL database of its own for a test that needs PostgreSQL whatever the suite runs on (the job queue,
shared request budgets, several instances): created at 127.0.0.1:5432 as postgres, migrated when asked, dropped
after. Without a server there the test is skipped, saying why."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

PG = dict(host="127.0.0.1", port=5432, user="postgres")


async def fresh_postgres_database(purpose: str) -> AsyncIterator[str]:
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect(**PG, database="postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"{purpose} needs PostgreSQL: nothing usable answers at 127.0.0.1:5432 as postgres ({exc})")
    name = f"seatsync_e2e_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
