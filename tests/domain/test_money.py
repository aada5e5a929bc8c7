"""The number rules every edge shares (bot.domain.money): what is refused, and that they match the Money column."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.db.models.base import Money
from bot.domain import money
from bot.domain.money import NumberError

ABSURD = ["Infinity", "-Infinity", "NaN", "sNaN", "1E+999999", "1e30", "-1", "0.0000001"]


def test_the_rules_match_the_money_column():
    assert (Money.precision, Money.scale) == (money.MONEY_PRECISION, money.MONEY_SCALE)
    assert str(money.MONEY_LIMIT) == "10000000000" and str(money.MONEY_STEP) == "0.0001"


@pytest.mark.parametrize("text", [*ABSURD[:6], "1e3", "12,50", "1.2.3", "", " ", "١٢", "²", "0x10", "+5", ".5",
                                  "9" * 41])
def test_parse_number_takes_plain_ascii_notation_only(text):
    with pytest.raises(NumberError, match="^x: "):
        money.parse_number(text, field="x")


def test_parse_number_reads_what_people_type():
    assert money.parse_number(" 12.50 ", field="x") == Decimal("12.50")
    assert money.parse_number("0.0000001", field="x") == Decimal("0.0000001")  # the scale is amount()'s to judge
    assert money.parse_number("-100", field="x") == Decimal(-100)


@pytest.mark.parametrize("text, why", [
    ("Infinity", "must be a finite number, not Infinity"),
    ("-Infinity", "must be a finite number, not -Infinity"),
    ("NaN", "must be a finite number, not NaN"),
    ("1E+999999", "must be below 10,000,000,000 in size, not 1E+999999"),
    ("1e30", "must be below 10,000,000,000 in size"),
    ("10000000000", "must be below 10,000,000,000 in size"),
    ("-1", "cannot be negative (-1)"),
    ("0.0000001", "has more than 4 decimals (0.0000001)"),
])
def test_amounts_are_finite_storable_and_not_negative(text, why):
    with pytest.raises(NumberError, match=f"^the price {why}".replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+")):
        money.amount(Decimal(text), field="the price")


def test_amounts_that_fit_pass_unchanged():
    for text in ("0", "12.50", "9999999999.9999", "0.0001", "1.50000"):
        assert money.amount(Decimal(text), field="x") == Decimal(text)
    assert money.amount(Decimal("-9999999999.9999"), field="x", negative=True) == Decimal("-9999999999.9999")


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30", "-100.0001", "1000.0001",
                                  "0.0000001"])
def test_markups_stay_between_minus_100_and_1000(text):
    with pytest.raises(NumberError, match="^the markup "):
        money.markup(Decimal(text))


def test_markups_at_the_bounds_pass():
    assert [money.markup(Decimal(t)) for t in ("-100", "0", "12.5", "1000")] == [Decimal(-100), 0, Decimal("12.5"),
                                                                                Decimal(1000)]


def test_a_percent_range_may_exclude_its_top():
    assert money.percent(Decimal("99.99"), field="m", low=Decimal(-100), high=Decimal(100),
                         high_included=False) == Decimal("99.99")
    with pytest.raises(NumberError, match="^m must be from -100 below 100, not 100$"):
        money.percent(Decimal(100), field="m", low=Decimal(-100), high=Decimal(100), high_included=False)


@pytest.mark.parametrize("value", [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal("1E+999999"),
                                   Decimal("1e30"), Decimal("-1"), 1.5])
def test_usable_refuses_what_cannot_be_billed(value):
    with pytest.raises(NumberError, match="^the custom price "):
        money.usable(value, field="the custom price")


def test_usable_passes_none_small_scales_and_allowed_negatives():
    assert money.usable(None, field="x") is None
    assert money.usable(Decimal("0.0000001"), field="x") == Decimal("0.0000001")
    assert money.usable(Decimal("-12.34"), field="x", negative=True) == Decimal("-12.34")


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30", "-1", float("inf"),
                                   float("nan"), 1e30, -1, True, "twelve", None, {"amount": 1}])
def test_vendor_amounts_that_cannot_be_stored_are_refused(value):
    with pytest.raises(NumberError, match="^unitPrice "):
        money.vendor_amount(value, field="unitPrice")


def test_vendor_amounts_are_rounded_to_the_column_scale():
    assert money.vendor_amount("0.0000001", field="x") == Decimal("0.0000")
    assert money.vendor_amount("12.34565", field="x") == Decimal("12.3457")
    assert str(money.vendor_amount(70.5, field="x")) == "70.5"  # unchanged when it fits
    assert str(money.vendor_amount(" 8 ", field="x")) == "8"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e30, -1, Decimal("Infinity"),
                                   Decimal("NaN"), Decimal("1E+999999"), money.MAX_COUNT + 1, "12", None, True])
def test_vendor_counts_must_be_finite_whole_seat_numbers(value):
    with pytest.raises(NumberError, match="^quantity "):
        money.vendor_count(value, field="quantity")


def test_vendor_counts_round_up():
    assert [money.vendor_count(v, field="q") for v in (0, 7, 2.25, Decimal("3.5"), money.MAX_COUNT)] == [
        0, 7, 3, 4, money.MAX_COUNT]
    assert money.vendor_count(0.0000001, field="q") == 1
    assert money.vendor_count(-2.5, field="q", negative=True) == -2
    with pytest.raises(NumberError, match="outside -1,000,000,000 to 1,000,000,000"):
        money.vendor_count(-1e30, field="q", negative=True)
