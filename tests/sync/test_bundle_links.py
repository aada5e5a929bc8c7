"""A marketplace resource linked to an Autotask service bundle, followed downstream: an approval held and approved,
the reports, the month-end checklist and the invoice check all see the bundle ("bundle-<id>", named "... (service
bundle)") as the service the resource feeds. Real simulators over HTTP, the real connector, real SQL; the bundle is
one the generator planted (a customer's Microsoft 365 seats sold with the MSP's backup)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.links import link_resource
from bot.db.models import AdjustmentStatus, MarketplaceResource, MarketplaceSubscription, PsaService, Scope
from bot.db.policies import set_approval_policy
from bot.demo.workspace import open_workspace
from bot.domain.invoice_check import FindingKind, InvoiceLine, LineKind
from bot.reports.catalogue import run_report
from bot.reports.report import ReportFilters
from bot.sandbox.app import Sandbox
from bot.sandbox.autotask_units import settle_units
from bot.sandbox.world import AutotaskContractService, SandboxWorld
from bot.services.suggestions import suggest_links
from bot.sync.approvals import approve_change
from bot.sync.checklist import month_end_checklist
from bot.sync.invoice_check import check_lines
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import adjustments


@dataclass
class BundledLine:
    world: SandboxWorld
    subscription_id: int
    resource_id: int
    bundle_id: int

    @property
    def bundle(self) -> AutotaskContractService:
        settle_units(self.world)
        return self.world.autotask_contract_service_bundles[self.bundle_id]

    def set_market_total(self, total: int) -> None:
        line = self.world.line(self.subscription_id, self.resource_id)
        line.included, line.additional = 0, total
        self.world.subscriptions[self.subscription_id].last_modified = self.world.now()


def bundled_line(world: SandboxWorld) -> BundledLine:
    """A monthly, active line the generator billed as a bundle on a running contract."""
    for (subscription_id, resource_id), bundle_id in sorted(world.truth.bundle_for_line.items()):
        sub = world.subscriptions[subscription_id]
        contract = world.autotask_contracts[world.autotask_contract_service_bundles[bundle_id].contract_id]
        if sub.status == "active" and sub.term == "monthly" and contract.start_date <= world.today <= contract.end_date:
            return BundledLine(world, subscription_id, resource_id, bundle_id)
    raise AssertionError("the generated world bills no live monthly line as a bundle")


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    yield workspace
    await workspace.close()


async def link_bundle(workspace, line: BundledLine) -> tuple[int, int]:
    """(link id, the bundle's psa_services id), after a complete read."""
    async with workspace.sessions() as session:
        resource = await session.scalar(
            select(MarketplaceResource).join(MarketplaceSubscription)
            .where(MarketplaceSubscription.external_id == str(line.subscription_id),
                   MarketplaceResource.external_id == str(line.resource_id)))
        service = await session.scalar(select(PsaService).where(PsaService.external_id == f"bundle-{line.bundle_id}"))
        link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
        await session.commit()
        return link.id, service.id


async def test_the_suggestions_pair_most_bundled_lines_with_their_bundle_at_high_confidence(workspace):
    """As the demo links: by name, "Microsoft 365 Business Premium" with "Microsoft 365 Business Premium + Backup
    (service bundle)" on the subscription's contract."""
    world = workspace.sandbox.world
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    async with workspace.sessions() as session:
        suggestions = await suggest_links(session=session, psa="autotask")
        resources = dict((await session.execute(
            select(MarketplaceResource.id, MarketplaceSubscription.external_id + ":" + MarketplaceResource.external_id)
            .join(MarketplaceSubscription))).all())
        services = dict((await session.execute(select(PsaService.id, PsaService.external_id))).all())
    chosen = {resources[s.resource_id]: services[s.service_id] for s in suggestions if s.high_confidence}
    bundled = {f"{sub}:{res}": f"bundle-{bundle}" for (sub, res), bundle in world.truth.bundle_for_line.items()
               if world.subscriptions[sub].status == "active"}
    landed = [line for line, bundle in bundled.items() if chosen.get(line) == bundle]
    assert len(landed) > 0.6 * len(bundled) and len(bundled) >= 5
    assert all(chosen[line] == bundled.get(line) for line in chosen if chosen[line].startswith("bundle-"))


async def test_a_held_change_to_a_bundle_is_approved_posted_once_and_reported(workspace):
    world = workspace.sandbox.world
    line = bundled_line(world)
    line.set_market_total(line.bundle.units)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_bundle(workspace, line)
    async with workspace.sessions() as session:
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1", max_units=5)
        await session.commit()
    before = line.bundle.units
    line.set_market_total(before + 9)
    workspace.engine.clock.advance(timedelta(minutes=5))
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    held, = await adjustments(workspace)
    assert (held.status, held.units_from, held.units_to) == (AdjustmentStatus.awaiting_approval, before, before + 9)
    assert line.bundle.units == before and world.write_log == []

    async with workspace.sessions() as session:
        decided = await approve_change(session=session, now=workspace.engine.clock(), adjustment_id=held.id,
                                       actor="U0DANA0001")
        await session.commit()
    report = await workspace.engine.post_outbox(only_ids=[decided.to_post])

    assert report.posted == 1 and line.bundle.units == before + 9
    assert [(w.written, w.before, w.after) for w in world.write_log] == [
        (f"bundle:{line.bundle_id}", before, before + 9)]
    name = f"{world.autotask_service_bundles[line.bundle.service_id].name} (service bundle)"
    async with workspace.sessions() as session:
        linked = await run_report("linked", session=session, filters=ReportFilters(today=workspace.clock().date()))
        rows = [dict(zip(linked.columns, row, strict=True)) for row in await linked.all_rows()]
        posted = await run_report("adjustments", session=session,
                                  filters=ReportFilters(today=workspace.clock().date()))
        changes = [dict(zip(posted.columns, row, strict=True)) for row in await posted.all_rows()]
        checklist = await month_end_checklist(session=session, today=workspace.clock().date())
    assert [(r["Service"], r["PSA units"], r["Drift"]) for r in rows] == [(name, before + 9, 0)]
    assert [(c["Service"], c["Units before"], c["Units after"]) for c in changes] == [(name, before, before + 9)]
    assert (checklist.linked_resources, checklist.adjustments_this_month) == (1, 1)
    assert (checklist.failures_pending, checklist.needs_action) == (0, 0)


async def test_the_invoice_check_compares_an_invoice_line_with_the_bundle_it_is_linked_to(workspace):
    world = workspace.sandbox.world
    line = bundled_line(world)
    line.set_market_total(line.bundle.units)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    _, service_id = await link_bundle(workspace, line)
    billed = line.bundle.units
    month = (world.today.replace(day=1) + timedelta(days=32)).replace(day=1)
    product = world.products[line.resource_id]
    account = world.subscriptions[line.subscription_id].account_id
    invoice = [InvoiceLine(line_id="1", kind=LineKind.subscription, company_id=str(account),
                           company_name=world.customers[account].name, product_id=str(line.resource_id),
                           product_name=product.name, subscription_id=str(line.subscription_id), period_start=month,
                           period_end=month.replace(day=28), quantity=Decimal(billed + 2), unit_cost=product.cost,
                           cost_total=product.cost * (billed + 2))]
    async with workspace.sessions() as session:
        result = await check_lines(session=session, marketplace="odin", first=month, lines=invoice)
    finding, = result.findings
    assert (finding.kind, finding.service_id, finding.billed_units, finding.invoice_units) == (
        FindingKind.under_billed, str(service_id), billed, Decimal(billed + 2))
    assert finding.unit_price == line.bundle.unit_price and result.compared == 1
