"""Every table belongs to a tenant but the few global ones, and nothing reads a tenant's table around the filter."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from bot.db.models import GLOBAL_TABLES, Base
from bot.db.tenant_filter import APP_ROLE
from bot.db.tenant_rls import POLICY

ROOT = Path(__file__).resolve().parents[2]


def test_every_table_but_the_global_ones_has_a_tenant():
    missing = sorted(name for name, table in Base.metadata.tables.items()
                     if name not in GLOBAL_TABLES and "tenant_id" not in table.c)
    assert missing == [], f"tables without tenant_id (add TenantOwned, or name them in GLOBAL_TABLES): {missing}"
    assert set(Base.metadata.tables) >= GLOBAL_TABLES


def test_no_statement_on_a_bare_tenant_table():
    """On SQLite the ORM adds the tenant to statements on mapped classes: one built on `Model.__table__` (or on
    a table() of its own) would escape it, so SeatSync's code builds none for a tenant's table."""
    global_models = {"SchedulerLease", "SlackDelivery", "Tenant"}
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "web").rglob("*.py")):
        if "sandbox" in path.parts or "migrations" in path.parts:
            continue
        for model in re.findall(r"(\w+)\.__table__", path.read_text()):
            if model not in global_models:
                offenders.append(f"{path.relative_to(ROOT)}: {model}.__table__")
    assert offenders == []


async def test_postgres_forces_the_tenant_policy_on_every_tenant_table(engine):
    if engine.dialect.name != "postgresql":
        return
    owned = {name for name in Base.metadata.tables if name not in GLOBAL_TABLES}
    async with engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = :policy) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"), {"policy": POLICY})).all()
        app_role = (await connection.execute(text(
            "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = :role"),
            {"role": APP_ROLE})).one()
    guarded = {name for name, enabled, forced, policy in rows if enabled and forced and policy}
    assert owned - guarded == set()
    assert tuple(app_role) == (False, False, False)
