"""GET /healthz: per-connector health, the last good sync and the outbox's failures, from real SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app_factory import create_context
from bot.config import load_settings
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.models import ConnectorHealth, ConnectorState, SyncRun, SyncRunStatus
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY, make_env
from tests.reports.dataset import build_dataset
from web.app import create_app


async def get_health(aiohttp_client, settings, clock) -> tuple[int, dict]:
    client = await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))
    response = await client.get("/healthz")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status, await response.json()


async def test_a_fresh_database_is_healthy_with_nothing_to_report(aiohttp_client, settings, clock):
    status, body = await get_health(aiohttp_client, settings, clock)
    assert status == 200
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]
    assert body["last_sync_at"] is None and body["last_sync"] is None
    assert body["connectors"] == {}
    assert (body["pending_failures"], body["needs_action"], body["awaiting_approval"]) == (0, 0, 0)
    # who runs the jobs: the lease-gated scheduler on SQLite, every instance's queue worker on PostgreSQL
    assert body["jobs"] == ("scheduler" if settings.is_sqlite else "queue")


async def test_failures_last_good_sync_and_connector_states(aiohttp_client, settings, session, clock):
    await build_dataset(session)  # one failed adjustment that needs action, two posted
    now = clock()
    session.add_all([
        SyncRun(trigger="schedule", status=SyncRunStatus.succeeded, started_at=now - timedelta(hours=3),
                finished_at=now - timedelta(hours=3)),
        SyncRun(trigger="webhook", status=SyncRunStatus.partial, started_at=now - timedelta(minutes=20),
                finished_at=now - timedelta(minutes=19)),
        SyncRun(trigger="schedule", status=SyncRunStatus.failed, started_at=now - timedelta(minutes=5),
                finished_at=now - timedelta(minutes=5)),
        ConnectorHealth(system="ingram", state=ConnectorState.ok, last_success_at=now - timedelta(minutes=5),
                        consecutive_failures=0),
        ConnectorHealth(system="autotask", state=ConnectorState.failing, last_success_at=now - timedelta(hours=3),
                        last_failure_at=now - timedelta(minutes=5), consecutive_failures=4,
                        last_error="autotask: credentials rejected (HTTP 401): bad secret"),
        ConnectorHealth(system="odin", state=ConnectorState.ok, last_success_at=now - timedelta(minutes=90),
                        consecutive_failures=0),
    ])
    await save_app_settings(session=session, settings=AppSettings(connector_stale_minutes=60), actor="test")
    await session.commit()

    status, body = await get_health(aiohttp_client, settings, clock)

    assert status == 200 and body["status"] == "ok"  # failing connectors do not make the service unhealthy
    assert body["last_sync"]["trigger"] == "webhook" and body["last_sync"]["status"] == "partial"
    assert body["last_sync_at"] == (now - timedelta(minutes=19)).isoformat()
    assert body["connectors"]["ingram"]["state"] == "ok"
    autotask = body["connectors"]["autotask"]
    assert autotask["state"] == "failing" and autotask["consecutive_failures"] == 4
    assert autotask["last_failure_at"] == (now - timedelta(minutes=5)).isoformat()
    assert "last_error" not in autotask  # the diagnosis is for the billing team in Slack, not a public route
    assert body["connectors"]["odin"]["state"] == "stale"  # ok, but silent for longer than 60 minutes
    assert (body["pending_failures"], body["needs_action"]) == (1, 1)


async def test_503_when_the_database_is_unreachable(aiohttp_client, tmp_path, clock):
    settings = load_settings(make_env(tmp_path, DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none"),
                             dotenv_path=None)
    status, body = await get_health(aiohttp_client, settings, clock)
    assert status == 503
    assert body["status"] == "unhealthy" and body["database"] == "unreachable" and "connectors" not in body


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=3, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="connectwise", clock=clock)
    yield workspace
    await workspace.close()


async def test_health_follows_a_real_cycle(aiohttp_client, settings, workspace):
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    status, body = await get_health(aiohttp_client, settings, workspace.clock)
    assert status == 200
    assert body["last_sync"]["run_id"] == report.run_id
    assert {name: c["state"] for name, c in body["connectors"].items()} == {"odin": "ok", "connectwise": "ok"}
    assert all(c["last_success_at"] and c["last_failure_at"] is None for c in body["connectors"].values())

    workspace.sandbox.faults["connectwise"].update({"error_rates": {"500": 1.0}})
    workspace.engine.read_deadline = timedelta(seconds=2)  # ConnectWise fails for the cycle's whole read deadline
    await workspace.engine.run_cycle(trigger="test")
    status, body = await get_health(aiohttp_client, settings, workspace.clock)
    assert status == 200
    connectwise = body["connectors"]["connectwise"]
    assert connectwise["state"] == "failing" and connectwise["last_failure_at"] is not None
    assert body["last_sync"]["run_id"] == report.run_id + 1  # partial: the marketplace was read
