"""`/seats <subcommand>`: parse the text, ack at once, hand the work to the command family.

Registered on the Bolt app by `register_commands`, with a global middleware that drops Slack's
retries of deliveries that already ran (`bot.commands.deliveries`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.alerts import register_alert_actions
from bot.commands.approvals import register_approval_actions
from bot.commands.checklist import checklist_command, register_checklist_actions
from bot.commands.config import open_config, register_config
from bot.commands.deliveries import SeenDeliveries, drop_repeated_deliveries
from bot.commands.help import help_blocks, help_text, usage_text
from bot.commands.home import register_home
from bot.commands.home_refresh import refresh_home_tabs, sync_run_mark
from bot.commands.ids import ActionId
from bot.commands.inbound import from_a_message
from bot.commands.link_family import LINK_SUBCOMMANDS, register_link_commands
from bot.commands.policy import open_policy, register_policy
from bot.commands.report import register_report_commands, report_command
from bot.commands.sync import SyncRequest, parse_sync_flags, run_sync_for

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

SLASH_COMMAND = "/seats"


def register_commands(app: AsyncApp, context: AppContext, *, seen: SeenDeliveries | None = None) -> None:
    app.middleware(drop_repeated_deliveries(seen or SeenDeliveries(sessions=context.sessions, clock=context.clock)))
    app.command(SLASH_COMMAND)(_seats_command(context))
    app.action(ActionId.HELP_SYNC.value, matchers=[from_a_message])(_sync_button(context, dry_run=False))
    app.action(ActionId.HELP_SYNC_DRY_RUN.value, matchers=[from_a_message])(_sync_button(context, dry_run=True))
    register_config(app, context)
    register_home(app, context, seats_command=_seats_command(context))
    register_report_commands(app, context)
    register_checklist_actions(app, context)
    register_alert_actions(app, context)
    register_approval_actions(app, context)
    register_link_commands(app, context)
    register_policy(app, context)


def _ephemeral(respond: AsyncRespond):
    async def reply(text: str) -> None:
        await respond(text=text, response_type="ephemeral")

    return reply


def _seats_command(context: AppContext):
    async def seats(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        words = (command.get("text") or "").split()
        subcommand = words[0].lower() if words else "help"
        if subcommand == "help" and len(words) <= 1:
            await ack()
            await respond(text=help_text(), blocks=help_blocks(), response_type="ephemeral")
            return
        if subcommand == "sync":
            dry_run = parse_sync_flags(words[1:])
            if dry_run is not None:
                await ack()
                request = SyncRequest(user_id=command["user_id"], channel_id=command["channel_id"], dry_run=dry_run)
                typed = not dry_run and bool(command.get("response_url"))  # App Home's shortcut republishes itself
                mark = await sync_run_mark(context) if typed else 0
                await run_sync_for(request, context=context, client=client, reply=_ephemeral(respond))
                if typed:
                    await refresh_home_tabs(context=context, client=client, since_run=mark)
                return
        if subcommand == "config" and len(words) == 1:
            await ack()
            await open_config(context=context, client=client, user_id=command["user_id"],
                              trigger_id=command["trigger_id"], reply=_ephemeral(respond))
            return
        if subcommand == "checklist" and len(words) == 1:
            await checklist_command(ack=ack, command=command, respond=respond, client=client, app_context=context)
            return
        if subcommand in LINK_SUBCOMMANDS and (subcommand == "link" or len(words) == 1):
            await ack()
            await LINK_SUBCOMMANDS[subcommand](command, context=context, client=client, reply=_ephemeral(respond))
            return
        if subcommand == "policy":
            await ack()
            await open_policy(command, context=context, client=client, reply=_ephemeral(respond))
            return
        if subcommand == "report":
            await report_command(text=(command.get("text") or "").strip()[len(subcommand):], ack=ack, command=command,
                                 respond=respond, client=client, app_context=context)
            return
        await ack(text=usage_text(" ".join(words)), response_type="ephemeral")

    return seats


def _sync_button(context: AppContext, *, dry_run: bool):
    async def sync_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                          client: AsyncWebClient) -> None:
        await ack()
        request = SyncRequest(user_id=body["user"]["id"], channel_id=body["channel"]["id"], dry_run=dry_run)
        await run_sync_for(request, context=context, client=client, reply=_ephemeral(respond))

    return sync_button
