"""No stale targets: an intent resumed after a crash or an unknown outcome is checked against the marketplace count
of now and superseded (a new intent planned for the count of now) if that moved; it is never posted at its old
target. And a cycle that dies is marked as such by the next one, never left `running` — unless its process is
still alive (another instance's cycle, heartbeating)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import OffsetClock
from bot.db.models import AdjustmentStatus, AdjustmentTrigger, DecreaseTiming, Scope, SyncRun, SyncRunStatus, Term
from bot.db.policies import set_decrease_timing
from bot.domain.proration import billing_period
from bot.sync.engine import SyncEngine
from bot.sync.planning import plan_levelling
from bot.sync.posting import post_due_adjustments
from tests.sync.engine_setup import adjustments, link_line, pending_intent, pick_lines


class Killed(BaseException):
    """SIGKILL, as far as the code under test can tell: nothing after it runs."""


class DiesBeforeWriting:
    """The real PSA connector, in a process that is killed just before its first write reaches the PSA."""

    def __init__(self, psa) -> None:
        self._psa = psa

    def __getattr__(self, name):
        return getattr(self._psa, name)

    async def post_adjustment(self, request):
        raise Killed


class DiesAfterWriting(DiesBeforeWriting):
    """... killed once its first write has landed, before it could record the outcome."""

    async def post_adjustment(self, request):
        await self._psa.post_adjustment(request)
        raise Killed


def process(workspace, *, psa=None, instance_id: str, after: timedelta = timedelta(0)) -> SyncEngine:
    """A SeatSync process over the workspace's database and simulators, started `after` from now."""
    engine = workspace.engine
    return SyncEngine(sessions=workspace.sessions, marketplace=engine.marketplace, psa=psa or engine.psa,
                      clock=OffsetClock(engine.clock, after), timezone=engine.timezone, instance_id=instance_id)


async def killed_mid_post(workspace, psa_in_dead_process, before: int, during: int):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(before)
    line.set_psa_units(before)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    line.set_market_total(during)
    dead = process(workspace, psa=psa_in_dead_process(workspace.engine.psa), instance_id="killed")
    try:
        await dead.run_cycle(trigger="schedule", force_full=True)
    except Killed:
        pass
    return line


async def test_an_intent_left_posting_is_not_posted_at_its_old_target_after_the_count_moved_back(workspace):
    """A duplicate once found by killing: 26→29 was being posted when the process was killed; the marketplace then
    went back to 26. The next process posted 29 anyway (to a service already at 26), and the cycle after posted −3."""
    line = await killed_mid_post(workspace, DiesBeforeWriting, 26, 29)
    row, = await adjustments(workspace)
    assert (row.status, row.units_to) == (AdjustmentStatus.posting, 29) and line.psa_units == 26
    line.set_market_total(26)

    restarted = process(workspace, instance_id="restarted", after=workspace.engine.claim_ttl + timedelta(seconds=1))
    report = await restarted.run_cycle(trigger="schedule")

    assert line.writes() == [] and line.psa_units == 26
    assert report.posting.stale == 1 and report.posting.posted == 0
    row, = await adjustments(workspace)
    assert (row.status, row.attempts) == (AdjustmentStatus.superseded, 2)
    assert "marketplace" in row.decision_note


async def test_a_resumed_intent_whose_count_moved_on_is_replaced_by_one_for_the_count_of_now(workspace):
    line = await killed_mid_post(workspace, DiesBeforeWriting, 26, 29)
    line.set_market_total(31)

    restarted = process(workspace, instance_id="restarted", after=workspace.engine.claim_ttl + timedelta(seconds=1))
    await restarted.run_cycle(trigger="schedule")

    assert [(w.before, w.after) for w in line.writes()] == [(26, 31)] and line.psa_units == 31
    old, new = await adjustments(workspace)
    assert (old.status, old.units_to, old.superseded_by_id) == (AdjustmentStatus.superseded, 29, new.id)
    assert (new.status, new.units_from, new.units_to) == (AdjustmentStatus.posted, 26, 31)


