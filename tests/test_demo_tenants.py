"""`seatsync demo --once --tenants N`: N MSPs on one install, each in sync, none shown another's rows. On SQLite
(the ORM's filter) and on PostgreSQL (row security; skipped, saying why, without a server at 127.0.0.1:5432)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import with_loader_criteria

from bot.__main__ import main
from bot.db.engine import create_engine, session_factory
from bot.db.models import Tenant, TenantOwned
from tests.conftest import TEST_SECRET_KEY
from tests.fresh_postgres import fresh_postgres_database


@pytest.fixture
def demo_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEATSYNC_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return monkeypatch


@pytest.fixture
async def postgres_demo_url():
    async for url in fresh_postgres_database("the multi-tenant demo on PostgreSQL"):
        yield url


def _verdict(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _assert_two_tenants_in_sync(line: dict) -> None:
    assert line["tenants"] == 2 and line["cross_tenant_reads"] == 0
    assert line["in_sync"] is True and line["duplicate_writes"] == 0
    teams = [tenant["team_id"] for tenant in line["per_tenant"]]
    assert teams == ["TDEMO0003", "TDEMO0004"]
    assert all(tenant["linked"] > 0 and tenant["in_sync"] for tenant in line["per_tenant"])
    for key in ("linked", "adjustments_posted", "failed", "psa_writes", "duplicate_writes"):
        assert line[key] == sum(tenant[key] for tenant in line["per_tenant"])


def test_two_msps_on_sqlite_each_end_in_sync(demo_env, capsys, clock) -> None:
    assert main(["demo", "--once", "--tenants", "2", "--days", "1", "--seed", "3"], clock=clock) == 0
    _assert_two_tenants_in_sync(_verdict(capsys))


def test_two_msps_on_postgresql_each_end_in_sync_under_their_own_keys(demo_env, capsys, clock,
                                                                       postgres_demo_url) -> None:
    demo_env.setenv("DATABASE_URL", postgres_demo_url)
    assert main(["demo", "--once", "--tenants", "2", "--days", "1", "--seed", "3"], clock=clock) == 0
    line = _verdict(capsys)
    _assert_two_tenants_in_sync(line)

    async def installs() -> list[tuple[int, str, bool]]:
        engine = create_engine(postgres_demo_url)
        try:
            async with session_factory(engine)() as session:
                rows = await session.execute(select(Tenant.id, Tenant.install_key, Tenant.data_key_wrapped)
                                             .where(Tenant.team_id.is_not(None)).order_by(Tenant.id))
                return [(tenant_id, key, wrapped is not None) for tenant_id, key, wrapped in rows]
        finally:
            await engine.dispose()

    assert asyncio.run(installs()) == [(tenant["tenant_id"], f"team:{tenant['team_id']}", True)
                                       for tenant in line["per_tenant"]]


def test_the_demos_count_comes_from_a_probe_that_sees_a_forgotten_filter(demo_env, capsys, clock) -> None:
    """The same run, the tenant filter switched off while the probe reads every tenant-owned table as each tenant
    (each tenant's own run stays as it was): each tenant's rows reach the other, and the JSON line counts them.
    (Switched off for the screen-shaped paths too, the configuration would fail loudly on another tenant's
    secrets, which its data key does not open.)"""
    import bot.db.tenant_filter as tenant_filter
    import bot.services.tenant_probe as tenant_probe

    foreign_rows = tenant_probe._foreign_rows

    async def foreign_rows_without_filter(sessions, tenant_id: int) -> int:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tenant_filter, "_criteria", lambda tenant: with_loader_criteria(
                TenantOwned, lambda cls: cls.tenant_id == cls.tenant_id, include_aliases=True))
            return await foreign_rows(sessions, tenant_id)

    demo_env.setattr(tenant_probe, "_foreign_rows", foreign_rows_without_filter)
    assert main(["demo", "--once", "--tenants", "2", "--days", "1", "--seed", "3"], clock=clock) == 0
    line = _verdict(capsys)
    assert line["in_sync"] is True and line["cross_tenant_reads"] > 0


@pytest.mark.parametrize(("args", "reason"), [
    (["--tenants", "2"], "--tenants is for the scripted run: add --once"),
    (["--once", "--tenants", "0"], "--tenants 0 must be between 1 and 20"),
    (["--once", "--tenants", "2", "--invoice-check"], "--invoice-check runs for one MSP: leave out --tenants"),
])
def test_the_cli_refuses_tenants_where_they_cannot_run(demo_env, capsys, clock, args, reason) -> None:
    assert main(["demo", *args], clock=clock) == 2
    assert capsys.readouterr().err.strip() == f"seatsync demo: {reason}"
