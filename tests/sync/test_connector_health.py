"""Connector health as the engine records it: real simulators over HTTP, credentials rejected by them."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from bot.connectors.factory import build_marketplace, build_psa
from bot.connectors.http import RetryPolicy
from bot.db.connections import load_connection
from bot.db.connector_health import connector_health, health_changes
from bot.db.models import ConnectorState, SyncRunStatus
from bot.demo.workspace import open_workspace
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from bot.sync.engine import SyncEngine
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines

STALE = timedelta(minutes=60)
WRONG_PASSWORD = "wrong-password-7f3a9c"
WRONG_SECRET = "wrong-secret-51be02"
FAST = RetryPolicy(max_attempts=2, max_total_s=5, base_delay_s=0.01, max_delay_s=0.05)


class Clock:
    """A pinned clock moved in whole minutes (`advance` returns the new now)."""

    def __init__(self) -> None:
        self.now = PINNED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: int) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=5, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="ingram", psa="autotask", clock=clock)
    yield workspace
    await workspace.close()


async def connectors(workspace, *, marketplace_secrets=None, psa_secrets=None):
    """Connectors built from the stored connections, with some secrets replaced (credentials the
    simulators reject)."""
    box = SecretBox(TEST_SECRET_KEY)
    async with workspace.sessions() as session:
        market = await load_connection(session=session, box=box, system="ingram")
        psa = await load_connection(session=session, box=box, system="autotask")
    if marketplace_secrets:
        market = dataclasses.replace(market, secrets={**market.secrets, **marketplace_secrets})
    if psa_secrets:
        psa = dataclasses.replace(psa, secrets={**psa.secrets, **psa_secrets})
    return (build_marketplace(market, retry=FAST, timeout=2.0),
            build_psa(psa, retry=FAST, timeout=2.0, today=lambda: workspace.sandbox.world.today))


async def engine_with(workspace, clock, **secrets) -> SyncEngine:
    marketplace, psa = await connectors(workspace, **secrets)
    return SyncEngine(sessions=workspace.sessions, marketplace=marketplace, psa=psa, clock=clock)


async def health(workspace) -> dict:
    async with workspace.sessions() as session:
        return {row.system: row for row in await connector_health(session=session)}


async def changes(workspace, now) -> list:
    async with workspace.sessions() as session:
        found = await health_changes(session=session, now=now, stale_after=STALE)
        await session.commit()
        return found


async def test_a_good_cycle_records_both_connectors_ok(workspace):
    clock = Clock()
    engine = await engine_with(workspace, clock)
    try:
        report = await engine.run_cycle(trigger="test", force_full=True)
    finally:
        await engine.aclose()
    assert report.status is SyncRunStatus.succeeded
    rows = await health(workspace)
    assert set(rows) == {"ingram", "autotask"}
    for row in rows.values():
        assert row.state is ConnectorState.ok and row.consecutive_failures == 0
        assert row.last_success_at is not None and row.last_failure_at is None and row.last_error is None


async def test_rejected_marketplace_credentials_are_recorded_with_the_diagnosis_and_no_secret(workspace):
    clock = Clock()
    engine = await engine_with(workspace, clock, marketplace_secrets={"password": WRONG_PASSWORD})
    try:
        report = await engine.run_cycle(trigger="test", force_full=True)
    finally:
        await engine.aclose()
    assert report.status is SyncRunStatus.failed
    row = (await health(workspace))["ingram"]
    assert row.state is ConnectorState.failing and row.consecutive_failures == 1
    assert row.last_error.startswith("ingram: credentials rejected (HTTP 401)")
    assert WRONG_PASSWORD not in row.last_error
    assert workspace.sandbox.world.credentials.ingram_password not in row.last_error
    assert "autotask" not in await health(workspace)  # the PSA was not read after the marketplace failed


async def test_rejected_psa_credentials_fail_the_psa_only_and_a_fix_clears_it(workspace):
    clock = Clock()
    bad = await engine_with(workspace, clock, psa_secrets={"secret": WRONG_SECRET})
    try:
        await bad.run_cycle(trigger="test", force_full=True)
    finally:
        await bad.aclose()
    rows = await health(workspace)
    assert rows["ingram"].state is ConnectorState.ok
    assert rows["autotask"].state is ConnectorState.failing
    assert "autotask: credentials rejected" in rows["autotask"].last_error
    assert WRONG_SECRET not in rows["autotask"].last_error

    clock.advance(5)
    good = await engine_with(workspace, clock)
    try:
        await good.run_cycle(trigger="test")
    finally:
        await good.aclose()
    row = (await health(workspace))["autotask"]
    assert row.state is ConnectorState.ok and row.consecutive_failures == 0
    assert row.last_success_at == clock.now.replace(tzinfo=row.last_success_at.tzinfo)


async def test_a_connector_down_longer_than_the_threshold_alerts_once_and_recovers_once(workspace):
    clock = Clock()
    good = await engine_with(workspace, clock)
    bad = await engine_with(workspace, clock, psa_secrets={"secret": WRONG_SECRET})
    try:
        await good.run_cycle(trigger="test", force_full=True)
        assert await changes(workspace, clock.now) == []

        clock.advance(10)
        await bad.run_cycle(trigger="test")
        assert await changes(workspace, clock.now) == []  # failing, but not for longer than the threshold

        clock.advance(55)  # 65 minutes since the last success
        await bad.run_cycle(trigger="test")
        alert, = await changes(workspace, clock.now)
        assert (alert.system, alert.alert, alert.recovered) == ("autotask", True, False)
        assert alert.state is ConnectorState.failing and "credentials rejected" in alert.last_error

        clock.advance(10)
        await bad.run_cycle(trigger="test")
        assert await changes(workspace, clock.now) == []  # never one alert per cycle

        clock.advance(10)
        await good.run_cycle(trigger="test")
        recovered, = await changes(workspace, clock.now)
        assert (recovered.system, recovered.alert, recovered.recovered) == ("autotask", False, True)
        assert await changes(workspace, clock.now) == []
    finally:
        await good.aclose()
        await bad.aclose()


async def test_a_silent_connector_goes_stale_after_the_threshold(workspace):
    clock = Clock()
    engine = await engine_with(workspace, clock)
    try:
        await engine.run_cycle(trigger="test", force_full=True)
    finally:
        await engine.aclose()
    assert await changes(workspace, clock.advance(59)) == []
    stale = await changes(workspace, clock.advance(2))
    assert {(c.system, c.state, c.alert) for c in stale} == {("ingram", ConnectorState.stale, True),
                                                             ("autotask", ConnectorState.stale, True)}


async def test_a_posting_pass_that_cannot_read_the_psa_records_a_failure(workspace):
    clock = Clock()
    engine = await engine_with(workspace, clock)
    try:
        line, = pick_lines(workspace.sandbox.world, "autotask", 1)
        line.set_market_total(7)
        line.set_psa_units(2)
        await engine.run_cycle(trigger="test", force_full=True)
        link_id = await link_line(workspace, line, "ingram")
        workspace.sandbox.faults["autotask"].update({"error_rates": {"500": 1.0}})
        clock.advance(1)
        _, report = await engine.reconcile_links(link_ids=[link_id], actor="U1")
        assert report.read_error and report.posted == 0
        row = (await health(workspace))["autotask"]
        assert row.state is ConnectorState.failing and "server error" in row.last_error
        assert row.last_failure_at == clock.now

        workspace.sandbox.faults["autotask"].reset()
        clock.advance(1)
        report = await engine.post_outbox(ignore_backoff=True)
        assert report.posted == 1 and line.psa_units == 7
        assert (await health(workspace))["autotask"].state is ConnectorState.ok
    finally:
        await engine.aclose()
