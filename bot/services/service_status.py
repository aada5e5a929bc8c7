"""What `/healthz` and `/metrics` read from the database: sync runs, the outbox, connector health.

Counts only (one aggregate query per table), so a scrape every few seconds stays cheap however long
the history grows. `service_status` reads the tenant the session acts for (its rows only: bot.db.tenant_filter);
`statuses_by_tenant` reads each active tenant in a transaction of its own, inside that tenant's scope, since no
query may read across tenants; `tenant_counts` reads the global `tenants` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.app_settings import load_app_settings
from bot.db.connector_health import connector_health, is_down
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    ConnectorHealth,
    ConnectorState,
    SyncRun,
    SyncRunStatus,
    Tenant,
)
from bot.db.tenancy import active_tenant_ids, tenant_scope
from bot.domain.enums import TenantStatus

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


async def status_of_tenant(sessions: async_sessionmaker[AsyncSession], tenant_id: int, *,
                           now: datetime) -> ServiceStatus:
    """`service_status` of one tenant, read in its own scope (whatever tenant the caller acts for)."""
    with tenant_scope(tenant_id):
        async with sessions() as session:
            return await service_status(session=session, now=now)


async def statuses_by_tenant(sessions: async_sessionmaker[AsyncSession], *,
                             now: datetime) -> dict[int, ServiceStatus]:
    """Every active tenant's status, by tenant id (ascending)."""
    async with sessions() as session:
        tenants = await active_tenant_ids(session)
    return {tenant_id: await status_of_tenant(sessions, tenant_id, now=now) for tenant_id in tenants}


async def tenant_counts(session: AsyncSession) -> dict[str, int]:
    """How many tenants are in each state ("active", "uninstalled"): the install's shape, no tenant named."""
    counts = dict((await session.execute(select(Tenant.status, func.count()).group_by(Tenant.status))).all())
    return {status.value: counts.get(status, 0) for status in TenantStatus}
