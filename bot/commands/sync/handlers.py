"""`/seats sync [--dry-run]` and the help message's sync buttons: billing team only.

The router's table (`/seats sync`) and `billing_team_only` (the buttons) have checked who asks; the listener
has acked. This runs one cycle through the engine and posts the summary in the channel (falling back to an
ephemeral reply when the bot cannot post there).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.sync.views import summary_blocks, summary_text
from bot.notify.failure_alerts import refresh_failure_alerts
from bot.slack.engines import engine_or_reason
from bot.slack.mrkdwn import mrkdwn_escape
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

DRY_RUN_FLAG = "--dry-run"
Reply = Callable[[str], Awaitable[object]]  # an ephemeral answer to the user who asked


@dataclass(frozen=True)
class SyncRequest:
    user_id: str
    channel_id: str
    dry_run: bool


def parse_sync_flags(flags: list[str]) -> bool | None:
    """dry_run from the words after `sync`; None when they are not understood."""
    if not flags:
        return False
    if flags == [DRY_RUN_FLAG]:
        return True
    return None


async def run_sync_for(request: SyncRequest, *, app_context: AppContext, client: AsyncWebClient,
                       reply: Reply) -> None:
    await reply("Dry run… (nothing will be written to the PSA)" if request.dry_run else "Syncing…")
    engine = await engine_or_reason(app_context)
    if isinstance(engine, NotConfigured):
        await reply(f"Sync cannot run yet: {mrkdwn_escape(engine.reason)}.")
        return
    try:
        report = await engine.run_cycle(trigger="slack", actor=request.user_id, dry_run=request.dry_run)
    except Exception:
        log.exception("a sync requested from Slack by %s failed", request.user_id)
        await reply("The sync failed unexpectedly; the details are in SeatSync's log.")
        return
    try:
        await client.chat_postMessage(channel=request.channel_id, text=summary_text(report, actor=request.user_id),
                                      blocks=summary_blocks(report, actor=request.user_id))
    except SlackApiError as exc:
        log.warning("cannot post the sync summary in %s: %s", request.channel_id, exc.response.get("error"))
        await reply(summary_text(report, actor=request.user_id)
                    + f" (I cannot post in this channel: {exc.response.get('error')}; invite me to see the details)")
    if not request.dry_run:
        await refresh_failure_alerts(app_context=app_context, client=client)  # a failed post is alerted at once


async def sync_now_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          app_context: AppContext) -> None:
    """*Sync now* on the help message (behind `billing_team_only`)."""
    await _button(ack, body, respond, client, app_context, dry_run=False)


async def dry_run_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                         app_context: AppContext) -> None:
    """*Dry run* on the help message (behind `billing_team_only`)."""
    await _button(ack, body, respond, client, app_context, dry_run=True)


async def _button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                  app_context: AppContext, *, dry_run: bool) -> None:
    await ack()

    async def reply(text: str) -> None:
        await respond(text=text, response_type="ephemeral")

    request = SyncRequest(user_id=body["user"]["id"], channel_id=body["channel"]["id"], dry_run=dry_run)
    await run_sync_for(request, app_context=app_context, client=client, reply=reply)
