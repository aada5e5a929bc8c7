"""The approval policy: which planned changes wait for a person. Plain functions, no I/O.

A change waits (awaiting_approval) when it is over any limit set at its scope, or when it is a
decrease on a committed term and committed decreases are held (the default). Limits are maxima that
may post on their own: a change *exactly at* a limit posts; one unit, one percent-point fraction or one
cent over it waits. The percent is |delta| / units before; a change from 0 units is over any percent
limit (it is an infinite increase). The amount is the |prorated amount|; a change with no known price
is never held on the amount.

The amount limit has a default, so a new install does not post a large change unasked: a change whose
prorated amount is over DEFAULT_MAX_AMOUNT waits unless a scope sets its own limit (NO_AMOUNT_LIMIT, typed
"none" in `/seats policy`, lifts it). It matters most at link time, when the one-time reconciliation posts
the whole difference between the two sides at once: a backlog no one has looked at, or, after a wrong pick,
units billed on the wrong service.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.enums import Term

MAX_REASON = 200  # Adjustment.held_reason's length
DEFAULT_MAX_AMOUNT = Decimal("1000.00")  # the amount limit where no scope sets one
NO_AMOUNT_LIMIT = Decimal("9999999999.9999")  # the largest amount the database holds: no change is over it
COMMITTED_TERMS = frozenset({Term.annual, Term.other})  # anything but a monthly term commits beyond the month


@dataclass(frozen=True)
class ApprovalPolicy:
    max_units: int | None = None
    max_percent: Decimal | None = None
    max_amount: Decimal | None = None
    hold_committed_decreases: bool = True
    amount_limit_is_default: bool = False  # the reason says "the default limit", so people know where it is from


def change_percent(units_from: int, units_to: int) -> Decimal | None:
    """|delta| as a percent of the units before; None for a change from 0 (no finite percent)."""
    if units_from == 0:
        return None
    return Decimal(abs(units_to - units_from) * 100) / Decimal(units_from)


def hold_reason(policy: ApprovalPolicy, *, units_from: int, units_to: int, prorated_amount: Decimal | None,
                term: Term) -> str | None:
    """Why this change must wait for a person, in plain words; None when it may post on its own."""
    delta = units_to - units_from
    reasons: list[str] = []
    if delta < 0 and policy.hold_committed_decreases and term in COMMITTED_TERMS:
        reasons.append(f"a decrease on {'an annual' if term is Term.annual else 'a committed'} term")
    if policy.max_units is not None and abs(delta) > policy.max_units:
        reasons.append(f"{abs(delta)} units is over the {policy.max_units}-unit limit")
    if policy.max_percent is not None:
        percent = change_percent(units_from, units_to)
        if percent is None:
            reasons.append(f"a change from 0 units is over the {_number(policy.max_percent)}% limit")
        elif percent > policy.max_percent:
            reasons.append(f"{_number(percent.quantize(Decimal('0.1')))}% is over the "
                           f"{_number(policy.max_percent)}% limit")
    if policy.max_amount is not None and prorated_amount is not None and abs(prorated_amount) > policy.max_amount:
        which = "default limit" if policy.amount_limit_is_default else "limit"
        reasons.append(f"a prorated {abs(prorated_amount):,.2f} is over the {policy.max_amount:,.2f} {which}")
    if not reasons:
        return None
    text = "; ".join(reasons)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _number(value: Decimal) -> str:
    """12 rather than 12.0000 (Numeric columns come back with their scale)."""
    return f"{value.normalize():f}"
