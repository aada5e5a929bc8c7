"""The approval policy end to end: real simulators over HTTP, real connectors, real SQL.

Limits are maxima that still post on their own: a change exactly at a limit posts, one over it waits.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.__main__ import _sync_once
from bot.config import load_settings
from bot.db.audit import audit_events_for
from bot.db.models import AdjustmentStatus, PriceSourceKind, Scope, Term
from bot.db.policies import PolicyError, set_approval_policy, set_price_source
from bot.domain.approval_policy import ApprovalPolicy, hold_reason
from bot.sync.approvals import ApprovalError, approve_change, edit_change, reject_change
from bot.sync.link_reconciliation import reconcile_new_links
from bot.sync.preview import AWAITING_APPROVAL, WOULD_HOLD, WOULD_POST, posting_preview
from bot.sync.summary import describe_cycle
from tests.conftest import make_env
from tests.sync.engine_setup import adjustments, link_line, pick_lines


async def policy(workspace, **limits) -> None:
    async with workspace.sessions() as session:
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1", **limits)
        await session.commit()


async def linked_lines(workspace, units: list[tuple[int, int]]):
    """Lines at (PSA units = marketplace total) linked, then each marketplace total moved to its target."""
    marketplace, psa = workspace.names
    lines = pick_lines(workspace.sandbox.world, psa, len(units))
    for line, (before, _after) in zip(lines, units, strict=True):
        line.set_market_total(before)
        line.set_psa_units(before)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    for line in lines:
        await link_line(workspace, line, marketplace)
    for line, (_before, after) in zip(lines, units, strict=True):
        line.set_market_total(after)
    return lines


async def decide(workspace, decision, **arguments):
    async with workspace.sessions() as session:
        decided = await decision(session=session, now=workspace.engine.clock(), **arguments)
        await session.commit()
    return decided


async def test_unit_limit_posts_at_the_limit_and_holds_one_over(workspace):
    at_limit, over = await linked_lines(workspace, [(5, 8), (5, 9)])
    await policy(workspace, max_units=3)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    await workspace.engine.post_outbox(ignore_backoff=True)  # an awaiting change is never due

    assert (at_limit.psa_units, over.psa_units) == (8, 5) and over.writes() == []
    posted, held = await adjustments(workspace)
    assert (posted.status, posted.held_reason) == (AdjustmentStatus.posted, None)
    assert (held.status, held.held_reason) == (AdjustmentStatus.awaiting_approval, "4 units is over the 3-unit limit")
    assert [c.held_reason for c in report.planned] == [None, "4 units is over the 3-unit limit"]


async def test_percent_and_amount_limits_at_their_edges(workspace):
    lines = await linked_lines(workspace, [(4, 6), (4, 7), (3, 5), (3, 5)])
    preview = await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)
    at_limit, over = preview.planned[2:]
    assert at_limit.prorated_amount > 0 and over.prorated_amount > 0
    assert await adjustments(workspace) == []
    async with workspace.sessions() as session:  # percent globally; amount per link, to hit both edges
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1", max_percent=Decimal(50))
        for change, limit in ((at_limit, at_limit.prorated_amount), (over, over.prorated_amount - Decimal("0.01"))):
            await set_approval_policy(session=session, scope=Scope.link, link_id=change.resource_link_id,
                                      actor="U1", max_percent=Decimal(100), max_amount=limit)
        await session.commit()

    await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert [line.psa_units for line in lines] == [6, 4, 5, 3]
    held = [a.held_reason for a in await adjustments(workspace) if a.status is AdjustmentStatus.awaiting_approval]
    amount = over.prorated_amount
    limit = amount - Decimal("0.01")
    assert held == ["75% is over the 50% limit", f"a prorated {amount:.2f} is over the {limit:.2f} limit"]


@pytest.mark.parametrize(
    ("policy", "units_from", "units_to", "amount", "term", "reason"),
    [
        (ApprovalPolicy(max_units=10), 10, 20, None, Term.monthly, None),
        (ApprovalPolicy(max_units=10), 10, 21, None, Term.monthly, "11 units is over the 10-unit limit"),
        (ApprovalPolicy(max_units=10), 20, 10, None, Term.monthly, None),
        (ApprovalPolicy(max_percent=Decimal(25)), 8, 10, None, Term.monthly, None),
        (ApprovalPolicy(max_percent=Decimal(25)), 8, 11, None, Term.monthly, "37.5% is over the 25% limit"),
        (ApprovalPolicy(max_percent=Decimal(25)), 0, 1, None, Term.monthly,
         "a change from 0 units is over the 25% limit"),
        (ApprovalPolicy(max_amount=Decimal("50.00")), 1, 2, Decimal("-50.00"), Term.monthly, None),
        (ApprovalPolicy(max_amount=Decimal("50.00")), 1, 2, Decimal("50.01"), Term.monthly,
         "a prorated 50.01 is over the 50.00 limit"),
        (ApprovalPolicy(max_amount=Decimal("50.00")), 1, 9, None, Term.monthly, None),  # no price: no amount limit
        (ApprovalPolicy(), 5, 4, None, Term.annual, "a decrease on an annual term"),
        (ApprovalPolicy(), 5, 4, None, Term.other, "a decrease on a committed term"),
        (ApprovalPolicy(), 5, 4, None, Term.monthly, None),
        (ApprovalPolicy(), 4, 5, None, Term.annual, None),
        (ApprovalPolicy(hold_committed_decreases=False), 5, 4, None, Term.annual, None),
    ],
)
def test_hold_reasons(policy, units_from, units_to, amount, term, reason):
    assert hold_reason(policy, units_from=units_from, units_to=units_to, prorated_amount=amount, term=term) == reason


async def test_policy_setters_refuse_bad_values_and_audit(session):
    for bad in ({"max_units": -1}, {"max_units": 2.5}, {"max_percent": Decimal(-1)}, {"max_amount": Decimal(-5)}):
        with pytest.raises(PolicyError):
            await set_approval_policy(session=session, scope=Scope.global_, actor="U1", **bad)
    with pytest.raises(ValueError, match="needs the link"):
        await set_approval_policy(session=session, scope=Scope.link, actor="U1", max_units=3)
    await set_approval_policy(session=session, scope=Scope.global_, actor="U1", max_units=3,
                              hold_committed_decreases=False)
    await session.commit()
    event, = await audit_events_for(session=session, subject_type="sync_policy", subject_id="global")
    assert event.action == "set_approval_policy"
    assert event.after == {"approval_max_units": 3, "approval_max_percent": None, "approval_max_amount": None,
                           "hold_committed_decreases": False}


async def test_an_approved_change_posts_once_through_the_outbox(workspace):
    line, = await linked_lines(workspace, [(2, 12)])
    await policy(workspace, max_units=5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    held, = await adjustments(workspace)

    decided = await decide(workspace, approve_change, adjustment_id=held.id, actor="U0DANA0001")
    report = await workspace.engine.post_outbox(only_ids=[decided.to_post])

    assert report.posted == 1 and line.psa_units == 12
    assert [(w.before, w.after) for w in line.writes()] == [(2, 12)]
    row, = await adjustments(workspace)
    assert (row.status, row.decided_by, row.held_reason) == (AdjustmentStatus.posted, "U0DANA0001",
                                                             "10 units is over the 5-unit limit")
    with pytest.raises(ApprovalError, match="already approved by <@U0DANA0001>"):
        await decide(workspace, approve_change, adjustment_id=held.id, actor="U0SAM00002")
    async with workspace.sessions() as session:
        events = await audit_events_for(session=session, subject_type="adjustment", subject_id=held.id)
    assert [(e.actor, e.action) for e in events] == [("U0DANA0001", "approve_adjustment")]
    again = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert again.planned == [] and len(line.writes()) == 1


async def test_a_rejected_target_is_not_proposed_again_until_the_count_moves(workspace):
    line, = await linked_lines(workspace, [(3, 10)])
    await policy(workspace, max_units=5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    held, = await adjustments(workspace)
    with pytest.raises(ApprovalError, match="say why"):
        await decide(workspace, reject_change, adjustment_id=held.id, actor="U0DANA0001", reason="  ")

    await decide(workspace, reject_change, adjustment_id=held.id, actor="U0DANA0001", reason="customer disputes it")

    second = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert second.planned == [] and line.writes() == [] and line.psa_units == 3
    row, = await adjustments(workspace)
    assert (row.status, row.decision_note, row.decided_by) == (AdjustmentStatus.rejected, "customer disputes it",
                                                               "U0DANA0001")
    with pytest.raises(ApprovalError, match="already rejected"):
        await decide(workspace, approve_change, adjustment_id=held.id, actor="U0SAM00002")

    line.set_market_total(6)  # the count moves: proposed again (and within the limit, posted)
    third = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert [(c.units_from, c.units_to, c.held_reason) for c in third.planned] == [(3, 6, None)]
    assert line.psa_units == 6


async def test_an_edited_change_posts_the_edit_and_levelling_leaves_it(workspace):
    line, = await linked_lines(workspace, [(3, 20)])
    await policy(workspace, max_units=5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    held, = await adjustments(workspace)
    today = workspace.engine.today()
    with pytest.raises(ApprovalError, match="already has 3 units"):
        await decide(workspace, edit_change, adjustment_id=held.id, units_to=3, effective=today, actor="U1",
                     today=today)
    with pytest.raises(ApprovalError, match="date can be at most"):
        await decide(workspace, edit_change, adjustment_id=held.id, units_to=8, effective=today + timedelta(days=500),
                     actor="U1", today=today)

    decided = await decide(workspace, edit_change, adjustment_id=held.id, units_to=8, effective=today,
                           actor="U0DANA0001", today=today)
    await workspace.engine.post_outbox(only_ids=[decided.to_post])

    assert line.psa_units == 8 and [(w.before, w.after) for w in line.writes()] == [(3, 8)]
    original, edited = await adjustments(workspace)
    assert (original.status, original.superseded_by_id, original.decision_note) == (
        AdjustmentStatus.rejected, edited.id, f"edited to 8 units effective {today.isoformat()}")
    assert (edited.status, edited.units_to, edited.decided_by) == (AdjustmentStatus.posted, 8, "U0DANA0001")
    assert edited.prorated_amount is not None and 0 < edited.prorated_amount < held.prorated_amount

    later = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert later.planned == [] and line.psa_units == 8  # the edit is not levelled back to 20
    line.set_market_total(21)
    moved = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert [(c.units_from, c.units_to) for c in moved.planned] == [(8, 21)]
    assert moved.planned[0].held_reason == "13 units is over the 5-unit limit"


async def test_a_newer_count_supersedes_a_held_change_and_is_judged_afresh(workspace):
    line, = await linked_lines(workspace, [(4, 12)])
    await policy(workspace, max_units=5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)

    line.set_market_total(6)
    await workspace.engine.run_cycle(trigger="test", force_full=True)

    first, second = await adjustments(workspace)
    assert (first.status, first.superseded_by_id) == (AdjustmentStatus.superseded, second.id)
    assert (second.status, second.units_to) == (AdjustmentStatus.posted, 6) and line.psa_units == 6
    with pytest.raises(ApprovalError, match="replaced by a newer one"):
        await decide(workspace, approve_change, adjustment_id=first.id, actor="U1")


async def test_dry_run_shows_would_hold_and_writes_nothing(workspace, database_url, tmp_path, capsys):
    held_line, free_line = await linked_lines(workspace, [(2, 9), (2, 3)])
    await policy(workspace, max_units=5)
    writes_before = len(workspace.sandbox.world.write_log)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)
    settings = load_settings(make_env(tmp_path, DATABASE_URL=database_url), dotenv_path=None)
    exit_code = await _sync_once(settings, dry_run=True, clock=workspace.clock)  # `seatsync sync --once --dry-run`

    assert [c.held_reason for c in report.planned] == ["7 units is over the 5-unit limit", None]
    text = "\n".join(describe_cycle(report))
    assert "1 change would post, 1 would hold for approval" in text
    assert "would hold for approval: 7 units is over the 5-unit limit" in text
    printed = capsys.readouterr().out
    assert exit_code == 0 and "would hold for approval: 7 units is over the 5-unit limit" in printed
    assert "(dry run: nothing written to the PSA)" in printed
    assert len(workspace.sandbox.world.write_log) == writes_before
    assert (held_line.psa_units, free_line.psa_units) == (2, 2)
    assert await adjustments(workspace) == []


async def test_the_preview_shows_held_and_would_hold_changes_and_writes_nothing(workspace):
    held_line, later_line = await linked_lines(workspace, [(2, 9), (2, 2)])
    await policy(workspace, max_units=5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)  # the first is held
    later_line.set_market_total(10)
    await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)  # read, nothing recorded
    recorded = await adjustments(workspace)

    async with workspace.sessions() as session:
        preview = await posting_preview(session=session, today=workspace.engine.today(), now=workspace.engine.clock())

    assert [(row.state, row.units_from, row.units_to, row.note) for row in preview.rows] == [
        (AWAITING_APPROVAL, 2, 9, "7 units is over the 5-unit limit"),
        (WOULD_HOLD, 2, 10, "8 units is over the 5-unit limit"),
    ]
    assert preview.count(WOULD_POST) == 0 and preview.prorated_total == 0
    assert [(a.id, a.status) for a in await adjustments(workspace)] == [(a.id, a.status) for a in recorded]
    assert later_line.writes() == [] and held_line.writes() == []


async def test_under_the_default_policy_a_large_catch_up_at_link_time_waits_for_approval(workspace):
    """No limit set anywhere (the policy a new install has): the link-time difference, 0 billed of 108 bought at
    100.00 a seat, is an unknown backlog; it waits for a person like any change over the default amount limit."""
    marketplace, psa = workspace.names
    big, small = pick_lines(workspace.sandbox.world, psa, 2)
    big.set_market_total(108)
    big.set_psa_units(0)
    small.set_market_total(3)
    small.set_psa_units(2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    async with workspace.sessions() as session:  # back to the defaults: no approval field set at any scope
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1")
        await set_price_source(session=session, scope=Scope.global_, kind=PriceSourceKind.custom,
                               custom_price=Decimal("100"), custom_cost=Decimal("80"), actor="U1")
        await session.commit()
    link_ids = [await link_line(workspace, line, marketplace) for line in (big, small)]

    held, posted = await reconcile_new_links(engine=workspace.engine, link_ids=link_ids, actor="U0DANA0001")

    assert held.state == "awaiting_approval" and held.delta == 108
    assert re.fullmatch(r"a prorated [\d,]+\.\d\d is over the 1,000\.00 default limit", held.reason), held.reason
    assert big.writes() == [] and big.psa_units == 0
    assert posted.state == "posted" and small.psa_units == 3  # a small change posts on its own
    assert (await adjustments(workspace))[0].status is AdjustmentStatus.awaiting_approval
