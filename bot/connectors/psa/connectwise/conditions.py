"""Builders for ConnectWise `conditions` strings, and id lists cut to fit the URL limit.

Syntax per the Developer Guide ("Conditions", shared/apis/connectwise.md B3): strings in double quotes,
numbers bare, booleans True/False, datetimes in square brackets, `in (...)` lists, and/or.
How a double quote *inside* a string is escaped is not documented; `quote` writes `\\"` (and `\\\\` for a
backslash), which is what the SeatSync simulator accepts [unverified against a live Manage].
URLs are kept under about 2,000 characters (B3), so long id lists are split into several requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

URL_LIMIT = 1900  # the guide says "about 2000"; leave room for proxies that count differently
ENCODED_COMMA = 3  # "," travels as %2C in a query string


def quote(text: str) -> str:
    """A conditions string literal: `"Smith \\"Quoted\\" LLC"`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def datetime_literal(moment: datetime) -> str:
    """`[2026-01-02T03:04:05Z]`, in UTC (a naive datetime is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return "[" + aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def changed_since(moment: datetime) -> str:
    return f"lastUpdated > {datetime_literal(moment)}"


def one_of(field: str, values: Iterable[str], *, negate: bool = False) -> str:
    """`agreementStatus not in ("Cancelled","Expired")`."""
    operator = "not in" if negate else "in"
    return f"{field} {operator} ({','.join(quote(v) for v in values)})"


def ids_in(ids: Sequence[int], field: str = "id") -> str:
    return f"{field} in ({','.join(str(i) for i in ids)})"


def all_of(*conditions: str | None) -> str | None:
    """The conditions joined with `and` (each parenthesised); None when there are none."""
    present = [c for c in conditions if c]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({c})" for c in present)


def id_batches(ids: Iterable[int], budget: int) -> list[list[int]]:
    """Sorted, distinct ids cut into runs whose URL-encoded `1%2C2%2C3` fits in `budget` characters."""
    if budget < 16:
        raise ValueError(f"no room left in the URL for an id list (budget {budget})")
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for value in sorted(set(ids)):
        cost = len(str(value)) + (ENCODED_COMMA if current else 0)
        if current and used + cost > budget:
            batches.append(current)
            current, used = [], 0
            cost = len(str(value))
        current.append(value)
        used += cost
    if current:
        batches.append(current)
    return batches
