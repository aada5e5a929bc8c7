"""The PSA half of the sandbox MSP: what it bills in Autotask and in ConnectWise, before SeatSync.

Both PSAs are filled for the same MSP (the demo picks one). Most marketplace customers have a company
in each, named the way someone typed it there; most subscriptions have an Autotask Recurring Service
contract (contractType 7) and a ConnectWise agreement; most lines have a contract service / an agreement
addition whose units were last set by hand, so they are mostly right, sometimes drifted, sometimes 0.
Around that: customers with no PSA record yet (unbilled), PSA-only companies and managed-services
contracts no marketplace resource feeds, stale services for products the customer dropped, and
expired or cancelled contracts. `world.truth` records every counterpart the generator meant. (Some customers'
Microsoft 365 seats are billed in Autotask as service bundles, planted afterwards: bot.sandbox.autotask_bundle_seed.)

Autotask picklists (unverified, see shared/apis/autotask.md A5): contract status 1 Active / 0 Inactive,
contractPeriodType "m"/"y", Services periodType 1 monthly.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import add_months, day_between, moment
from bot.sandbox.catalogue import PLANS, PSA_ONLY_SERVICES, PsaOnlyService
from bot.sandbox.marketplace_seed import CustomerProfile, IdSequence, product_spec
from bot.sandbox.names import (
    CITIES,
    autotask_spelling,
    connectwise_identifier,
    connectwise_spelling,
    make_unique,
    new_company_name,
)
from bot.sandbox.world import (
    AutotaskCompany,
    AutotaskContract,
    AutotaskContractService,
    AutotaskService,
    ConnectWiseAddition,
    ConnectWiseAgreement,
    ConnectWiseCompany,
    ConnectWiseProduct,
    Product,
    SandboxWorld,
    Subscription,
    SubscriptionLine,
)

_PLAN_BY_NAME = {plan.name: plan for plan in PLANS}
_PSA_ONLY_COMPANY_SHARE = 0.08
_PRELINKED_SHARE = 0.05


class _PsaSeeder:
    def __init__(self, world: SandboxWorld, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        self.at_company_ids = IdSequence(rng, 174, max_gap=4)
        self.at_service_ids = IdSequence(rng, 29682801, max_gap=3)
        self.at_contract_ids = IdSequence(rng, 29683112, max_gap=3)
        self.at_contract_service_ids = IdSequence(rng, 29691004, max_gap=3)
        self.cw_company_ids = IdSequence(rng, 250, max_gap=4)
        self.cw_product_ids = IdSequence(rng, 12, max_gap=3)
        self.cw_agreement_ids = IdSequence(rng, 1001, max_gap=3)
        self.cw_addition_ids = IdSequence(rng, 5001, max_gap=3)
        self.contract_numbers = IdSequence(rng, 1, max_gap=2)
        self.at_names: set[str] = set()
        self.cw_names: set[str] = set()
        self.cw_identifiers: set[str] = set()
        self.at_service_for: dict[int, AutotaskService] = {}  # by resource id
        self.cw_product_for: dict[int, ConnectWiseProduct] = {}
        self.at_managed: list[AutotaskService] = []
        self.cw_managed: list[ConnectWiseProduct] = []

    # --- catalogues ---------------------------------------------------------------------------
    def catalogues(self) -> None:
        rng, world = self.rng, self.world
        for product in world.products.values():
            spec = product_spec(product)
            price, cost = self._psa_price(product.price), product.cost
            at_name = rng.choice((product.name, product.name.replace("Microsoft 365", "M365"),
                                  f"{product.name} (NCE)" if product.mpn.startswith("CFQ") else product.name))
            service = AutotaskService(id=self.at_service_ids.take(), name=at_name, unit_price=price, unit_cost=cost,
                                      last_modified=moment(rng, world.today - timedelta(days=rng.randint(30, 900))))
            world.autotask_services[service.id] = service
            self.at_service_for[product.resource_id] = service
            cw = ConnectWiseProduct(id=self.cw_product_ids.take(), identifier=spec.psa_code,
                                    description=product.name[:60], price=price, cost=cost,
                                    last_updated=service.last_modified)
            world.connectwise_products[cw.id] = cw
            self.cw_product_for[product.resource_id] = cw
        for managed in PSA_ONLY_SERVICES:
            service = AutotaskService(id=self.at_service_ids.take(), name=managed.name, unit_price=managed.price,
                                      unit_cost=managed.cost)
            world.autotask_services[service.id] = service
            self.at_managed.append(service)
            cw = ConnectWiseProduct(id=self.cw_product_ids.take(), identifier=managed.code,
                                    description=managed.name, price=managed.price, cost=managed.cost)
            world.connectwise_products[cw.id] = cw
            self.cw_managed.append(cw)

    def _psa_price(self, price: Decimal) -> Decimal:
        """The MSP's own price in the PSA: usually the marketplace's, sometimes its own mark-up or discount."""
        if self.rng.random() < 0.85:
            return price
        factor = Decimal(self.rng.choice(("0.90", "0.95", "1.05", "1.10", "1.20")))
        return (price * factor).quantize(Decimal("0.01") if price >= 1 else Decimal("0.0001"))

    def _which_psas(self, present: float) -> tuple[bool, bool]:
        """Whether the Autotask and the ConnectWise counterpart exist (mostly both or neither)."""
        roll = self.rng.random()
        if roll < present:
            return True, True
        if roll < present + (1 - present) / 4:
            return True, False
        if roll < present + (1 - present) / 2:
            return False, True
        return False, False

    # --- companies ----------------------------------------------------------------------------
    def companies(self, profiles: list[CustomerProfile]) -> None:
        world, rng = self.world, self.rng
        subscriptions_of: dict[int, list[Subscription]] = {}
        for sub in world.subscriptions.values():
            subscriptions_of.setdefault(sub.account_id, []).append(sub)
        for profile in profiles:
            customer = world.customers[profile.account_id]
            in_autotask, in_connectwise = self._which_psas(0.9)
            since = min(customer.created.date() + timedelta(days=rng.randint(-400, 20)), world.today)
            truth: dict[str, int] = {}
            if in_autotask:
                name = make_unique(autotask_spelling(profile.name, rng), self.at_names, profile.city)
                truth["autotask"] = self._at_company(name, since).id
            if in_connectwise:
                name = make_unique(connectwise_spelling(profile.name, rng), self.cw_names, profile.city)
                truth["connectwise"] = self._cw_company(name, since).id
            if truth:
                world.truth.company_for_account[profile.account_id] = truth
            for sub in subscriptions_of.get(profile.account_id, []):
                self.contracts_for(sub, truth)
            if rng.random() < 0.35:
                self._managed_services(truth, since, profile.staff)

    def _at_company(self, name: str, since: date, active: bool = True) -> AutotaskCompany:
        company = AutotaskCompany(id=self.at_company_ids.take(), name=name, is_active=active,
                                  create_date=moment(self.rng, since),
                                  last_modified=moment(self.rng, day_between(self.rng, since, self.world.today)))
        company.last_modified = max(company.last_modified, company.create_date)
        self.world.autotask_companies[company.id] = company
        return company

    def _cw_company(self, name: str, since: date, active: bool = True) -> ConnectWiseCompany:
        company = ConnectWiseCompany(id=self.cw_company_ids.take(),
                                     identifier=connectwise_identifier(name, self.cw_identifiers), name=name,
                                     status="Active" if active else "Inactive",
                                     last_updated=moment(self.rng, day_between(self.rng, since, self.world.today)))
        self.world.connectwise_companies[company.id] = company
        return company

    def psa_only_companies(self, count: int, taken: set[tuple[str, str]]) -> None:
        """Customers the MSP bills for other things only: managed services, an old block of hours."""
        rng, today = self.rng, self.world.today
        for _ in range(count):
            name = new_company_name(rng, taken)
            city = rng.choice(CITIES)[0]
            since = today - timedelta(days=rng.randint(60, 3000))
            active = rng.random() < 0.85
            in_autotask, in_connectwise = self._which_psas(0.85)
            companies: dict[str, int] = {}
            if in_autotask or not in_connectwise:
                spelled = make_unique(autotask_spelling(name, rng), self.at_names, city)
                companies["autotask"] = self._at_company(spelled, since, active).id
            if in_connectwise:
                spelled = make_unique(connectwise_spelling(name, rng), self.cw_names, city)
                companies["connectwise"] = self._cw_company(spelled, since, active).id
            self._managed_services(companies, since, rng.randint(3, 60), still_running=active)
            if rng.random() < 0.2 and "autotask" in companies:
                self._block_hours(companies["autotask"], since)
            self.world.truth.psa_only.append((name, companies))

    # --- contracts ----------------------------------------------------------------------------
    def contracts_for(self, sub: Subscription, companies: dict[str, int]) -> None:
        live = sub.status in ("active", "suspended")
        in_autotask, in_connectwise = self._which_psas(0.9 if live else 0.6)
        truth: dict[str, int] = {}
        lines: dict[int, dict[str, int]] = {line.resource_id: {} for line in sub.lines}
        # a contract for a dead subscription is ended about half the time; the rest is forgotten drift
        ended = not live and self.rng.random() < 0.5
        if in_autotask and "autotask" in companies:
            contract = self._at_contract(sub, companies["autotask"], ended)
            truth["autotask"] = contract.id
            for line in sub.lines:
                if self.rng.random() < 0.93:
                    lines[line.resource_id]["autotask"] = self._at_contract_service(contract, line).id
            if self.rng.random() < 0.08:
                self._stale_at_service(contract, sub)
        if in_connectwise and "connectwise" in companies:
            agreement = self._cw_agreement(sub, companies["connectwise"], ended)
            truth["connectwise"] = agreement.id
            for line in sub.lines:
                if self.rng.random() < 0.93:
                    lines[line.resource_id]["connectwise"] = self._cw_addition(agreement, line).id
            if self.rng.random() < 0.08:
                self._stale_cw_addition(agreement, sub)
        if truth:
            self.world.truth.contract_for_subscription[sub.subscription_id] = truth
        for resource_id, services in lines.items():
            if services:
                self.world.truth.service_for_line[(sub.subscription_id, resource_id)] = services

    def _contract_span(self, start: date, ended_on: date | None) -> tuple[date, date]:
        """Recurring Service contracts run in whole years from their start, past today unless ended."""
        if ended_on is not None:
            return start, ended_on - timedelta(days=1)
        end = add_months(start, 36)
        while end < self.world.today + timedelta(days=90):
            end = add_months(end, 12)
        return start, end - timedelta(days=1)

    def _at_contract(self, sub: Subscription, company_id: int, ended: bool) -> AutotaskContract:
        rng = self.rng
        start = sub.start_date.replace(day=1) if rng.random() < 0.5 else sub.start_date
        start, end = self._contract_span(start, sub.expiration_date if ended else None)
        company = self.world.autotask_companies[company_id]
        name = rng.choice((sub.plan_name, f"{company.name} - {sub.plan_name}",
                           f"{_PLAN_BY_NAME[sub.plan_name].psa_type} ({sub.term})"))
        contract = AutotaskContract(
            id=self.at_contract_ids.take(), company_id=company_id, name=name[:100],
            number=f"RS-{start.year}-{self.contract_numbers.take():04d}", contract_type=7,
            status=0 if ended else 1, start_date=start, end_date=end,
            period_type="y" if sub.term == "annual" and rng.random() < 0.3 else "m",
            last_modified=moment(rng, day_between(rng, start, min(end, self.world.today))))
        self.world.autotask_contracts[contract.id] = contract
        return contract

    def _at_contract_service(self, contract: AutotaskContract, line: SubscriptionLine) -> AutotaskContractService:
        service = self.at_service_for[line.resource_id]
        product = self.world.products[line.resource_id]
        contract_service = AutotaskContractService(
            id=self.at_contract_service_ids.take(), contract_id=contract.id, service_id=service.id,
            unit_price=self._psa_price(service.unit_price), unit_cost=service.unit_cost,
            units=hand_set_units(self.rng, line.ordered), invoice_description=product.name,
            last_modified=contract.last_modified)
        self.world.autotask_contract_services[contract_service.id] = contract_service
        return contract_service

    def _stale_at_service(self, contract: AutotaskContract, sub: Subscription) -> None:
        """A product the customer dropped in the marketplace but the PSA still bills."""
        product = self._product_not_in(sub)
        if product is None:
            return
        stale = SubscriptionLine(resource_id=product.resource_id, included=0, additional=self.rng.randint(1, 12))
        self._at_contract_service(contract, stale)

    def _product_not_in(self, sub: Subscription) -> Product | None:
        present = {line.resource_id for line in sub.lines}
        plan = _PLAN_BY_NAME[sub.plan_name]
        candidates = [p for p in self.world.products.values()
                      if p.resource_id not in present and product_spec(p).key in plan.product_keys]
        return self.rng.choice(candidates) if candidates else None

    def _cw_agreement(self, sub: Subscription, company_id: int, ended: bool) -> ConnectWiseAgreement:
        rng = self.rng
        plan = _PLAN_BY_NAME[sub.plan_name]
        status, end = "Active", None
        if ended:
            status, end = ("Cancelled" if sub.status == "cancelled" else "Expired"), sub.expiration_date
        elif sub.term == "annual" and rng.random() < 0.3:
            end = self._contract_span(sub.start_date, None)[1]
        agreement = ConnectWiseAgreement(
            id=self.cw_agreement_ids.take(), name=rng.choice((sub.plan_name, f"{plan.psa_type} - {sub.term}"))[:100],
            company_id=company_id, type_name=plan.psa_type, status=status, cancelled=status == "Cancelled",
            start_date=sub.start_date, end_date=end, prorate=rng.random() < 0.9,
            billing_cycle="Annual" if sub.term == "annual" and rng.random() < 0.25 else "Monthly",
            last_updated=moment(rng, day_between(rng, sub.start_date, self.world.today)))
        self.world.connectwise_agreements[agreement.id] = agreement
        return agreement

    def _cw_addition(self, agreement: ConnectWiseAgreement, line: SubscriptionLine) -> ConnectWiseAddition:
        product = self.cw_product_for[line.resource_id]
        addition = ConnectWiseAddition(
            id=self.cw_addition_ids.take(), agreement_id=agreement.id, product_id=product.id,
            quantity=hand_set_units(self.rng, line.ordered), unit_price=self._psa_price(product.price),
            unit_cost=product.cost,
            effective_date=agreement.start_date,
            cancelled_date=agreement.end_date if agreement.status == "Cancelled" else None,
            description=product.description, invoice_description=product.description,
            last_updated=agreement.last_updated)
        self.world.connectwise_additions[addition.id] = addition
        return addition

    def _stale_cw_addition(self, agreement: ConnectWiseAgreement, sub: Subscription) -> None:
        product = self._product_not_in(sub)
        if product is not None:
            stale = SubscriptionLine(resource_id=product.resource_id, included=0, additional=self.rng.randint(1, 12))
            self._cw_addition(agreement, stale)

    def _managed_services(self, companies: dict[str, int], since: date, staff: int,
                          still_running: bool = True) -> None:
        """A managed-services contract: services the MSP bills that no marketplace resource feeds."""
        rng, today = self.rng, self.world.today
        chosen = rng.sample(range(len(PSA_ONLY_SERVICES)), rng.randint(1, 3))
        ended_on = None if still_running else today - timedelta(days=rng.randint(20, 400))
        start, end = self._contract_span(since.replace(day=1), ended_on)
        if "autotask" in companies:
            contract = AutotaskContract(
                id=self.at_contract_ids.take(), company_id=companies["autotask"], name="Managed Services",
                number=f"MS-{start.year}-{self.contract_numbers.take():04d}", contract_type=7,
                status=1 if still_running else 0, start_date=start, end_date=end,
                last_modified=moment(rng, day_between(rng, start, min(end, today))))
            self.world.autotask_contracts[contract.id] = contract
            for index in chosen:
                service = self.at_managed[index]
                contract_service = AutotaskContractService(
                    id=self.at_contract_service_ids.take(), contract_id=contract.id, service_id=service.id,
                    unit_price=service.unit_price, unit_cost=service.unit_cost,
                    units=_managed_units(rng, PSA_ONLY_SERVICES[index], staff),
                    invoice_description=service.name, last_modified=contract.last_modified)
                self.world.autotask_contract_services[contract_service.id] = contract_service
        if "connectwise" in companies:
            agreement = ConnectWiseAgreement(
                id=self.cw_agreement_ids.take(), name="Managed Services", company_id=companies["connectwise"],
                type_name="Managed Services", status="Active" if still_running else "Expired", start_date=start,
                end_date=None if still_running else end, prorate=rng.random() < 0.8,
                last_updated=moment(rng, day_between(rng, start, min(end, today))))
            self.world.connectwise_agreements[agreement.id] = agreement
            for index in chosen:
                product = self.cw_managed[index]
                addition = ConnectWiseAddition(
                    id=self.cw_addition_ids.take(), agreement_id=agreement.id, product_id=product.id,
                    quantity=_managed_units(rng, PSA_ONLY_SERVICES[index], staff), unit_price=product.price,
                    unit_cost=product.cost, effective_date=start, description=product.description,
                    last_updated=agreement.last_updated)
                self.world.connectwise_additions[addition.id] = addition

    def _block_hours(self, company_id: int, since: date) -> None:
        """An old Block Hours contract (type 4): no services, so nothing SeatSync may touch."""
        start = since.replace(day=1)
        end = min(add_months(start, 12), self.world.today) - timedelta(days=1)
        contract = AutotaskContract(
            id=self.at_contract_ids.take(), company_id=company_id, name="Block Hours - 20h",
            number=f"BH-{start.year}-{self.contract_numbers.take():04d}", contract_type=4,
            status=0 if end < self.world.today else 1, start_date=start, end_date=max(end, start),
            last_modified=moment(self.rng, max(end, start)))
        self.world.autotask_contracts[contract.id] = contract

    def prelink(self) -> None:
        """Lines the MSP had already tied to their PSA service by hand, in both PSAs (the demo picks one)."""
        keys = [key for key, services in self.world.truth.service_for_line.items() if len(services) == 2]
        lines = sum(len(sub.lines) for sub in self.world.subscriptions.values())
        count = min(len(keys), max(1, round(lines * _PRELINKED_SHARE)))
        self.world.truth.prelinked = sorted(self.rng.sample(keys, count))


def hand_set_units(rng: random.Random, ordered: int) -> int:
    """Units a person keyed into the PSA for `ordered` seats: mostly right, sometimes behind or ahead, sometimes 0."""
    roll = rng.random()
    if roll < 0.72:
        return ordered
    if roll < 0.84:
        return max(0, ordered - rng.randint(1, max(1, ordered // 5)))
    if roll < 0.93:
        return ordered + rng.randint(1, max(1, ordered // 5))
    return 0


def _managed_units(rng: random.Random, service: PsaOnlyService, staff: int) -> int:
    low, high = service.typical_units
    return max(low, min(high, round(staff * rng.uniform(0.6, 1.1)))) if high > 10 else rng.randint(low, high)


def seed_psa(world: SandboxWorld, rng: random.Random, profiles: list[CustomerProfile]) -> None:
    seeder = _PsaSeeder(world, rng)
    seeder.catalogues()
    seeder.companies(profiles)
    taken = {profile.name.key for profile in profiles}
    seeder.psa_only_companies(max(3, round(len(profiles) * _PSA_ONLY_COMPANY_SHARE)), taken)
    seeder.prelink()
