"""`seatsync demo --once --invoice-check`: a month-end invoice check whose verdict is read from the simulators.

After the scripted run, the billing lead links what corresponds (the generator's truth, through SeatSync's own
linking and the link-time reconciliation), so the PSA bills what the marketplace sells. Then the world moves to
the next month (the invoice month): days pass and are synced; the simulators plant one of each known
discrepancy (bot.sandbox.invoice_plants: the second subscription before a sync, the rest after the last one);
the world moves to the 5th of the month after, when the distributor releases the invoice. SeatSync reads the
PSA afresh (a dry-run cycle: nothing is posted), fetches the invoice through the marketplace's API, and checks
the month. The verdict compares SeatSync's findings with the simulators' plants: a plant is found when every
finding it causes is there; a finding is false when no plant causes it and it is not the `unlinked` line of a
subscription the generator never billed, or the under-cost price of a line the generator priced so
(`known_findings`: true findings of the generated world, computed from the simulators' own books, counted apart
as `known` / `found_known`). A known discrepancy is one product's and excuses one finding only: a second finding of
the same kind on the same subscription is false; a plant acts on its whole subscription.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select

from bot.connectors.invoice_sources import invoice_source
from bot.db.links import LinkError, link_resource, unlink_resource
from bot.db.models import (
    CompanyLink,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaService,
    ResourceLink,
    SubscriptionLink,
)
from bot.demo.progress import DemoFailed, Progress
from bot.demo.workspace import ACTOR, DemoWorkspace, demo_support
from bot.domain.invoice_check import CheckState, FindingKind
from bot.domain.invoices import first_of
from bot.sandbox.invoice_plants import PlantedMonth
from bot.sync.invoice_check import check_month_invoices
from bot.sync.invoice_intake import fetch_invoices

Say = Callable[[str], None]


async def quiet_until(workspace: DemoWorkspace, support, until: date, say: Say, settle, cycle) -> None:
    """Days pass with nothing but what happens by itself; SeatSync syncs once at the end (and posts)."""
    support.quiet_days(workspace.sandbox.world, until)
    workspace.follow_world()
    await cycle(workspace, say)
    await settle(workspace, say)


def next_month(day: date) -> date:
    return first_of(first_of(day) + timedelta(days=32))


async def link_truth(workspace: DemoWorkspace, pairs: list[tuple[str, str, str]], psa: str, *,
                     undo_others: bool = False) -> tuple[list[int], int, int]:
    """Link each (subscription, resource, PSA service) not linked yet; with `undo_others`, first unlink the
    marketplace's links that are not among `pairs`. Returns the new link ids, the refusals and the undone."""
    link_ids: list[int] = []
    refused = 0
    async with workspace.sessions() as session:
        resources = {(sub, res): rid for sub, res, rid in (await session.execute(
            select(MarketplaceSubscription.external_id, MarketplaceResource.external_id, MarketplaceResource.id)
            .join(MarketplaceResource, MarketplaceResource.subscription_id == MarketplaceSubscription.id)
            .where(MarketplaceSubscription.marketplace == workspace.marketplace.system)))}
        services = dict((await session.execute(select(PsaService.external_id, PsaService.id)
                                               .where(PsaService.psa == psa))).all())
        # the lead first undoes the links the generator did not pair (a name match to another source's service)
        wanted = {resources.get((sub, res)): services.get(service) for sub, res, service in pairs}
        ours = set(resources.values())
        undone = 0
        for link in (await session.scalars(select(ResourceLink))).all() if undo_others else ():
            if link.resource_id in ours and wanted.get(link.resource_id) != link.psa_service_id:
                await unlink_resource(session=session, resource_link_id=link.id, actor=ACTOR)
                await _drop_empty_levels(session, link.resource_id)
                undone += 1
        await session.flush()
        linked = set((await session.scalars(select(ResourceLink.resource_id))).all())
        for subscription_id, resource_id, service_id in pairs:
            resource, service = resources.get((subscription_id, resource_id)), services.get(service_id)
            if resource is None or service is None or resource in linked:
                continue
            try:
                async with session.begin_nested():
                    link = await link_resource(session=session, resource_id=resource, service_id=service,
                                               actor=ACTOR, now=workspace.clock())
            except LinkError:
                refused += 1
                continue
            link_ids.append(link.id)
        await session.commit()
    return link_ids, refused, undone


async def _drop_empty_levels(session, resource_id: int) -> None:
    """The subscription and company links left with nothing under them go too (the lead relinks them as paired)."""
    subscription_id = await session.scalar(select(MarketplaceResource.subscription_id)
                                           .where(MarketplaceResource.id == resource_id))
    still = await session.scalar(select(ResourceLink.id).join(MarketplaceResource,
                                                              MarketplaceResource.id == ResourceLink.resource_id)
                                 .where(MarketplaceResource.subscription_id == subscription_id).limit(1))
    if still is not None:
        return
    await session.execute(delete(SubscriptionLink)
                          .where(SubscriptionLink.marketplace_subscription_id == subscription_id))
    company_id = await session.scalar(select(MarketplaceSubscription.company_id)
                                      .where(MarketplaceSubscription.id == subscription_id))
    others = await session.scalar(select(SubscriptionLink.id).join(
        MarketplaceSubscription, MarketplaceSubscription.id == SubscriptionLink.marketplace_subscription_id)
        .where(MarketplaceSubscription.company_id == company_id).limit(1))
    if others is None:
        await session.execute(delete(CompanyLink).where(CompanyLink.marketplace_company_id == company_id))
    await session.flush()


