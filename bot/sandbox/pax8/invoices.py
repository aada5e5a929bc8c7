"""Pax8's monthly invoice to the MSP, computed from the subscriptions' history, and its draft.

Lifecycle (shared/apis/invoices.md 1.1): the invoice dated the 1st of a month is generated on the 4th
and released to the API on the 5th; an approved invoice never changes. The sandbox releases it on the
5th (`release_due_invoices`, called by the generator and by each day pass) and keeps the lines it had
then; `draftItems` computes the same lines for a month not released yet, from the history known now.

The lines of the invoice dated M-01 (shared/apis/pax8.md 7; invoices.md 1.4), all at the subscription's
unit price and partner cost of the time:
- `subscription`, term `Monthly`: every subscription billed monthly (with or without a 1-Year
  commitment) with seats billable at M-01 00:00 UTC, for the whole of M (in advance), its quantity
  being the billable quantity then;
- `subscription`, term `Annual`: every annual term (a new subscription or a renewal) that started in
  the previous month, for twelve months, at twelve times the monthly unit price;
- `prorate`: every change of billable seats during the previous month (a new subscription, a
  change, a cancellation), quantity = the change (negative for a credit), for the rest of the period
  the change fell in (the month, or the annual term), priced pro rata by days;
- `subscription`, term `Arrears`: an Azure plan's usage of the previous month, quantity 1
  (drafts leave arrears out, as Pax8 says its draftItems do).
Choices where the sources are silent: periods end on their last day (the draft example,
"2025-02-01".."2025-02-28"; the older example ends on the next 1st); `subTotal` = quantity x price,
`costTotal` = quantity x cost, `total` = subTotal (no billing fee: no company is billed on behalf
by Pax8), `salesTax` 0 (bought for resale), `amountDue` = costTotal (what the MSP owes Pax8); the
invoice's total is the sum of `amountDue`; it is `Unpaid` until its due date (the 15th), `Paid`
after, so its balance is then 0; `carriedBalance` 0.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from bot.sandbox.calendar_maths import add_months
from bot.sandbox.pax8.book import Pax8Book, Pax8Subscription, SubscriptionState
from bot.sandbox.pax8.usage import period_totals

INVOICE_NAMESPACE = uuid.UUID("0f7c2b4e-93a1-4d6c-8e25-7a9b1c3d5e6f")
RELEASE_DAY = 5
DUE_DAY = 15
CENT = Decimal("0.01")


@dataclass(frozen=True)
class InvoiceLine:
    id: str
    type: str  # subscription | prorate
    term: str  # Monthly | Annual | Arrears
    company_id: str
    subscription_id: str
    product_id: str
    start_period: date
    end_period: date
    quantity: int
    price: Decimal  # customer unit price of the period
    cost: Decimal  # partner unit cost of the period
    sub_total: Decimal
    cost_total: Decimal


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def invoice_id(book: Pax8Book, month: date) -> str:
    return str(uuid.uuid5(INVOICE_NAMESPACE, f"{book.seed}:{book.partner_account_id}:{month.isoformat()}"))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _line_id(month: date, sub: Pax8Subscription, kind: str, start: date, index: int) -> str:
    return str(uuid.uuid5(INVOICE_NAMESPACE, f"{month}:{sub.id}:{kind}:{start}:{index}"))


def _line(month: date, sub: Pax8Subscription, kind: str, term: str, start: date, end: date, quantity: int,
          price: Decimal, cost: Decimal, fraction: Decimal = Decimal(1), index: int = 0) -> InvoiceLine:
    return InvoiceLine(id=_line_id(month, sub, kind, start, index), type=kind, term=term, company_id=sub.company_id,
                       subscription_id=sub.id, product_id=sub.product_id, start_period=start, end_period=end,
                       quantity=quantity, price=price, cost=cost, sub_total=_money(quantity * price * fraction),
                       cost_total=_money(quantity * cost * fraction))


def _term_starts(sub: Pax8Subscription, first: date, last: date) -> list[date]:
    """Anniversaries of the billing start (the start included) falling in first..last."""
    starts, years = [], 0
    while (start := add_months(sub.billing_start, 12 * years)) <= last:
        if start >= first:
            starts.append(start)
        years += 1
    return starts


def _annual_term(sub: Pax8Subscription, day: date) -> tuple[date, date]:
    years = 0
    while add_months(sub.billing_start, 12 * (years + 1)) <= day:
        years += 1
    start = add_months(sub.billing_start, 12 * years)
    return start, add_months(sub.billing_start, 12 * (years + 1)) - timedelta(days=1)


def _monthly_line(month: date, sub: Pax8Subscription, state: SubscriptionState | None) -> list[InvoiceLine]:
    if state is None or state.billing_term != "Monthly" or state.billable_quantity <= 0:
        return []
    if state.end_date is not None and state.end_date < _midnight(month):
        return []
    return [_line(month, sub, "subscription", "Monthly", month, month_end(month), state.billable_quantity,
                  state.price, state.partner_cost)]


def _annual_lines(month: date, sub: Pax8Subscription, as_of: datetime) -> list[InvoiceLine]:
    previous = add_months(month, -1)
    lines = []
    for start in _term_starts(sub, previous, month - timedelta(days=1)):
        moment = min(datetime.combine(start, time(23, 59, 59), tzinfo=UTC), as_of)
        state = sub.state_at(moment)
        if state is None or state.billing_term != "Annual" or state.billable_quantity <= 0:
            continue
        end = add_months(start, 12) - timedelta(days=1)
        lines.append(_line(month, sub, "subscription", "Annual", start, end, state.billable_quantity,
                           state.price * 12, state.partner_cost * 12))
    return lines


def _prorates(month: date, sub: Pax8Subscription, as_of: datetime) -> list[InvoiceLine]:
    previous = add_months(month, -1)
    # a change at the first instant of a month is in force at that month's cut: its own invoice bills it
    window_start, window_end = _midnight(previous), min(_midnight(month), as_of)
    lines: list[InvoiceLine] = []
    before: SubscriptionState | None = None
    for index, state in enumerate(sub.history):
        if state.updated >= window_end:
            break
        was = before.billable_quantity if before is not None else 0
        before = state
        if state.updated <= window_start or state.billable_quantity == was:
            continue
        day = state.updated.date()
        if state.billing_term == "Annual":
            if was == 0 and day in _term_starts(sub, day, day):
                continue  # a new annual term: billed whole by _annual_lines
            term_start, term_end = _annual_term(sub, day)
            fraction = Decimal((term_end - day).days + 1) / Decimal((term_end - term_start).days + 1)
            lines.append(_line(month, sub, "prorate", "Annual", day, term_end, state.billable_quantity - was,
                               state.price * 12, state.partner_cost * 12, fraction, index))
        else:
            end = month_end(day)
            fraction = Decimal((end - day).days + 1) / Decimal(end.day)
            lines.append(_line(month, sub, "prorate", "Monthly", day, end, state.billable_quantity - was,
                               state.price, state.partner_cost, fraction, index))
    return lines


def _arrears(book: Pax8Book, month: date, sub: Pax8Subscription, summaries: list, today: date) -> list[InvoiceLine]:
    previous = add_months(month, -1)
    charges = partner = Decimal("0")
    for summary in summaries:
        c, p = period_totals(book, summary, previous, month - timedelta(days=1), today)
        charges, partner = charges + c, partner + p
    if not charges and not partner:
        return []
    return [_line(month, sub, "subscription", "Arrears", previous, month - timedelta(days=1), 1, charges, partner)]


def summaries_of(book: Pax8Book) -> dict[str, list]:
    found: dict[str, list] = {}
    for summary in book.usage_summaries.values():
        found.setdefault(summary.subscription_id, []).append(summary)
    return found


def invoice_lines(book: Pax8Book, month: date, *, as_of: datetime, drafts: bool = False) -> list[InvoiceLine]:
    """The lines of the invoice dated `month` (a 1st) from what is known at `as_of`."""
    cut = min(_midnight(month), as_of)
    usage = summaries_of(book)
    lines: list[InvoiceLine] = []
    for sub in book.subscriptions.values():
        if book.product_for(sub).usage_based:
            if not drafts:
                lines += _arrears(book, month, sub, usage.get(sub.id, []), min(month, as_of.date()))
            continue
        lines += _monthly_line(month, sub, sub.state_at(cut))
        if sub.now.billing_term == "Annual":  # a subscription keeps its billing term in the sandbox
            lines += _annual_lines(month, sub, as_of)
        lines += _prorates(month, sub, as_of)
    return lines


def released_lines(book: Pax8Book, month: date) -> list[InvoiceLine]:
    if month not in book.invoices:
        book.invoices[month] = invoice_lines(book, month, as_of=_midnight(month))
    return book.invoices[month]


def release_due_invoices(book: Pax8Book, today: date, keep: int | None = None) -> list[date]:
    """Release every invoice due by `today` (the 5th of its month); returns the months released now.

    With `keep`, a new book starts with the last `keep` invoices only (the generator's history)."""
    latest = month_start(today) if today.day >= RELEASE_DAY else month_start(add_months(today, -1))
    if keep is not None and not book.invoice_months:
        months = [add_months(latest, -n) for n in range(keep - 1, -1, -1)]
    else:
        months = []
        month = add_months(book.invoice_months[-1], 1) if book.invoice_months else latest
        while month <= latest:
            months.append(month)
            month = add_months(month, 1)
    for month in months:
        released_lines(book, month)
        book.invoice_months.append(month)
    return months


def credit_and_reissue(book: Pax8Book, month: date, lines: list[InvoiceLine]) -> str:
    """Correct a released invoice (shared/apis/invoices.md 1.1): the invoice in force is `Credited` in full and
    stays listed; a new invoice, with a new id and number, bills `lines` for the same month. Returns its id."""
    released_lines(book, month)
    book.reissues.setdefault(month, []).append(list(lines))
    return invoice_versions(book, month)[-1][0]


def invoice_versions(book: Pax8Book, month: date) -> list[tuple[str, list[InvoiceLine], bool]]:
    """(id, lines, credited) of each invoice of a released month, the original first; all but the last credited."""
    versions = [(invoice_id(book, month), released_lines(book, month))]
    for number, lines in enumerate(book.reissues.get(month, []), start=1):
        versions.append((str(uuid.uuid5(INVOICE_NAMESPACE, f"{book.seed}:{month.isoformat()}:reissue:{number}")),
                         lines))
    return [(vid, lines, index < len(versions) - 1) for index, (vid, lines) in enumerate(versions)]


def invoice_status(month: date, today: date) -> str:
    return "Unpaid" if today <= month.replace(day=DUE_DAY) else "Paid"


def due_date(month: date) -> date:
    return month.replace(day=DUE_DAY)
