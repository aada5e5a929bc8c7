"""Set-up for engine tests: a sandbox, a workspace over it, and helpers to reach both sides of a line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from bot.db.links import link_resource
from bot.db.models import Adjustment, AdjustmentTrigger, MarketplaceResource, MarketplaceSubscription, PsaService
from bot.demo.workspace import DemoWorkspace
from bot.sandbox.app import Sandbox
from bot.sandbox.autotask_units import settle_units
from bot.sandbox.ingram_gateway import GatewayQuota
from bot.sandbox.ingram_orders import place_order
from bot.sandbox.odin_gateway import OdinGateway
from bot.sandbox.world import SandboxWorld, SubscriptionLine
from bot.sync.planning import plan_levelling

# BA has no delta read, so every cycle reads the small world whole: 188 Odin calls. At the connector's 200 calls a
# second (the simulator allows 250), each cycle after a test's first waited ~0.5 s for the window, which made the
# Odin pair's tests about twice as long as the others'. These tests are about planning and posting; the rate has
# tests of its own (tests/connectors/test_long_queues.py, the Odin failure tests)
ODIN_CALLS_PER_SECOND = 5000


def unthrottled_odin(sandbox: Sandbox) -> dict[str, dict[str, object]]:
    """Raise the Odin simulator's quota on `sandbox` (before it starts) well above a test's reads; returns the
    connection options (`open_workspace(vendor_options=...)`) that raise the connector's own rate to match."""
    sandbox.odin_gateway = OdinGateway(quota=GatewayQuota(calls=2 * ODIN_CALLS_PER_SECOND, renewal_period_s=1.0))
    return {"odin": {"requests_per_second": ODIN_CALLS_PER_SECOND}}


@dataclass
class Line:
    """One marketplace line and the PSA service the generator meant it to feed."""

    subscription_id: int
    resource_id: int
    service_id: int  # Autotask contract service id / ConnectWise addition id / HaloPSA recurring-invoice line id
    world: SandboxWorld
    psa: str
    kind: str = "service"  # "bundle": `service_id` is an Autotask contract service bundle's id

    @property
    def record(self) -> int | str:
        """The PSA record as the sandbox's write log counts it: 12 for service 12, "bundle:12" for bundle 12."""
        return self.service_id if self.kind == "service" else f"{self.kind}:{self.service_id}"

    @property
    def external_id(self) -> str:
        """The service's id in SeatSync (a bundle's is "bundle-<id>", bot.connectors.psa.autotask.records)."""
        return str(self.service_id) if self.kind == "service" else f"{self.kind}-{self.service_id}"

    @property
    def market(self) -> SubscriptionLine:
        return self.world.line(self.subscription_id, self.resource_id)

    def set_market_total(self, total: int) -> None:
        """The customer changes the line's seats at the marketplace: by an order, as Ingram shows it."""
        line = self.market
        before = line.ordered
        line.included, line.additional = 0, total
        self.world.subscriptions[self.subscription_id].last_modified = self.world.now()
        if total != before:
            place_order(self.world, self.subscription_id, "change", {self.resource_id: total - before})

    @property
    def psa_units(self) -> int:
        if self.kind == "bundle":
            settle_units(self.world)
            return self.world.autotask_contract_service_bundles[self.service_id].units
        if self.psa == "autotask":
            settle_units(self.world)
            return self.world.autotask_contract_services[self.service_id].units
        if self.psa == "halopsa":
            return int(self.world.halopsa.line(self.service_id).quantity)
        return self.world.connectwise_additions[self.service_id].quantity

    def set_psa_units(self, units: int) -> None:
        """A hand edit in the PSA (no adjustment, no key)."""
        if self.kind == "bundle":
            settle_units(self.world)
            self.world.autotask_contract_service_bundles[self.service_id].units = units
        elif self.psa == "autotask":
            settle_units(self.world)
            self.world.autotask_contract_services[self.service_id].units = units
        elif self.psa == "halopsa":
            self.world.halopsa.line(self.service_id).quantity = Decimal(units)
        else:
            self.world.connectwise_additions[self.service_id].quantity = units

    @property
    def contract_end(self) -> date | None:
        """The end date of the PSA contract the service bills under."""
        world = self.world
        if self.psa == "autotask":
            return world.autotask_contracts[world.autotask_contract_services[self.service_id].contract_id].end_date
        if self.psa == "halopsa":
            return self._halo_contract().end_date
        return world.connectwise_agreements[world.connectwise_additions[self.service_id].agreement_id].end_date

    def set_contract_end(self, day: date) -> None:
        world = self.world
        if self.psa == "autotask":
            world.autotask_contracts[world.autotask_contract_services[self.service_id].contract_id].end_date = day
        elif self.psa == "halopsa":
            self._halo_contract().end_date = day
        else:
            world.connectwise_agreements[world.connectwise_additions[self.service_id].agreement_id].end_date = day

    def _halo_contract(self):
        halo = self.world.halopsa
        return halo.contracts[halo.recurring_invoices[halo.line(self.service_id).recurring_invoice_id].contract_id]

    def writes(self) -> list:
        return [w for w in self.world.write_log
                if w.system == self.psa and w.kind == self.kind and w.service_id == self.service_id]


