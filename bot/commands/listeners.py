"""Every Slack listener, registered on the Bolt app in one place, behind the global middleware.

Global middleware, in order: the application context into Bolt's context (`bot.slack.guards`), the tenant of the
request's workspace (`bot.slack.tenants`: a workspace without an installed tenant is refused), then Slack's
retries of deliveries that already ran dropped (`bot.slack.deliveries`). Each family registers its own
listeners, plain top-level functions, with `billing_team_only` or `admins_only` where they need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from bot.commands.approvals.handlers import register_approval_actions
from bot.commands.checklist.handlers import register_checklist_actions
from bot.commands.config.handlers import register_config
from bot.commands.home.handlers import register_home
from bot.commands.link.options import register_option_loaders
from bot.commands.link.unlink import register_unlink
from bot.commands.link.wizard import register_wizard
from bot.commands.policy.handlers import register_policy
from bot.commands.relations.handlers import register_relations
from bot.commands.reports.handlers import register_report_commands
from bot.commands.router import SLASH_COMMAND, seats
from bot.commands.sync.handlers import dry_run_button, sync_now_button
from bot.commands.sync.retry import register_alert_actions
from bot.slack.deliveries import SeenDeliveries, drop_repeated_deliveries
from bot.slack.guards import billing_team_only, with_app_context
from bot.slack.ids import ActionId
from bot.slack.inbound import from_a_message
from bot.slack.tenants import in_request_tenant

if TYPE_CHECKING:
    from bot.app_context import AppContext


def register_commands(app: AsyncApp, app_context: AppContext, *, seen: SeenDeliveries | None = None) -> None:
    app.middleware(with_app_context(app_context))
    app.middleware(in_request_tenant(app_context))
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
