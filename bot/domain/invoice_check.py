"""The month-end check: the distributor's invoice (cost side) against what the PSA bills (price side).

Plain functions over plain records, no I/O. The caller gives, for one invoice month:
- the invoice's lines (`InvoiceLine`: a Pax8 invoice item, a row of an Ingram rated-data report, a row of a
  file the billing lead uploaded), in the shape every source is read into;
- the links (`LinkedService`: one marketplace subscription's product tied to one PSA service);
- what the PSA bills each linked service for the month (`BilledService`: units and unit price as the PSA had
  them for that month, never today's, when the month is past);
- the adjustments SeatSync posted with an effective date in the month the invoice's prorates cover
  (`PostedAdjustment`).

Rules (shared/apis/invoices.md 1.3-1.4 and 5):
- Lines match a link by subscription id first (and product: a subscription of several products keeps them
  apart); a line without a subscription id, or with one SeatSync has never read (a file's own numbering),
  falls back to company + product, only when exactly one linked service of that company and product is left
  unclaimed (two subscriptions of one product are never merged nor guessed between); a line of a subscription
  SeatSync knows and nobody linked is unlinked.
- `subscription` lines carry the period's quantity: compared with the PSA's billed units. A line spanning
  several months (an annual term billed at once) is compared per month for its unit cost, and its seats are
  those at the term's start plus the changes prorated since. An annual link has its invoice line in its
  term's first month only, so a month without one is not billing for nothing. A monthly link whose
  subscription has only a credit on the invoice (cancelled in the prorated month) and whose PSA service still
  bills units is billing for nothing.
- `prorate` lines carry the mid-period changes. Increases: the month's increases, day by day (a day's changes
  netted, its increase counted), are compared with the increases SeatSync posted with an effective date in the
  prorated month, counted the same way (fewer posted: a missing prorate, under-billed; more: over-billed), their
  money at the PSA price. Credits (decreases) are not judged: a decrease waits for
  the next period under the default sync policy, on purpose; the next month's seat line shows it. An
  adjustment with no invoice prorate for its subscription is not judged either: the seat line says whether
  the month is right. A prorate's quantity is never compared with a seat count.
- `usage` lines (Arrears) are matched (or found unlinked) but not compared: usage is billed on its own
  lines; `other` lines (rebates, credits, fees) are counted, not checked.
- Findings and their money: under-billed (seats or prorates bought and not billed: leakage, at the PSA
  price), over-billed (billed and not bought, at the PSA price), billed under cost and under the minimum
  margin (the price missing on the billed units), unlinked (an invoice line no link covers: its cost, paid
  and billed to nobody), billing for nothing (a linked service billing units no invoice line covers, at
  the PSA price). `side` says whether the money is the customer's price or the partner's cost.
- A customer with no invoice line is not a finding by itself: only a PSA billing units is. An invoice with
  no line, or none the caller may reconcile yet (credited and not reissued, not released), is
  `not_reconcilable`, never `clean`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class LineKind(StrEnum):
    subscription = "subscription"  # the period's seats, billed in advance
    prorate = "prorate"  # a mid-period change of seats, priced pro rata
    usage = "usage"  # consumption billed in arrears
    other = "other"  # rebates, credits, one-time charges, fees: counted, not checked


class FindingKind(StrEnum):
    under_billed = "under_billed"
    over_billed = "over_billed"
    under_cost = "under_cost"
    under_margin = "under_margin"
    unlinked = "unlinked"
    billing_for_nothing = "billing_for_nothing"


class CheckState(StrEnum):
    not_reconcilable = "not_reconcilable"  # nothing to check (yet): never "clean"
    clean = "clean"
    findings = "findings"


class Side(StrEnum):
    price = "price"  # the customer's price (what the PSA bills)
    cost = "cost"  # the partner's cost (what the distributor invoiced)


# the words for each kind, in reports and messages
FINDING_WORDS = {
    FindingKind.under_billed: "under-billed",
    FindingKind.over_billed: "over-billed",
    FindingKind.under_cost: "billed under cost",
    FindingKind.under_margin: "under the minimum margin",
    FindingKind.unlinked: "unlinked",
    FindingKind.billing_for_nothing: "billing for nothing",
}


@dataclass(frozen=True)
class InvoiceLine:
    line_id: str
    kind: LineKind
    company_id: str  # the distributor's id of the customer
    company_name: str
    product_id: str  # the distributor's product (a link's resource key)
    product_name: str
    subscription_id: str | None
    period_start: date
    period_end: date
    quantity: Decimal
    unit_cost: Decimal  # per unit for `months` months (an annual term's line: twelve)
    cost_total: Decimal
    months: int = 1

    @property
    def monthly_cost(self) -> Decimal:
        return self.unit_cost / self.months


@dataclass(frozen=True)
class LinkedService:
    subscription_id: str
    company_id: str
    product_id: str
    service_id: str  # the PSA service (a key of `billed`)
    annual: bool = False  # billed by the distributor a term at a time


@dataclass(frozen=True)
class BilledService:
    service_id: str
    company_name: str
    service_name: str
    units: int  # billed for the invoice month, as the PSA had it then
    unit_price: Decimal | None  # per unit per month
    min_margin_percent: Decimal | None = None


@dataclass(frozen=True)
class PostedAdjustment:
    service_id: str
    delta: int
    effective_date: date


@dataclass(frozen=True)
class CheckMonth:
    """The invoice month (its lines bill this month's seats) and the month its prorates cover."""

    first: date  # the 1st of the invoice month
    prorated_first: date  # the 1st of the month whose changes the prorates carry
    prorated_last: date


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    company_name: str
    product_name: str
    subscription_id: str | None
    service_id: str | None
    money: Decimal  # >= 0, in cents
    side: Side
    detail: str
    invoice_units: Decimal | None = None
    billed_units: int | None = None
    unit_cost: Decimal | None = None  # per month
    unit_price: Decimal | None = None
    prorate: bool = False
    line_ids: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable within an invoice: a decision about a finding is kept under it."""
        part = "prorate" if self.prorate else "units"
        return f"{self.kind}:{self.subscription_id or '-'}:{self.service_id or '-'}:{part}"

    @property
    def fingerprint(self) -> str:
        """What the finding says in numbers: a decision holds while its finding is unchanged (same key, same
        fingerprint), on a re-check and on the corrected invoice that replaces this one."""
        numbers = (self.money, self.invoice_units, self.billed_units, self.unit_cost, self.unit_price)
        text = "|".join("-" if n is None else f"{Decimal(n).normalize():f}" for n in numbers)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CheckResult:
    state: CheckState
    lines: int  # invoice lines read
    compared: int  # subscription groups compared with a PSA service
    findings: tuple[Finding, ...] = ()
    reason: str = ""  # why not reconcilable

    def money(self, kind: FindingKind) -> Decimal:
        return sum((f.money for f in self.findings if f.kind is kind), ZERO)

    @property
    def totals(self) -> dict[str, Decimal]:
        return {kind.value: self.money(kind) for kind in FindingKind}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def not_reconcilable(reason: str, *, lines: int = 0) -> CheckResult:
    return CheckResult(state=CheckState.not_reconcilable, lines=lines, compared=0, reason=reason)


@dataclass
class _Group:
    """One subscription's product on the invoice: its seat lines, prorate lines and usage lines."""

    subscription_id: str | None
    company_id: str
    company_name: str
    product_id: str
    product_name: str
    seats: list[InvoiceLine] = field(default_factory=list)
    prorates: list[InvoiceLine] = field(default_factory=list)
    usage: list[InvoiceLine] = field(default_factory=list)

    @property
    def line_ids(self) -> tuple[str, ...]:
        return tuple(line.line_id for line in (*self.seats, *self.prorates, *self.usage))


def check_invoice(*, month: CheckMonth, lines: list[InvoiceLine], links: list[LinkedService],
                  billed: dict[str, BilledService], adjustments: list[PostedAdjustment],
                  known_subscriptions: frozenset[str] = frozenset()) -> CheckResult:
    """Every finding of one invoice month. `billed` is keyed by service id; a linked service missing from
    it bills nothing that month. `known_subscriptions`: the marketplace's subscriptions SeatSync has read; a line
    of one of them that no link covers is unlinked (it is not matched by company and product)."""
    if not lines:
        return not_reconcilable("the invoice has no lines: nothing to check")
    groups: dict[tuple[str | None, str, str], _Group] = {}
    for line in lines:
        if line.kind is LineKind.other:
            continue
        key = (line.subscription_id, line.company_id, line.product_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(line.subscription_id, line.company_id, line.company_name,
                                         line.product_id, line.product_name)
        {LineKind.subscription: group.seats, LineKind.prorate: group.prorates,
         LineKind.usage: group.usage}[line.kind].append(line)

    by_subscription = {(link.subscription_id, link.product_id): link for link in links}
    invoiced_subscriptions = {g.subscription_id for g in groups.values() if g.subscription_id}
    spare: dict[tuple[str, str], list[LinkedService]] = defaultdict(list)
    for link in links:
        if link.subscription_id not in invoiced_subscriptions:
            spare[(link.company_id, link.product_id)].append(link)
    fallback_wanted: dict[tuple[str, str], list[_Group]] = defaultdict(list)
    matched: list[tuple[_Group, LinkedService]] = []
    unlinked: list[tuple[_Group, str]] = []
    for group in groups.values():
        link = by_subscription.get((group.subscription_id, group.product_id)) if group.subscription_id else None
        if link is not None:
            matched.append((group, link))
        elif group.subscription_id in known_subscriptions:
            unlinked.append((group, "its subscription is not linked"))
        else:
            fallback_wanted[(group.company_id, group.product_id)].append(group)
    for key, wanting in fallback_wanted.items():
        candidates = spare.get(key, [])
        if len(wanting) == 1 and len(candidates) == 1:
            matched.append((wanting[0], candidates[0]))
            continue
        why = (f"{len(candidates)} linked services of this product could be it" if candidates
               else "no link covers this subscription")
        unlinked.extend((group, why) for group in wanting)

    posted_days: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for adjustment in adjustments:
        if month.prorated_first <= adjustment.effective_date <= month.prorated_last:
            posted_days[adjustment.service_id][adjustment.effective_date] += adjustment.delta
    posted = {service: sum(max(0, delta) for delta in days.values()) for service, days in posted_days.items()}

    findings: list[Finding] = []
    used_services: set[str] = set()
    compared = 0
    for group, link in matched:
        if group.seats or group.usage:
            used_services.add(link.service_id)  # the service has a line this month
        if group.seats or group.prorates:
            compared += 1
            findings += _compare(group, link, billed.get(link.service_id), posted.get(link.service_id, 0))
    for group, why in unlinked:
        findings.append(_unlinked(group, why))
    for link in links:
        if link.service_id in used_services or link.annual:
            continue
        service = billed.get(link.service_id)
        if service is None or service.units <= 0:
            continue  # nothing billed, nothing invoiced: a customer with no invoice is no finding
        used_services.add(link.service_id)
        money = cents(service.units * (service.unit_price or ZERO))
        findings.append(Finding(
            kind=FindingKind.billing_for_nothing, company_name=service.company_name,
            product_name=service.service_name, subscription_id=link.subscription_id, service_id=link.service_id,
            money=money, side=Side.price, billed_units=service.units, unit_price=service.unit_price,
            detail=f"the PSA bills {service.units} for the month and the invoice has no line for them"))
    findings.sort(key=lambda f: (f.kind.value, f.company_name, f.product_name, f.subscription_id or "", f.prorate))
    return CheckResult(state=CheckState.findings if findings else CheckState.clean, lines=len(lines),
                       compared=compared, findings=tuple(findings))


def _compare(group: _Group, link: LinkedService, service: BilledService | None, posted: int) -> list[Finding]:
    found: list[Finding] = []
    price = service.unit_price if service is not None else None
    billed_units = service.units if service is not None else 0
    base = {"company_name": service.company_name if service else group.company_name,
            "product_name": group.product_name, "subscription_id": group.subscription_id,
            "service_id": link.service_id, "line_ids": group.line_ids}
    if group.seats:
        quantity = sum((line.quantity for line in group.seats), ZERO)
        # a term billed at once (an annual line) counts its seats at the term's start: the changes prorated
        # since then are part of what the PSA bills now
        term_start = min(line.period_start for line in group.seats)
        if any(line.months > 1 for line in group.seats):
            quantity += sum((line.quantity for line in group.prorates if line.period_start >= term_start), ZERO)
        monthly_cost = (sum((line.cost_total / line.months for line in group.seats), ZERO) / quantity
                        if quantity else None)
        gap = quantity - billed_units
        rate = price if price is not None else (monthly_cost or ZERO)
        words = f"invoiced {quantity.normalize():f} for the month, the PSA bills {billed_units}"
        numbers = {"invoice_units": quantity, "billed_units": billed_units, "unit_cost": _per_unit(monthly_cost),
                   "unit_price": price}
        if gap > 0:
            found.append(Finding(kind=FindingKind.under_billed, money=cents(gap * rate), side=Side.price,
                                 detail=words, **numbers, **base))
        elif gap < 0:
            found.append(Finding(kind=FindingKind.over_billed, money=cents(-gap * rate), side=Side.price,
                                 detail=words, **numbers, **base))
        if price is not None and monthly_cost is not None and billed_units > 0:
            found += _margin(monthly_cost, price, billed_units, service, quantity, base)
    increases = [line for line in group.prorates if line.quantity > 0]
    if increases:
        by_day: dict[date, Decimal] = defaultdict(Decimal)
        for line in group.prorates:
            by_day[line.period_start] += line.quantity
        invoiced = sum((max(ZERO, quantity) for quantity in by_day.values()), ZERO)
        gap = invoiced - posted
        if gap != 0 and invoiced > 0:
            # a prorated seat's worth at the PSA price (at its cost where the PSA has no price)
            worth = sum((line.cost_total * (price / line.monthly_cost if price is not None and line.unit_cost
                                            else Decimal(1)) for line in increases), ZERO)
            per_seat = worth / sum((line.quantity for line in increases), ZERO)
            kind = FindingKind.under_billed if gap > 0 else FindingKind.over_billed
            found.append(Finding(
                kind=kind, money=cents(per_seat * abs(gap)), side=Side.price, prorate=True,
                detail=(f"prorates of {invoiced.normalize():f} invoiced for the month's increases, "
                        f"{posted} posted to the PSA"),
                invoice_units=invoiced, billed_units=posted, unit_price=price, **base))
    return found


def _per_unit(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _margin(cost: Decimal, price: Decimal, units: int, service: BilledService | None, quantity: Decimal,
            base: dict) -> list[Finding]:
    numbers = {"invoice_units": quantity, "billed_units": units, "unit_cost": _per_unit(cost), "unit_price": price}
    if price < cost:
        return [Finding(kind=FindingKind.under_cost, money=cents((cost - price) * units), side=Side.price,
                        detail=f"billed at {price:.2f} a unit, the invoice costs {cost:.2f}", **numbers, **base)]
    minimum = service.min_margin_percent if service is not None else None
    if minimum is None or price == 0 or minimum >= HUNDRED:
        return []
    margin = (price - cost) * HUNDRED / price
    if margin >= minimum:
        return []
    wanted = cost * HUNDRED / (HUNDRED - minimum)
    return [Finding(kind=FindingKind.under_margin, money=cents((wanted - price) * units), side=Side.price,
                    detail=(f"margin {margin.quantize(Decimal('0.1'))}% at {price:.2f} on a cost of {cost:.2f}; "
                            f"the minimum is {minimum.normalize():f}%"), **numbers, **base)]


def _unlinked(group: _Group, why: str) -> Finding:
    lines = (*group.seats, *group.prorates, *group.usage)
    money = cents(sum((line.cost_total for line in lines), ZERO))
    quantity = sum((line.quantity for line in group.seats), ZERO) if group.seats else None
    return Finding(kind=FindingKind.unlinked, company_name=group.company_name, product_name=group.product_name,
                   subscription_id=group.subscription_id, service_id=None, money=max(money, ZERO), side=Side.cost,
                   detail=f"invoiced and billed to nobody: {why}", invoice_units=quantity,
                   line_ids=group.line_ids)
