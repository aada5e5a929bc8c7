"""Telling people things after a modal closes: who may act, and where the answer goes.

After a view_submission there is no response_url, so answers go through the Web API: in the channel
where the command was run, else ephemerally there, else as a direct message. A Slack error is logged,
never raised: the work the message reports is already done.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.access import is_billing_member, load_billing_team, refusal
from bot.commands.modal_state import notice_view

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)


async def refusal_for(context: AppContext, client: AsyncWebClient, user_id: str) -> str | None:
    """None for a billing-team member; else the refusal naming who can."""
    team = await load_billing_team(sessions=context.sessions, settings=context.settings)
    if await is_billing_member(team, user_id, client):
        return None
    return refusal(team)


async def refused_submission(context: AppContext, client: AsyncWebClient, ack, user_id: str) -> bool:
    """A modal submitted by someone outside the billing team is answered with a modal saying who can act;
    True when that happened (nothing else is to be done)."""
    refusal = await refusal_for(context, client, user_id)
    if refusal is None:
        return False
    await ack(response_action="update", view=notice_view("Not allowed", refusal))
    return True


async def tell_user(client: AsyncWebClient, *, channel: str | None, user: str, text: str,
                    blocks: list[dict[str, Any]] | None = None) -> bool:
    """Ephemeral in `channel`, or a direct message when that cannot be delivered."""
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
            return True
        except SlackApiError as exc:
            log.info("cannot answer %s in %s (%s); sending a direct message", user, channel,
                     exc.response.get("error"))
    try:
        await client.chat_postMessage(channel=user, text=text, blocks=blocks)
        return True
    except SlackApiError as exc:
        log.warning("cannot tell %s: %s", user, exc.response.get("error"))
        return False


async def post_in_channel(client: AsyncWebClient, *, channel: str | None, user: str, text: str,
                          blocks: list[dict[str, Any]] | None = None) -> bool:
    """In the channel for everyone; the asker alone when the bot cannot post there."""
    if channel:
        try:
            await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            return True
        except SlackApiError as exc:
            log.info("cannot post in %s (%s); telling %s only", channel, exc.response.get("error"), user)
    return await tell_user(client, channel=channel, user=user, text=text, blocks=blocks)
