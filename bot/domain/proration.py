"""Business dates, billing periods and proration: plain functions, no I/O.

Unit prices in SeatSync are per unit per month. A monthly term bills calendar months; an annual
term bills yearly periods anchored on the subscription's start date (a 29 February start falls
on 28 February in other years), priced at twelve months.

prorated amount = units × price of one period × remaining days of the period ÷ days in the period,
where the remaining days count the effective date itself.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bot.domain.enums import DecreaseTiming, Term

CENT = Decimal("0.01")


def business_date(now: datetime, timezone: str) -> date:
    """The MSP's calendar date at `now` (an aware datetime) in its time zone."""
    if now.tzinfo is None:
        raise ValueError("business_date needs an aware datetime")
    return now.astimezone(ZoneInfo(timezone)).date()


def _add_years(day: date, years: int) -> date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def billing_period(term: Term, on: date, *, anchor: date | None = None) -> tuple[date, date]:
    """The billing period containing `on`, as [start, end) — end is the first day of the next period."""
    if term is Term.annual and anchor is not None:
        years = on.year - anchor.year
        start = _add_years(anchor, years)
        if start > on:
            start = _add_years(anchor, years - 1)
        return start, _add_years(anchor, (start.year - anchor.year) + 1)
    start = on.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def months_in_period(term: Term, anchor: date | None) -> int:
    return 12 if term is Term.annual and anchor is not None else 1


def prorated_amount(
    *, units: int, monthly_unit_price: Decimal, term: Term, effective: date, anchor: date | None = None
) -> Decimal:
    """What a change of `units` (signed) costs for the rest of the period from `effective` on."""
    start, end = billing_period(term, effective, anchor=anchor)
    period_days = (end - start).days
    remaining_days = (end - effective).days
    period_price = monthly_unit_price * months_in_period(term, anchor)
    amount = Decimal(units) * period_price * Decimal(remaining_days) / Decimal(period_days)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def effective_date(
    *, delta: int, today: date, term: Term, anchor: date | None = None,
    decrease_timing: DecreaseTiming = DecreaseTiming.next_period, term_end: date | None = None,
) -> date:
    """Increases take effect today; decreases at the next period's start, today, or at the commitment's end,
    as the policy says."""
    if delta >= 0 or decrease_timing is DecreaseTiming.today:
        return today
    if decrease_timing is DecreaseTiming.commitment_end:
        return commitment_end(today=today, term=term, anchor=anchor, term_end=term_end)
    return billing_period(term, today, anchor=anchor)[1]


def commitment_end(*, today: date, term: Term, anchor: date | None = None, term_end: date | None = None) -> date:
    """The first day after the commitment running on `today`: an annual term's next anniversary of its start;
    for other committed terms (multi-year, unknown) the subscription's end date when it lies ahead; else the
    next billing period's start (a monthly term commits for one month)."""
    if term is Term.annual and anchor is not None:
        return billing_period(term, today, anchor=anchor)[1]
    if term is Term.other and term_end is not None and term_end > today:
        return term_end
    return billing_period(term, today, anchor=anchor)[1]
