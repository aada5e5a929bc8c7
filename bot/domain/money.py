"""Money, percentages and seat counts as SeatSync accepts them: finite, and within what the database holds.

Amounts are stored as Numeric(14, 4) (`bot.db.models.base.Money`): under 10^10, four decimals. Python's
Decimal reads "Infinity", "NaN" and "1E+999999" without complaint and a JSON reply may carry Infinity or
1e30; PostgreSQL refuses such a value, SQLite stores it, and either way no cycle can bill with it. So
every edge reads numbers through these rules:
- what a person types (Slack, `seatsync links import`): `parse_number`, then `amount` / `percent` /
  `markup`, refused with the field named;
- the price-source and policy setters (the last gate before the database): the same checks;
- vendor replies: `vendor_amount` (the record's price is dropped, with a warning) and `vendor_count`
  (an absurd count is a malformed reply);
- what the engine reads back and computes: `usable`, so a value stored before these rules (or by hand)
  fails its own link only.
Plain functions, no I/O.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

MONEY_PRECISION, MONEY_SCALE = 14, 4  # Numeric(14, 4), the Money column type
MONEY_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)  # every amount is below this in size
MONEY_STEP = Decimal(1).scaleb(-MONEY_SCALE)  # 0.0001
MAX_PERCENT = Decimal(1000)  # approval percent limits and markups
MIN_MARKUP = Decimal(-100)  # a lower markup would give a negative price
MIN_MARGIN, MAX_MARGIN = Decimal(-100), Decimal(100)  # a margin is under 100% of the price
MAX_COUNT = 1_000_000_000  # seats of one resource; a difference of two still fits a 32-bit integer column
MAX_TYPED = 40  # characters of a typed number: a longer one is no amount anyone means

_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class NumberError(ValueError):
    """A number SeatSync will not store or compute with; the message names the field and says why."""


def parse_number(text: str, *, field: str) -> Decimal:
    """A number a person typed, in plain notation: ASCII digits, one optional point, an optional minus.
    Exponents, NaN and Infinity (which Decimal takes) are refused, as are thousands separators."""
    text = text.strip()
    if "," in text and len(text) <= MAX_TYPED:
        raise NumberError(f"{field}: write {text!r} with a dot for decimals and no thousands separators")
    if len(text) > MAX_TYPED or not _PLAIN.fullmatch(text):
        shown = text if len(text) <= 20 else text[:19] + "…"
        raise NumberError(f"{field}: {shown!r} is not a number; write it like 12.50")
    return Decimal(text)


def amount(value: Decimal, *, field: str, negative: bool = False) -> Decimal:
    """`value` if the Money column holds it exactly: finite, under 10^10 in size, at most 4 decimals, and
    not negative unless `negative`."""
    _storable(value, field=field, negative=negative)
    if value != value.quantize(MONEY_STEP):
        raise NumberError(f"{field} has more than {MONEY_SCALE} decimals ({value:f}); the database keeps "
                          f"{MONEY_SCALE}")
    return value


def percent(value: Decimal, *, field: str, low: Decimal = Decimal(0), high: Decimal = MAX_PERCENT,
            high_included: bool = True) -> Decimal:
    """A percentage within [low, high] (or [low, high) without `high_included`), at most 4 decimals."""
    amount(value, field=field, negative=True)
    if value < low or value > high or (value == high and not high_included):
        upper = f"up to {high}" if high_included else f"below {high}"
        raise NumberError(f"{field} must be from {low} {upper}, not {value:f}")
    return value


def markup(value: Decimal, *, field: str = "the markup") -> Decimal:
    """A markup percentage: from -100 (the price is 0) to 1000 (eleven times the cost)."""
    return percent(value, field=field, low=MIN_MARKUP, high=MAX_PERCENT)


def usable(value: Decimal | None, *, field: str, negative: bool = False) -> Decimal | None:
    """A stored or computed amount the engine may bill with and store (None passes): finite, under 10^10 in
    size, not negative unless `negative`. Its decimals are not checked: the database rounds to its scale."""
    if value is not None:
        _storable(value, field=field, negative=negative)
    return value


def vendor_amount(value: Any, *, field: str) -> Decimal:
    """An amount read from a vendor's reply (a number or its text), rounded half up to the column's 4 decimals
    when it has more; NumberError when it is not a number, not finite, negative or too large to store."""
    if isinstance(value, bool):
        raise NumberError(f"{field} is {value!r}, not an amount")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise NumberError(f"{field} is {_short(value)!r}, not an amount") from None
    _storable(number, field=field, negative=False)
    rounded = number.quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
    return number if number == rounded else rounded


def vendor_count(value: Any, *, field: str, negative: bool = False) -> int:
    """A seat count read from a vendor's reply (a JSON or XML-RPC number), rounded up to whole units;
    NumberError when it is not a number, not finite, over MAX_COUNT in size, or negative (unless `negative`:
    a PSA may hold a negative quantity, which levelling corrects)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise NumberError(f"{field} is {_short(value)!r}, not a number")
    if (isinstance(value, float) and not math.isfinite(value)) or (isinstance(value, Decimal)
                                                                    and not value.is_finite()):
        raise NumberError(f"{field} is {value}, not a finite number")
    low = -MAX_COUNT if negative else 0
    if not low <= value <= MAX_COUNT:
        raise NumberError(f"{field} is {_short(value)}, outside {low:,} to {MAX_COUNT:,}")
    return math.ceil(value)


def _storable(value: Decimal, *, field: str, negative: bool) -> None:
    if not isinstance(value, Decimal):
        raise NumberError(f"{field} is {_short(value)!r}, not a decimal amount")
    if not value.is_finite():
        raise NumberError(f"{field} must be a finite number, not {value}")
    if abs(value) >= MONEY_LIMIT:
        raise NumberError(f"{field} must be below {MONEY_LIMIT:,} in size, not {_short(value)}")
    if value < 0 and not negative:
        raise NumberError(f"{field} cannot be negative ({value:f})")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:29] + "…"
