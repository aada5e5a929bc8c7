"""A workspace installs SeatSync or leaves it (multi-workspace mode): its tenant made, or marked uninstalled.

An install makes (or reactivates) the tenant of the workspace, or of the enterprise for an org-wide Grid install,
before the person sees the success page. An uninstall (`app_uninstalled`, or `tokens_revoked` for the bot) marks
it uninstalled at once, so its jobs stop (`bot.db.tenancy.active_tenant_ids` leaves it out); its rows are kept for
`tenant_retention_days`, then the purge job deletes them (`bot.jobs`), and `seatsync tenants export` can copy
them out meanwhile.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.tenancy import ensure_tenant, mark_tenant_uninstalled, tenant_by_install
from bot.domain.enums import TenantStatus

log = logging.getLogger(__name__)


async def record_install(*, sessions: async_sessionmaker[AsyncSession], team_id: str | None,
                         enterprise_id: str | None, is_enterprise_install: bool) -> int:
    """The tenant's id, made if new (an uninstalled one installed again is active again, with its data)."""
    async with sessions() as session, session.begin():
        tenant_id = await ensure_tenant(session, team_id=team_id, enterprise_id=enterprise_id,
                                        is_enterprise_install=is_enterprise_install)
    log.info("tenant %s installed", tenant_id)
    return tenant_id


async def record_uninstall(*, sessions: async_sessionmaker[AsyncSession], team_id: str | None,
                           enterprise_id: str | None, is_enterprise_install: bool, at: datetime,
                           retention_days: int) -> int | None:
    """Mark the install's tenant uninstalled at `at` (a repeat keeps the first time); its id, or None if unknown."""
    async with sessions() as session, session.begin():
        tenant = await tenant_by_install(session, team_id=team_id, enterprise_id=enterprise_id,
                                         is_enterprise_install=is_enterprise_install)
        if tenant is None:
            return None
        if tenant.status is TenantStatus.uninstalled:  # Slack tells twice: tokens_revoked, then app_uninstalled
            return tenant.id
        await mark_tenant_uninstalled(session, tenant.id, at=at, retention_days=retention_days)
        tenant_id = tenant.id
    log.info("tenant %s uninstalled: its jobs stop, its data is kept %d days", tenant_id, retention_days)
    return tenant_id
