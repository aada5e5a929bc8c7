"""`/seats help`: the commands, with buttons for the ones that can run from here."""

from __future__ import annotations

from typing import Any

from bot.commands.blocks import button, buttons, context, header, message_blocks, section
from bot.commands.ids import ActionId, BlockId
from bot.commands.mrkdwn import mrkdwn_escape

COMMANDS: tuple[tuple[str, str], ...] = (
    ("help", "this list"),
    ("sync [--dry-run]", "run a sync cycle now; `--dry-run` shows what would be posted, writing nothing"),
    ("link [name]", "link a marketplace resource to its PSA service, step by step, then reconcile it once"),
    ("unlink", "remove a relation (SeatSync stops syncing it)"),
    ("relations", "set suggested matches or clear relations, many at a time"),
    ("report <name> [key=value ...]", "a report's summary with CSV, Excel and browser links (`/seats report` "
                                       "lists the reports and filters)"),
    ("policy [company name]", "approval limits, decrease timing, dropped credits and minimum margin, "
                              "globally, per company or per relation"),
    ("checklist", "the month-end pre-invoice checklist, live"),
    ("config", "admins: connections (with a connection test), channels, billing team, schedule"),
)
COMING: tuple[str, ...] = ()
USAGE = "Usage: `/seats help` or `/seats sync [--dry-run]`. Try `/seats help` for the list."


def help_text() -> str:
    return "SeatSync commands: " + "; ".join(f"/seats {name} - {what}" for name, what in COMMANDS)


def help_blocks() -> list[dict[str, Any]]:
    lines = "\n".join(f"• `/seats {name}` - {what}" for name, what in COMMANDS)
    return message_blocks([
        header("SeatSync commands"),
        section(lines, block_id=BlockId.HELP_COMMANDS),
        buttons([button("Dry run", ActionId.HELP_SYNC_DRY_RUN),
                 button("Sync now", ActionId.HELP_SYNC, primary=True)], block_id=BlockId.HELP_ACTIONS),
        *([context("Coming next: " + ", ".join(f"`{name}`" for name in COMING))] if COMING else []),
    ])


def usage_text(subcommand: str) -> str:
    """What was typed is quoted back, escaped: `/seats <!channel>` pings no one."""
    return f"I don't know `/seats {mrkdwn_escape(subcommand)}`. {USAGE}"
