"""The scheduler lease: one row per lease name; whoever holds an unexpired row runs the jobs.

Acquire and renew are one conditional UPDATE (or an INSERT for the first holder), so two instances
racing on one PostgreSQL database cannot both win: the database decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import SchedulerLease


async def try_acquire_lease(
    *, engine: AsyncEngine, name: str, holder: str, ttl: timedelta, now: datetime
) -> bool:
    """Take or renew the lease; True when `holder` holds it until now + ttl."""
    expires = now + ttl
    if await _take_over(engine, name=name, holder=holder, now=now, expires=expires):
        return True
    try:
        async with engine.begin() as connection:
            await connection.execute(
                SchedulerLease.__table__.insert().values(name=name, holder=holder, acquired_at=now, expires_at=expires)
            )
        return True
    except IntegrityError:
        # the row appeared meanwhile: someone else's, or this holder's own concurrent call that won the INSERT
        return await _take_over(engine, name=name, holder=holder, now=now, expires=expires)


async def _take_over(engine: AsyncEngine, *, name: str, holder: str, now: datetime, expires: datetime) -> bool:
    async with engine.begin() as connection:
        result = await connection.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name)
            .where(or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
            .values(holder=holder, expires_at=expires, acquired_at=now)
        )
        return result.rowcount == 1


async def release_lease(*, engine: AsyncEngine, name: str, holder: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            SchedulerLease.__table__.delete().where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        )
