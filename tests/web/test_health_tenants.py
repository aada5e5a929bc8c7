"""/healthz and /metrics with a tenant per workspace: the public route tells no tenant's state, each tenant's detail
and series are the operator's (SEATSYNC_OPERATOR_TOKEN), and what is asked for tenant A never carries B's rows.

Two installed tenants with different rows (sync runs, connector health, adjustments), real SQL on both backends,
the real aiohttp app; Prometheus text parsed as Prometheus parses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app_factory import create_context
from bot.config import load_settings
from bot.db.engine import session_factory
from bot.db.models import ConnectorHealth, ConnectorState, SyncRun, SyncRunStatus
from bot.db.tenancy import ensure_tenant, mark_tenant_uninstalled, tenant_scope
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY, make_env
from tests.reports.dataset import build_dataset
from web.app import create_app

OPERATOR = "operator-token-0123456789-abcdefghijklmnop"
TEAM_A, TEAM_B, TEAM_GONE = "TALPHA0001", "TBRAVO0002", "TGONE00003"
pytestmark = pytest.mark.db


@dataclass(frozen=True)
class Tenants:
    a: int
    b: int


def multi_settings(tmp_path, database_url, **extra):
    return load_settings(make_env(
        tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET="signing-secret", SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="client-secret", **extra), dotenv_path=None)


@pytest.fixture
async def tenants(engine, clock) -> Tenants:
    """A: the reports' dataset (2 posted, 1 failed needing action), 2 good cycles, ingram up and autotask failing.
    B: no adjustments, 1 partial and 3 failed cycles, halopsa failing and pax8 stale. A third tenant uninstalled."""
    sessions, now = session_factory(engine), clock()
    async with sessions() as session:
        a, b, gone = [await ensure_tenant(session, team_id=team, enterprise_id=None, is_enterprise_install=False)
                      for team in (TEAM_A, TEAM_B, TEAM_GONE)]
        await mark_tenant_uninstalled(session, gone, at=now, retention_days=30)
        await session.commit()
    with tenant_scope(a):
        async with sessions() as session:
            await build_dataset(session)
            session.add_all([
                SyncRun(trigger="schedule", status=SyncRunStatus.succeeded, started_at=now - timedelta(minutes=10),
                        finished_at=now - timedelta(minutes=10)),
                SyncRun(trigger="schedule", status=SyncRunStatus.succeeded, started_at=now - timedelta(minutes=2),
                        finished_at=now - timedelta(minutes=2)),
                ConnectorHealth(system="ingram", state=ConnectorState.ok, last_success_at=now,
                                consecutive_failures=0),
                ConnectorHealth(system="autotask", state=ConnectorState.failing, last_success_at=now,
                                last_failure_at=now, consecutive_failures=2),
            ])
            await session.commit()
    with tenant_scope(b):
        async with sessions() as session:
            session.add_all([
                SyncRun(trigger="webhook", status=SyncRunStatus.partial, started_at=now - timedelta(hours=5),
                        finished_at=now - timedelta(hours=5)),
                *[SyncRun(trigger="schedule", status=SyncRunStatus.failed, started_at=now, finished_at=now)
                  for _ in range(3)],
                ConnectorHealth(system="halopsa", state=ConnectorState.failing, last_failure_at=now,
                                consecutive_failures=7),
                ConnectorHealth(system="pax8", state=ConnectorState.ok, last_success_at=now - timedelta(days=2),
                                consecutive_failures=0),
            ])
            await session.commit()
    return Tenants(a, b)


async def client_for(aiohttp_client, settings, clock):
    return await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))


def operator(token: str = OPERATOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def samples_of(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_the_public_healthz_says_liveness_and_tenant_counts_only(aiohttp_client, tmp_path, database_url,
                                                                        tenants, clock):
    client = await client_for(aiohttp_client, multi_settings(tmp_path, database_url, SEATSYNC_OPERATOR_TOKEN=OPERATOR),
                              clock)
    response = await client.get("/healthz")
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["slack"] == "http"
    assert body["tenants"] == {"active": 3, "uninstalled": 1}  # the default tenant, A and B; the one that left
    for detail in ("last_sync", "last_sync_at", "connectors", "marketplaces", "pending_failures", "outbox"):
        assert detail not in body
    text = await response.text()
    for mark in (TEAM_A, TEAM_B, "ingram", "autotask", "halopsa", "pax8", str(tenants.a)):
        assert mark not in text


async def test_a_tenants_detail_is_the_operators_and_holds_that_tenant_only(aiohttp_client, tmp_path,
                                                                           database_url, tenants, clock):
    client = await client_for(aiohttp_client, multi_settings(tmp_path, database_url, SEATSYNC_OPERATOR_TOKEN=OPERATOR),
                              clock)
    path = f"/healthz/tenants/{tenants.a}"
    assert (await client.get(path)).status == 401
    refused = await client.get(path, headers=operator(OPERATOR[:-1] + "x"))
    assert refused.status == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert TEAM_A not in await refused.text()

    a = await (await client.get(path, headers=operator())).json()
    assert a["tenant"] == {"id": tenants.a, "install": f"team:{TEAM_A}", "status": "active"}
    assert set(a["connectors"]) == {"ingram", "autotask"}
    assert a["connectors"]["autotask"]["consecutive_failures"] == 2
    assert a["last_sync"]["trigger"] == "schedule" and a["last_sync"]["status"] == "succeeded"
    assert (a["pending_failures"], a["needs_action"], a["outbox"]["posted"]) == (1, 1, 2)
    text_a = await (await client.get(path, headers=operator())).text()
    assert TEAM_B not in text_a and "halopsa" not in text_a and "pax8" not in text_a

    b = await (await client.get(f"/healthz/tenants/{tenants.b}", headers=operator())).json()
    assert set(b["connectors"]) == {"halopsa", "pax8"}
    assert b["connectors"]["pax8"]["state"] == "stale"  # silent for two days
    assert b["last_sync"]["trigger"] == "webhook" and b["last_sync"]["status"] == "partial"
    assert (b["pending_failures"], b["needs_action"], b["outbox"]["posted"]) == (0, 0, 0)

    assert (await client.get("/healthz/tenants/999", headers=operator())).status == 404
    for nobody in ("abc", "0", "-1", "99999999999", "１"):
        assert (await client.get(f"/healthz/tenants/{nobody}", headers=operator())).status == 404, nobody


async def test_without_an_operator_token_no_tenant_detail_is_served(aiohttp_client, tmp_path, database_url,
                                                                     tenants, clock):
    client = await client_for(aiohttp_client, multi_settings(tmp_path, database_url), clock)
    refused = await client.get(f"/healthz/tenants/{tenants.a}", headers=operator())
    assert refused.status == 403 and "SEATSYNC_OPERATOR_TOKEN" in (await refused.json())["error"]
    scrape = await client.get("/metrics")
    assert scrape.status == 200
    samples = samples_of(await scrape.text())
    assert samples[("seatsync_database_up", ())] == 1
    assert samples[("seatsync_tenants", (("status", "active"),))] == 3
    assert not any("tenant" in dict(labels) for _, labels in samples)
    assert not any(name.startswith(("seatsync_sync_cycles", "seatsync_adjustments", "seatsync_connector"))
                   for name, _ in samples)


async def test_metrics_are_per_tenant_for_the_operator(aiohttp_client, tmp_path, database_url, tenants, clock):
    client = await client_for(aiohttp_client, multi_settings(tmp_path, database_url, SEATSYNC_OPERATOR_TOKEN=OPERATOR),
                              clock)
    assert (await client.get("/metrics", headers=operator("not-the-token"))).status == 401
    response = await client.get("/metrics", headers=operator())
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=")
    samples = samples_of(await response.text())
    a, b = str(tenants.a), str(tenants.b)

    def of(tenant: str, name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted({"tenant": tenant, **labels}.items())))]

    assert of(a, "seatsync_sync_cycles_total", status="succeeded") == 2
    assert of(a, "seatsync_sync_cycles_total", status="failed") == 0
    assert of(b, "seatsync_sync_cycles_total", status="failed") == 3
    assert of(b, "seatsync_sync_cycles_total", status="partial") == 1
    assert (of(a, "seatsync_adjustments_posted_total"), of(b, "seatsync_adjustments_posted_total")) == (2, 0)
    assert (of(a, "seatsync_adjustments_needs_action"), of(b, "seatsync_adjustments_needs_action")) == (1, 0)
    assert of(a, "seatsync_last_successful_sync_age_seconds") == 120
    assert of(b, "seatsync_last_successful_sync_age_seconds") == 5 * 3600
    assert of(a, "seatsync_connector_up", system="ingram") == 1
    assert of(a, "seatsync_connector_up", system="autotask") == 0
    assert of(b, "seatsync_connector_up", system="halopsa") == 0
    assert of(b, "seatsync_connector_up", system="pax8") == 0  # stale
    # every tenant series names its tenant, and no system of B's shows under A's label, nor A's under B's
    systems = {(dict(labels).get("tenant"), dict(labels)["system"]) for name, labels in samples
               if name == "seatsync_connector_up"}
    assert systems == {(a, "ingram"), (a, "autotask"), (b, "halopsa"), (b, "pax8")}
    assert all("tenant" in dict(labels) for name, labels in samples
               if name.startswith(("seatsync_sync_cycles", "seatsync_adjustments", "seatsync_last_successful")))
    assert samples[("seatsync_tenants", (("status", "uninstalled"),))] == 1


async def test_a_single_workspace_install_closes_metrics_once_an_operator_token_is_set(aiohttp_client, tmp_path,
                                                                                      database_url, tenants, clock):
    settings = load_settings(make_env(tmp_path, DATABASE_URL=database_url, SEATSYNC_OPERATOR_TOKEN=OPERATOR),
                             dotenv_path=None)
    client = await client_for(aiohttp_client, settings, clock)
    assert (await client.get("/metrics")).status == 401
    samples = samples_of(await (await client.get("/metrics", headers=operator())).text())
    assert ("seatsync_sync_cycles_total", (("status", "succeeded"),)) in samples  # unlabelled, as before
    health = await (await client.get("/healthz")).json()  # the install is its one tenant: all of it, as before
    assert "connectors" in health and "tenants" not in health


@pytest.fixture
async def workspace(database_url, clock, today, tenants):
    """Tenant A's connections to a small sandbox, stored under its data key."""
    sandbox = await Sandbox.generate(seed=5, scale="small", today=today).start()
    with tenant_scope(tenants.a):
        workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                         marketplace="ingram", psa="autotask", clock=clock, tenant_id=tenants.a)
    yield workspace
    await workspace.close()


async def test_api_calls_are_counted_under_the_tenant_whose_engine_made_them(aiohttp_client, tmp_path, database_url,
                                                                             tenants, workspace, clock):
    context = create_context(multi_settings(tmp_path, database_url, SEATSYNC_OPERATOR_TOKEN=OPERATOR), clock=clock)
    client = await aiohttp_client(create_app(context, run_scheduler=False))
    engine = await context.engines.engine_for_tenant(tenants.a)
    with tenant_scope(tenants.a):
        await engine.run_cycle(trigger="test", force_full=True)
    await context.engines.engine_for_tenant(tenants.b)  # B has no connections: no engine, no calls

    samples = samples_of(await (await client.get("/metrics", headers=operator())).text())
    calls = {(dict(labels)["tenant"], dict(labels)["system"]): value for (name, labels), value in samples.items()
             if name == "seatsync_api_calls_total"}
    assert calls == {(str(tenants.a), "ingram"): engine.marketplace.stats.total,
                     (str(tenants.a), "autotask"): engine.psa.stats.total}
    assert all(value > 0 for value in calls.values())
    await context.engines.close()
