"""The sandbox MSP's Pax8 book: which customers it serves through Pax8, and what they subscribe to.

The MSP moved part of its book to Pax8: about 45 % of its marketplace customers also (or only for some
products) buy through Pax8, and most of the customers only its PSAs knew (managed services only, no
marketplace account: `world.truth.psa_only`) now buy their licences through Pax8 alone. So every
Pax8 company that has PSA companies has the same ones as before (`book.truth.company_for_pax8`).
Company names are spelled the Pax8 way (`spelling`); a quarter carry the Autotask id as `externalId`.

Subscriptions (one product each) mix what a real Pax8 book holds:
- Microsoft NCE on a 1-Year commitment billed Annual, or billed Monthly, or monthly with no commitment;
- several subscriptions of one product for one company (an annual base plus a monthly "flex" one, or
  two annual ones with different anniversaries);
- trials (billingTerm and status `Trial`, 25 seats, free for 30 days) and converted trials (the trial
  shows `Converted`, a paid subscription follows);
- cancelled ones, ones pending cancellation at the end of the month, orders still provisioning;
- an Azure plan billed from usage for some customers.
Each subscription carries its history back to its creation (quantity changes, renewals, status), so
past invoices can be computed from it. Everything comes from a generator seeded with the world's seed
alone (a stream of its own, so the rest of the world is the same with or without Pax8).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import add_months, day_between, moment
from bot.sandbox.marketplace_seed import CustomerProfile, product_spec
from bot.sandbox.names import CITIES, CompanyName, email_domain
from bot.sandbox.odin_accounts import account_profile
from bot.sandbox.pax8.book import (
    Commitment,
    Pax8Book,
    Pax8Company,
    Pax8Product,
    Pax8Subscription,
    SubscriptionState,
    UsageSummary,
)
from bot.sandbox.pax8.catalogue import build_catalogue, popularity, seat_products, unit_rates
from bot.sandbox.pax8.invoices import release_due_invoices
from bot.sandbox.pax8.psa_billing import bill_in_psas
from bot.sandbox.pax8.spelling import pax8_spelling
from bot.sandbox.world import SandboxWorld

PARTNER_NAME = "Sandbox Managed Services LLC"
SHARED_CUSTOMER_SHARE = 0.45
PSA_ONLY_ON_PAX8 = 0.9
INVOICE_MONTHS_KEPT = 3
_STATES = ("CO", "TX", "OH", "NC", "ID", "NE", "OK", "WI", "WA", "VA", "NY", "AZ", "CA", "OR", "TN")
_METERS = (("Virtual Machines - D2s v3", "Hours", "0.096"), ("Managed Disks - P10", "Each", "0.6336"),
           ("Bandwidth - Data Transfer Out", "GB", "0.087"), ("Storage - Hot LRS", "GB", "0.0208"),
           ("Azure SQL Database - S0", "Hours", "0.0202"), ("Azure Backup - Protected Instances", "Each", "0.3333"))


def book_rng(seed: int, purpose: str) -> random.Random:
    digest = hashlib.sha256(f"seatsync-sandbox-pax8:{purpose}:{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class _Customer:
    company: Pax8Company
    name: CompanyName
    staff: int
    city: str


def build_book(world: SandboxWorld, profiles: list[CustomerProfile], *, billed_in_psas: bool = False) -> Pax8Book:
    """The Pax8 book of `world`'s MSP, in `world.pax8`.

    With `billed_in_psas`, the PSAs bill its seats too (`psa_billing`: new contracts and services);
    without, they do not yet, and the PSA side of the world is exactly what it was."""
    rng = book_rng(world.seed, "book")
    book = Pax8Book(seed=world.seed, partner_account_id=new_uuid(rng), partner_name=PARTNER_NAME)
    build_catalogue(book, world, rng)
    customers = _companies(book, world, rng, profiles)
    for customer in customers:
        _subscriptions(book, world, rng, customer)
    world.pax8 = book
    if billed_in_psas:
        bill_in_psas(world, book, book_rng(world.seed, "psa"))
    release_due_invoices(book, world.today, keep=INVOICE_MONTHS_KEPT)
    return book


# --- companies ------------------------------------------------------------------------------------
def _companies(book: Pax8Book, world: SandboxWorld, rng: random.Random,
               profiles: list[CustomerProfile]) -> list[_Customer]:
    taken_names: set[str] = set()
    customers: list[_Customer] = []
    shared = [p for p in profiles if rng.random() < SHARED_CUSTOMER_SHARE]
    for profile in shared:
        customer = world.customers[profile.account_id]
        details = account_profile(customer)
        psa = world.truth.company_for_account.get(profile.account_id, {})
        spelled = _apart(pax8_spelling(profile.name, rng), _psa_names(world, psa) | {customer.name}, rng)
        company = Pax8Company(
            id=new_uuid(rng), name=_unique(spelled, taken_names, profile.city),
            account_id=profile.account_id, street=details.street, city=details.city, state=details.state,
            postal_code=details.zip_code, country=details.country,
            phone=f"{details.phone_area}-555-{rng.randint(1000, 9999)}",
            website=f"https://www.{customer.email.partition('@')[2] or email_domain(profile.name)}",
            updated=moment(rng, day_between(rng, customer.created.date(), world.today)),
            self_service_allowed=rng.random() < 0.2)
        if profile.account_id in world.truth.company_for_account:
            book.truth.company_for_pax8[company.id] = dict(world.truth.company_for_account[profile.account_id])
        customers.append(_Customer(company, profile.name, profile.staff, profile.city))
    for name, psa_companies in world.truth.psa_only:  # customers only the PSAs knew: now on Pax8 too
        if not _active_in_psas(world, psa_companies) or rng.random() >= PSA_ONLY_ON_PAX8:
            continue
        city, country = rng.choice(CITIES)
        spelled = _apart(pax8_spelling(name, rng), _psa_names(world, psa_companies), rng)
        company = Pax8Company(
            id=new_uuid(rng), name=_unique(spelled, taken_names, city), account_id=None,
            street=f"{rng.randint(10, 9999)} {rng.choice(('Main St', 'Oak Ave', 'Commerce Dr', 'Park Rd'))}",
            city=city, state=rng.choice(_STATES) if country == "US" else "ON",
            postal_code=f"{rng.randint(10000, 99999)}" if country == "US" else "K1A 0B1", country=country,
            phone=f"{rng.randint(201, 989)}-555-{rng.randint(1000, 9999)}",
            website=f"https://www.{email_domain(name)}",
            updated=moment(rng, world.today - timedelta(days=rng.randint(20, 900))),
            self_service_allowed=rng.random() < 0.2)
        book.truth.company_for_pax8[company.id] = dict(psa_companies)
        customers.append(_Customer(company, name, max(2, min(300, round(rng.lognormvariate(2.6, 0.8)))), city))
    for customer in customers:
        if rng.random() < 0.04:
            customer.company.status = "Inactive"  # set up in Pax8 without primary contacts yet
        psa = book.truth.company_for_pax8.get(customer.company.id, {})
        if "autotask" in psa and rng.random() < 0.25:
            customer.company.external_id = str(psa["autotask"])  # the MSP noted its PSA id in Pax8
        book.companies[customer.company.id] = customer.company
    return customers


def _active_in_psas(world: SandboxWorld, companies: dict[str, int]) -> bool:
    if "autotask" in companies:
        return world.autotask_companies[companies["autotask"]].is_active
    return world.connectwise_companies[companies["connectwise"]].status == "Active"


def _psa_names(world: SandboxWorld, companies: dict[str, int]) -> set[str]:
    names = {world.autotask_companies[companies["autotask"]].name} if "autotask" in companies else set()
    return names | ({world.connectwise_companies[companies["connectwise"]].name} if "connectwise" in companies
                    else set())


def _apart(name: str, others: set[str], rng: random.Random) -> str:
    """A spelling of its own: where the Pax8 spelling happens to be another system's, the account code shows."""
    if name.lower() not in {other.lower() for other in others}:
        return name
    return f"{rng.randint(1, 9999):04d} - {name}"