def pick_lines(world: SandboxWorld, psa: str, count: int) -> list[Line]:
    """Lines of active subscriptions whose PSA counterpart exists on an active, prorating contract."""
    lines: list[Line] = []
    for (subscription_id, resource_id), services in sorted(world.truth.service_for_line.items()):
        subscription = world.subscriptions[subscription_id]
        service_id = services.get(psa)
        if service_id is None or subscription.status != "active":
            continue
        if psa == "autotask":
            service = world.autotask_contract_services[service_id]
            if world.autotask_contracts[service.contract_id].status != 1:
                continue
        elif psa == "halopsa":
            halo_line = world.halopsa.line(service_id)
            invoice = world.halopsa.recurring_invoices[halo_line.recurring_invoice_id]
            contract = world.halopsa.contracts.get(invoice.contract_id)
            if halo_line.ended(world.today) or (contract is not None and contract.expired(world.today)):
                continue
        else:
            addition = world.connectwise_additions[service_id]
            agreement = world.connectwise_agreements[addition.agreement_id]
            if agreement.status != "Active" or not agreement.prorate or addition.cancelled_date is not None:
                continue
        lines.append(Line(subscription_id, resource_id, service_id, world, psa))
        if len(lines) == count:
            break
    return lines


def pick_bundle_lines(world: SandboxWorld, count: int) -> list[Line]:
    """Lines of active subscriptions the generator billed as an Autotask service bundle on a running contract."""
    lines: list[Line] = []
    for (subscription_id, resource_id), bundle_id in sorted(world.truth.bundle_for_line.items()):
        contract = world.autotask_contracts[world.autotask_contract_service_bundles[bundle_id].contract_id]
        if world.subscriptions[subscription_id].status != "active" or contract.status != 1 \
                or not contract.start_date <= world.today <= contract.end_date:
            continue
        lines.append(Line(subscription_id, resource_id, bundle_id, world, "autotask", kind="bundle"))
        if len(lines) == count:
            break
    return lines


async def link_line(workspace: DemoWorkspace, line: Line, marketplace: str) -> int:
    """Link a line through the product's service function; returns the link id."""
    world = line.world
    subscription = world.subscriptions[line.subscription_id]
    sub_external = str(line.subscription_id) if marketplace == "odin" else subscription.cmp_id
    res_external = str(line.resource_id) if marketplace == "odin" else world.products[line.resource_id].mpn
    async with workspace.sessions() as session:
        resource = await session.scalar(
            select(MarketplaceResource).join(MarketplaceSubscription)
            .where(MarketplaceSubscription.external_id == sub_external, MarketplaceResource.external_id == res_external)
        )
        service = await session.scalar(select(PsaService).where(PsaService.external_id == line.external_id))
        assert resource is not None and service is not None, "read the world before linking"
        link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
        await session.commit()
        return link.id


async def adjustments(workspace) -> list[Adjustment]:
    """Every adjustment row, oldest first."""
    async with workspace.sessions() as session:
        return list(await session.scalars(select(Adjustment).order_by(Adjustment.id)))


async def pending_intent(workspace, before: int, after: int):
    """A linked line with an intent recorded (pending) but not posted yet; returns (line, link id)."""
    marketplace, psa = workspace.names
    line, = pick_lines(workspace.sandbox.world, psa, 1)
    line.set_market_total(before)
    line.set_psa_units(before)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, marketplace)
    line.set_market_total(after)
    await workspace.engine.run_cycle(trigger="test", force_full=True, dry_run=True)  # reads the new count
    async with workspace.sessions() as session:
        await plan_levelling(session=session, today=workspace.engine.today(), now=workspace.engine.clock(),
                             trigger=AdjustmentTrigger.sync)
        await session.commit()
    return line, link_id
