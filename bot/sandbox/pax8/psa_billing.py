"""What the sandbox MSP bills in its PSAs for the seats it buys through Pax8 (when the world is asked to).

The same MSP, the same PSA companies (`book.truth.company_for_pax8`, set by `book_seed`). Each
company's Pax8 seats are billed on their own Recurring Service contract / agreement per billing
term ("Pax8 - Microsoft 365 (Annual)"), one contract service / addition per Pax8 subscription (in Autotask, a
fifth of the Microsoft 365 suites' become service bundles afterwards: bot.sandbox.autotask_bundle_seed), priced
from the PSA catalogue item of the same product (an MSP has one "M365 Business Premium" service,
whichever distributor supplies it). A second subscription of a product the contract already bills
goes to a second contract of the same term, since a PSA service is fed by one marketplace resource.
Units were set by hand: mostly right, sometimes behind or ahead, sometimes 0; trials and orders still
provisioning are not billed yet; a cancelled subscription is sometimes still billed.

New PSA records take ids after the world's highest, so the rest of the world is unchanged; it is
opt-in (`generate_world(..., bill_pax8_in_psas=True)`) because the PSA side of every seed's world is
relied on as it was. `book.truth` records what corresponds to what.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import add_months, day_between, moment
from bot.sandbox.marketplace_seed import IdSequence, product_spec
from bot.sandbox.pax8.book import BILLABLE_STATUSES, Pax8Book, Pax8Subscription
from bot.sandbox.world import (
    AutotaskContract,
    AutotaskContractService,
    AutotaskService,
    ConnectWiseAddition,
    ConnectWiseAgreement,
    ConnectWiseProduct,
    SandboxWorld,
)

_PRELINKED_SHARE = 0.05
_TERM_LABEL = {("Annual", True): "Annual", ("Monthly", True): "Annual, billed monthly",
               ("Monthly", False): "Monthly"}


@dataclass
class _Contract:
    autotask: AutotaskContract | None
    connectwise: ConnectWiseAgreement | None
    resources: set[int]


class _Biller:
    def __init__(self, world: SandboxWorld, book: Pax8Book, rng: random.Random) -> None:
        self.world, self.book, self.rng = world, book, rng

        def after(records: dict) -> int:
            return max(records, default=0) + rng.randint(3, 40)

        self.at_contract_ids = IdSequence(rng, after(world.autotask_contracts), max_gap=3)
        self.at_contract_service_ids = IdSequence(rng, after(world.autotask_contract_services), max_gap=3)
        self.cw_agreement_ids = IdSequence(rng, after(world.connectwise_agreements), max_gap=3)
        self.cw_addition_ids = IdSequence(rng, after(world.connectwise_additions), max_gap=3)
        self.contract_numbers = IdSequence(rng, 1, max_gap=2)
        self.contracts: dict[tuple[str, str, int], _Contract] = {}
        self._at_services: dict[int, AutotaskService | None] = {}
        self._cw_products: dict[int, ConnectWiseProduct | None] = {}

    # --- the PSA catalogue items of each product --------------------------------------------------
    def autotask_service(self, resource_id: int) -> AutotaskService | None:
        if resource_id not in self._at_services:
            product = self.world.products[resource_id]
            names = {product.name, product.name.replace("Microsoft 365", "M365"), f"{product.name} (NCE)"}
            self._at_services[resource_id] = next(
                (s for s in self.world.autotask_services.values() if s.name in names), None)
        return self._at_services[resource_id]

    def connectwise_product(self, resource_id: int) -> ConnectWiseProduct | None:
        if resource_id not in self._cw_products:
            code = product_spec(self.world.products[resource_id]).psa_code
            self._cw_products[resource_id] = next(
                (p for p in self.world.connectwise_products.values() if p.identifier == code), None)
        return self._cw_products[resource_id]

    # --- contracts and services ---------------------------------------------------------------------
    def subscriptions(self) -> None:
        for sub in self.book.subscriptions.values():
            product = self.book.product_for(sub)
            companies = self.book.truth.company_for_pax8.get(sub.company_id)
            state = sub.now
            if product.resource_id is None or not companies or state.billing_term == "Trial":
                continue
            if state.status in BILLABLE_STATUSES:
                present = 0.9
            elif state.status == "Cancelled":
                present = 0.35  # billed before it was cancelled; sometimes still billed
            else:
                continue  # still provisioning: not billed yet
            in_autotask, in_connectwise = _which_psas(self.rng, present)
            contract = self._contract_for(sub, product.resource_id, companies, in_autotask, in_connectwise)
            services: dict[str, int] = {}
            units = self._units(state.quantity if state.status != "Cancelled" else 0, state.status == "Cancelled")
            if contract.autotask is not None and in_autotask:
                service = self.autotask_service(product.resource_id)
                if service is not None:
                    record = AutotaskContractService(
                        id=self.at_contract_service_ids.take(), contract_id=contract.autotask.id,
                        service_id=service.id, unit_price=self._price(state.price), unit_cost=state.partner_cost,
                        units=units, invoice_description=product.name, last_modified=contract.autotask.last_modified)
                    self.world.autotask_contract_services[record.id] = record
                    services["autotask"] = record.id
            if contract.connectwise is not None and in_connectwise:
                catalogue_item = self.connectwise_product(product.resource_id)
                if catalogue_item is not None:
                    record = ConnectWiseAddition(
                        id=self.cw_addition_ids.take(), agreement_id=contract.connectwise.id,
                        product_id=catalogue_item.id, quantity=units, unit_price=self._price(state.price),
                        unit_cost=state.partner_cost, effective_date=contract.connectwise.start_date,
                        description=catalogue_item.description, invoice_description=catalogue_item.description,
                        last_updated=contract.connectwise.last_updated)
                    self.world.connectwise_additions[record.id] = record
                    services["connectwise"] = record.id
            if services:
                contract.resources.add(product.resource_id)
                self.book.truth.service_for_subscription[sub.id] = services
                self.book.truth.contract_for_subscription[sub.id] = {
                    psa: (contract.autotask.id if psa == "autotask" else contract.connectwise.id)  # type: ignore[union-attr]
                    for psa in services}

    def _contract_for(self, sub: Pax8Subscription, resource_id: int, companies: dict[str, int],
                      in_autotask: bool, in_connectwise: bool) -> _Contract:
        label = _TERM_LABEL[(sub.now.billing_term, sub.commitment is not None)]
        number = 0
        while True:
            key = (sub.company_id, label, number)
            contract = self.contracts.get(key)
            if contract is None:
                contract = self.contracts[key] = _Contract(autotask=None, connectwise=None, resources=set())
            if resource_id not in contract.resources:
                break
            number += 1
        if in_autotask and contract.autotask is None and "autotask" in companies:
            contract.autotask = self._autotask_contract(sub, label, number, companies["autotask"])
        if in_connectwise and contract.connectwise is None and "connectwise" in companies:
            contract.connectwise = self._connectwise_agreement(sub, label, number, companies["connectwise"])
        return contract

    def _span(self, start: date) -> tuple[date, date]:
        end = add_months(start, 36)
        while end < self.world.today + timedelta(days=90):
            end = add_months(end, 12)
        return start, end - timedelta(days=1)

    def _autotask_contract(self, sub: Pax8Subscription, label: str, number: int, company_id: int) -> AutotaskContract:
        rng = self.rng
        start, end = self._span(min(sub.billing_start, self.world.today).replace(day=1))
        name = f"Pax8 - Microsoft 365 ({label})" if number == 0 else f"Pax8 - Microsoft 365 ({label}) {number + 1}"
        contract = AutotaskContract(
            id=self.at_contract_ids.take(), company_id=company_id, name=name,
            number=f"PX8-{start.year}-{self.contract_numbers.take():04d}", contract_type=7, status=1,
            start_date=start, end_date=end, period_type="y" if label == "Annual" and rng.random() < 0.3 else "m",
            last_modified=moment(rng, day_between(rng, start, self.world.today)))
        self.world.autotask_contracts[contract.id] = contract
        return contract

    def _connectwise_agreement(self, sub: Pax8Subscription, label: str, number: int,
                               company_id: int) -> ConnectWiseAgreement:
        rng = self.rng
        start = min(sub.billing_start, self.world.today).replace(day=1)
        name = f"Pax8 {label}" if number == 0 else f"Pax8 {label} ({number + 1})"
        agreement = ConnectWiseAgreement(
            id=self.cw_agreement_ids.take(), name=name, company_id=company_id, type_name="Microsoft 365",
            start_date=start, prorate=rng.random() < 0.9,
            billing_cycle="Annual" if label == "Annual" and rng.random() < 0.25 else "Monthly",
            last_updated=moment(rng, day_between(rng, start, self.world.today)))
        self.world.connectwise_agreements[agreement.id] = agreement
        return agreement

    def _price(self, price: Decimal) -> Decimal:
        if self.rng.random() < 0.85:
            return price
        factor = Decimal(self.rng.choice(("0.90", "0.95", "1.05", "1.10", "1.20")))
        return (price * factor).quantize(Decimal("0.01") if price >= 1 else Decimal("0.0001"))

    def _units(self, quantity: int, cancelled: bool) -> int:
        if cancelled:
            return self.rng.randint(1, 10)  # still billed after Pax8 cancelled it
        roll = self.rng.random()
        if roll < 0.72:
            return quantity
        if roll < 0.84:
            return max(0, quantity - self.rng.randint(1, max(1, quantity // 5)))
        if roll < 0.93:
            return quantity + self.rng.randint(1, max(1, quantity // 5))
        return 0

    def prelink(self) -> None:
        both = sorted(sid for sid, services in self.book.truth.service_for_subscription.items() if len(services) == 2)
        count = min(len(both), max(1, round(len(self.book.subscriptions) * _PRELINKED_SHARE))) if both else 0
        self.book.truth.prelinked = sorted(self.rng.sample(both, count))


def _which_psas(rng: random.Random, present: float) -> tuple[bool, bool]:
    roll = rng.random()
    if roll < present:
        return True, True
    if roll < present + (1 - present) / 4:
        return True, False
    if roll < present + (1 - present) / 2:
        return False, True
    return False, False


def bill_in_psas(world: SandboxWorld, book: Pax8Book, rng: random.Random) -> None:
    biller = _Biller(world, book, rng)
    biller.subscriptions()
    biller.prelink()
