"""A day passes in the marketplace: seats bought and dropped, subscriptions ordered, cancelled, renewed.

`advance_day(world)` moves `world.today` one day on and changes the marketplace only; the PSAs keep
what the MSP billed, so every change is drift SeatSync must find. (HaloPSA creates the invoices its
recurring invoices have due that day, bot.sandbox.halopsa.invoicing: quantities stay as they were.)
The day's randomness comes from (seed, the new day's ordinal) alone, so two worlds of the same seed
advanced over the same days end up equal whatever happened in between (only the time of day in
`last_modified`, taken from `world.now()`, follows the real clock).

What happens in a day:
- Seat changes on about 7 % of the live lines of a small MSP (200 customers or fewer), about 1 % of a
  larger one; increases a little more often than decreases. Only the additional amount moves (never
  below 0); the included amount is the plan's and stays fixed.
- Now and then a new subscription for an existing customer (no PSA counterpart: unbilled revenue),
  and a cancellation of an active one.
- About one day in twenty, a vendor price change: the catalogue product and the unit price/cost of
  its lines in live (active or suspended) subscriptions.
- Term ends: an active subscription whose expiration date has come renews for another term when
  it auto-renews (CMP `renewalStatus`), and expires otherwise.
Every subscription whose data changed gets `last_modified = world.now()`; one whose only change is seats
gets it unless `world.seat_change_bumps_last_modified` is off (the Ingram knob, bot/sandbox/ingram.py).
Each seat change, new subscription, renewal and cancellation is also an Ingram order (bot.sandbox.ingram_orders);
an expiry and a price change are not.
The MSP's Pax8 book has its day too (`bot.sandbox.pax8.days`), reported in `DayReport.pax8`.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import next_expiration
from bot.sandbox.halopsa.invoicing import create_due_invoices
from bot.sandbox.ingram_orders import place_order
from bot.sandbox.marketplace_seed import product_spec, random_subscription
from bot.sandbox.pax8.days import Pax8DayReport, advance_pax8_day
from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine

SeatChange = tuple[int, int, int, int]  # (subscription_id, resource_id, units before, units after)

_SMALL_MSP_CUSTOMERS = 200
_PRICE_CHANGE_CHANCE = 0.05


@dataclass
class DayReport:
    day: date
    increases: list[SeatChange] = field(default_factory=list)
    decreases: list[SeatChange] = field(default_factory=list)
    new_subscriptions: list[int] = field(default_factory=list)
    cancelled_subscriptions: list[int] = field(default_factory=list)
    price_changes: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)  # (resource, old, new)
    changed_subscriptions: list[int] = field(default_factory=list)
    expired_subscriptions: list[int] = field(default_factory=list)
    renewed_subscriptions: list[int] = field(default_factory=list)
    pax8: Pax8DayReport | None = None  # the same day in the MSP's Pax8 book

    def as_dict(self) -> dict:
        def seats(changes: list[SeatChange]) -> list[dict]:
            return [{"subscription_id": s, "resource_id": r, "before": b, "after": a} for s, r, b, a in changes]

        return {
            "day": self.day.isoformat(),
            "increases": seats(self.increases),
            "decreases": seats(self.decreases),
            "new_subscriptions": list(self.new_subscriptions),
            "cancelled_subscriptions": list(self.cancelled_subscriptions),
            "expired_subscriptions": list(self.expired_subscriptions),
            "renewed_subscriptions": list(self.renewed_subscriptions),
            "price_changes": [{"resource_id": r, "old": str(old), "new": str(new)}
                              for r, old, new in self.price_changes],
            "changed_subscriptions": list(self.changed_subscriptions),
            **({"pax8": self.pax8.as_dict()} if self.pax8 is not None else {}),
        }


def day_rng(seed: int, day: date) -> random.Random:
    digest = hashlib.sha256(f"seatsync-sandbox-day:{seed}:{day.toordinal()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def advance_day(world: SandboxWorld) -> DayReport:
    world.today += timedelta(days=1)
    rng = day_rng(world.seed, world.today)
    report = DayReport(day=world.today)
    changed: dict[int, None] = {}  # insertion-ordered set
    seats: dict[int, None] = {}  # subscriptions whose seats moved (only these, when not also in `changed`)
    _end_terms(world, report, changed)
    _change_seats(world, rng, report, seats)
    _order_subscriptions(world, rng, report, changed)
    _cancel_subscriptions(world, rng, report, changed, seats)
    if rng.random() < _PRICE_CHANGE_CHANCE:
        _change_a_price(world, rng, report, changed)
    for subscription_id in changed:
        world.touch_subscription(subscription_id)
    for subscription_id in seats.keys() - changed.keys():
        world.touch_subscription(subscription_id, seats_only=True)
    report.changed_subscriptions = sorted(changed | seats)
    create_due_invoices(world)
    if world.pax8 is not None:
        report.pax8 = advance_pax8_day(world)  # a stream of its own: the marketplace day is unchanged
    return report


def _end_terms(world: SandboxWorld, report: DayReport, changed: dict[int, None]) -> None:
    for sub in world.subscriptions.values():
        if sub.status != "active" or sub.expiration_date > world.today:
            continue
        if sub.auto_renew:
            sub.expiration_date = next_expiration(sub.start_date, sub.term, world.today)
            report.renewed_subscriptions.append(sub.subscription_id)
            place_order(world, sub.subscription_id, "renewal")
        else:
            sub.status = "expired"
            report.expired_subscriptions.append(sub.subscription_id)
        changed[sub.subscription_id] = None


def _change_seats(world: SandboxWorld, rng: random.Random, report: DayReport, changed: dict[int, None]) -> None:
    live = [(sub, line) for sub in world.subscriptions.values() if sub.status == "active" for line in sub.lines]
    if not live:
        return
    share = 0.07 if len(world.customers) <= _SMALL_MSP_CUSTOMERS else 0.01
    count = min(len(live), max(1, round(len(live) * share * rng.uniform(0.7, 1.3))))
    for sub, line in rng.sample(live, count):
        before = line.ordered
        step = _step(rng, line, world.products[line.resource_id].unit)
        if line.additional == 0 or rng.random() < 0.55:
            line.additional += step
            line.used = min(line.ordered, line.used + rng.randint(0, step))
            report.increases.append((sub.subscription_id, line.resource_id, before, line.ordered))
        else:
            line.additional = max(0, line.additional - step)
            line.used = min(line.used, line.ordered)
            report.decreases.append((sub.subscription_id, line.resource_id, before, line.ordered))
        place_order(world, sub.subscription_id, "change", {line.resource_id: line.ordered - before})
        changed[sub.subscription_id] = None


def _step(rng: random.Random, line: SubscriptionLine, unit: str) -> int:
    roll = rng.random()
    if roll < 0.6:
        step = 1
    elif roll < 0.8:
        step = 2
    elif roll < 0.95:
        step = rng.randint(3, 5)
    else:
        step = max(1, math.ceil(line.ordered * rng.uniform(0.1, 0.25)))
    return step * rng.choice((10, 25, 50)) if unit == "GB" else step


def _how_many(rng: random.Random, expected: float) -> int:
    whole = math.floor(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _order_subscriptions(world: SandboxWorld, rng: random.Random, report: DayReport,
                         changed: dict[int, None]) -> None:
    customers = list(world.customers.values())
    for _ in range(_how_many(rng, max(0.25, len(customers) * 0.0015))):
        customer = rng.choice(customers)
        subscription_id = max(world.subscriptions) + rng.randint(1, 3)
        staff = max(2, min(450, round(rng.lognormvariate(2.4, 0.8))))
        sub = random_subscription(world, rng, subscription_id=subscription_id, account_id=customer.account_id,
                                  staff=staff, domain=customer.email.partition("@")[2] or "example.com",
                                  status="active", start=world.today)
        sub.created = sub.last_modified = world.now()
        world.subscriptions[subscription_id] = sub
        place_order(world, subscription_id, "sales")
        report.new_subscriptions.append(subscription_id)
        changed[subscription_id] = None


def _cancel_subscriptions(world: SandboxWorld, rng: random.Random, report: DayReport,
                          changed: dict[int, None], seats: dict[int, None]) -> None:
    candidates = [sub for sub in world.subscriptions.values()
                  if sub.status == "active" and sub.subscription_id not in changed and sub.subscription_id not in seats]
    for _ in range(_how_many(rng, max(0.15, len(world.customers) * 0.0008))):
        if not candidates:
            return
        sub: Subscription = candidates.pop(rng.randrange(len(candidates)))
        sub.status = "cancelled"
        sub.auto_renew = False
        place_order(world, sub.subscription_id, "cancellation")
        report.cancelled_subscriptions.append(sub.subscription_id)
        changed[sub.subscription_id] = None


def _change_a_price(world: SandboxWorld, rng: random.Random, report: DayReport, changed: dict[int, None]) -> None:
    products = list(world.products.values())
    product = rng.choices(products, weights=[product_spec(p).popularity for p in products])[0]
    factor = Decimal(rng.choice(("1.05", "1.08", "1.10", "0.95")))
    places = Decimal("0.01") if product.price >= 1 else Decimal("0.0001")
    old_price = product.price
    product.price = (product.price * factor).quantize(places)
    product.cost = (product.cost * factor).quantize(places)
    report.price_changes.append((product.resource_id, old_price, product.price))
    for sub in world.subscriptions.values():
        if sub.status not in ("active", "suspended"):
            continue
        for line in sub.lines:
            if line.resource_id == product.resource_id:
                line.unit_price, line.unit_cost = product.price, product.cost
                changed[sub.subscription_id] = None
