"""A day passes in the MSP's Pax8 account (called by `bot.sandbox.day_passes.advance_day`).

Like the marketplace day, the day's randomness comes from (seed, the day's ordinal) alone, in a stream
of its own; every change is a new history snapshot stamped `world.now()`, and is reported as the
Completed Line Item type Pax8 would emit for it (devx subscription-events-completed-line-items), which
is what the webhook deliveries announce. In order:
- yesterday's orders finish provisioning (`New`); pending cancellations past their end date become
  `Cancelled` (`Cancel`); trials past their 30 days convert to a paid subscription (`TrialConvert`,
  then `New`) or end (`TrialCancel`); commitment terms that ended renew (`Renewal`, at the
  catalogue's current rates) or, for the few that do not auto-renew, are cancelled (`Cancel`);
- seats change on about 7 % of the live subscriptions of a small book, 1 % of a large one (`Change`).
  NCE rules hold: a committed subscription's seats only go down within 7 days of its term's start, so
  outside that window a change is an increase;
- now and then an order (sometimes a second subscription of a product the company already has) or a
  trial, provisioned the next day (`New`, `TrialCreate`), and a cancellation request of a monthly
  subscription (status `PendingCancel` until the month's end; reported as a `Change`);
- about one day in twenty, a vendor price change: new rates for the product, applied at once to the
  subscriptions without a commitment (`Change`), to committed ones at their renewal;
- on the 5th, the month's invoice is released (topic `INVOICE`, action `CREATED`).
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import add_months
from bot.sandbox.pax8.book import BILLABLE_STATUSES, Pax8Book, Pax8Subscription, SubscriptionState
from bot.sandbox.pax8.book_seed import commitment_end, new_uuid
from bot.sandbox.pax8.catalogue import popularity, seat_products, unit_rates
from bot.sandbox.pax8.invoices import month_end, release_due_invoices
from bot.sandbox.world import SandboxWorld

_SMALL_BOOK_SUBSCRIPTIONS = 400
_AUTO_RENEW_RATE = 0.93
_CONVERSION_RATE = 0.6
_PRICE_CHANGE_CHANCE = 0.05
NCE_DECREASE_WINDOW = timedelta(days=7)

Event = tuple[str, str]  # (Completed Line Item type, subscription id)


@dataclass
class Pax8DayReport:
    day: date
    events: list[Event] = field(default_factory=list)
    seat_changes: list[tuple[str, int, int]] = field(default_factory=list)  # (subscription, before, after)
    released_invoices: list[date] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(),
                "events": [{"type": kind, "subscription_id": sid} for kind, sid in self.events],
                "seat_changes": [{"subscription_id": s, "before": b, "after": a} for s, b, a in self.seat_changes],
                "released_invoices": [m.isoformat() for m in self.released_invoices]}

    @property
    def changed_subscriptions(self) -> list[str]:
        return list(dict.fromkeys(sid for _, sid in self.events))


def day_rng(seed: int, day: date) -> random.Random:
    digest = hashlib.sha256(f"seatsync-sandbox-pax8-day:{seed}:{day.toordinal()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def advance_pax8_day(world: SandboxWorld) -> Pax8DayReport:
    """Let `world.today` (already moved on by the caller) happen in the Pax8 book."""
    book = world.pax8
    report = Pax8DayReport(day=world.today)
    if book is None:
        return report
    rng = day_rng(world.seed, world.today)
    now = world.now()
    midnight = datetime.combine(world.today, time(0), tzinfo=UTC)
    _finish_orders(book, report, midnight)
    _end_pending_cancellations(book, report, midnight)
    _end_trials(book, world, rng, report, midnight)
    _end_commitments(book, rng, report, midnight)
    _change_seats(book, rng, report, now)
    _order(book, world, rng, report, now)
    _request_cancellations(book, rng, report, now)
    if rng.random() < _PRICE_CHANGE_CHANCE:
        _change_a_price(book, world, rng, report, now)
    report.released_invoices = release_due_invoices(book, world.today)
    return report


def _finish_orders(book: Pax8Book, report: Pax8DayReport, midnight: datetime) -> None:
    """Yesterday's orders are provisioned: billing (and a commitment's term) starts now."""
    for sub in list(book.subscriptions.values()):
        if sub.now.status == "PendingAutomated" and sub.now.updated < midnight:
            trial = sub.now.billing_term == "Trial"
            if trial:
                sub.change(midnight, status="Trial")
            else:
                sub.billing_start = midnight.date()
                ends = commitment_end(sub.billing_start, sub.commitment, midnight) if sub.commitment else None
                sub.change(midnight, status="Active", start_date=midnight, commitment_end=ends)
            report.events.append(("TrialCreate" if trial else "New", sub.id))


def _end_pending_cancellations(book: Pax8Book, report: Pax8DayReport, midnight: datetime) -> None:
    for sub in book.subscriptions.values():
        state = sub.now
        if state.status == "PendingCancel" and state.end_date is not None and state.end_date < midnight:
            sub.change(state.end_date + timedelta(seconds=1), status="Cancelled")
            report.events.append(("Cancel", sub.id))


def _end_trials(book: Pax8Book, world: SandboxWorld, rng: random.Random, report: Pax8DayReport,
                midnight: datetime) -> None:
    for sub in list(book.subscriptions.values()):
        state = sub.now
        if state.status != "Trial" or state.end_date is None or state.end_date >= midnight:
            continue
        if rng.random() < _CONVERSION_RATE:
            sub.change(state.end_date, status="Converted")
            report.events.append(("TrialConvert", sub.id))
            paid = _new_subscription(book, rng, sub.company_id, book.products[sub.product_id],
                                     quantity=max(1, round(state.quantity * rng.uniform(0.2, 0.8))),
                                     at=state.end_date, status="Active")
            report.events.append(("New", paid.id))
        else:
            sub.change(state.end_date, status="Cancelled")
            report.events.append(("TrialCancel", sub.id))


def _end_commitments(book: Pax8Book, rng: random.Random, report: Pax8DayReport, midnight: datetime) -> None:
    for sub in book.subscriptions.values():
        state = sub.now
        if (sub.commitment is None or state.commitment_end is None or state.commitment_end > midnight
                or state.status not in BILLABLE_STATUSES):
            continue
        if state.status == "PendingCancel" or rng.random() >= _AUTO_RENEW_RATE:
            sub.change(state.commitment_end, status="Cancelled", end_date=state.commitment_end - timedelta(seconds=1))
            report.events.append(("Cancel", sub.id))
            continue
        price, cost = unit_rates(book.products[sub.product_id], state.billing_term, committed=True)
        renewed = state.commitment_end + timedelta(minutes=5)
        sub.change(renewed, commitment_end=commitment_end(sub.billing_start, sub.commitment, renewed), price=price,
                   partner_cost=cost)
        report.events.append(("Renewal", sub.id))


def _in_decrease_window(sub: Pax8Subscription, now: datetime) -> bool:
    if sub.commitment is None:
        return True
    term_end = sub.now.commitment_end
    if term_end is None:
        return True
    months = sub.commitment.months
    term_start = datetime.combine(add_months(term_end.date(), -months), time(0), tzinfo=UTC)
    return now - term_start <= NCE_DECREASE_WINDOW


def _change_seats(book: Pax8Book, rng: random.Random, report: Pax8DayReport, now: datetime) -> None:
    live = [s for s in book.subscriptions.values()
            if s.now.status == "Active" and s.now.billing_term != "Trial" and _of_seats(book, s)]
    if not live:
        return
    share = 0.07 if len(book.subscriptions) <= _SMALL_BOOK_SUBSCRIPTIONS else 0.01
    count = min(len(live), max(1, round(len(live) * share * rng.uniform(0.7, 1.3))))
    for sub in rng.sample(live, count):
        before = sub.now.quantity
        step = _step(rng, before, book.products[sub.product_id].unit_of_measure)
        decrease = before > 1 and rng.random() >= 0.55 and _in_decrease_window(sub, now)
        after = max(1, before - step) if decrease else before + step
        sub.change(now, quantity=after)
        report.events.append(("Change", sub.id))
        report.seat_changes.append((sub.id, before, after))


def _of_seats(book: Pax8Book, sub: Pax8Subscription) -> bool:
    return not book.products[sub.product_id].usage_based


def _step(rng: random.Random, quantity: int, unit: str) -> int:
    roll = rng.random()
    if roll < 0.6:
        step = 1
    elif roll < 0.8:
        step = 2
    elif roll < 0.95:
        step = rng.randint(3, 5)
    else:
        step = max(1, math.ceil(quantity * rng.uniform(0.1, 0.25)))
    return step * rng.choice((10, 25, 50)) if unit == "GB" else step


def _how_many(rng: random.Random, expected: float) -> int:
    whole = math.floor(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _new_subscription(book: Pax8Book, rng: random.Random, company_id: str, product, *, quantity: int,
                      at: datetime, status: str, trial: bool = False) -> Pax8Subscription:
    if trial:
        billing_term, committed = "Trial", False
        price = cost = Decimal("0")
    else:
        if product.commitments:
            billing_term, committed = rng.choices((("Annual", True), ("Monthly", True), ("Monthly", False)),
                                                  weights=(45, 25, 30))[0]
        else:
            billing_term, committed = "Monthly", False
        price, cost = unit_rates(product, billing_term, committed)
    commitment = product.commitments[0] if committed else None
    sub = Pax8Subscription(id=new_uuid(rng), company_id=company_id, product_id=product.id, created=at,
                           billing_start=at.date(), vendor_subscription_id=new_uuid(rng), commitment=commitment)
    sub.history.append(SubscriptionState(
        updated=at, quantity=quantity, status=status, price=price, partner_cost=cost, billing_term=billing_term,
        start_date=at, end_date=at + timedelta(days=30) if trial else None,
        commitment_end=commitment_end(at.date(), commitment, at) if commitment else None))
    book.subscriptions[sub.id] = sub
    return sub


def _order(book: Pax8Book, world: SandboxWorld, rng: random.Random, report: Pax8DayReport, now: datetime) -> None:
    companies = [c for c in book.companies.values() if c.status == "Active"]
    if not companies:
        return
    products = seat_products(book)
    weights = [popularity(p, world) for p in products]
    for _ in range(_how_many(rng, max(0.25, len(companies) * 0.002))):
        company = rng.choice(companies)
        owned = [book.products[s.product_id] for s in book.subscriptions.values()
                 if s.company_id == company.id and s.now.status == "Active" and _of_seats(book, s)]
        second = owned and rng.random() < 0.2  # a second subscription of a product the company has
        product = rng.choice(owned) if second else rng.choices(products, weights=weights)[0]
        trial = product.vendor_name == "Microsoft" and rng.random() < 0.1
        # reported once provisioning completes (the Completed Line Item), the next day
        _new_subscription(book, rng, company.id, product, quantity=25 if trial else rng.randint(1, 15), at=now,
                          status="PendingAutomated", trial=trial)


def _request_cancellations(book: Pax8Book, rng: random.Random, report: Pax8DayReport, now: datetime) -> None:
    candidates = [s for s in book.subscriptions.values()
                  if s.now.status == "Active" and s.commitment is None and s.now.billing_term == "Monthly"
                  and _of_seats(book, s)]
    for _ in range(_how_many(rng, max(0.15, len(book.companies) * 0.001))):
        if not candidates:
            return
        sub = candidates.pop(rng.randrange(len(candidates)))
        ends = datetime.combine(month_end(now.date()), time(23, 59, 59), tzinfo=UTC)
        sub.change(now, status="PendingCancel", end_date=ends)
        report.events.append(("Change", sub.id))


def _change_a_price(book: Pax8Book, world: SandboxWorld, rng: random.Random, report: Pax8DayReport,
                    now: datetime) -> None:
    products = [p for p in seat_products(book) if popularity(p, world)]
    product = rng.choices(products, weights=[popularity(p, world) for p in products])[0]
    factor = Decimal(rng.choice(("1.05", "1.08", "1.10", "0.95")))
    places = Decimal("0.01") if product.partner_buy_rate >= 1 else Decimal("0.0001")
    product.partner_buy_rate = (product.partner_buy_rate * factor).quantize(places)
    product.suggested_retail_price = (product.suggested_retail_price * factor).quantize(places)
    for sub in book.subscriptions.values():
        if sub.product_id != product.id or sub.commitment is not None or sub.now.status not in BILLABLE_STATUSES:
            continue
        price, cost = unit_rates(product, sub.now.billing_term, committed=False)
        sub.change(now, price=price, partner_cost=cost)
        report.events.append(("Change", sub.id))
