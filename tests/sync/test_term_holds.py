"""Term-aware decreases and dropped credits, end to end with a controllable clock: `workspace.jump_to(day)`
moves the sandbox world's day and SeatSync's clock with it (the engine's and the PSA connector's today)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.db.models import AdjustmentStatus, DecreaseTiming, Scope, Term
from bot.db.policies import PolicyError, set_approval_policy, set_decrease_timing, set_drop_prorate_below
from bot.domain.proration import billing_period, commitment_end
from bot.sync.approvals import approve_change
from bot.sync.preview import SCHEDULED, WOULD_POST, posting_preview
from tests.sync.engine_setup import Line, adjustments, link_line, pick_lines


def annual_line(workspace) -> Line:
    """The annual-term line whose anniversary comes first, on a PSA contract that runs past it."""
    world, (_, psa) = workspace.sandbox.world, workspace.names
    candidates = []
    for line in pick_lines(world, psa, 200):
        subscription = world.subscriptions[line.subscription_id]
        if subscription.term != "annual":
            continue
        anniversary = commitment_end(today=world.today, term=Term(subscription.term), anchor=subscription.start_date)
        end = line.contract_end
        if end is None or end >= anniversary:
            candidates.append((anniversary, line.subscription_id, line))
    assert candidates, "the generated world has an annual line"
    return min(candidates, key=lambda c: c[:2])[2]


async def decrease_at_commitment_end(workspace, *, hold_committed: bool):
    marketplace, _ = workspace.names
    line = annual_line(workspace)
    line.set_market_total(6)
    line.set_psa_units(6)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    async with workspace.sessions() as session:
        await set_decrease_timing(session=session, scope=Scope.global_, timing=DecreaseTiming.commitment_end,
                                  actor="U1")
        await set_approval_policy(session=session, scope=Scope.global_, hold_committed_decreases=hold_committed,
                                  actor="U1")
        await session.commit()
    line.set_market_total(4)
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    subscription = workspace.sandbox.world.subscriptions[line.subscription_id]
    anniversary = commitment_end(today=workspace.sandbox.world.today, term=Term(subscription.term),
                                 anchor=subscription.start_date)
    return line, report, anniversary


async def test_an_annual_decrease_waits_for_the_anniversary_and_posts_that_day(workspace):
    line, report, anniversary = await decrease_at_commitment_end(workspace, hold_committed=False)

    change, = report.planned
    assert (change.effective_date, change.hold_until, change.held_reason) == (anniversary, anniversary, None)
    row, = await adjustments(workspace)
    assert (row.status, row.hold_until) == (AdjustmentStatus.pending, anniversary)
    await workspace.engine.post_outbox(ignore_backoff=True)
    assert line.writes() == [] and line.psa_units == 6
    async with workspace.sessions() as session:
        preview = await posting_preview(session=session, today=workspace.engine.today(), now=workspace.engine.clock())
    scheduled, = preview.rows
    assert (scheduled.state, scheduled.units_from, scheduled.units_to) == (SCHEDULED, 6, 4)
    assert scheduled.note == f"not posted before {anniversary.isoformat()}"

    workspace.jump_to(anniversary - timedelta(days=1))
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert line.writes() == []

    workspace.jump_to(anniversary)
    on_the_day = await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert on_the_day.posting.posted == 1 and line.psa_units == 4
    assert [(w.before, w.after, w.day) for w in line.writes()] == [(6, 4, anniversary)]
    row, = await adjustments(workspace)
    assert (row.status, row.effective_date) == (AdjustmentStatus.posted, anniversary)


async def test_an_annual_decrease_is_held_by_default_and_stays_scheduled_once_approved(workspace):
    line, report, anniversary = await decrease_at_commitment_end(workspace, hold_committed=None)

    assert report.planned[0].held_reason == "a decrease on an annual term"
    row, = await adjustments(workspace)
    assert (row.status, row.hold_until) == (AdjustmentStatus.awaiting_approval, anniversary)
    async with workspace.sessions() as session:
        decided = await approve_change(session=session, adjustment_id=row.id, actor="U0DANA0001",
                                       now=workspace.engine.clock())
        await session.commit()
    early = await workspace.engine.post_outbox(only_ids=[decided.to_post])
    assert early.posted == 0 and line.writes() == []

    workspace.jump_to(anniversary)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert line.psa_units == 4 and [(w.before, w.after) for w in line.writes()] == [(6, 4)]


async def test_small_credits_are_dropped_below_the_threshold_only(workspace):
    marketplace, psa = workspace.names
    small, at_threshold = pick_lines(workspace.sandbox.world, psa, 2)
    for line in (small, at_threshold):
        line.set_market_total(5)
        line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    links = [await link_line(workspace, line, marketplace) for line in (small, at_threshold)]
    for line in (small, at_threshold):
        line.set_market_total(4)  # decreases take effect today in the workspace: a credit for the rest of the month
    preview = await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)
    credits = [change.prorated_amount for change in preview.planned]
    assert all(credit < 0 for credit in credits)
    async with workspace.sessions() as session:
        with pytest.raises(PolicyError):
            await set_drop_prorate_below(session=session, scope=Scope.global_, threshold=Decimal(-1), actor="U1")
        await set_drop_prorate_below(session=session, scope=Scope.link, link_id=links[0], actor="U1",
                                     threshold=-credits[0] + Decimal("0.01"))
        await set_drop_prorate_below(session=session, scope=Scope.link, link_id=links[1], actor="U1",
                                     threshold=-credits[1])  # "smaller than": a credit equal to it is kept
        await session.commit()
    async with workspace.sessions() as session:
        shown = await posting_preview(session=session, today=workspace.engine.today(), now=workspace.engine.clock())
    assert [(row.state, row.prorated_amount) for row in shown.rows] == [(WOULD_POST, Decimal("0.00")),
                                                                      (WOULD_POST, credits[1])]

    await workspace.engine.run_cycle(trigger="test", force_full=True)

    dropped, kept = await adjustments(workspace)
    world = workspace.sandbox.world
    subscription = world.subscriptions[small.subscription_id]
    next_period = billing_period(Term(subscription.term), world.today, anchor=subscription.start_date)[1]
    # the waived credit: dated at the next period's start, where there is nothing to prorate, so a PSA that
    # prorates on its own (Autotask) credits nothing either; the kept credit posts today
    assert (dropped.effective_date, dropped.prorated_amount) == (next_period, 0)
    assert (kept.status, kept.effective_date, kept.prorated_amount) == (AdjustmentStatus.posted, world.today,
                                                                         credits[1])
    assert (small.psa_units, at_threshold.psa_units) == (5, 4)
    # Autotask takes the future-dated change now; ConnectWise gets it on its day
    assert dropped.status is (AdjustmentStatus.posted if psa == "autotask" else AdjustmentStatus.pending)

    workspace.jump_to(next_period)
    await workspace.engine.run_cycle(trigger="test", force_full=True)

    dropped, _ = await adjustments(workspace)
    assert dropped.status is AdjustmentStatus.posted and small.psa_units == 4
    assert len(small.writes()) == 1
    if psa == "connectwise":  # posted on its day without a prorated credit
        additions = world.connectwise_additions
        assert additions[small.service_id].prorate_current_period is False
        assert additions[at_threshold.service_id].prorate_current_period is True