def _unique(name: str, taken: set[str], city: str) -> str:
    candidate = name if name.lower() not in taken else f"{name} ({city})"
    n = 2
    while candidate.lower() in taken:
        candidate, n = f"{name} ({n})", n + 1
    taken.add(candidate.lower())
    return candidate


# --- subscriptions --------------------------------------------------------------------------------
def _subscriptions(book: Pax8Book, world: SandboxWorld, rng: random.Random, customer: _Customer) -> None:
    products = seat_products(book)
    weights = [popularity(p, world) for p in products]
    wanted = min(len(products), rng.choices((1, 2, 3, 4, 5), weights=(30, 30, 20, 12, 8))[0])
    chosen: list[Pax8Product] = []
    while len(chosen) < wanted:
        product = rng.choices(products, weights=weights)[0]
        if product not in chosen:
            chosen.append(product)
    inactive = customer.company.status != "Active"
    for product in chosen:
        quantity = _seats(rng, world, product, customer.staff)
        status = "Active" if inactive else rng.choices(
            ("Active", "Cancelled", "PendingCancel", "PendingAutomated", "Trial", "Converted"),
            weights=(82, 7, 2, 2, 3, 4))[0]
        if status == "Trial" and product.vendor_name != "Microsoft":
            status = "Active"
        if status == "Trial":
            _trial(book, world, rng, customer, product)
        elif status == "Converted":
            converted_on = _trial(book, world, rng, customer, product, converted=True)
            _paid(book, world, rng, customer, product, quantity, "Active", start=converted_on)
        else:
            _paid(book, world, rng, customer, product, quantity, status)
            if product.commitments and rng.random() < 0.12:  # a second subscription of the same product
                flex = max(1, quantity // rng.randint(4, 8))
                _paid(book, world, rng, customer, product, flex, "Active")
    if rng.random() < 0.12 and not inactive:
        _azure(book, world, rng, customer)


def _seats(rng: random.Random, world: SandboxWorld, product: Pax8Product, staff: int) -> int:
    if product.resource_id is None:
        return 1
    low, high = product_spec(world.products[product.resource_id]).seats_per_ten_staff
    return max(1, round(staff * rng.randint(low, high) / 10))


def _term(rng: random.Random, product: Pax8Product) -> tuple[str, bool]:
    """(billing term, on a 1-Year commitment)."""
    if not product.commitments:
        return "Monthly", False
    return rng.choices((("Annual", True), ("Monthly", True), ("Monthly", False)), weights=(45, 25, 30))[0]


def _at(day: date, rng: random.Random) -> datetime:
    return moment(rng, day)


def _paid(book: Pax8Book, world: SandboxWorld, rng: random.Random, customer: _Customer, product: Pax8Product,
          quantity: int, status: str, start: datetime | None = None) -> Pax8Subscription:
    today = world.today
    billing_term, committed = _term(rng, product)
    if start is None:
        if status == "PendingAutomated":
            start_day = today - timedelta(days=rng.randint(0, 1))
        else:
            start_day = today - timedelta(days=rng.randint(3, 4 * 365))
        start = _at(start_day, rng)
    created = start - timedelta(hours=rng.randint(1, 30))
    price, cost = unit_rates(product, billing_term, committed)
    commitment = product.commitments[0] if committed else None
    sub = Pax8Subscription(id=new_uuid(rng), company_id=customer.company.id, product_id=product.id,
                           created=created, billing_start=start.date(), vendor_subscription_id=new_uuid(rng),
                           commitment=commitment)
    first_end = commitment_end(start.date(), commitment, start) if commitment else None
    sub.history.append(SubscriptionState(updated=created, quantity=quantity, status="PendingAutomated",
                                         price=price, partner_cost=cost, billing_term=billing_term,
                                         start_date=start, commitment_end=first_end))
    book.subscriptions[sub.id] = sub
    if status == "PendingAutomated":
        return sub
    _past_changes(rng, sub, quantity, start, today)
    if status == "Cancelled":
        _cancel_in_the_past(rng, sub, today)
    elif status == "PendingCancel":
        month_end = _month_end(today)
        sub.change(_at(today - timedelta(days=rng.randint(0, 5)), rng), status="PendingCancel",
                   end_date=datetime.combine(month_end, time(23, 59, 59), tzinfo=UTC))
    return sub


def commitment_end(start: date, commitment: Commitment, after: datetime) -> datetime:
    """The end of the commitment term running at `after` (terms renew on the start's anniversary)."""
    terms = 1
    while (end := datetime.combine(add_months(start, commitment.months * terms), time(0, 0), tzinfo=UTC)) <= after:
        terms += 1
    return end


def _past_changes(rng: random.Random, sub: Pax8Subscription, quantity: int, start: datetime, today: date) -> None:
    """Active from `start`, then seat changes and commitment renewals up to today, ending at `quantity`."""
    events: list[tuple[datetime, str, int]] = []
    span = (today - start.date()).days
    for _ in range(rng.choices((0, 1, 2, 3, 4), weights=(35, 30, 18, 10, 7))[0] if span > 2 else 0):
        day = start.date() + timedelta(days=rng.randint(1, span - 1))
        step = rng.choice((1, 1, 1, 2, 2, 3, 5))
        decrease = sub.commitment is None and rng.random() < 0.35
        events.append((_at(day, rng), "seats", -step if decrease else step))
    if sub.commitment is not None:
        anniversary = 1
        while (renewal := add_months(start.date(), sub.commitment.months * anniversary)) <= today:
            events.append((datetime.combine(renewal, time(0, 5), tzinfo=UTC), "renewal", 0))
            anniversary += 1
    events.sort()
    initial = quantity - sum(delta for _, kind, delta in events if kind == "seats")
    running = [initial]
    for _, _, delta in events:
        running.append(running[-1] + delta)
    if min(running) < 1:  # the changes would have gone below one seat: keep the renewals only
        events = [e for e in events if e[1] == "renewal"]
        initial = quantity
    sub.history[0] = replace(sub.history[0], quantity=initial)
    sub.change(start, status="Active", quantity=initial)
    running = initial
    for at, kind, delta in events:
        if at <= sub.now.updated:
            at = sub.now.updated + timedelta(minutes=1)
        if kind == "seats":
            running += delta
            sub.change(at, quantity=running)
        else:
            sub.change(at, commitment_end=commitment_end(start.date(), sub.commitment, at))


def _cancel_in_the_past(rng: random.Random, sub: Pax8Subscription, today: date) -> None:
    last = sub.now.updated.date()
    if last >= today - timedelta(days=3):
        last = today - timedelta(days=3)
    asked = day_between(rng, last, today - timedelta(days=2))
    ends = _month_end(asked) if sub.now.billing_term == "Monthly" and sub.commitment is None else asked
    ends = min(ends, today - timedelta(days=1))
    end_date = datetime.combine(ends, time(23, 59, 59), tzinfo=UTC)
    sub.change(max(_at(asked, rng), sub.now.updated + timedelta(minutes=1)), status="PendingCancel",
               end_date=end_date)
    # cancelled from the first instant after its end date, so a cancellation at a month's end credits nothing
    sub.change(max(end_date + timedelta(seconds=1), sub.now.updated + timedelta(minutes=1)), status="Cancelled")


def _month_end(day: date) -> date:
    return add_months(day.replace(day=1), 1) - timedelta(days=1)


def _trial(book: Pax8Book, world: SandboxWorld, rng: random.Random, customer: _Customer, product: Pax8Product,
           converted: bool = False) -> datetime:
    """A 30-day, 25-seat trial; returns when it ends (or ended)."""
    today = world.today
    start_day = today - timedelta(days=rng.randint(31, 300) if converted else rng.randint(1, 25))
    start = _at(start_day, rng)
    end = start + timedelta(days=30)
    sub = Pax8Subscription(id=new_uuid(rng), company_id=customer.company.id, product_id=product.id,
                           created=start - timedelta(minutes=rng.randint(5, 90)), billing_start=end.date(),
                           vendor_subscription_id=new_uuid(rng))
    sub.history.append(SubscriptionState(updated=sub.created, quantity=25, status="PendingAutomated",
                                         price=Decimal("0"), partner_cost=Decimal("0"),
                                         billing_term="Trial", start_date=start, end_date=end))
    sub.change(start, status="Trial")
    if converted:
        sub.change(end, status="Converted")
    book.subscriptions[sub.id] = sub
    return end


def _azure(book: Pax8Book, world: SandboxWorld, rng: random.Random, customer: _Customer) -> None:
    azure = next(p for p in book.products.values() if p.usage_based)
    start = _at(world.today - timedelta(days=rng.randint(40, 900)), rng)
    sub = Pax8Subscription(id=new_uuid(rng), company_id=customer.company.id, product_id=azure.id,
                           created=start - timedelta(hours=2), billing_start=start.date(),
                           vendor_subscription_id=new_uuid(rng))
    sub.history.append(SubscriptionState(updated=sub.created, quantity=1, status="PendingAutomated",
                                         price=azure.suggested_retail_price, partner_cost=azure.partner_buy_rate,
                                         billing_term="Monthly", start_date=start))
    sub.change(start, status="Active")
    book.subscriptions[sub.id] = sub
    groups = ["rg-production", "rg-backup", "rg-dev", "rg-vdi"]
    for group in rng.sample(groups, rng.randint(1, 3)):
        meters = []
        for name, unit, rate in rng.sample(_METERS, rng.randint(2, 4)):
            cost = Decimal(rate)
            price = (cost * Decimal(rng.choice(("1.10", "1.15", "1.20")))).quantize(Decimal("0.0001"))
            meters.append((str(uuid.uuid5(uuid.NAMESPACE_URL, f"pax8-azure-meter:{name}")), name, unit, price, cost))
        summary = UsageSummary(id=new_uuid(rng), subscription_id=sub.id, company_id=customer.company.id,
                               product_id=azure.id, resource_group=group, meters=tuple(meters))
        book.usage_summaries[summary.id] = summary
