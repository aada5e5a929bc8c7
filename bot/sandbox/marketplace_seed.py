"""The marketplace half of the sandbox MSP: catalogue products, customers, subscriptions and their lines.

Identifiers follow the platform's styles: BA AccountIDs from 1000027 and subscription ids from
1001880 (kept clear of the account ids so a swapped id fails loudly), BA ResourceIDs 100xxx with
ResourceRateIDs beside them. The Ingram CMP API sits on the same platform and its spec
(tests/specs/ingram-cloud-marketplace-api-1.6.yaml) gives customer and subscription ids as numeric
strings ("1000027", "1000017"), so the CMP ids are the platform ids as strings.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import TERM_MONTHS, add_months, day_between, moment, next_expiration
from bot.sandbox.catalogue import PLANS, PRODUCTS, PRODUCTS_BY_KEY, PlanSpec, ProductSpec
from bot.sandbox.names import CITIES, CompanyName, email_domain, new_company_name
from bot.sandbox.world import (
    Customer,
    Product,
    SandboxWorld,
    Subscription,
    SubscriptionLine,
    SubscriptionStatus,
)

FIRST_ACCOUNT_ID = 1000027
FIRST_SUBSCRIPTION_ID = 1001880
PLAN_IDS = {plan.name: 36 + 3 * index for index, plan in enumerate(PLANS)}
_STATUS_WEIGHTS: tuple[tuple[SubscriptionStatus, int], ...] = (
    ("active", 85), ("expired", 6), ("cancelled", 5), ("suspended", 4))
_SUBSCRIPTIONS_PER_CUSTOMER = ((1, 46), (2, 30), (3, 15), (4, 6), (5, 3))
_LINES_PER_SUBSCRIPTION = ((1, 24), (2, 24), (3, 19), (4, 13), (5, 9), (6, 6), (7, 3), (8, 2))


class IdSequence:
    """Increasing ids with the odd gap, as a real database shows after deletions."""

    def __init__(self, rng: random.Random, start: int, max_gap: int = 1) -> None:
        self._rng, self._next, self._max_gap = rng, start, max_gap

    def take(self) -> int:
        value = self._next
        gap = 1 if self._max_gap == 1 or self._rng.random() < 0.8 else self._rng.randint(2, self._max_gap)
        self._next += gap
        return value

    @property
    def peek(self) -> int:
        return self._next


@dataclass
class CustomerProfile:
    """What the PSA seeding needs to know about a customer beyond its marketplace record."""

    account_id: int
    name: CompanyName
    staff: int
    city: str


def build_products(world: SandboxWorld, rng: random.Random) -> None:
    resource_ids = IdSequence(rng, 100003 + rng.randint(0, 40), max_gap=9)
    rate_ids = IdSequence(rng, 210117 + rng.randint(0, 400), max_gap=5)
    for spec in PRODUCTS:
        margin = Decimal(rng.randint(10, 25)) / 100
        cost = _money(spec.list_price * (1 - margin))
        product = Product(resource_id=resource_ids.take(), resource_rate_id=rate_ids.take(), mpn=spec.mpn,
                          name=spec.name, unit=spec.unit, price=spec.list_price, cost=cost)
        world.products[product.resource_id] = product


def _money(amount: Decimal) -> Decimal:
    """Cents, or hundredths of a cent for per-GB prices."""
    return amount.quantize(Decimal("0.01") if amount >= 1 else Decimal("0.0001"))


_SPEC_BY_MPN = {spec.mpn: spec for spec in PRODUCTS}


def product_spec(product: Product) -> ProductSpec:
    """The catalogue entry a world's product was made from (its MPN is the same in every world)."""
    return _SPEC_BY_MPN[product.mpn]


