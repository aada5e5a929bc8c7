"""Date arithmetic the generator and the day mutator share: terms, renewals, seeded moments."""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, time, timedelta

from bot.sandbox.world import Term

TERM_MONTHS: dict[Term, int] = {"monthly": 1, "annual": 12}


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def next_expiration(start: date, term: Term, after: date) -> date:
    """The end of the term period that contains `after`: the first start + k terms later than it."""
    step = TERM_MONTHS[term]
    elapsed = (after.year - start.year) * 12 + after.month - start.month
    k = max(1, elapsed // step)
    expiration = add_months(start, k * step)
    while expiration <= after:
        k += 1
        expiration = add_months(start, k * step)
    return expiration


def moment(rng: random.Random, day: date) -> datetime:
    """A time during office hours of `day`, in UTC."""
    seconds = rng.randint(7 * 3600, 19 * 3600)
    return datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), tzinfo=UTC)


def day_between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))
