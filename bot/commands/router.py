"""`/seats <subcommand>`: one table says what each subcommand runs, its one-line help and who may use it.

The listener (`seats`) reads the first word, finds its `Route`, checks the words after it, acks, checks who
asks (`Who`: the billing team through `bot.slack.guards`, as `billing_team_only` does for buttons) and
hands the rest to the command family. `/seats help` is written from the same table, so it lists exactly what
routes. App Home's shortcuts (`bot.commands.home.handlers`) call `seats` too, with the app's DM as the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.checklist.handlers import checklist_command
from bot.commands.config.handlers import open_config
from bot.commands.home.refresh import refresh_home_tabs, sync_run_mark
from bot.commands.link.unlink import open_unlink_dialog
from bot.commands.link.wizard import open_link_wizard
from bot.commands.policy.handlers import open_policy
from bot.commands.relations.handlers import open_relations
from bot.commands.reports.handlers import report_command
from bot.commands.sync.handlers import SyncRequest, parse_sync_flags, run_sync_for
from bot.slack.blocks import button, buttons, header, message_blocks, section
from bot.slack.guards import refusal_for_billing_team
from bot.slack.ids import ActionId, BlockId
from bot.slack.mrkdwn import mrkdwn_escape

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

SLASH_COMMAND = "/seats"
USAGE = "Usage: `/seats help` or `/seats sync [--dry-run]`. Try `/seats help` for the list."


class Who(Enum):
    """Who may use a subcommand; the router refuses everyone else, ephemerally, naming who can."""
    everyone = "everyone"
    billing_team = "the billing team"
    admins = "SeatSync's admins"  # the config dialog opens first (its trigger expires in 3 s), then says so


@dataclass(frozen=True)
class SeatsCall:
    """One `/seats` request, acked (unless its route answers in the ack), for the route's handler."""
    command: dict[str, Any]
    words: list[str]
    ack: AsyncAck
    respond: AsyncRespond
    client: AsyncWebClient
    app_context: AppContext

    @property
    def user_id(self) -> str:
        return self.command["user_id"]

    async def reply(self, text: str) -> None:
        """An ephemeral answer to the person who asked."""
        await self.respond(text=text, response_type="ephemeral")


