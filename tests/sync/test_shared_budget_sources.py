"""On PostgreSQL a tenant's vendor budgets are shared by everything that syncs for it, not only the queue's jobs:
a sync started by a marketplace webhook (as by a Slack "Sync now", through the same engine), one started from
the CLI and the CLI's invoice fetch draw on the same per-tenant rows of `vendor_rate_budgets`
(bot.db.rate_budgets). PostgreSQL only: skipped, saying why, without it. The queue's own jobs are covered in
tests/test_job_queue.py."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.app_factory import create_context
from bot.config import Settings
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connections import save_connection
from bot.db.migrate import upgrade
from bot.db.models import Invoice, MarketplaceSubscription, VendorRateBudget
from bot.db.rate_budgets import TenantRateBudget, tenant_budget
from bot.db.tenancy import ensure_tenant, tenant_scope
from bot.demo.workspace import sandbox_connection, world_options
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY
from tests.fresh_postgres import fresh_postgres_database
from tests.web.test_webhooks import SECRET, event, signed
from web.app import create_app
from web.webhooks import ROUTE, WEBHOOK_TASKS

pytestmark = pytest.mark.db


@pytest.fixture
async def postgres():
    async for url in fresh_postgres_database("a tenant's shared vendor budget"):
        yield url


@pytest.fixture
async def sandbox(today):
    started = await Sandbox.generate(seed=5, scale="small", today=today).start()
    yield started
    await started.stop()


@pytest.fixture
def takes(monkeypatch) -> list[tuple[int, str]]:
    """Every token taken from a tenant's shared budget (tenant, vendor), the real take still made."""
    taken: list[tuple[int, str]] = []
    reserve = TenantRateBudget.reserve

    async def recorded(self, *, system: str, per_window: int, window_s: float) -> float:
        taken.append((self.tenant_id, system))
        return await reserve(self, system=system, per_window=per_window, window_s=window_s)

    monkeypatch.setattr(TenantRateBudget, "reserve", recorded)
    return taken


@pytest.fixture
def cli_env(monkeypatch, tmp_path, postgres):
    for name, value in {"DATABASE_URL": postgres, "SEATSYNC_SECRET_KEY": TEST_SECRET_KEY,
                        "SEATSYNC_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level  # main() configures logging for the process


async def configured_tenant(context, sandbox: Sandbox) -> int:
    """A workspace's tenant syncing the Odin and Autotask simulators, Odin's webhooks proven by SECRET."""
    async with context.sessions() as session:
        tenant = await ensure_tenant(session, team_id="T0BUDGET01", enterprise_id=None, is_enterprise_install=False)
        await session.commit()
    with tenant_scope(tenant):
        async with context.sessions() as session:
            for system in ("odin", "autotask"):
                base_url, options, secrets = sandbox_connection(system, sandbox.config())
                if system == "odin":
                    secrets = {**secrets, "webhook_secret": SECRET}
                await save_connection(session=session, box=context.box, system=system, base_url=base_url,
                                      options=options, secrets=secrets, actor="test")
            await save_app_settings(session=session, settings=AppSettings(marketplace="odin", psa="autotask"),
                                    actor="test")
            await session.commit()
    return tenant


async def test_a_cli_sync_and_a_webhook_sync_of_one_tenant_draw_on_its_one_shared_budget(
        postgres, sandbox, cli_env, takes, aiohttp_client, clock, tmp_path):
    context = create_context(Settings(database_url=postgres, data_dir=tmp_path, secret_key=TEST_SECRET_KEY),
                             clock=clock)
    await upgrade(context.engine)
    tenant = await configured_tenant(context, sandbox)

    code = await asyncio.to_thread(main, ["--tenant", str(tenant), "sync", "--once"], clock=clock)
    assert code == 0
    from_cli = list(takes)

    app = create_app(context, run_scheduler=False)
    client = await aiohttp_client(app)
    with tenant_scope(tenant):
        async with context.sessions() as session:
            subscription = await session.scalar(select(MarketplaceSubscription.external_id).limit(1))
    body, headers = signed(event("d-1", subscription=subscription))
    response = await client.post(ROUTE, data=body, headers=headers)
    assert response.status == 202 and (await response.json())["sync"] is True
    for task in list(app[WEBHOOK_TASKS]):
        await task
    from_webhook = takes[len(from_cli):]

    assert {system for _, system in from_cli} == {"odin", "autotask"}
    assert from_webhook and {system for _, system in from_webhook} == {"odin"}  # one subscription re-read
    assert {tenant_id for tenant_id, _ in takes} == {tenant}
    with tenant_scope(tenant):  # one bucket per vendor and window, both sources' tokens taken from it
        async with context.sessions() as session:
            scopes = list(await session.scalars(select(VendorRateBudget.scope).order_by(VendorRateBudget.scope)))
    assert scopes == ["autotask/3600s", "odin/1s"]
    await context.engine.dispose()


async def test_on_sqlite_only_the_local_limiters_pace(database_url, engine):
    from bot.db.engine import session_factory

    budget = tenant_budget(session_factory(engine), 1)
    assert (budget is None) == database_url.startswith("sqlite")


async def test_the_cli_invoice_fetch_draws_on_the_tenants_shared_budget(postgres, cli_env, takes, clock, tmp_path,
                                                                       today):
    sandbox = await Sandbox.generate(seed=4, scale="small", today=today, **world_options("pax8")).start()
    context = create_context(Settings(database_url=postgres, data_dir=tmp_path, secret_key=TEST_SECRET_KEY),
                             clock=clock)
    try:
        await upgrade(context.engine)
        async with context.sessions() as session:
            tenant = await ensure_tenant(session, team_id="T0INVOICE1", enterprise_id=None,
                                         is_enterprise_install=False)
            await session.commit()
        with tenant_scope(tenant):
            async with context.sessions() as session:
                for system in ("pax8", "autotask"):
                    base_url, options, secrets = sandbox_connection(system, sandbox.config())
                    await save_connection(session=session, box=context.box, system=system, base_url=base_url,
                                          options=options, secrets=secrets, actor="test")
                await save_app_settings(session=session, settings=AppSettings(marketplace="pax8", psa="autotask"),
                                        actor="test")
                await session.commit()

        code = await asyncio.to_thread(main, ["--tenant", str(tenant), "invoices", "fetch"], clock=clock)

        assert code == 0
        assert takes and set(takes) == {(tenant, "pax8")}  # every invoice request, none beside the budget
        with tenant_scope(tenant):
            async with context.sessions() as session:
                assert await session.scalar(select(Invoice.id).limit(1)) is not None  # it did read invoices
    finally:
        await context.engine.dispose()
        await sandbox.stop()
