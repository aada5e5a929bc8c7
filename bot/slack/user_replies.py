"""Telling people things after a modal closes: where the answer goes.

After a view_submission there is no response_url, so answers go through the Web API: in the channel
where the command was run, else ephemerally there, else as a direct message. A Slack error is logged,
never raised: the work the message reports is already done.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


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
