"""`seatsync demo --once --invoice-check`: a month-end invoice check whose verdict is read from the simulators.

After the scripted run, the billing lead links what corresponds (the generator's truth, through SeatSync's own
linking and the link-time reconciliation), so the PSA bills what the marketplace sells. Then the world moves to
the next month (the invoice month): days pass and are synced; the simulators plant one of each known
discrepancy (bot.sandbox.invoice_plants: the second subscription before a sync, the rest after the last one);
the world moves to the 5th of the month after, when the distributor releases the invoice. SeatSync reads the
PSA afresh (a dry-run cycle: nothing is posted), fetches the invoice through the marketplace's API, and checks
the month. The verdict compares SeatSync's findings with the simulators' plants: a plant is found when every
finding it causes is there; a finding is false when no plant causes it and it is not the `unlinked` line of a
subscription the generator never billed (`known_unlinked`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from bot.connectors.invoice_sources import invoice_source
from bot.db.links import LinkError, link_resource
from bot.db.models import MarketplaceResource, MarketplaceSubscription, PsaService, ResourceLink
from bot.demo.progress import DemoFailed, Progress
from bot.demo.workspace import ACTOR, DemoWorkspace, demo_support
from bot.domain.invoice_check import CheckState, FindingKind
from bot.domain.invoices import first_of
from bot.sandbox.invoice_plants import PlantedMonth
from bot.sync.invoice_check import check_month_invoices
from bot.sync.invoice_intake import fetch_invoices

Say = Callable[[str], None]


def next_month(day: date) -> date:
    return first_of(first_of(day) + timedelta(days=32))


async def link_truth(workspace: DemoWorkspace, pairs: list[tuple[str, str, str]], psa: str) -> tuple[list[int], int]:
    """Link each (subscription, resource, PSA service) not linked yet; returns the new link ids and the refusals."""
    link_ids: list[int] = []
    refused = 0
    async with workspace.sessions() as session:
        resources = {(sub, res): rid for sub, res, rid in (await session.execute(
            select(MarketplaceSubscription.external_id, MarketplaceResource.external_id, MarketplaceResource.id)
            .join(MarketplaceResource, MarketplaceResource.subscription_id == MarketplaceSubscription.id)
            .where(MarketplaceSubscription.marketplace == workspace.marketplace.system)))}
        services = dict((await session.execute(select(PsaService.external_id, PsaService.id)
                                               .where(PsaService.psa == psa))).all())
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
    return link_ids, refused


async def invoice_proof(workspace: DemoWorkspace, *, marketplace: str, psa: str, seed: int, days: int, say: Say,
                        progress: Progress, cycle, settle) -> dict:
    support = demo_support(marketplace).invoice_month
    if support is None:
        raise DemoFailed(f"the {marketplace} simulator cannot plant an invoice month")
    world = workspace.sandbox.world
    rng = random.Random(seed * 7919 + 16)

    progress.enter("invoice check: the billing lead links what corresponds")
    link_ids, refused = await link_truth(workspace, support.truth_links(world, psa), psa)
    await workspace.engine.reconcile_links(link_ids=link_ids, actor=ACTOR)
    await settle(workspace, say)
    say(f"invoice check: linked {len(link_ids)} more resources as the generator paired them ({refused} refused)")

    prorated = next_month(world.today)
    workspace.jump_to(prorated)
    support.start(world)
    for _ in range(max(1, days)):
        workspace.pass_day()
        support.after_day(world)
        await cycle(workspace, say)
        await settle(workspace, say)
    month = PlantedMonth(marketplace=marketplace)
    progress.enter("invoice check: planting the known discrepancies")
    support.plant_before_sync(world, psa, month, rng)
    await cycle(workspace, say)  # the PSA now bills the second subscription; the lead links it (no reconciliation)
    await link_truth(workspace, [(sub, res, str(service)) for sub, res, service in month.to_link], psa)
    support.plant_after_sync(world, psa, month, rng)
    invoice_month = next_month(prorated)
    workspace.jump_to(invoice_month + timedelta(days=4))
    support.release(world, invoice_month)

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
    known = support.known_unlinked(world, psa, invoice_month) - {plant.subscription_id for plant in month.plants}
    planted_keys = {(kind, sub, prorate): plant for plant in month.plants for kind, prorate in plant.expected
                    for sub in (plant.subscription_id,)}
    seen = {(f.kind.value, f.subscription_id, f.prorate) for f in findings}
    found = [plant for plant in month.plants
             if all((kind, plant.subscription_id, prorate) in seen for kind, prorate in plant.expected)]
    false, known_found = [], 0
    for finding in findings:
        key = (finding.kind.value, finding.subscription_id, finding.prorate)
        if key in planted_keys:
            continue
        if finding.kind is FindingKind.unlinked and finding.subscription_id in known:
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
            "false_findings": len(false), "known_unlinked": len(known), "found_known_unlinked": known_found,
            "checked": CheckState.not_reconcilable not in states,
            **{name: f"{money:.2f}" for name, money in totals.items()}}
