"""Connector health: the last outcome of talking to each configured system, and whether it is stale.

Recorded by the engine after every read or write pass; read by `/healthz`, App Home and the health
alert job, which raises one alert when a connector starts failing or goes stale and one when it recovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ConnectorHealth, ConnectorState
from bot.db.tenant_scope import current_tenant_id


@dataclass(frozen=True)
class HealthChange:
    """A connector whose alert state should change: `alert` when it went bad, `recovered` when it came back."""

    system: str
    state: ConnectorState
    last_error: str | None
    last_success_at: datetime | None
    alert: bool
    recovered: bool


async def _row(session: AsyncSession, system: str) -> ConnectorHealth:
    row = await session.get(ConnectorHealth, (current_tenant_id(), system))
    if row is None:
        row = ConnectorHealth(system=system, state=ConnectorState.ok, consecutive_failures=0, alerted=False)
        session.add(row)
    return row


async def record_success(*, session: AsyncSession, system: str, now: datetime) -> None:
    row = await _row(session, system)
    row.last_attempt_at = row.last_success_at = now
    row.consecutive_failures = 0
    row.state = ConnectorState.ok
    await session.flush()


async def record_failure(*, session: AsyncSession, system: str, error: str, now: datetime) -> None:
    """`error` is the connector's own diagnosis (already redacted by the connector's error types)."""
    row = await _row(session, system)
    row.last_attempt_at = row.last_failure_at = now
    row.last_error = error[:2000]
    row.consecutive_failures += 1
    row.state = ConnectorState.failing
    await session.flush()


async def connector_health(*, session: AsyncSession) -> list[ConnectorHealth]:
    return list(await session.scalars(select(ConnectorHealth).order_by(ConnectorHealth.system)))


NEVER_SUCCEEDED_FAILURES = 2  # a connector that has never worked is reported after this many failures


def is_down(row: ConnectorHealth, *, now: datetime, stale_after: timedelta) -> bool:
    """Failing or silent for longer than `stale_after` (a transient failure between successes is not down)."""
    if row.last_success_at is None:
        return row.state is ConnectorState.failing and row.consecutive_failures >= NEVER_SUCCEEDED_FAILURES
    return now - row.last_success_at > stale_after


async def health_changes(*, session: AsyncSession, now: datetime, stale_after: timedelta) -> list[HealthChange]:
    """What the alert job must say, and mark it said: one alert when a connector has failed or gone stale
    for longer than `stale_after`, one when it recovers; never one per cycle."""
    changes: list[HealthChange] = []
    for row in await connector_health(session=session):
        down = is_down(row, now=now, stale_after=stale_after)
        if down and row.state is ConnectorState.ok:
            row.state = ConnectorState.stale  # no failure recorded, but no success either
        if down and not row.alerted:
            row.alerted = True
            changes.append(HealthChange(row.system, row.state, row.last_error, row.last_success_at,
                                        alert=True, recovered=False))
        elif not down and row.alerted and row.state is ConnectorState.ok:
            row.alerted = False
            changes.append(HealthChange(row.system, row.state, row.last_error, row.last_success_at,
                                        alert=False, recovered=True))
    await session.flush()
    return changes


async def mark_alerted(*, session: AsyncSession, system: str, alerted: bool) -> None:
    """Put the alert flag back (the alert job could not deliver what `health_changes` said)."""
    row = await session.get(ConnectorHealth, (current_tenant_id(), system))
    if row is not None:
        row.alerted = alerted
        await session.flush()
