"""Vendors' request budgets shared by every instance working for a tenant: a token bucket per tenant, vendor and
window in `vendor_rate_budgets` (PostgreSQL).

Why a table and not advisory locks: the bucket's level must live somewhere every instance sees, and one
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` refills, takes and reads it under the row's lock for the length of
one statement; an advisory lock would be held across round trips, and a session-level one outlives a killed
instance's transaction only until its connection drops. A taker may drive the level below zero: that reserves its
token, and it sleeps until the token exists, so concurrent takers queue fairly without retrying.

Refill is timed by the database's `clock_timestamp()`: the one clock all instances share (each process's monotonic
clock is its own). Like the local limiters, the bucket never lets more than `per_window` through in any window: a
tenth of it may go at once, the rest is refilled at an even pace (the same sizing as HaloPSA's PacedLimiter).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Float, bindparam, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import VendorRateBudget
from bot.db.tenant_scope import tenant_scope


def bucket_size(per_window: int, window_s: float) -> tuple[float, float]:
    """(burst, refill per second) such that burst + refill over a window is at most `per_window`."""
    burst = max(1, per_window // 10)
    return float(burst), max(1, per_window - burst) / window_s


def tenant_budget(sessions: async_sessionmaker[AsyncSession], tenant_id: int) -> TenantRateBudget | None:
    """The tenant's shared budget on PostgreSQL, where its work may run on any instance; None on SQLite (one
    instance: its local limiters pace everything)."""
    bind = sessions.kw.get("bind")
    if bind is None or bind.dialect.name != "postgresql":
        return None
    return TenantRateBudget(sessions, tenant_id)


class TenantRateBudget:
    """`bot.connectors.shared_budget.SharedBudget` for one tenant, kept in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tenant_id: int) -> None:
        self.sessions, self.tenant_id = sessions, tenant_id

    async def take(self, *, system: str, per_window: int, window_s: float) -> None:
        wait = await self.reserve(system=system, per_window=per_window, window_s=window_s)
        if wait > 0:
            await asyncio.sleep(wait)

    async def reserve(self, *, system: str, per_window: int, window_s: float) -> float:
        """Take one token; returns how many seconds to wait before it exists (0 when it did)."""
        burst, rate = bucket_size(per_window, window_s)
        with tenant_scope(self.tenant_id):  # the row is the tenant's (row-level security)
            async with self.sessions() as session, session.begin():
                # Core on the session's connection (as the tenant, under row-level security): the ORM's path for an
                # upsert costs more CPU than the statement
                connection = await session.connection()
                tokens = await connection.scalar(_TAKE_ONE, {"tenant_id": self.tenant_id, "burst": burst, "rate": rate,
                                                             "scope": f"{system}/{window_s:g}s"})
        return max(0.0, -float(tokens) / rate)


def _take_one():
    """The statement that refills a bucket and takes one token, built once: it runs before every vendor request, and
    building it each time cost more CPU than the round trip."""
    budget = VendorRateBudget
    now = func.clock_timestamp()
    burst, rate = bindparam("burst", type_=Float), bindparam("rate", type_=Float)
    refilled = func.least(burst, budget.tokens + func.extract("epoch", now - budget.refilled_at) * rate)
    return (insert(budget)
            .values(tenant_id=bindparam("tenant_id"), scope=bindparam("scope"), tokens=burst - 1, refilled_at=now)
            .on_conflict_do_update(index_elements=[budget.tenant_id, budget.scope],
                                   set_={"tokens": refilled - 1, "refilled_at": now})
            .returning(budget.tokens))


_TAKE_ONE = _take_one()
