"""The Autotask service bundles of the sandbox MSP: some customers' Microsoft 365 seats are sold as a bundle.

An MSP that sells "Microsoft 365 Business Premium + Backup" at one price per user bills it in Autotask as a
service bundle (a ServiceBundles catalogue entry, a ContractServiceBundle on the customer's Recurring Service
contract), not as a contract service. Here:
- the catalogue has one bundle per Microsoft 365 / Office 365 suite the marketplace sells: the licence and the
  MSP's own mailbox backup, priced as the PSA's service of the licence plus the backup;
- of the suites' marketplace lines on an active Recurring Service contract, a fifth of those the generator gave
  a contract service are billed as a bundle in its place (same contract and units, its price plus the backup's),
  and most (80 %) of those it left without one are billed as a bundle (units set by hand as the other services'
  were: mostly right, sometimes behind or ahead, sometimes 0);
- where the PSAs bill the MSP's Pax8 seats (`bill_pax8_in_psas`), a fifth of the suites' Pax8 subscriptions are
  billed as a bundle in place of their contract service, the same way.
Lines tied by hand before SeatSync (`truth.prelinked`) keep their contract service.

It runs last, from a stream of its own, and only adds Autotask records or swaps a contract service for a bundle,
so the rest of the world (the marketplaces, ConnectWise, HaloPSA) is what it was without it.
`truth.bundle_for_line` (and the Pax8 book's `bundle_for_subscription`) records each bundle's line;
`service_for_line` keeps naming plain services only.

Simulator choices, no public source: the bundle names, the backup's price and cost.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime
from decimal import Decimal

from bot.sandbox.marketplace_seed import IdSequence, product_spec
from bot.sandbox.psa_seed import hand_set_units
from bot.sandbox.world import AutotaskContractService, AutotaskService, SandboxWorld

BUNDLED_PRODUCTS = frozenset({"m365-basic", "m365-standard", "m365-premium", "m365-e3", "m365-e5", "m365-f3",
                              "o365-e1", "o365-e3"})
BACKUP_PRICE, BACKUP_COST = Decimal("3.00"), Decimal("1.90")  # the MSP's mailbox backup, per user per month
UNBILLED_SHARE = 0.8  # of the suites' lines with no contract service: billed as a bundle
SWAPPED_SHARE = 0.2  # of the suites' lines (and Pax8 subscriptions) with a contract service: a bundle instead
ACTIVE, RECURRING_SERVICE = 1, 7
BUNDLE_IDS_FROM = 29_780_001
LIVE = ("active", "suspended")


def bundle_rng(seed: int) -> random.Random:
    digest = hashlib.sha256(f"seatsync-sandbox-autotask-bundles:{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class _BundleSeeder:
    def __init__(self, world: SandboxWorld, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        self.catalogue_ids = IdSequence(rng, max(world.autotask_services, default=29682800) + rng.randint(3, 20),
                                        max_gap=3)
        # ContractServiceBundles are numbered apart from ContractServices (and the same with or without Pax8)
        self.record_ids = IdSequence(rng, BUNDLE_IDS_FROM + rng.randint(0, 40), max_gap=3)
        self.bundles: dict[int, AutotaskService] = {}  # by resource id

    def catalogue(self) -> None:
        plain = self._plain_services()
        for product in sorted(self.world.products.values(), key=lambda p: p.resource_id):
            service = plain.get(product.resource_id)
            if product_spec(product).key not in BUNDLED_PRODUCTS or service is None:
                continue
            bundle = AutotaskService(id=self.catalogue_ids.take(), name=f"{product.name} + Backup",
                                     unit_price=service.unit_price + BACKUP_PRICE,
                                     unit_cost=service.unit_cost + BACKUP_COST, last_modified=service.last_modified)
            self.world.autotask_service_bundles[bundle.id] = bundle
            self.bundles[product.resource_id] = bundle

    def _plain_services(self) -> dict[int, AutotaskService]:
        """The Autotask catalogue service of each product, as the generator's contract services use it."""
        found: dict[int, AutotaskService] = {}
        services = self.world.autotask_services
        for (_, resource_id), ids in sorted(self.world.truth.service_for_line.items()):
            record = self.world.autotask_contract_services.get(ids.get("autotask", 0))
            if record is not None and resource_id not in found:
                found[resource_id] = services[record.service_id]
        return found

    def unbilled_lines(self) -> None:
        world, truth = self.world, self.world.truth
        prelinked = set(truth.prelinked)
        for sub in sorted(world.subscriptions.values(), key=lambda s: s.subscription_id):
            contract = world.autotask_contracts.get(truth.contract_for_subscription.get(sub.subscription_id, {})
                                                    .get("autotask", 0))
            if sub.status not in LIVE or contract is None or contract.status != ACTIVE \
                    or contract.contract_type != RECURRING_SERVICE:
                continue
            for line in sub.lines:
                key = (sub.subscription_id, line.resource_id)
                bundle = self.bundles.get(line.resource_id)
                if bundle is None or key in prelinked:
                    continue
                services = truth.service_for_line.get(key, {})
                if "autotask" in services:
                    if self.rng.random() < SWAPPED_SHARE:
                        truth.bundle_for_line[key] = self._swap(services, bundle).id
                        if not services:
                            del truth.service_for_line[key]
                elif self.rng.random() < UNBILLED_SHARE:
                    units = hand_set_units(self.rng, line.ordered)
                    record = self._record(contract.id, bundle, units, contract.last_modified)
                    truth.bundle_for_line[key] = record.id

    def pax8_subscriptions(self) -> None:
        book = self.world.pax8
        if book is None:
            return
        prelinked = set(book.truth.prelinked)
        for sub_id, services in sorted(book.truth.service_for_subscription.items()):
            product = book.product_for(book.subscriptions[sub_id])
            bundle = self.bundles.get(product.resource_id) if product.resource_id is not None else None
            if bundle is None or "autotask" not in services or sub_id in prelinked:
                continue
            if self.rng.random() >= SWAPPED_SHARE:
                continue
            book.truth.bundle_for_subscription[sub_id] = self._swap(services, bundle).id
            if not services:
                del book.truth.service_for_subscription[sub_id]

    def _swap(self, services: dict[str, int], bundle: AutotaskService) -> AutotaskContractService:
        """The line's contract service becomes a bundle: its contract and units, its price plus the backup's."""
        plain = self.world.autotask_contract_services.pop(services.pop("autotask"))
        return self._record(plain.contract_id, bundle, plain.units, plain.last_modified,
                            price=plain.unit_price + BACKUP_PRICE, cost=plain.unit_cost + BACKUP_COST)

    def _record(self, contract_id: int, bundle: AutotaskService, units: int, last_modified: datetime,
                price: Decimal | None = None, cost: Decimal | None = None) -> AutotaskContractService:
        record = AutotaskContractService(
            id=self.record_ids.take(), contract_id=contract_id, service_id=bundle.id,
            unit_price=bundle.unit_price if price is None else price,
            unit_cost=bundle.unit_cost if cost is None else cost, units=units,
            invoice_description=bundle.name, last_modified=last_modified)
        self.world.autotask_contract_service_bundles[record.id] = record
        return record



def plant_bundles(world: SandboxWorld) -> None:
    seeder = _BundleSeeder(world, bundle_rng(world.seed))
    seeder.catalogue()
    seeder.unbilled_lines()
    seeder.pax8_subscriptions()

