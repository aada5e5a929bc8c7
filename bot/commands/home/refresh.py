"""App Home after a `/seats sync` typed in a channel: the dashboard is published again for everyone who has
opened Home (the most recent `MAX_REFRESHED`), built once. Only when a cycle really ran: a refused or
failed request changes nothing the dashboard shows. A Slack error for one person is logged, never raised.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.home.views import home_view
from bot.services.dashboard import home_dashboard
from bot.services.home_viewers import home_viewers, last_sync_run_id
from bot.slack.ids import SealedFor
from bot.slack.modal_state import seal_state

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)


async def sync_run_mark(app_context: AppContext) -> int:
    async with app_context.sessions() as session:
        return await last_sync_run_id(session=session)


async def refresh_home_tabs(*, app_context: AppContext, client: AsyncWebClient, since_run: int) -> int:
    """Republish Home for its viewers when a sync run newer than `since_run` exists; how many were published."""
    async with app_context.sessions() as session:
        if await last_sync_run_id(session=session) <= since_run:
            return 0
        viewers = await home_viewers(session=session)
        dashboard = await home_dashboard(session=session, now=app_context.clock()) if viewers else None
    published = 0
    for user_id, dm_channel in viewers:
        try:
            await client.views_publish(user_id=user_id, view=home_view(
                dashboard, metadata=seal_state(app_context, SealedFor.HOME, {"dm": dm_channel})))
            published += 1
        except SlackApiError as exc:
            log.warning("cannot refresh App Home for %s: %s", user_id, exc.response.get("error"))
    return published
