"""As tenant B against tenant A's data: the ORM, raw SQL (PostgreSQL), every report, the screens' read paths,
secrets, the lifecycle. On SQLite and PostgreSQL alike (the suite's second pass)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import with_loader_criteria

from bot.db.connections import load_connection, save_connection
from bot.db.engine import session_factory
from bot.db.models import Base, MarketplaceCompany, Tenant, TenantOwned
from bot.db.tenancy import (
    active_tenant_ids,
    ensure_tenant,
    mark_tenant_uninstalled,
    purge_expired_tenants,
    sessions_for_tenant,
    tenant_scope,
)
from bot.db.tenant_filter import APP_ROLE, TenantMismatch
from bot.domain.enums import TenantStatus
from bot.keys import SecretBox, SecretDecryptionError
from bot.reports.catalogue import MONTHLY, REPORTS, parse_filters, run_report
from bot.services.tenant_probe import probe_cross_tenant_reads
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY
from tests.tenancy.conftest import TEAM_B

OWNED = sorted((m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantOwned)),
               key=lambda model: model.__tablename__)


async def _report_rows(sessions) -> dict[str, int]:
    counts = {}
    async with sessions() as session:
        for name in REPORTS:
            pairs = [("month", "2026-11")] if name in MONTHLY else []
            report = await run_report(name, session=session, filters=parse_filters(pairs, today=PINNED_NOW.date()))
            counts[name] = sum([1 async for _ in report.rows])
    return counts


async def test_tenant_b_reads_nothing_of_tenant_a(engine, tenants):
    sessions = session_factory(engine)
    with tenant_scope(tenants.a):
        async with sessions() as session:
            seen_by_a = {m.__tablename__: await session.scalar(select(func.count()).select_from(m)) for m in OWNED}
        reports_a = await _report_rows(sessions)
    assert seen_by_a["marketplace_companies"] > 0 and reports_a["unlinked"] > 0  # A has data to leak

    with tenant_scope(tenants.b):
        async with sessions() as session:
            seen_by_b = {m.__tablename__: len((await session.scalars(select(m))).all()) for m in OWNED}
            joined = await session.scalar(select(func.count()).select_from(MarketplaceCompany)
                                          .join(MarketplaceCompany.subscriptions))
        reports_b = await _report_rows(sessions)
    assert {table: n for table, n in seen_by_b.items() if n} == {}
    assert joined == 0
    assert {name: n for name, n in reports_b.items() if n} == {}


async def test_the_probe_counts_no_cross_tenant_reads(engine, tenants):
    assert await probe_cross_tenant_reads(sessions=session_factory(engine), box=SecretBox(TEST_SECRET_KEY),
                                          now=PINNED_NOW) == 0


async def test_the_probe_sees_a_read_that_forgets_its_tenant(engine, tenants, monkeypatch):
    """The probe is not blind: with the filter switched off (SQLite's ORM criteria; PostgreSQL's role, so the
    superuser's bypass shows), A's rows reach B's read paths and are counted."""
    import bot.db.tenant_filter as tenant_filter

    if engine.dialect.name == "postgresql":
        monkeypatch.setattr(tenant_filter, "set_tenant", lambda connection, tenant_id: None)
    else:
        monkeypatch.setattr(tenant_filter, "_criteria", lambda tenant: with_loader_criteria(
            TenantOwned, lambda cls: cls.tenant_id == cls.tenant_id, include_aliases=True))
    assert await probe_cross_tenant_reads(sessions=session_factory(engine), box=SecretBox(TEST_SECRET_KEY),
                                          now=PINNED_NOW) > 0


async def test_the_same_external_ids_live_in_two_tenants(engine, tenants):
    sessions = session_factory(engine)
    with tenant_scope(tenants.a):
        async with sessions() as session:
            a_company = await session.scalar(select(MarketplaceCompany).limit(1))
    with tenant_scope(tenants.b):
        async with sessions() as session:
            session.add(MarketplaceCompany(marketplace=a_company.marketplace, external_id=a_company.external_id,
                                           name="Bravo's customer"))
            await session.commit()
            names = list(await session.scalars(select(MarketplaceCompany.name)))
            with pytest.raises(IntegrityError):  # still unique within one tenant
                session.add(MarketplaceCompany(marketplace=a_company.marketplace,
                                               external_id=a_company.external_id, name="again"))
                await session.flush()
    assert names == ["Bravo's customer"]


async def test_each_tenants_secrets_are_under_its_own_data_key(engine, tenants):
    sessions, box = session_factory(engine), SecretBox(TEST_SECRET_KEY)
    with tenant_scope(tenants.b):
        async with sessions() as session:
            await save_connection(session=session, box=box, system="autotask", base_url="https://b.example.com",
                                  options={"username": "b@example.com"}, secrets={"secret": "bravo-s3cret"},
                                  actor="U1")
            await session.commit()
            loaded = await load_connection(session=session, box=box, system="autotask")
            stored = await session.scalar(text("SELECT secrets_ciphertext FROM connection_settings"))
            wrapped = await session.scalar(select(Tenant.data_key_wrapped).where(Tenant.id == tenants.b))
    assert loaded.secrets == {"secret": "bravo-s3cret"}
    assert "bravo" not in stored and wrapped
    with pytest.raises(SecretDecryptionError):  # not under the master key
        box.decrypt(stored)
    with tenant_scope(tenants.a):
        async with sessions() as session:
            assert await load_connection(session=session, box=box, system="autotask") is None


async def test_a_tenant_bound_session_refuses_another_tenants_scope(engine, tenants):
    sessions = sessions_for_tenant(session_factory(engine), tenants.b)
    with tenant_scope(tenants.a), pytest.raises(TenantMismatch):
        async with sessions() as session:
            await session.scalar(select(MarketplaceCompany.id))


async def test_postgres_a_transaction_without_a_tenant_sees_and_writes_nothing(engine, tenants):
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as connection:
        await connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        assert await connection.scalar(text("SELECT count(*) FROM marketplace_companies")) == 0
        assert await connection.scalar(text("SELECT count(*) FROM adjustments")) == 0
        with pytest.raises(DBAPIError, match="row-level security"):
            await connection.execute(text(
                "INSERT INTO app_settings (tenant_id, key, value, updated_by, updated_at) "
                "VALUES (1, 'x', '{}', 'probe', now())"))


async def test_postgres_raw_sql_as_b_sees_nothing_and_cannot_write_as_a(engine, tenants):
    if engine.dialect.name != "postgresql":
        return
    sessions = session_factory(engine)
    with tenant_scope(tenants.b):
        async with sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM marketplace_companies")) == 0
            with pytest.raises(DBAPIError, match="row-level security"):
                await session.execute(text(
                    "INSERT INTO app_settings (tenant_id, key, value, updated_by, updated_at) "
                    "VALUES (:a, 'x', '{}', 'probe', now())"), {"a": tenants.a})


async def test_uninstall_keeps_the_data_for_the_retention_then_purges_it(engine, tenants):
    sessions = session_factory(engine)
    with tenant_scope(tenants.b):
        async with sessions() as session:
            session.add(MarketplaceCompany(marketplace="ingram", external_id="B-1", name="Bravo's customer"))
            await session.commit()
    async with sessions() as session:
        await mark_tenant_uninstalled(session, tenants.b, at=PINNED_NOW, retention_days=30)
        await mark_tenant_uninstalled(session, tenants.b, at=PINNED_NOW + timedelta(days=5), retention_days=30)
        await session.commit()
        assert await active_tenant_ids(session) == [tenants.a]
        tenant = await session.get(Tenant, tenants.b)
        assert (tenant.status, tenant.purge_after) == (TenantStatus.uninstalled, PINNED_NOW + timedelta(days=30))
        assert await purge_expired_tenants(session, now=PINNED_NOW + timedelta(days=29)) == []
        await session.commit()
    with tenant_scope(tenants.b):
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(MarketplaceCompany)) == 1
    async with sessions() as session:
        assert await purge_expired_tenants(session, now=PINNED_NOW + timedelta(days=30)) == [tenants.b]
        await session.commit()
    with tenant_scope(tenants.b):
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(MarketplaceCompany)) == 0
    with tenant_scope(tenants.a):
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(MarketplaceCompany)) > 0
        async with sessions() as session:
            assert await session.get(Tenant, tenants.b) is None


async def test_ensure_tenant_is_idempotent_and_names_grid_installs_by_enterprise(engine, tenants):
    sessions = session_factory(engine)
    async with sessions() as session:
        again = await ensure_tenant(session, team_id=TEAM_B, enterprise_id=None, is_enterprise_install=False)
        grid = await ensure_tenant(session, team_id="TGRID00001", enterprise_id="EGRID00001",
                                   is_enterprise_install=True)
        same_grid = await ensure_tenant(session, team_id="TGRID00002", enterprise_id="EGRID00001",
                                        is_enterprise_install=True)
        await session.commit()
    assert again == tenants.b and grid == same_grid and grid not in (tenants.a, tenants.b)