async def invoice_proof(workspace: DemoWorkspace, *, marketplace: str, psa: str, seed: int, days: int, say: Say,
                        progress: Progress, cycle, settle) -> dict:
    support = demo_support(marketplace).invoice_month
    if support is None:
        raise DemoFailed(f"the {marketplace} simulator cannot plant an invoice month")
    world = workspace.sandbox.world
    rng = random.Random(seed * 7919 + 16)

    progress.enter("invoice check: the billing lead links what corresponds")
    link_ids, refused, undone = await link_truth(workspace, support.truth_links(world, psa), psa, undo_others=True)
    await workspace.engine.reconcile_links(link_ids=link_ids, actor=ACTOR)
    await settle(workspace, say)
    say(f"invoice check: the billing lead linked {len(link_ids)} more resources as the generator paired them "
        f"({refused} refused) and undid {undone} links it did not pair")

    prorated = next_month(world.today)
    await quiet_until(workspace, support, prorated, say, settle, cycle)
    support.start(world)
    for _ in range(max(1, days)):
        workspace.pass_day()
        support.after_day(world)
        await cycle(workspace, say)
        await settle(workspace, say)
    month = PlantedMonth(marketplace=marketplace)
    invoice_month = next_month(prorated)
    # the month's last days pass by themselves and are synced: the PSA bills what the invoice will, at its cut
    await quiet_until(workspace, support, invoice_month, say, settle, cycle)
    progress.enter("invoice check: planting the known discrepancies")
    at = datetime.combine(invoice_month - timedelta(days=1), time(12), tzinfo=UTC)  # in the prorated month
    support.plant_before_sync(world, psa, month, rng, at)
    await cycle(workspace, say)  # the PSA now bills the second subscription; the lead links it (no reconciliation)
    await link_truth(workspace, [(sub, res, str(service)) for sub, res, service in month.to_link], psa)
    support.plant_after_sync(world, psa, month, rng, at)
    support.quiet_days(world, invoice_month + timedelta(days=4))  # nobody syncs: the invoice is released
    workspace.follow_world()

    progress.enter(f"invoice check: reading the {invoice_month:%B %Y} invoice and checking it")
    await workspace.engine.run_cycle(trigger="demo", actor=ACTOR, dry_run=True, force_full=True,
                                     ignore_backoff=True)  # the PSA as it is now; nothing posted
    reader = invoice_source(marketplace, workspace.marketplace)
    await fetch_invoices(sessions=workspace.sessions, reader=reader, start=invoice_month, end=invoice_month,
                         now=workspace.clock(), actor=ACTOR)
    async with workspace.sessions() as session:
        checks = await check_month_invoices(session=session, month=invoice_month)
    findings = [f for check in checks for f in check.result.findings]
    states = {check.result.state for check in checks}
    # a plant acts on a whole subscription (cancelling one cancels each of its products), so it accounts for its
    # kinds of finding on every product of it; a known discrepancy is one product's and accounts for one finding:
    # a second finding of the same kind on the same subscription is false, not hidden behind the first
    planted_keys = {(kind, plant.subscription_id, prorate) for plant in month.plants
                    for kind, prorate in plant.expected}
    known_budget = Counter(key for key in support.known_findings(world, psa, invoice_month)
                           if key not in planted_keys)
    known_total = sum(known_budget.values())
    seen = {(f.kind.value, f.subscription_id, f.prorate) for f in findings}
    found = [plant for plant in month.plants
             if all((kind, plant.subscription_id, prorate) in seen for kind, prorate in plant.expected)]
    false, known_found = [], 0
    for finding in findings:
        key = (finding.kind.value, finding.subscription_id, finding.prorate)
        if key in planted_keys:
            continue
        if known_budget[key] > 0:
            known_budget[key] -= 1
            known_found += 1
            continue
        false.append(finding)
    for finding in false[:10]:
        say(f"  false finding: {finding.kind.value}{' (prorate)' if finding.prorate else ''} "
            f"{finding.company_name} / {finding.product_name} ({finding.subscription_id}): {finding.detail}")
    for plant in month.plants:
        if plant not in found:
            say(f"  missed: {plant.kind} on {plant.subscription_id}: {plant.detail}")
    totals = {kind.value: sum((f.money for f in findings if f.kind is kind), start=0) for kind in FindingKind}
    say(f"invoice check of {invoice_month:%B %Y}: {len(findings)} findings, {len(found)} of {len(month.plants)} "
        f"planted discrepancies found, {len(false)} false; state {', '.join(sorted(s.value for s in states))}")
    return {"invoice_month": f"{invoice_month:%Y-%m}",
            "invoice_lines": support.invoice_line_count(world, invoice_month),
            "findings": len(findings), "planted": len(month.plants), "found_planted": len(found),
            "false_findings": len(false), "known": known_total, "found_known": known_found,
            "checked": CheckState.not_reconcilable not in states,
            **{name: f"{money:.2f}" for name, money in totals.items()}}
