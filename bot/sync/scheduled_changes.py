"""Changes posted to the PSA but dated after today: units still to come.

A PSA that takes future-dated changes (Autotask, `Capabilities.future_dated_changes`) holds such a change at once
but shows it in the units it reports only from its day on: until then the units read are today's. Levelling and
posting therefore compare the marketplace's count with the units *as scheduled*, today's plus the posted changes
still to come; with today's alone, every cycle before the day would plan the change again and post it a second
time (found by bench/no_change_cycle.py --after-day, whose cycle after the day ended partial on the repeats that
would have left fewer than 0 units). PSAs without future dates never have any: their changes post on their day.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Adjustment, AdjustmentStatus


@dataclass(frozen=True)
class Scheduled:
    """One service's posted changes still to come."""

    units: int  # their deltas, summed
    last_day: date  # the latest of their effective dates


async def scheduled_changes(session: AsyncSession, *, today: date, service_ids: Collection[int] | None = None,
                            excluding: int | None = None) -> dict[int, Scheduled]:
    """Per PSA service id, the changes posted for it and dated after `today`; `excluding`: one intent left out
    (the one being posted)."""
    query = (select(Adjustment.psa_service_id, func.sum(Adjustment.delta), func.max(Adjustment.effective_date))
             .where(Adjustment.status == AdjustmentStatus.posted, Adjustment.effective_date > today)
             .group_by(Adjustment.psa_service_id))
    if service_ids is not None:
        query = query.where(Adjustment.psa_service_id.in_(list(service_ids)))
    if excluding is not None:
        query = query.where(Adjustment.id != excluding)
    return {service_id: Scheduled(int(units), last_day) for service_id, units, last_day in await session.execute(query)}


async def landed_since(session: AsyncSession, *, last_read: Mapping[int, date], today: date) -> dict[int, int]:
    """Per PSA service id, the deltas summed of its posted changes whose day came after its units were last read
    (`last_read`: service id -> that business day) and no later than `today`: a move of the units they explain is
    the PSA showing a scheduled change on its day, not a hand edit."""
    if not last_read:
        return {}
    query = (select(Adjustment.psa_service_id, Adjustment.delta, Adjustment.effective_date)
             .where(Adjustment.status == AdjustmentStatus.posted, Adjustment.effective_date <= today,
                    Adjustment.effective_date > min(last_read.values()),
                    Adjustment.psa_service_id.in_(list(last_read))))
    landed: dict[int, int] = {}
    for service_id, delta, day in await session.execute(query):
        if day > last_read[service_id]:
            landed[service_id] = landed.get(service_id, 0) + delta
    return landed


def as_scheduled(units: int | None, scheduled: Scheduled | None) -> int | None:
    """Units read today (None: the service is gone) as they will be once the scheduled changes land."""
    return units if units is None or scheduled is None else units + scheduled.units


def as_of_today(units: int | None, scheduled: Scheduled | None) -> int | None:
    return units if units is None or scheduled is None else units - scheduled.units
