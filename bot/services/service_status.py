"""What `/healthz` and `/metrics` read from the database: sync runs, the outbox, connector health.

Counts only (one aggregate query per table), so a scrape every few seconds stays cheap however long
the history grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.app_settings import load_app_settings
from bot.db.connector_health import connector_health, is_down
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    ConnectorHealth,
    ConnectorState,
    SyncRun,
    SyncRunStatus,
)

GOOD_RUNS = (SyncRunStatus.succeeded, SyncRunStatus.partial)


@dataclass(frozen=True)
class ConnectorStatus:
    system: str
    state: ConnectorState  # stale when nothing succeeded for longer than connector_stale_minutes
    last_success_at: datetime | None
    last_failure_at: datetime | None
    consecutive_failures: int

    @property
    def up(self) -> bool:
        return self.state is ConnectorState.ok


@dataclass(frozen=True)
class LastSync:
    run_id: int
    finished_at: datetime
    trigger: str
    status: SyncRunStatus


@dataclass
class ServiceStatus:
    last_sync: LastSync | None
    connectors: list[ConnectorStatus]
    runs_by_status: dict[str, int] = field(default_factory=dict)
    adjustments_by_status: dict[str, int] = field(default_factory=dict)
    needs_action: int = 0
    marketplaces: list[str] = field(default_factory=list)  # the active ones (vendor keys), in the settings' order
    psa: str | None = None

    @property
    def pending_failures(self) -> int:
        return self.adjustments_by_status.get(AdjustmentStatus.failed.value, 0)


async def service_status(*, session: AsyncSession, now: datetime) -> ServiceStatus:
    settings = await load_app_settings(session=session)
    stale_after = timedelta(minutes=settings.connector_stale_minutes)
    last = (await session.execute(
        select(SyncRun.id, SyncRun.finished_at, SyncRun.trigger, SyncRun.status)
        .where(SyncRun.status.in_(GOOD_RUNS), SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1)
    )).first()
    runs = dict((await session.execute(select(SyncRun.status, func.count()).group_by(SyncRun.status))).all())
    adjustments = dict((await session.execute(
        select(Adjustment.status, func.count()).group_by(Adjustment.status))).all())
    needs_action = await session.scalar(select(func.count()).select_from(Adjustment).where(
        Adjustment.status == AdjustmentStatus.failed, Adjustment.needs_action.is_(True)))
    return ServiceStatus(
        last_sync=None if last is None else LastSync(last.id, last.finished_at, last.trigger, last.status),
        connectors=[_connector(row, now, stale_after) for row in await connector_health(session=session)],
        runs_by_status={status.value: runs.get(status, 0) for status in SyncRunStatus},
        adjustments_by_status={status.value: adjustments.get(status, 0) for status in AdjustmentStatus},
        needs_action=needs_action or 0,
        marketplaces=list(settings.marketplaces),
        psa=settings.psa,
    )


def _connector(row: ConnectorHealth, now: datetime, stale_after: timedelta) -> ConnectorStatus:
    state = row.state
    if state is ConnectorState.ok and is_down(row, now=now, stale_after=stale_after):
        state = ConnectorState.stale  # said here, not stored: the alert job owns the stored state
    return ConnectorStatus(row.system, state, row.last_success_at, row.last_failure_at, row.consecutive_failures)
