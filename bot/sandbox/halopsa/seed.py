"""The HaloPSA half of the sandbox MSP: what it bills in Halo, as someone set it up by hand.

The same MSP as the Autotask and ConnectWise sides (bot.sandbox.psa_seed): most marketplace customers are a
Halo client, spelled the way someone typed it; most subscriptions are a ClientContract with a recurring
invoice whose lines bill the subscription's resources, the quantities mostly right, sometimes drifted,
sometimes 0. Around that: customers with no Halo client yet, clients Halo bills for managed services only,
stale lines for products the customer dropped, ended contracts, and a few lines carrying a pro-rata charge
someone added by hand this period (not invoiced yet, so an update that leaves them out deletes them).
The relations the MSP had set up before SeatSync (`truth.prelinked`) exist in Halo too.

Every recurring invoice bills monthly in advance on the 1st (`nextcreationdate` = the next 1st): the
simulator's choice, Halo schedules are configurable and the sources do not say which is usual.

Randomness comes from a generator of its own, seeded from the world's seed, and this runs after the other
PSAs are seeded, so adding Halo changed nothing the Autotask and ConnectWise sides had for a seed.
`world.truth` gets the Halo counterparts under "halopsa".
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import add_months, day_between, moment
from bot.sandbox.catalogue import PLANS, PSA_ONLY_SERVICES
from bot.sandbox.halopsa.records import (
    HaloClient,
    HaloContract,
    HaloItem,
    HaloLine,
    HaloProRata,
    HaloRecurringInvoice,
)
from bot.sandbox.marketplace_seed import CustomerProfile, IdSequence, product_spec
from bot.sandbox.names import CITIES, autotask_spelling, connectwise_spelling, make_unique, new_company_name
from bot.sandbox.psa_seed import hand_set_units
from bot.sandbox.world import Product, SandboxWorld, Subscription, SubscriptionLine

PSA = "halopsa"
_PLAN_BY_NAME = {plan.name: plan for plan in PLANS}
_PSA_ONLY_CLIENT_SHARE = 0.08


def halopsa_rng(seed: int) -> random.Random:
    digest = hashlib.sha256(f"seatsync-sandbox-halopsa:{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def first_of_next_month(day: date) -> date:
    return add_months(day.replace(day=1), 1)


class _HaloSeeder:
    def __init__(self, world: SandboxWorld, rng: random.Random) -> None:
        self.world, self.rng, self.halo = world, rng, world.halopsa
        self.client_ids = IdSequence(rng, 12, max_gap=3)
        self.item_ids = IdSequence(rng, 702, max_gap=4)
        self.contract_ids = IdSequence(rng, 31, max_gap=3)
        self.line_ids = IdSequence(rng, 24963, max_gap=3)
        self.prorata_ids = IdSequence(rng, 811, max_gap=2)
        self.next_invoice_id = -12  # recurring invoices count down; -1 means "none" in Halo's payloads
        self.names: set[str] = set()
        self.item_for: dict[int, HaloItem] = {}  # by marketplace resource id
        self.managed: list[HaloItem] = []
        self.prelinked = set(world.truth.prelinked)
        self.prelinked_subscriptions = {subscription_id for subscription_id, _ in self.prelinked}

    # --- catalogue ----------------------------------------------------------------------------
    def items(self) -> None:
        for product in self.world.products.values():
            name = self.rng.choice((product.name, product.name.replace("Microsoft 365", "M365"),
                                    f"{product.name} (monthly)"))
            item = HaloItem(id=self.item_ids.take(), name=name, code=product_spec(product).psa_code,
                            baseprice=self._price(product.price), costprice=product.cost)
            self.halo.items[item.id] = item
            self.item_for[product.resource_id] = item
        for service in PSA_ONLY_SERVICES:
            item = HaloItem(id=self.item_ids.take(), name=service.name, code=service.code,
                            baseprice=service.price, costprice=service.cost)
            self.halo.items[item.id] = item
            self.managed.append(item)

    def _price(self, price: Decimal) -> Decimal:
        if self.rng.random() < 0.85:
            return price
        factor = Decimal(self.rng.choice(("0.90", "0.95", "1.05", "1.10", "1.20")))
        return (price * factor).quantize(Decimal("0.01") if price >= 1 else Decimal("0.0001"))


    # --- clients ------------------------------------------------------------------------------
    def clients(self, profiles: list[CustomerProfile]) -> None:
        subscriptions_of: dict[int, list[Subscription]] = {}
        for sub in self.world.subscriptions.values():
            subscriptions_of.setdefault(sub.account_id, []).append(sub)
        prelinked_accounts = {self.world.subscriptions[sid].account_id for sid, _ in self.prelinked}
        for profile in profiles:
            if profile.account_id not in prelinked_accounts and self.rng.random() >= 0.9:
                continue
            spell = self.rng.choice((autotask_spelling, connectwise_spelling))
            name = make_unique(spell(profile.name, self.rng), self.names, profile.city)
            customer = self.world.customers[profile.account_id]
            since = min(customer.created.date() + timedelta(days=self.rng.randint(-400, 20)), self.world.today)
            client = self._client(name, since)
            self.world.truth.company_for_account.setdefault(profile.account_id, {})[PSA] = client.id
            for sub in subscriptions_of.get(profile.account_id, []):
                self.contract_for(sub, client)
            if self.rng.random() < 0.35:
                self.managed_services(client, since, profile.staff)

    def _client(self, name: str, since: date, inactive: bool = False) -> HaloClient:
        client_id = self.client_ids.take()
        client = HaloClient(id=client_id, name=name, inactive=inactive, main_site_id=client_id + 100,
                            datecreated=moment(self.rng, since))
        self.halo.clients[client.id] = client
        return client

    def psa_only_clients(self, count: int, taken: set[tuple[str, str]]) -> None:
        today = self.world.today
        for _ in range(count):
            name = new_company_name(self.rng, taken)
            since = today - timedelta(days=self.rng.randint(60, 3000))
            running = self.rng.random() < 0.85
            spelled = make_unique(autotask_spelling(name, self.rng), self.names, self.rng.choice(CITIES)[0])
            client = self._client(spelled, since, inactive=not running)
            self.managed_services(client, since, self.rng.randint(3, 60), running=running)

    # --- contracts and recurring invoices -----------------------------------------------------
    def contract_for(self, sub: Subscription, client: HaloClient) -> None:
        rng, world = self.rng, self.world
        live = sub.status in ("active", "suspended")
        if sub.subscription_id not in self.prelinked_subscriptions and rng.random() >= (0.9 if live else 0.6):
            return
        ended_on = sub.expiration_date if not live and rng.random() < 0.5 else None
        plan = _PLAN_BY_NAME[sub.plan_name]
        ref = rng.choice((sub.plan_name, f"{plan.psa_type} ({sub.term})", f"{client.name} - {plan.psa_type}"))
        contract = self._contract(client, ref[:100], sub.start_date, ended_on)
        world.truth.contract_for_subscription.setdefault(sub.subscription_id, {})[PSA] = contract.id
        invoice = self._recurring_invoice(client, contract)
        for line in sub.lines:
            key = (sub.subscription_id, line.resource_id)
            if key in self.prelinked or rng.random() < 0.93:
                halo_line = self._line(invoice, contract, line)
                world.truth.service_for_line.setdefault(key, {})[PSA] = halo_line.id
        if rng.random() < 0.08:
            stale = self._product_not_in(sub)
            if stale is not None:
                self._line(invoice, contract,
                           SubscriptionLine(resource_id=stale.resource_id, included=0, additional=rng.randint(1, 12)))

    def _contract(self, client: HaloClient, ref: str, start: date, ended_on: date | None) -> HaloContract:
        end = ended_on - timedelta(days=1) if ended_on is not None else None
        contract = HaloContract(id=self.contract_ids.take(), client_id=client.id, ref=ref, start_date=start,
                                end_date=end, last_modified=moment(self.rng, day_between(
                                    self.rng, start, min(end or self.world.today, self.world.today))))
        self.halo.contracts[contract.id] = contract
        return contract

    def _recurring_invoice(self, client: HaloClient, contract: HaloContract) -> HaloRecurringInvoice:
        today = self.world.today
        this_month = today.replace(day=1)
        invoice = HaloRecurringInvoice(
            id=self.next_invoice_id, client_id=client.id, contract_id=contract.id,
            next_creation=first_of_next_month(today),
            last_created=this_month if contract.start_date <= this_month else None,
            date_created=moment(self.rng, contract.start_date), last_modified=contract.last_modified)
        self.next_invoice_id -= self.rng.choice((1, 1, 1, 2, 3))
        self.halo.recurring_invoices[invoice.id] = invoice
        return invoice

    def _line(self, invoice: HaloRecurringInvoice, contract: HaloContract, line: SubscriptionLine) -> HaloLine:
        product = self.world.products[line.resource_id]
        item = self.item_for[line.resource_id]
        halo_line = HaloLine(
            id=self.line_ids.take(), recurring_invoice_id=invoice.id, item_id=item.id, item_code=item.code,
            short_description=item.name, long_description=product.name, nominal_code=f"REC-{item.code}",
            quantity=Decimal(hand_set_units(self.rng, line.ordered)), unit_price=self._price(item.baseprice),
            unit_cost=item.costprice, start_date=contract.start_date, end_date=contract.end_date,
            sequence=len(invoice.lines) + 1)
        self.halo.add_line(invoice, halo_line)
        if contract.end_date is None and self.rng.random() < 0.04:
            self._manual_prorata(invoice, halo_line)
        return halo_line

    def _manual_prorata(self, invoice: HaloRecurringInvoice, line: HaloLine) -> None:
        """A charge someone added by hand earlier this period; Halo bills it on the next invoice."""
        today = self.world.today
        day = day_between(self.rng, today.replace(day=1), today)
        line.prorata.append(HaloProRata(
            id=self.prorata_ids.take(), line_id=line.id, recurring_invoice_id=invoice.id,
            client_id=invoice.client_id, day=day, quantity=Decimal(self.rng.randint(1, 3)),
            unit_price=(line.unit_price * Decimal("0.5")).quantize(Decimal("0.01")), unit_cost=Decimal(0),
            short_description=f"{line.short_description} (pro rata)", long_description="Added by hand"))

    def _product_not_in(self, sub: Subscription) -> Product | None:
        present = {line.resource_id for line in sub.lines}
        plan = _PLAN_BY_NAME[sub.plan_name]
        candidates = [p for p in self.world.products.values()
                      if p.resource_id not in present and product_spec(p).key in plan.product_keys]
        return self.rng.choice(candidates) if candidates else None

    def managed_services(self, client: HaloClient, since: date, staff: int, running: bool = True) -> None:
        """Services the MSP bills that no marketplace resource feeds."""
        rng, today = self.rng, self.world.today
        ended_on = None if running else today - timedelta(days=rng.randint(20, 400))
        contract = self._contract(client, "Managed Services", since.replace(day=1), ended_on)
        invoice = self._recurring_invoice(client, contract)
        for index in rng.sample(range(len(PSA_ONLY_SERVICES)), rng.randint(1, 3)):
            service, item = PSA_ONLY_SERVICES[index], self.managed[index]
            low, high = service.typical_units
            units = max(low, min(high, round(staff * rng.uniform(0.6, 1.1)))) if high > 10 else rng.randint(low, high)
            line = HaloLine(id=self.line_ids.take(), recurring_invoice_id=invoice.id, item_id=item.id,
                            item_code=item.code, short_description=item.name, long_description=item.name,
                            nominal_code=f"MS-{item.code}", quantity=Decimal(units), unit_price=item.baseprice,
                            unit_cost=item.costprice, start_date=contract.start_date, end_date=contract.end_date,
                            sequence=len(invoice.lines) + 1)
            self.halo.add_line(invoice, line)


def seed_halopsa(world: SandboxWorld, profiles: list[CustomerProfile]) -> None:
    seeder = _HaloSeeder(world, halopsa_rng(world.seed))
    seeder.items()
    seeder.clients(profiles)
    taken = {profile.name.key for profile in profiles}
    seeder.psa_only_clients(max(3, round(len(profiles) * _PSA_ONLY_CLIENT_SHARE)), taken)