async def test_a_resumed_intent_that_had_landed_is_confirmed_then_levelled_to_the_count_of_now(workspace):
    """The killed process's write reached the PSA: it is recorded as posted (the billing record is not lost), and
    the move back is a new change of its own."""
    line = await killed_mid_post(workspace, DiesAfterWriting, 26, 29)
    assert line.psa_units == 29
    line.set_market_total(26)

    restarted = process(workspace, instance_id="restarted", after=workspace.engine.claim_ttl + timedelta(seconds=1))
    await restarted.run_cycle(trigger="schedule")

    assert [(w.before, w.after) for w in line.writes()] == [(26, 29), (29, 26)] and line.psa_units == 26
    first, second = await adjustments(workspace)
    assert (first.status, first.units_from, first.units_to) == (AdjustmentStatus.posted, 26, 29)
    assert (second.status, second.units_from, second.units_to) == (AdjustmentStatus.posted, 29, 26)


async def test_a_failed_attempt_of_unknown_outcome_is_resolved_not_superseded_when_the_count_moves(workspace):
    """A lost reply leaves the intent failed (backing off), its write in fact applied. When the count then moves,
    planning must not close it as superseded — its write would be missing from SeatSync's records — nor leave the
    count of now waiting for the backoff: the poster finds the write at once, then posts the new count."""
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(4)
    line.set_psa_units(4)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    line.set_market_total(12)
    workspace.sandbox.faults[psa].update({"drop_reply_rate": 1.0})  # the write lands; its reply never comes
    await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)
    async with workspace.sessions() as session:
        await plan_levelling(session=session, today=workspace.engine.today(), now=workspace.engine.clock(),
                             trigger=AdjustmentTrigger.sync)
        await session.commit()
    report = await post_due_adjustments(sessions=workspace.sessions, psa=workspace.engine.psa,
                                        clock=workspace.engine.clock, today=workspace.engine.today(),
                                        in_pass_attempts=1)
    workspace.sandbox.faults[psa].reset()
    row, = await adjustments(workspace)
    assert report.failed == 1 and line.psa_units == 12
    assert row.status is AdjustmentStatus.failed and row.next_attempt_at > workspace.engine.clock()
    line.set_market_total(15)

    await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert [(w.before, w.after) for w in line.writes()] == [(4, 12), (12, 15)] and line.psa_units == 15
    rows = await adjustments(workspace)
    assert [(a.status, a.units_from, a.units_to) for a in rows] == [
        (AdjustmentStatus.posted, 4, 12), (AdjustmentStatus.posted, 12, 15)]


