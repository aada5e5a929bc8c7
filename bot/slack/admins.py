"""Who may change SeatSync's configuration (`/seats config`): its admins.

An admin is
- a workspace admin or owner (users.info `is_admin` / `is_owner` / `is_primary_owner`), always; or
- a member of the *configured* billing team (`bot.slack.access`).
Unlike syncing, configuration is not opened to everyone when no billing team is configured (the demo
rule): it holds the marketplace and PSA credentials, so until a team is set only workspace admins may
set it up. A Slack error reading the user counts as "not a workspace admin" (and is logged).
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.access import BillingTeam, is_billing_member

log = logging.getLogger(__name__)


async def is_workspace_admin(user_id: str, client: AsyncWebClient) -> bool:
    try:
        reply = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("cannot read Slack user %s to check admin rights: %s", user_id, exc.response.get("error"))
        return False
    user = reply.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


async def is_config_admin(team: BillingTeam, user_id: str, client: AsyncWebClient) -> bool:
    if not team.open_to_everyone and await is_billing_member(team, user_id, client):
        return True
    return await is_workspace_admin(user_id, client)


def admin_refusal(team: BillingTeam) -> str:
    who = "workspace admins and owners"
    if not team.open_to_everyone:
        who += f", and the billing team: {team.who_can_act()}"
    return f"Only SeatSync admins can change its configuration: {who}."
