"""Every Slack listener, registered on the Bolt app in one place, behind the global middleware.

Global middleware, in order: the application context into Bolt's context (`bot.commands.guards`), then Slack's
retries of deliveries that already ran dropped (`bot.commands.deliveries`). Each family registers its own
listeners, plain top-level functions, with `billing_team_only` or `admins_only` where they need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.commands.alerts import register_alert_actions
from bot.commands.approvals import register_approval_actions
from bot.commands.checklist import register_checklist_actions
from bot.commands.config import register_config
from bot.commands.deliveries import SeenDeliveries, drop_repeated_deliveries
from bot.commands.guards import billing_team_only, with_app_context
from bot.commands.home import register_home
from bot.commands.ids import ActionId
from bot.commands.inbound import from_a_message
from bot.commands.link import register_wizard
from bot.commands.options import register_option_loaders
from bot.commands.policy import register_policy
from bot.commands.relations import register_relations
from bot.commands.report import register_report_commands
from bot.commands.router import SLASH_COMMAND, seats
from bot.commands.sync import dry_run_button, sync_now_button
from bot.commands.unlink import register_unlink

if TYPE_CHECKING:
    from bot.app_context import AppContext


def register_commands(app: AsyncApp, app_context: AppContext, *, seen: SeenDeliveries | None = None) -> None:
    app.middleware(with_app_context(app_context))
    app.middleware(drop_repeated_deliveries(seen or SeenDeliveries(sessions=app_context.sessions,
                                                                   clock=app_context.clock)))
    app.command(SLASH_COMMAND)(seats)
    guarded = {"matchers": [from_a_message], "middleware": [billing_team_only]}
    app.action(ActionId.HELP_SYNC.value, **guarded)(sync_now_button)
    app.action(ActionId.HELP_SYNC_DRY_RUN.value, **guarded)(dry_run_button)
    register_config(app)
    register_home(app)
    register_report_commands(app)
    register_checklist_actions(app)
    register_alert_actions(app)
    register_approval_actions(app)
    register_wizard(app)
    register_option_loaders(app)
    register_unlink(app)
    register_relations(app)
    register_policy(app)
