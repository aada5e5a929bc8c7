"""A vendor's request budget shared by every process that works for one tenant.

Each vendor client paces itself with an in-process `RequestLimiter`; on PostgreSQL a tenant's work moves between
instances (bot.job_queue), so two processes could each spend the vendor's whole budget. While a job runs for a
tenant, `SHARED_BUDGET` holds that tenant's budget (bot.db.rate_budgets) and `VendorHttp` takes a token from it for
every window its limiter keeps, before the local limiter's turn. Unset (SQLite, one process, the tests), only the
local limiter paces.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class SharedBudget(Protocol):
    async def take(self, *, system: str, per_window: int, window_s: float) -> None:
        """Return when one more request to `system` fits its budget of `per_window` requests per `window_s`."""


SHARED_BUDGET: ContextVar[SharedBudget | None] = ContextVar("seatsync_shared_budget", default=None)


@contextmanager
def drawing_on(budget: SharedBudget | None) -> Iterator[None]:
    """The vendor requests made inside the block (and the tasks started there) draw on `budget`; None: the local
    limiters alone pace them (SQLite)."""
    token = SHARED_BUDGET.set(budget) if budget is not None else None
    try:
        yield
    finally:
        if token is not None:
            SHARED_BUDGET.reset(token)
