"""GET /metrics, parsed as Prometheus parses it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app_factory import create_context
from bot.config import load_settings
from bot.db.models import ConnectorHealth, ConnectorState, SyncRun, SyncRunStatus
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY, make_env
from tests.reports.dataset import build_dataset
from web.app import create_app


async def scrape(aiohttp_client, context) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape."""
    client = await aiohttp_client(create_app(context, run_scheduler=False))
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_counts_from_the_database(aiohttp_client, settings, session, clock):
    await build_dataset(session)  # two adjustments posted, one failed that needs action
    now = clock()
    session.add_all([
        SyncRun(trigger="schedule", status=SyncRunStatus.succeeded, started_at=now - timedelta(minutes=10),
                finished_at=now - timedelta(minutes=10)),
        SyncRun(trigger="schedule", status=SyncRunStatus.succeeded, started_at=now - timedelta(minutes=5),
                finished_at=now - timedelta(minutes=5)),
        SyncRun(trigger="schedule", status=SyncRunStatus.failed, started_at=now, finished_at=now),
        ConnectorHealth(system="ingram", state=ConnectorState.ok, last_success_at=now, consecutive_failures=0),
        ConnectorHealth(system="autotask", state=ConnectorState.failing, last_success_at=now,
                        last_failure_at=now, consecutive_failures=1),
    ])
    await session.commit()

    samples = await scrape(aiohttp_client, create_context(settings, clock=clock))

    assert samples[("seatsync_database_up", ())] == 1
    assert samples[("seatsync_sync_cycles_total", (("status", "succeeded"),))] == 2
    assert samples[("seatsync_sync_cycles_total", (("status", "failed"),))] == 1
    assert samples[("seatsync_sync_cycles_total", (("status", "partial"),))] == 0
    assert samples[("seatsync_adjustments", (("status", "posted"),))] == 2
    assert samples[("seatsync_adjustments", (("status", "failed"),))] == 1
    assert samples[("seatsync_adjustments", (("status", "awaiting_approval"),))] == 0
    assert samples[("seatsync_adjustments_posted_total", ())] == 2
    assert samples[("seatsync_adjustments_failed", ())] == 1
    assert samples[("seatsync_adjustments_needs_action", ())] == 1
    assert samples[("seatsync_last_successful_sync_age_seconds", ())] == 300
    assert samples[("seatsync_connector_up", (("system", "ingram"),))] == 1
    assert samples[("seatsync_connector_up", (("system", "autotask"),))] == 0
    assert not any(name == "seatsync_api_calls_total" for name, _ in samples)  # no engine configured


async def test_a_database_that_does_not_answer_is_a_zero_not_an_error(aiohttp_client, tmp_path, clock):
    settings = load_settings(make_env(tmp_path, DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none"),
                             dotenv_path=None)
    samples = await scrape(aiohttp_client, create_context(settings, clock=clock))
    assert samples[("seatsync_database_up", ())] == 0
    assert ("seatsync_sync_cycles_total", (("status", "succeeded"),)) not in samples


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=4, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="ingram", psa="autotask", clock=clock)
    yield workspace
    await workspace.close()


async def test_api_calls_by_system_come_from_the_running_engine(aiohttp_client, settings, workspace):
    context = create_context(settings, clock=workspace.clock)

    async def engine():
        return workspace.engine

    context.engine_source = engine
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    samples = await scrape(aiohttp_client, context)
    ingram = samples[("seatsync_api_calls_total", (("system", "ingram"),))]
    autotask = samples[("seatsync_api_calls_total", (("system", "autotask"),))]
    assert ingram == workspace.marketplace.stats.total and ingram >= report.api_calls["marketplace"] > 0
    assert autotask == workspace.psa.stats.total and autotask >= report.api_calls["psa"] > 0
    assert samples[("seatsync_api_retries_total", (("system", "ingram"),))] == workspace.marketplace.stats.retries
    assert samples[("seatsync_connector_up", (("system", "ingram"),))] == 1
    assert samples[("seatsync_sync_cycles_total", (("status", "succeeded"),))] == 1
    assert samples[("seatsync_last_successful_sync_age_seconds", ())] == 0  # the pinned clock has not moved


async def test_a_scrape_counts_the_engine_in_use_and_never_builds_one(aiohttp_client, settings, workspace):
    # its engine holder reads the connections the workspace stored
    context = create_context(settings, clock=workspace.clock)

    samples = await scrape(aiohttp_client, context)
    assert context.engines.current is None  # the scrape built no connectors
    assert not any(name == "seatsync_api_calls_total" for name, _ in samples)

    engine = await context.engines.get()
    await engine.run_cycle(trigger="test", force_full=True)
    samples = await scrape(aiohttp_client, context)
    assert samples[("seatsync_api_calls_total", (("system", "ingram"),))] == engine.marketplace.stats.total > 0
    await context.engines.close()
