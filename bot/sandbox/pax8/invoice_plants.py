"""The invoice plants (bot.sandbox.invoice_plants) in the Pax8 book: each is a change of a subscription's history
(so the invoice computed from it carries the discrepancy exactly as Pax8 would bill it), or a PSA record edited by
hand. `known_unlinked` are the subscriptions the next invoice bills that the generator gave no PSA service.

Two phases around the billing lead's work: `plant_second_subscription` before a sync (the PSA bills the second
subscription, which the lead links), `plant_the_rest` after the last one (nobody syncs them before the invoice).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.sandbox.invoice_plants import (
    Plant,
    PlantedMonth,
    add_units_by_hand,
    second_service,
    service_price,
    service_units,
)
from bot.sandbox.pax8.book import Pax8Book, Pax8Subscription, SubscriptionState
from bot.sandbox.pax8.book_seed import new_uuid
from bot.sandbox.pax8.days import (
    Pax8DayReport,
    _end_commitments,
    _end_pending_cancellations,
    _end_trials,
    _finish_orders,
    day_rng,
)
from bot.sandbox.pax8.invoices import release_due_invoices
from bot.sandbox.world import SandboxWorld

UNITS, PRORATE = False, True


def _book(world: SandboxWorld) -> Pax8Book:
    if world.pax8 is None:
        raise ValueError("this world has no Pax8 book")
    return world.pax8


def _candidates(world: SandboxWorld, psa: str, taken: set[str]) -> list[Pax8Subscription]:
    """Billable monthly seat subscriptions the PSA bills (by the generator's truth), level with it."""
    book = _book(world)
    found = []
    for sub in book.subscriptions.values():
        state = sub.now
        service = book.truth.service_for_subscription.get(sub.id, {}).get(psa)
        if (service is None or sub.id in taken or book.product_for(sub).usage_based or state.billing_term != "Monthly"
                or state.status != "Active" or state.end_date is not None or state.quantity < 2
                or service_units(world, psa, service) != state.billable_quantity):
            continue
        found.append(sub)
    found.sort(key=lambda s: s.id)
    return found


def plant_second_subscription(world: SandboxWorld, psa: str, month: PlantedMonth, rng: random.Random,
                              now: datetime) -> None:
    """A customer buys a second subscription of a product it has; the PSA bills it on a service of its own, one
    seat short. `now`: when, in the month the invoice prorates."""
    book = _book(world)
    first = rng.choice(_candidates(world, psa, set()))
    second = Pax8Subscription(id=new_uuid(rng), company_id=first.company_id, product_id=first.product_id, created=now,
                              billing_start=now.date(), vendor_subscription_id=new_uuid(rng),
                              commitment=first.commitment)
    quantity = 3 + rng.randint(0, 4)
    second.history.append(SubscriptionState(updated=now, quantity=quantity, status="Active", price=first.now.price,
                                            partner_cost=first.now.partner_cost, billing_term="Monthly",
                                            start_date=now, commitment_end=first.now.commitment_end))
    book.subscriptions[second.id] = second
    service = second_service(world, psa, book.truth.service_for_subscription[first.id][psa], units=quantity - 1)
    book.truth.service_for_subscription[second.id] = {psa: service}
    month.to_link.append((second.id, second.product_id, service))
    month.plants.append(Plant("two_subscriptions", second.id, (("under_billed", UNITS), ("under_billed", PRORATE)),
                              f"a second subscription of {book.product_for(first).name} for the customer of "
                              f"{first.id}, billed one seat short, its new seats never prorated"))


def plant_the_rest(world: SandboxWorld, psa: str, month: PlantedMonth, rng: random.Random, now: datetime) -> None:
    book = _book(world)
    taken = {plant.subscription_id for plant in month.plants}
    taken |= {sub.id for sub in book.subscriptions.values()
              if any(p.subscription_id == sub.id or _same_product(book, p.subscription_id, sub) for p in month.plants)}

    def pick() -> Pax8Subscription:
        sub = rng.choice(_candidates(world, psa, taken))
        taken.add(sub.id)
        return sub

    sub = pick()
    sub.change(now, quantity=sub.now.quantity + 2)
    month.plants.append(Plant("unbilled_increase", sub.id, (("under_billed", UNITS), ("under_billed", PRORATE)),
                              "2 seats added at Pax8, never billed"))
    sub = pick()
    sub.change(now, quantity=sub.now.quantity + 1)
    add_units_by_hand(world, psa, book.truth.service_for_subscription[sub.id][psa], 1)
    month.plants.append(Plant("missing_prorate", sub.id, (("under_billed", PRORATE),),
                              "1 seat added at Pax8 and in the PSA by hand, its prorate never billed"))
    sub = pick()
    price = service_price(world, psa, book.truth.service_for_subscription[sub.id][psa])
    sub.change(now, partner_cost=(price * Decimal("1.25")).quantize(Decimal("0.01")))
    month.plants.append(Plant("under_cost", sub.id, (("under_cost", UNITS),),
                              f"Pax8's cost raised to a quarter over the PSA's price of {price}"))
    sub = pick()
    sub.change(now, status="Cancelled", end_date=now)
    month.plants.append(Plant("billing_for_nothing", sub.id, (("billing_for_nothing", UNITS),),
                              "cancelled at Pax8, still billed in the PSA"))
    unlinked = _new_unlinked(book, rng, now)
    month.plants.append(Plant("unlinked_line", unlinked.id, (("unlinked", UNITS),),
                              "a new subscription nobody links"))


def _same_product(book: Pax8Book, subscription_id: str, other: Pax8Subscription) -> bool:
    first = book.subscriptions.get(subscription_id)
    return first is not None and first.company_id == other.company_id and first.product_id == other.product_id


def _new_unlinked(book: Pax8Book, rng: random.Random, now: datetime) -> Pax8Subscription:
    owned: dict[str, set[str]] = {}
    for sub in book.subscriptions.values():
        owned.setdefault(sub.company_id, set()).add(sub.product_id)
    companies = sorted(c.id for c in book.companies.values() if c.status == "Active")
    products = sorted(p.id for p in book.products.values() if not p.usage_based)
    for _ in range(200):
        company, product = rng.choice(companies), rng.choice(products)
        if product not in owned.get(company, set()):
            break
    item = book.products[product]
    sub = Pax8Subscription(id=new_uuid(rng), company_id=company, product_id=product, created=now,
                           billing_start=now.date(), vendor_subscription_id=new_uuid(rng))
    price = item.suggested_retail_price
    sub.history.append(SubscriptionState(updated=now, quantity=3, status="Active", price=price,
                                         partner_cost=item.partner_buy_rate, billing_term="Monthly", start_date=now))
    book.subscriptions[sub.id] = sub
    return sub


def release(world: SandboxWorld, invoice_month: date) -> None:
    """Release every invoice due by today (the 5th of `invoice_month`), as a day pass would."""
    release_due_invoices(_book(world), world.today)


def quiet_days(world: SandboxWorld, until: date) -> None:
    """Days pass until `until` with what happens by itself (orders provisioned, cancellations and trials ending,
    commitments renewing or ending) and no customer changing anything; invoices are released on their day."""
    book = _book(world)
    while world.today < until:
        world.today += timedelta(days=1)
        rng = day_rng(world.seed, world.today)
        report = Pax8DayReport(day=world.today)
        midnight = datetime.combine(world.today, time(0), tzinfo=UTC)
        _finish_orders(book, report, midnight)
        _end_pending_cancellations(book, report, midnight)
        _end_trials(book, world, rng, report, midnight)
        _end_commitments(book, rng, report, midnight)
        release_due_invoices(book, world.today)


def known_findings(world: SandboxWorld, psa: str, invoice_month: date) -> list[tuple[str, str, bool]]:
    """The discrepancies the generated world has by construction in the released invoice of `invoice_month`, one
    entry per finding they cause (a Pax8 subscription is one product: one finding of a kind at most): a
    subscription the generator gave no PSA service is billed by nobody (`unlinked`), and one whose PSA price is
    under Pax8's cost is billed under cost."""
    book = _book(world)
    known: set[tuple[str, str, bool]] = set()
    for line in book.invoices.get(invoice_month, []):
        service = book.truth.service_for_subscription.get(line.subscription_id, {}).get(psa)
        if service is None:
            known.add(("unlinked", line.subscription_id, UNITS))
            continue
        if line.type == "subscription" and line.term != "Arrears":
            monthly_cost = line.cost / (12 if line.term == "Annual" else 1)
            if service_price(world, psa, service) < monthly_cost:
                known.add(("under_cost", line.subscription_id, UNITS))
    return sorted(known)


def invoice_line_count(world: SandboxWorld, invoice_month: date) -> int:
    return len(_book(world).invoices.get(invoice_month, []))


def truth_links(world: SandboxWorld, psa: str) -> list[tuple[str, str, str]]:
    """(subscription id, resource id as the API shows it, PSA service id) of every subscription the PSA bills."""
    book = _book(world)
    return [(sub_id, book.subscriptions[sub_id].product_id, str(services[psa]))
            for sub_id, services in sorted(book.truth.service_for_subscription.items())
            if psa in services and sub_id in book.subscriptions]
