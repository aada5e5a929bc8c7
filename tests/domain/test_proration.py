from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.enums import DecreaseTiming, Term
from bot.domain.proration import billing_period, business_date, effective_date, prorated_amount


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (datetime(2026, 11, 23, 6, 30, tzinfo=UTC), "America/Denver", date(2026, 11, 22)),  # 23:30 in Denver
        (datetime(2026, 11, 23, 6, 30, tzinfo=UTC), "UTC", date(2026, 11, 23)),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "Australia/Sydney", date(2027, 1, 1)),
    ],
)
def test_business_date_in_the_msps_time_zone(now, tz, expected):
    assert business_date(now, tz) == expected


@pytest.mark.parametrize(
    ("term", "on", "anchor", "expected"),
    [
        (Term.monthly, date(2026, 11, 22), None, (date(2026, 11, 1), date(2026, 12, 1))),
        (Term.monthly, date(2026, 12, 31), None, (date(2026, 12, 1), date(2027, 1, 1))),
        (Term.monthly, date(2028, 2, 29), None, (date(2028, 2, 1), date(2028, 3, 1))),
        (Term.annual, date(2026, 11, 22), date(2025, 3, 15), (date(2026, 3, 15), date(2027, 3, 15))),
        (Term.annual, date(2026, 3, 14), date(2025, 3, 15), (date(2025, 3, 15), date(2026, 3, 15))),
        (Term.annual, date(2026, 3, 15), date(2025, 3, 15), (date(2026, 3, 15), date(2027, 3, 15))),
        (Term.annual, date(2029, 6, 1), date(2028, 2, 29), (date(2029, 2, 28), date(2030, 2, 28))),
        (Term.annual, date(2026, 5, 1), None, (date(2026, 5, 1), date(2026, 6, 1))),  # no anchor: monthly
    ],
)
def test_billing_periods(term, on, anchor, expected):
    assert billing_period(term, on, anchor=anchor) == expected


@pytest.mark.parametrize(
    ("units", "price", "term", "effective", "anchor", "expected"),
    [
        (7, "10.00", Term.monthly, date(2026, 11, 1), None, "70.00"),  # whole month
        (7, "10.00", Term.monthly, date(2026, 11, 16), None, "35.00"),  # 15 of 30 days
        (7, "10.00", Term.monthly, date(2026, 11, 30), None, "2.33"),  # last day: 1 of 30
        (1, "31.00", Term.monthly, date(2026, 12, 31), None, "1.00"),  # month end, 31-day month
        (1, "29.00", Term.monthly, date(2028, 2, 15), None, "15.00"),  # leap February: 15 of 29
        (1, "28.00", Term.monthly, date(2027, 2, 15), None, "14.00"),  # common February: 14 of 28
        (-2, "10.00", Term.monthly, date(2026, 11, 16), None, "-10.00"),  # a decrease credits
        (1, "10.00", Term.annual, date(2026, 3, 15), date(2025, 3, 15), "120.00"),  # first day of the year
        (1, "10.00", Term.annual, date(2026, 9, 13), date(2025, 3, 15), "60.16"),  # 183 of 365 days
        (1, "10.00", Term.annual, date(2027, 9, 1), date(2027, 3, 1), "59.67"),  # 182 of 366 days (leap)
        (1, "10.00", Term.annual, date(2028, 2, 29), date(2027, 3, 1), "0.33"),  # last day of a leap year
    ],
)
def test_prorated_amount_table(units, price, term, effective, anchor, expected):
    assert prorated_amount(units=units, monthly_unit_price=Decimal(price), term=term, effective=effective,
                           anchor=anchor) == Decimal(expected)


@pytest.mark.parametrize(
    ("delta", "timing", "term", "anchor", "expected"),
    [
        (3, DecreaseTiming.next_period, Term.monthly, None, date(2026, 11, 22)),
        (-3, DecreaseTiming.next_period, Term.monthly, None, date(2026, 12, 1)),
        (-3, DecreaseTiming.today, Term.monthly, None, date(2026, 11, 22)),
        (-1, DecreaseTiming.next_period, Term.annual, date(2025, 3, 15), date(2027, 3, 15)),
    ],
)
def test_effective_dates(delta, timing, term, anchor, expected):
    assert effective_date(delta=delta, today=date(2026, 11, 22), term=term, anchor=anchor,
                          decrease_timing=timing) == expected


def test_decrease_at_next_period_has_no_prorated_credit():
    day = effective_date(delta=-2, today=date(2026, 11, 22), term=Term.monthly)
    # effective on the first day of the next period: a whole period at the new count, no credit this period
    assert billing_period(Term.monthly, day) == (date(2026, 12, 1), date(2027, 1, 1))


@given(
    units=st.integers(min_value=-500, max_value=500),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    cents=st.integers(min_value=0, max_value=100_000),
)
def test_prorated_never_exceeds_a_whole_period(units, day, cents):
    price = Decimal(cents) / 100
    amount = prorated_amount(units=units, monthly_unit_price=price, term=Term.monthly, effective=day)
    assert abs(amount) <= abs(units) * price + Decimal("0.005")
    assert amount == 0 or (amount > 0) == (units > 0)
