"""Slack's OAuth states (`slack_oauth_states`, slack_sdk's state store): one row per install page shown, deleted
when the install comes back, left behind when it never does. The hourly install-wide purge deletes the expired.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import SLACK_OAUTH_STATES


async def delete_expired_oauth_states(session: AsyncSession, *, now: datetime) -> int:
    """Delete the states that expired by `now` (aware); how many. slack_sdk stores `expire_at` as naive UTC.
    Flushes nothing else and does not commit."""
    expired = now.astimezone(UTC).replace(tzinfo=None)
    result = await session.execute(delete(SLACK_OAUTH_STATES).where(SLACK_OAUTH_STATES.c.expire_at <= expired))
    return result.rowcount or 0
