"""Who has opened SeatSync's App Home, so a sync run from a channel can refresh their dashboards.

One `app_settings` row per person under `home:<user id>` (no table of its own), holding the app's DM
channel with them (the Home tab's shortcuts answer there); `updated_at` says when they last opened it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AppSetting, SyncRun
from bot.db.tenant_scope import current_tenant_id

HOME_PREFIX = "home:"
MAX_REFRESHED = 100  # the people who opened Home most recently; one views.publish each


async def remember_home_viewer(*, session: AsyncSession, user_id: str, dm_channel: str, now: datetime) -> None:
    """Commits. Two Home openings at once by the same person: the second insert loses, which is fine."""
    key = HOME_PREFIX + user_id[:64 - len(HOME_PREFIX)]
    row = await session.get(AppSetting, (current_tenant_id(), key))
    if row is None:
        session.add(AppSetting(key=key, value={"dm": dm_channel}, updated_by=user_id, updated_at=now))
    else:
        row.value, row.updated_at = {"dm": dm_channel}, now
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()


async def home_viewers(*, session: AsyncSession, limit: int = MAX_REFRESHED) -> list[tuple[str, str]]:
    """(user id, DM channel) of the people who opened Home, most recent first."""
    rows = await session.execute(select(AppSetting.key, AppSetting.value)
                                 .where(AppSetting.key.startswith(HOME_PREFIX))
                                 .order_by(AppSetting.updated_at.desc()).limit(limit))
    return [(key.removeprefix(HOME_PREFIX), str((value or {}).get("dm") or key.removeprefix(HOME_PREFIX)))
            for key, value in rows]


async def last_sync_run_id(*, session: AsyncSession) -> int:
    """The newest sync run's id (0 for none): a change means a cycle ran."""
    return await session.scalar(select(func.max(SyncRun.id)).where(SyncRun.dry_run.is_(False))) or 0
