"""App Home: the dashboard published when someone opens the Home tab, and its shortcut buttons.

A shortcut runs the same `/seats` subcommand the person could type (sync, sync --dry-run, checklist,
report, link, config), through the router's dispatcher, with the app's DM with them as the channel:
replies and summaries land in the Messages tab, a modal opens from the click's trigger_id. After *Sync
now* the dashboard is published again, so the new sync's result shows at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.home.views import home_view
from bot.commands.router import seats
from bot.services.dashboard import home_dashboard
from bot.services.home_viewers import remember_home_viewer
from bot.slack.ids import HomeId, SealedFor
from bot.slack.inbound import from_a_view
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import open_state, seal_state

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

SHORTCUT_TEXT = {HomeId.SYNC: "sync", HomeId.DRY_RUN: "sync --dry-run", HomeId.CHECKLIST: "checklist",
                 HomeId.REPORTS: "report", HomeId.LINK: "link", HomeId.CONFIG: "config"}
REFRESH_AFTER = {HomeId.SYNC}  # the only shortcut that changes what the dashboard shows


def register_home(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)
    for action_id in SHORTCUT_TEXT:
        app.action(action_id.value, matchers=[from_a_view])(shortcut)


async def publish_home(*, app_context: AppContext, client: AsyncWebClient, user_id: str, dm_channel: str) -> None:
    async with app_context.sessions() as session:
        dashboard = await home_dashboard(session=session, now=app_context.clock())
    metadata = seal_state(app_context, SealedFor.HOME, {"dm": dm_channel})
    try:
        await client.views_publish(user_id=user_id, view=home_view(dashboard, metadata=metadata))
    except SlackApiError as exc:
        log.warning("cannot publish App Home for %s: %s", user_id, exc.response.get("error"))


async def home_opened(event: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    if event.get("tab") != "home":
        return  # the Messages tab
    dm_channel = event.get("channel") or event["user"]
    await publish_home(app_context=app_context, client=client, user_id=event["user"], dm_channel=dm_channel)
    async with app_context.sessions() as session:  # so a sync typed in a channel refreshes this tab too
        await remember_home_viewer(session=session, user_id=event["user"], dm_channel=dm_channel,
                                   now=app_context.clock())


async def shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    """A Home button: the `/seats` subcommand it stands for (`SHORTCUT_TEXT`), through the router."""
    await ack()
    action_id = HomeId(body["actions"][0]["action_id"])
    user = body["user"]
    dm_channel = _dm_channel(app_context, body.get("view") or {}, user["id"])

    async def reply(text: str | None = None, blocks: list[dict[str, Any]] | None = None, **_: Any) -> None:
        if text or blocks:
            try:
                await client.chat_postMessage(channel=dm_channel, text=text or "", blocks=blocks)
            except SlackApiError as exc:
                log.warning("cannot answer %s's App Home shortcut: %s", user["id"], exc.response.get("error"))

    command = {"command": "/seats", "text": SHORTCUT_TEXT[action_id], "user_id": user["id"],
               "user_name": user.get("username", ""), "channel_id": dm_channel, "channel_name": "directmessage",
               "team_id": (body.get("team") or {}).get("id"), "trigger_id": body.get("trigger_id"),
               "response_url": None}
    await seats(ack=reply, command=command, respond=reply, client=client, app_context=app_context)
    if action_id in REFRESH_AFTER:
        await publish_home(app_context=app_context, client=client, user_id=user["id"], dm_channel=dm_channel)


def _dm_channel(app_context: AppContext, view: dict[str, Any], user_id: str) -> str:
    """The app's DM with the person, as App Home's event named it (kept in the Home view's metadata)."""
    try:
        return str(open_state(app_context, SealedFor.HOME, view.get("private_metadata"))["dm"])
    except (TamperedMetadata, KeyError):
        return user_id  # chat.postMessage to a user id posts in the app's DM with them
