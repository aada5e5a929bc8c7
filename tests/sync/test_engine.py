"""The engine end to end: real simulators over HTTP, real connectors, real SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.audit import audit_events_for
from bot.db.links import link_resource, unlink_resource
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    DecreaseTiming,
    MarketplaceResource,
    MarketplaceSubscription,
    PriceSourceKind,
    PsaService,
    Scope,
    SyncRunStatus,
)
from bot.db.policies import set_decrease_timing, set_price_source
from bot.sandbox.world import AutotaskContractService, AutotaskService
from bot.sync.planning import plan_levelling
from tests.sync.engine_setup import adjustments, link_line, pick_lines


async def test_link_time_reconciliation_posts_the_difference_once(workspace):
    marketplace, psa = workspace.names
    first, second = pick_lines(workspace.sandbox.world, psa, 2)
    first.set_market_total(8)
    first.set_psa_units(1)
    second.set_market_total(8)
    second.set_psa_units(0)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    links = [await link_line(workspace, line, marketplace) for line in (first, second)]

    planned, report = await workspace.engine.reconcile_links(link_ids=links, actor="U1")

    assert sorted(change.delta for change in planned) == [7, 8]
    assert report.posted == 2 and report.failed == 0
    assert (first.psa_units, second.psa_units) == (8, 8)
    assert [(w.before, w.after) for w in first.writes()] == [(1, 8)]
    assert [(w.before, w.after) for w in second.writes()] == [(0, 8)]
    rows = await adjustments(workspace)
    posted_by_link = (AdjustmentTrigger.link, AdjustmentStatus.posted)
    assert {(a.units_from, a.units_to, a.trigger, a.status) for a in rows} == {(1, 8, *posted_by_link),
                                                                               (0, 8, *posted_by_link)}
    assert all(a.prorated_amount is not None and a.prorated_amount > 0 for a in rows)

    again = await workspace.engine.run_cycle(trigger="test")  # nothing changed: nothing posted
    assert again.planned == [] and len(first.writes()) == 1


async def test_levelling_follows_the_marketplace_and_undoes_hand_edits(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(5)
    line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)

    line.set_market_total(9)
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert report.status is SyncRunStatus.succeeded and line.psa_units == 9

    line.set_psa_units(3)  # someone edits the PSA by hand
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert line.psa_units == 9
    assert [(w.before, w.after) for w in line.writes()] == [(5, 9), (3, 9)]
    async with workspace.sessions() as session:
        drift = await audit_events_for(session=session, subject_type="psa_service", subject_id=str(line.service_id))
    assert [(e.action, e.before, e.after) for e in drift] == [("psa_drift", {"units": 9}, {"units": 3})]


async def test_a_hand_edit_between_complete_reads_is_levelled_back_within_two_cycles(workspace, clock):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(5)
    line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    clock.advance(timedelta(minutes=5))
    await workspace.engine.run_cycle(trigger="test")

    line.set_psa_units(3)  # edited by hand in the PSA: the record itself changes, its contract does not
    if psa == "connectwise":
        workspace.sandbox.world.connectwise_additions[line.service_id].last_updated = workspace.sandbox.world.now()
    for _ in range(2):  # incremental cycles only: the complete read is a day away
        clock.advance(timedelta(minutes=5))
        report = await workspace.engine.run_cycle(trigger="test")
        assert report.status is SyncRunStatus.succeeded
    assert line.psa_units == 5
    assert [(w.before, w.after) for w in line.writes()] == [(3, 5)]
    async with workspace.sessions() as session:
        drift = await audit_events_for(session=session, subject_type="psa_service", subject_id=str(line.service_id))
    assert [(e.action, e.before, e.after) for e in drift] == [("psa_drift", {"units": 5}, {"units": 3})]


async def test_a_resource_linked_to_a_service_bundle_is_levelled_through_the_bundle(workspace):
    marketplace, psa = workspace.names
    if psa != "autotask":
        pytest.skip("service bundles are Autotask's")
    world = workspace.sandbox.world
    line, = pick_lines(world, psa, 1)
    contract_service = world.autotask_contract_services[line.service_id]
    world.autotask_service_bundles[7001] = AutotaskService(7001, "Microsoft 365 + Defender", Decimal("15"),
                                                           Decimal("12.40"))
    bundle = AutotaskContractService(9_000_001, contract_service.contract_id, 7001, Decimal("15"), Decimal("12.40"),
                                     units=4)
    world.autotask_contract_service_bundles[bundle.id] = bundle
    line.set_market_total(4)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    subscription = world.subscriptions[line.subscription_id]
    sub_external = str(line.subscription_id) if marketplace == "odin" else subscription.cmp_id
    res_external = str(line.resource_id) if marketplace == "odin" else world.products[line.resource_id].mpn
    async with workspace.sessions() as session:
        resource = await session.scalar(
            select(MarketplaceResource).join(MarketplaceSubscription)
            .where(MarketplaceSubscription.external_id == sub_external,
                   MarketplaceResource.external_id == res_external))
        service = await session.scalar(select(PsaService).where(PsaService.external_id == "bundle-9000001"))
        assert service.name == "Microsoft 365 + Defender (service bundle)" and service.units == 4
        await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
        await session.commit()

    line.set_market_total(7)
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert report.status is SyncRunStatus.succeeded, report.errors
    assert bundle.units == 7 and contract_service.units == line.psa_units  # the contract service is untouched
    writes = [(w.service_id, w.before, w.after) for w in world.write_log]
    assert writes == [(bundle.id, 4, 7)]
    rows = await adjustments(workspace)
    assert [(a.units_from, a.units_to, a.status) for a in rows] == [(4, 7, AdjustmentStatus.posted)]


async def test_cancelled_subscription_levels_to_zero(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    await workspace.engine.post_outbox(ignore_backoff=True)
    subscription = workspace.sandbox.world.subscriptions[line.subscription_id]
    subscription.status = "cancelled"
    subscription.last_modified = workspace.sandbox.world.now()
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert line.psa_units == 0


async def test_dry_run_writes_nothing(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(6)
    line.set_psa_units(6)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    line.set_market_total(11)
    writes_before = len(workspace.sandbox.world.write_log)

    report = await workspace.engine.run_cycle(trigger="test", dry_run=True, force_full=True)

    assert [(c.units_from, c.units_to) for c in report.planned] == [(6, 11)]
    assert len(workspace.sandbox.world.write_log) == writes_before and line.psa_units == 6
    assert await adjustments(workspace) == []


async def test_lost_reply_is_confirmed_not_posted_twice(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(4)
    line.set_psa_units(4)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    line.set_market_total(12)
    workspace.sandbox.faults[psa].update({"drop_reply_rate": 1.0})  # every write lands; no reply comes back

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert line.psa_units == 12 and report.posting.posted == 0

    workspace.sandbox.faults[psa].reset()
    await workspace.engine.post_outbox(ignore_backoff=True)
    rows = await adjustments(workspace)
    assert [(a.status, a.units_from, a.units_to) for a in rows] == [(AdjustmentStatus.posted, 4, 12)]
    assert [(w.before, w.after) for w in line.writes()] == [(4, 12)]


async def test_crash_after_claim_is_resolved_by_reading_first(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(2)
    line.set_psa_units(2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, marketplace)
    line.set_market_total(3)
    await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=False)
    assert line.psa_units == 3
    # Simulate a process that died after posting but before recording: the row is left claimed.
    async with workspace.sessions() as session:
        row = (await session.scalars(select(Adjustment))).one()
        row.status = AdjustmentStatus.posting
        await session.commit()
    report = await workspace.engine.post_outbox(ignore_backoff=True)
    assert report.confirmed == 1 and report.posted == 0
    assert len(line.writes()) == 1 and link_id


async def test_price_source_is_posted_with_the_adjustment(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(3)
    line.set_psa_units(1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, marketplace)
    async with workspace.sessions() as session:
        await set_price_source(session=session, scope=Scope.link, link_id=link_id,
                               kind=PriceSourceKind.marketplace_price, actor="U1")
        await session.commit()
    await workspace.engine.reconcile_links(link_ids=[link_id], actor="U1")
    row, = await adjustments(workspace)
    assert row.status is AdjustmentStatus.posted
    assert row.unit_price == line.market.unit_price
    # BA's billing calls carry no cost (see bot/connectors/marketplace/odin/client.py); CMP's do
    assert row.unit_cost == (None if marketplace == "odin" else line.market.unit_cost)


async def test_a_change_dated_after_the_contract_ends_waits_scheduled(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    world = workspace.sandbox.world
    line.set_market_total(6)
    line.set_psa_units(6)
    line.set_contract_end(world.today)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, marketplace)
    async with workspace.sessions() as session:  # this link keeps the product default: decreases next period
        await set_decrease_timing(session=session, scope=Scope.link, link_id=link_id,
                                  timing=DecreaseTiming.next_period, actor="U1")
        await session.commit()
    line.set_market_total(4)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)

    change, = report.planned
    assert change.effective_date > world.today and report.posting.failed == 0
    row, = await adjustments(workspace)
    assert row.status is AdjustmentStatus.pending and line.writes() == [] and line.psa_units == 6


async def test_unlinking_supersedes_the_open_intent(workspace):
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(5)
    line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, marketplace)
    line.set_market_total(9)
    await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)  # reads the new count
    async with workspace.sessions() as session:  # an intent recorded but not posted yet
        await plan_levelling(session=session, today=workspace.engine.today(), now=workspace.engine.clock(),
                             trigger=AdjustmentTrigger.sync)
        await session.commit()
    assert (await adjustments(workspace))[0].status is AdjustmentStatus.pending
    async with workspace.sessions() as session:
        await unlink_resource(session=session, resource_link_id=link_id, actor="U1")
        await session.commit()

    await workspace.engine.run_cycle(trigger="test", force_full=True, ignore_backoff=True)

    assert (await adjustments(workspace))[0].status is AdjustmentStatus.superseded
    assert line.writes() == [] and line.psa_units == 5


async def test_each_attempt_is_counted_once(workspace):
    marketplace, psa = workspace.names
    if psa != "autotask":
        pytest.skip("the simulated refusal used here (an inactive contract) is Autotask's")
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    world = workspace.sandbox.world
    line.set_market_total(3)
    line.set_psa_units(3)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    world.autotask_contracts[world.autotask_contract_services[line.service_id].contract_id].status = 0
    line.set_market_total(5)

    await workspace.engine.run_cycle(trigger="test", force_full=True)
    first, = await adjustments(workspace)
    await workspace.engine.run_cycle(trigger="test", ignore_backoff=True)
    second, = await adjustments(workspace)

    assert (first.status, first.attempts, second.attempts) == (AdjustmentStatus.failed, 1, 2)
    assert "inactive" in second.last_error and line.writes() == []


async def test_every_write_carries_its_intent_s_key_in_the_psa(workspace):
    """The write log, seen from the PSA, names the intent of each write: ConnectWise keeps the key in the addition's
    description; Autotask in the contract note left right after the adjustment (the simulator labels the
    adjustment's write once the note names it)."""
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(2)
    line.set_psa_units(2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, marketplace)
    for total in (5, 4):
        line.set_market_total(total)
        await workspace.engine.run_cycle(trigger="test", force_full=True)

    rows = await adjustments(workspace)
    assert [(w.before, w.after, w.key) for w in line.writes()] == [
        (a.units_from, a.units_to, a.idempotency_key) for a in rows]
    assert all(w.reference for w in line.writes())
