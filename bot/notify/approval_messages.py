"""Post held changes to the alerts channel and keep their messages current (a scheduled job, and after
every decision). One message per change group (bot.sync.approval_groups); a message is updated only
when what it shows changed, and turns resolved once every change in it is settled."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.app_settings import load_app_settings
from bot.notify.approval_blocks import group_blocks, group_text
from bot.notify.kept_messages import KeptMessage, keep_message
from bot.sync.approval_groups import approval_groups, open_approval_messages
from bot.sync.link_reconciliation import LinkOutcome

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)


async def refresh_approval_messages(
    *, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient, channel: str | None,
    adjustment_id: int | None = None,
) -> list[KeptMessage]:
    """Post new groups in `channel` (the alerts channel) and update the open ones where they are."""
    async with sessions() as session:
        kept = await open_approval_messages(session=session)
        groups = await approval_groups(session=session, open_keys=set(kept), adjustment_id=adjustment_id)
    results: list[KeptMessage] = []
    for group in groups:
        existing = kept.get(group.key)
        payload = group.signature()
        if existing is not None and existing.delivered and existing.payload == payload:
            continue
        where = existing.channel if existing is not None else channel
        if where is None:
            log.warning("held changes for %s cannot be shown: no alerts channel is set (/seats config)",
                        group.company)
            continue
        result = await keep_message(sessions=sessions, client=client, key=group.key, channel=where,
                                    text=group_text(group), blocks=group_blocks(group), payload=payload,
                                    resolved=group.settled)
        if result is not None:
            results.append(result)
    return results


async def show_held_changes(*, app_context: AppContext, client: AsyncWebClient, outcomes: Iterable[LinkOutcome]
                            ) -> str | None:
    """After a link-time reconciliation that held a change: its Approve/Edit/Reject message goes to the alerts
    channel now, not at the job's next pass. Returns the alerts channel (None: not set), where it is decided."""
    async with app_context.sessions() as session:
        channel = (await load_app_settings(session=session)).alerts_channel
    if any(outcome.state == "awaiting_approval" for outcome in outcomes):
        await refresh_approval_messages(sessions=app_context.sessions, client=client, channel=channel)
    return channel
