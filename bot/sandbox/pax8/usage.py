"""Usage of the Azure plans: one summary per resource group, usage lines derived per day.

A day's lines come from a hash of the summary id and the date, so they are the same on
every read and need no storage. Lines exist for the days the subscription was active, up to
yesterday (Pax8 shows the current month's usage as it accrues; the monthly charge is billed in arrears
on the next invoice, see `invoices`). Charges are the customer side (`currentCharges`, the meter's
price), `partnerTotal` the MSP's cost, `currentProfit` the difference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from bot.sandbox.pax8.book import BILLABLE_STATUSES, Pax8Book, UsageSummary


@dataclass(frozen=True)
class UsageLine:
    usage_summary_id: str
    usage_date: date
    product_id: str
    product_name: str
    unit_of_measure: str
    quantity: Decimal
    unit_price: Decimal
    charges: Decimal
    partner_total: Decimal


def _day_digest(summary: UsageSummary, day: date) -> bytes:
    return hashlib.sha256(f"pax8-usage:{summary.id}:{day.isoformat()}".encode()).digest()


def _active_days(book: Pax8Book, summary: UsageSummary, first: date, last: date, today: date) -> list[date]:
    """The days first..last (inclusive), before `today`, on which the subscription was billable."""
    subscription = book.subscriptions[summary.subscription_id]
    days, day = [], first
    while day <= last and day < today:
        state = subscription.state_at(datetime.combine(day, time(12), tzinfo=UTC))
        if state is not None and state.status in BILLABLE_STATUSES:
            days.append(day)
        day += timedelta(days=1)
    return days


def _amounts(summary: UsageSummary, day: date) -> list[tuple[int, int, int]]:
    """Per meter: (quantity in 1/10,000ths, charges in cents, partner total in cents), in whole numbers."""
    digest = _day_digest(summary, day)
    amounts = []
    for index, (_, _, unit, price, cost) in enumerate(summary.meters):
        roll = int.from_bytes(digest[4 * index:4 * index + 4], "big")
        if unit == "Hours":
            quantity = 24 * (1 + roll % 4) * 10_000
        elif unit == "GB":
            quantity = (5 + roll % 396) * 10_000
        else:
            quantity = ((1 + roll % 12) * 10_000 * 2 + 30) // 60  # n/30, to 4 places, half up
        amounts.append((quantity, _cents(quantity, price), _cents(quantity, cost)))
    return amounts


def _cents(quantity: int, rate: Decimal) -> int:
    rate_ten_thousandths = int(rate * 10_000)
    return (quantity * rate_ten_thousandths + 500_000) // 1_000_000


def usage_lines(book: Pax8Book, summary: UsageSummary, day: date, today: date) -> list[UsageLine]:
    if not _active_days(book, summary, day, day, today):
        return []
    return [UsageLine(usage_summary_id=summary.id, usage_date=day, product_id=meter_id, product_name=name,
                      unit_of_measure=unit, quantity=Decimal(quantity) / 10_000, unit_price=price,
                      charges=Decimal(charges) / 100, partner_total=Decimal(partner) / 100)
            for (meter_id, name, unit, price, _), (quantity, charges, partner)
            in zip(summary.meters, _amounts(summary, day), strict=True)]


def period_totals(book: Pax8Book, summary: UsageSummary, first: date, last: date,
                  today: date) -> tuple[Decimal, Decimal]:
    """(charges, partner total) of the days first..last (inclusive) that have passed by `today`."""
    charges = partner = 0
    for day in _active_days(book, summary, first, last, today):
        for _, day_charges, day_partner in _amounts(summary, day):
            charges += day_charges
            partner += day_partner
    return Decimal(charges) / 100, Decimal(partner) / 100