def build_customers(world: SandboxWorld, rng: random.Random, count: int) -> list[CustomerProfile]:
    taken: set[tuple[str, str]] = set()
    account_ids = IdSequence(rng, FIRST_ACCOUNT_ID, max_gap=4)
    people = [(new_company_name(rng, taken), account_ids.take()) for _ in range(count)]
    subscription_ids = IdSequence(rng, max(FIRST_SUBSCRIPTION_ID, account_ids.peek + 1000), max_gap=6)
    profiles = []
    for name, account_id in people:
        staff = max(2, min(450, round(rng.lognormvariate(2.7, 0.85))))
        city, country = rng.choice(CITIES)
        subs = [
            random_subscription(world, rng, subscription_id=subscription_ids.take(), account_id=account_id,
                                staff=staff, domain=email_domain(name))
            for _ in range(_weighted(rng, _SUBSCRIPTIONS_PER_CUSTOMER))
        ]
        first_start = min(s.start_date for s in subs)
        created = moment(rng, first_start - timedelta(days=rng.randint(0, 90)))
        world.customers[account_id] = Customer(
            account_id=account_id, cmp_id=str(account_id), name=name.legal, created=created, city=city,
            country=country, email=f"billing@{email_domain(name)}")
        for sub in subs:
            world.subscriptions[sub.subscription_id] = sub
        profiles.append(CustomerProfile(account_id=account_id, name=name, staff=staff, city=city))
    return profiles


def _weighted(rng: random.Random, pairs: tuple[tuple[int, int], ...]) -> int:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def random_subscription(world: SandboxWorld, rng: random.Random, *, subscription_id: int, account_id: int,
                        staff: int, domain: str, status: SubscriptionStatus | None = None,
                        start: date | None = None) -> Subscription:
    """A subscription of a weighted-random plan, with dates consistent with its term, status and today."""
    plan = rng.choices(PLANS, weights=[p.weight for p in PLANS])[0]
    status = status or rng.choices([s for s, _ in _STATUS_WEIGHTS], weights=[w for _, w in _STATUS_WEIGHTS])[0]
    today = world.today
    if start is not None:
        expiration = add_months(start, TERM_MONTHS[plan.term])
    elif status in ("active", "suspended"):
        start = today - timedelta(days=rng.randint(3, 5 * 365))
        expiration = next_expiration(start, plan.term, today)
    else:
        expiration = today - timedelta(days=rng.randint(1, 240))
        start = add_months(expiration, -TERM_MONTHS[plan.term] * rng.randint(1, 3))
    created = moment(rng, start)
    last_modified = created if start >= today else moment(rng, day_between(rng, start, today - timedelta(days=1)))
    last_modified = max(last_modified, created)
    name = plan.name if rng.random() < 0.7 else f"{plan.name} ({domain})"
    return Subscription(
        subscription_id=subscription_id, cmp_id=str(subscription_id), account_id=account_id, name=name,
        plan_id=PLAN_IDS[plan.name], plan_name=plan.name, term=plan.term, status=status, start_date=start,
        expiration_date=expiration, created=created, last_modified=last_modified,
        lines=_random_lines(world, rng, plan, staff),
        auto_renew=status in ("active", "suspended") and rng.random() < plan.auto_renew_rate,
    )


def _random_lines(world: SandboxWorld, rng: random.Random, plan: PlanSpec, staff: int) -> list[SubscriptionLine]:
    specs = [PRODUCTS_BY_KEY[key] for key in plan.product_keys]
    wanted = min(len(specs), _weighted(rng, _LINES_PER_SUBSCRIPTION))
    chosen: list[ProductSpec] = []
    while len(chosen) < wanted:
        spec = rng.choices(specs, weights=[s.popularity for s in specs])[0]
        if spec not in chosen:
            chosen.append(spec)
    product_of = {product.mpn: product for product in world.products.values()}
    return [random_line(rng, product_of[spec.mpn], spec, staff) for spec in chosen]


def random_line(rng: random.Random, product: Product, spec: ProductSpec, staff: int) -> SubscriptionLine:
    low, high = spec.seats_per_ten_staff
    units = max(1, round(staff * rng.randint(low, high) / 10))
    included = 0
    if rng.random() < 0.12:
        included = min(units, rng.choice((1, 2, 5, 10, 25)))
    additional = units - included
    used = max(0, units - rng.randint(0, max(0, math.ceil(units * 0.15))))
    return SubscriptionLine(resource_id=product.resource_id, included=included, additional=additional, used=used,
                            unit_price=product.price, unit_cost=product.cost)