async def test_a_refused_change_is_replaced_when_the_count_moves(workspace):
    """A refusal is known not to have applied (unlike a lost reply): planning replaces it by the count of now."""
    marketplace, psa = workspace.names
    if psa != "autotask":
        pytest.skip("the simulated refusal used here (an inactive contract) is Autotask's")
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    world = workspace.sandbox.world
    contract = world.autotask_contracts[world.autotask_contract_services[line.service_id].contract_id]
    line.set_market_total(3)
    line.set_psa_units(3)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    contract.status = 0  # inactive: Autotask refuses the adjustment
    line.set_market_total(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    refused, = await adjustments(workspace)
    assert (refused.status, refused.outcome_unknown, refused.needs_action) == (AdjustmentStatus.failed, False, True)
    contract.status = 1
    line.set_market_total(6)

    await workspace.engine.run_cycle(trigger="test", force_full=True)

    refused, replacement = await adjustments(workspace)
    assert (refused.status, refused.superseded_by_id) == (AdjustmentStatus.superseded, replacement.id)
    assert (replacement.status, replacement.units_to) == (AdjustmentStatus.posted, 6)
    assert [(w.before, w.after) for w in line.writes()] == [(3, 6)]


async def test_a_killed_cycle_is_marked_interrupted_by_the_next_start(workspace):
    await killed_mid_post(workspace, DiesBeforeWriting, 5, 6)
    dead_run = (await runs(workspace))[-1]
    assert dead_run.status is SyncRunStatus.running

    restarted = process(workspace, instance_id="restarted", after=workspace.engine.claim_ttl + timedelta(seconds=1))
    await restarted.run_cycle(trigger="schedule")

    dead_run = next(r for r in await runs(workspace) if r.id == dead_run.id)
    assert dead_run.status is SyncRunStatus.failed and dead_run.finished_at is not None
    assert "interrupted" in dead_run.error
    assert [r.status for r in await runs(workspace) if r.status is SyncRunStatus.running] == []


async def test_a_live_instance_s_running_cycle_is_never_marked_dead(workspace):
    """Two instances: one's cycle starting while the other's runs (and heartbeats) leaves the other's run alone."""
    engine = workspace.engine
    async with workspace.sessions() as session:
        other = SyncRun(trigger="schedule", status=SyncRunStatus.running, owner="live-instance",
                        started_at=engine.clock() - timedelta(hours=1), heartbeat_at=engine.clock())
        session.add(other)
        await session.commit()

    await engine.run_cycle(trigger="schedule")

    other = next(r for r in await runs(workspace) if r.id == other.id)
    assert other.status is SyncRunStatus.running and other.error is None


async def test_a_cycle_heartbeats_while_it_runs(workspace):
    """A long cycle (a large read) keeps its run's heartbeat fresh, so no other instance takes it for dead."""
    engine = workspace.engine
    engine.heartbeat_every = timedelta(milliseconds=50)
    beats: list = []

    class SlowMarketplace:
        def __init__(self, marketplace) -> None:
            self._marketplace = marketplace

        def __getattr__(self, name):
            return getattr(self._marketplace, name)

        async def list_subscriptions(self, **kwargs):
            import asyncio

            for _ in range(3):
                engine.clock.advance(timedelta(seconds=1))  # the pinned clock moves as real time would
                await asyncio.sleep(0.1)
                async with workspace.sessions() as session:
                    beats.append(await session.scalar(select(SyncRun.heartbeat_at).order_by(SyncRun.id.desc())))
            return await self._marketplace.list_subscriptions(**kwargs)

    engine.marketplace = SlowMarketplace(engine.marketplace)
    await engine.run_cycle(trigger="schedule")
    assert len(set(beats)) >= 2  # renewed while reading


async def runs(workspace) -> list[SyncRun]:
    async with workspace.sessions() as session:
        return list(await session.scalars(select(SyncRun).order_by(SyncRun.id)))



async def test_units_found_past_the_target_are_planned_again_the_other_way(workspace):
    """5 -> 6 recorded (an increase, dated today), then someone sets the PSA to 7 by hand before it posts: re-based,
    it went out as 7 -> 6 dated today, a decrease dated as an increase is. Planned again from 7, it is dated as
    planning dates any decrease (here the link's policy: the next period's start), as a cycle that had read the 7
    first would have planned it."""
    _, psa = workspace.names
    line, link_id = await pending_intent(workspace, before=5, after=6)
    async with workspace.sessions() as session:
        await set_decrease_timing(session=session, scope=Scope.link, link_id=link_id,
                                  timing=DecreaseTiming.next_period, actor="U1")
        await session.commit()
    line.set_psa_units(7)

    await workspace.engine.post_outbox()

    subscription = workspace.sandbox.world.subscriptions[line.subscription_id]
    next_period = billing_period(Term(subscription.term), workspace.sandbox.world.today,
                                 anchor=subscription.start_date)[1]
    first, again = await adjustments(workspace)
    assert (first.status, first.units_from, first.units_to) == (AdjustmentStatus.superseded, 5, 6)
    assert "goes the other way" in first.decision_note and again.id == first.superseded_by_id
    # Autotask holds it at once for its day; the others post it on that day
    expected = AdjustmentStatus.posted if psa == "autotask" else AdjustmentStatus.pending
    assert (again.status, again.units_from, again.units_to, again.effective_date) == (expected, 7, 6, next_period)
    assert line.psa_units == 7
