"""The link family of `/seats`: `link`, `unlink` and `relations`, registered on the Bolt app in one call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.commands.link import open_link_wizard, register_wizard
from bot.commands.options import register_option_loaders
from bot.commands.relations import open_relations, register_relations
from bot.commands.unlink import open_unlink_dialog, register_unlink

if TYPE_CHECKING:
    from bot.app_context import AppContext

# subcommand -> opener(command, *, context, client, reply); the listener has acked already
LINK_SUBCOMMANDS = {"link": open_link_wizard, "unlink": open_unlink_dialog, "relations": open_relations}


def register_link_commands(app: AsyncApp, context: AppContext) -> None:
    register_wizard(app, context)
    register_option_loaders(app, context)
    register_unlink(app, context)
    register_relations(app, context)