Handler = Callable[[SeatsCall], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    name: str  # the subcommand: the first word
    args: str  # its arguments as help shows them ("" for none)
    what: str  # its one-line help
    who: Who
    run: Handler
    accepts: Callable[[list[str]], bool] = lambda rest: not rest  # the words after the subcommand
    answers_in_ack: bool = False  # the handler acks itself (a usage error goes in the ack)

    @property
    def usage(self) -> str:
        return f"{self.name} {self.args}".strip()


# --- the handlers, each the family's opener called the way it wants -------------------------------------------

async def _help(call: SeatsCall) -> None:
    await call.respond(text=help_text(), blocks=help_blocks(), response_type="ephemeral")


async def _sync(call: SeatsCall) -> None:
    dry_run = bool(parse_sync_flags(call.words[1:]))
    request = SyncRequest(user_id=call.user_id, channel_id=call.command["channel_id"], dry_run=dry_run)
    typed = not dry_run and bool(call.command.get("response_url"))  # App Home's shortcut republishes itself
    mark = await sync_run_mark(call.app_context) if typed else 0
    await run_sync_for(request, app_context=call.app_context, client=call.client, reply=call.reply)
    if typed:
        await refresh_home_tabs(app_context=call.app_context, client=call.client, since_run=mark)


async def _link(call: SeatsCall) -> None:
    await open_link_wizard(call.command, app_context=call.app_context, client=call.client, reply=call.reply)


async def _unlink(call: SeatsCall) -> None:
    await open_unlink_dialog(call.command, app_context=call.app_context, client=call.client, reply=call.reply)


async def _relations(call: SeatsCall) -> None:
    await open_relations(call.command, app_context=call.app_context, client=call.client, reply=call.reply)


async def _policy(call: SeatsCall) -> None:
    await open_policy(call.command, app_context=call.app_context, client=call.client, reply=call.reply)


async def _config(call: SeatsCall) -> None:
    await open_config(app_context=call.app_context, client=call.client, user_id=call.user_id,
                      trigger_id=call.command["trigger_id"], reply=call.reply)


async def _checklist(call: SeatsCall) -> None:
    await checklist_command(ack=call.ack, command=call.command, respond=call.respond, client=call.client,
                            app_context=call.app_context)


async def _report(call: SeatsCall) -> None:
    await report_command(text=(call.command.get("text") or "").strip()[len(call.words[0]):], ack=call.ack,
                         command=call.command, respond=call.respond, client=call.client,
                         app_context=call.app_context)


def _any_words(rest: list[str]) -> bool:
    return True


ROUTES: tuple[Route, ...] = (
    Route("help", "", "this list", Who.everyone, _help),
    Route("sync", "[--dry-run]", "run a sync cycle now; `--dry-run` shows what would be posted, writing nothing",
          Who.billing_team, _sync, accepts=lambda rest: parse_sync_flags(rest) is not None),
    Route("link", "[name]", "link a marketplace resource to its PSA service, step by step, then reconcile it once",
          Who.billing_team, _link, accepts=_any_words),
    Route("unlink", "", "remove a relation (SeatSync stops syncing it)", Who.billing_team,
          _unlink),
    Route("relations", "", "set suggested matches or clear relations, many at a time", Who.billing_team,
          _relations),
    Route("report", "<name> [key=value ...]", "a report's summary with CSV, Excel and browser links "
          "(`/seats report` lists the reports and filters)", Who.everyone, _report, accepts=_any_words,
          answers_in_ack=True),
    Route("policy", "[company name]", "approval limits, decrease timing, dropped credits and minimum margin, "
          "globally, per company or per relation", Who.billing_team, _policy, accepts=_any_words),
    Route("checklist", "", "the month-end pre-invoice checklist, live", Who.everyone, _checklist,
          answers_in_ack=True),
    Route("config", "", "admins: connections (with a connection test), channels, billing team, schedule",
          Who.admins, _config),
)
ROUTE_BY_NAME = {route.name: route for route in ROUTES}


async def seats(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                app_context: AppContext) -> None:
    """The `/seats` listener."""
    words = (command.get("text") or "").split()
    route = ROUTE_BY_NAME.get(words[0].lower() if words else "help")
    if route is None or not route.accepts(words[1:]):
        await ack(text=usage_text(" ".join(words)), response_type="ephemeral")
        return
    call = SeatsCall(command=command, words=words or ["help"], ack=ack, respond=respond, client=client,
                     app_context=app_context)
    if not route.answers_in_ack:
        await ack()
    if route.who is Who.billing_team:
        refused = await refusal_for_billing_team(app_context, client, call.user_id)
        if refused is not None:
            await call.reply(refused)
            return
    await route.run(call)


# --- /seats help, from the table ------------------------------------------------------------------------------

def help_text() -> str:
    return "SeatSync commands: " + "; ".join(f"/seats {route.usage} - {route.what}" for route in ROUTES)


def help_blocks() -> list[dict[str, Any]]:
    lines = "\n".join(f"• `/seats {route.usage}` - {route.what}" for route in ROUTES)
    return message_blocks([
        header("SeatSync commands"),
        section(lines, block_id=BlockId.HELP_COMMANDS),
        buttons([button("Dry run", ActionId.HELP_SYNC_DRY_RUN),
                 button("Sync now", ActionId.HELP_SYNC, primary=True)], block_id=BlockId.HELP_ACTIONS),
    ])


def usage_text(subcommand: str) -> str:
    """What was typed is quoted back, escaped: `/seats <!channel>` pings no one."""
    return f"I don't know `/seats {mrkdwn_escape(subcommand)}`. {USAGE}"
