"""Bolt middleware: the application context in every listener's arguments, and who may use a listener.

`with_app_context` is global middleware: it puts the application context into Bolt's `context` under
`APP_CONTEXT`, so a listener asks for it by that name (`async def submit(ack, body, app_context)`), as it asks
for `ack` or `client`. `billing_team_only` and `admins_only` are listener middleware
(`app.view(..., middleware=[billing_team_only])`): a listener behind one runs only for someone allowed, and
everyone else is answered where they acted, with the refusal naming who can (`bot.slack.access`):
- a modal submitted: the modal becomes a notice saying so (nothing is saved);
- a button in a modal: the modal becomes that notice;
- a button on a message: an ephemeral reply, the message left as it is.
The `/seats` subcommands are guarded by the router's table (`bot.commands.router`), with the same checks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.access import is_billing_member, load_billing_team, refusal
from bot.slack.admins import admin_refusal, is_config_admin
from bot.slack.modal_state import notice_view, replace_view

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

APP_CONTEXT = "app_context"  # the key in Bolt's context, so the name of a listener's argument
NOT_ALLOWED = "Not allowed"  # the title of a modal turned into a billing-team refusal
CONFIG_TITLE = "SeatSync config"  # ... into an admin refusal (the config modal's own title)

Next = Callable[[], Awaitable[None]]


def with_app_context(app_context: AppContext):
    """Global middleware: every listener and listener middleware can name `app_context`."""

    async def put_app_context(context: AsyncBoltContext, next: Next) -> None:  # noqa: A002 - Bolt's name
        context[APP_CONTEXT] = app_context
        await next()

    return put_app_context


async def refusal_for_billing_team(app_context: AppContext, client: AsyncWebClient, user_id: str) -> str | None:
    """None for a billing-team member (everyone, while no team is set); else the refusal naming who can."""
    team = await load_billing_team(sessions=app_context.sessions, settings=app_context.settings)
    return None if await is_billing_member(team, user_id, client) else refusal(team)


async def refusal_for_admins(app_context: AppContext, client: AsyncWebClient, user_id: str) -> str | None:
    """None for a SeatSync admin (`bot.slack.admins`); else the refusal naming who can."""
    team = await load_billing_team(sessions=app_context.sessions, settings=app_context.settings)
    return None if await is_config_admin(team, user_id, client) else admin_refusal(team)


async def billing_team_only(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
                            app_context: AppContext, next: Next) -> BoltResponse | None:  # noqa: A002
    """Listener middleware: the listener runs for the billing team only."""
    refused = await refusal_for_billing_team(app_context, client, body["user"]["id"])
    if refused is None:
        await next()
        return None
    return await _refuse(ack, body, client, respond, refused, title=NOT_ALLOWED)


async def admins_only(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
                      app_context: AppContext, next: Next) -> BoltResponse | None:  # noqa: A002
    """Listener middleware: the listener runs for SeatSync's admins only."""
    refused = await refusal_for_admins(app_context, client, body["user"]["id"])
    if refused is None:
        await next()
        return None
    return await _refuse(ack, body, client, respond, refused, title=CONFIG_TITLE)


async def _refuse(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond | None,
                  text: str, *, title: str) -> BoltResponse | None:
    """Answer the refused request where the person acted; the answer Bolt returns to Slack (the listener is
    not run: a listener middleware that does not call `next` returns the response instead)."""
    log.info("refused %s by %s: %s", body.get("type"), body["user"]["id"], title)
    if body.get("type") == "view_submission":
        await ack(response_action="update", view=notice_view(title, text))
    else:
        await ack()
        if body.get("view"):
            await replace_view(client, body["view"], notice_view(title, text))
        elif respond is not None:
            await respond(text=text, response_type="ephemeral", replace_original=False)
    return ack.response
