"""auth.test, api.test, users.info, usergroups.list, usergroups.users.list, conversations.info, conversations.members.

Bodies follow the success schemas of the Slack OpenAPI document in tests/specs (field names; the
tests validate them against it). Errors: `user_not_found`; `no_such_subteam` for an unknown user
group (Slack's reference for usergroups.*: "No usergroup found with the given ID");
`channel_not_found` for an unknown channel or a private one the bot is not in; conversations.members
pages with `limit` (1..1000, default 100; otherwise `invalid_limit`) and an opaque `cursor`
(base64 of "user:<id>", as Slack's look; a bad one is `invalid_cursor`), ending with
`response_metadata.next_cursor == ""`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from bot.sandbox.slack_args import flag, integer, optional, required
from bot.sandbox.slack_workspace import SlackChannel, SlackMethodError, SlackRecorder, SlackUser


def auth_test(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    return {"url": f"https://{rec.team_domain}.slack.com/", "team": rec.team_name, "user": rec.bot_user.name,
            "team_id": rec.team_id, "user_id": rec.bot_user.id, "bot_id": rec.bot_id,
            "is_enterprise_install": False}


def api_test(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    if "error" in args:
        raise SlackMethodError(str(args["error"]), extra={"args": dict(args)})
    return {"args": dict(args)} if args else {}


def user_object(rec: SlackRecorder, user: SlackUser, *, include_locale: bool = False) -> dict[str, Any]:
    first, _, last = user.real_name.partition(" ")
    avatar = hashlib.sha1(user.id.encode(), usedforsecurity=False).hexdigest()[:12]
    image = "https://secure.gravatar.com/avatar/" + avatar + ".jpg?s={}"
    profile: dict[str, Any] = {
        "title": user.title, "phone": "", "skype": "", "real_name": user.real_name,
        "real_name_normalized": user.real_name, "display_name": user.name, "display_name_normalized": user.name,
        "fields": None, "status_text": "", "status_emoji": "", "status_expiration": 0, "avatar_hash": avatar,
        "first_name": first, "last_name": last, "team": rec.team_id,
        **{f"image_{n}": image.format(n) for n in (24, 32, 48, 72, 192, 512)},
    }
    if user.email and not user.is_bot:
        profile["email"] = user.email
    if user.is_bot:
        profile.update({"bot_id": rec.bot_id, "api_app_id": rec.app_id, "always_active": True})
    body: dict[str, Any] = {
        "id": user.id, "team_id": rec.team_id, "name": user.name, "deleted": user.deleted, "color": "9f69e7",
        "real_name": user.real_name, "tz": user.tz, "tz_label": user.tz_label, "tz_offset": user.tz_offset,
        "profile": profile, "is_admin": user.is_admin, "is_owner": user.is_owner,
        "is_primary_owner": user.is_owner, "is_restricted": False, "is_ultra_restricted": False,
        "is_bot": user.is_bot, "is_app_user": False, "updated": 1_700_000_000, "has_2fa": False,
    }
    if include_locale:
        body["locale"] = "en-US"
    return body


def users_info(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    user = rec.users.get(optional(args, "user") or "")
    if user is None:
        raise SlackMethodError("user_not_found")
    return {"user": user_object(rec, user, include_locale=flag(args, "include_locale"))}


def usergroups_users_list(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    group = rec.usergroups.get(required(args, "usergroup"))
    if group is None:
        raise SlackMethodError("no_such_subteam")
    return {"users": list(group.members)}


def usergroups_list(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    with_users = flag(args, "include_users")
    groups = []
    for group in rec.usergroups.values():
        item: dict[str, Any] = {"id": group.id, "team_id": rec.team_id, "is_usergroup": True, "is_subteam": True,
                                "name": group.name, "description": "", "handle": group.handle, "is_external": False,
                                "date_create": 1_600_000_000, "date_update": 1_600_000_000, "date_delete": 0,
                                "auto_type": None, "auto_provision": False, "enterprise_subteam_id": "",
                                "created_by": rec.bot_user.id, "updated_by": rec.bot_user.id,
                                "deleted_by": None, "prefs": {"channels": [], "groups": []},
                                "user_count": len(group.members)}
        if with_users:
            item["users"] = list(group.members)
        groups.append(item)
    return {"usergroups": groups}


def _visible_channel(rec: SlackRecorder, args: dict[str, Any]) -> SlackChannel:
    channel = rec.channels.get(optional(args, "channel") or "")
    if channel is None or (channel.is_private and not channel.is_im and not channel.is_member):
        raise SlackMethodError("channel_not_found")
    return channel


def conversations_info(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    channel = _visible_channel(rec, args)
    body: dict[str, Any] = {"id": channel.id, "created": channel.created, "is_im": channel.is_im,
                            "is_org_shared": False, "is_archived": channel.is_archived}
    if channel.is_im:
        body.update({"user": next((m for m in channel.members if m != rec.bot_user.id), ""), "is_user_deleted": False,
                     "priority": 0})
    else:
        creator = next(iter(channel.members), rec.bot_user.id)
        body.update({
            "name": channel.name, "name_normalized": channel.name, "is_channel": not channel.is_private,
            "is_group": channel.is_private, "is_mpim": False, "is_private": channel.is_private,
            "is_general": channel.name == "general", "is_shared": False, "is_ext_shared": False,
            "is_pending_ext_shared": False, "pending_shared": [], "is_member": channel.is_member, "creator": creator,
            "unlinked": 0, "parent_conversation": None, "shared_team_ids": [rec.team_id], "previous_names": [],
            "topic": {"value": channel.topic, "creator": "", "last_set": 0},
            "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
        })
    if flag(args, "include_num_members") and not channel.is_im:
        body["num_members"] = len(channel.members)
    if flag(args, "include_locale"):
        body["locale"] = "en-US"
    return {"channel": body}


def conversations_members(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    channel = _visible_channel(rec, args)
    limit = integer(args, "limit", 100, "invalid_limit")
    if not 1 <= limit <= 1000:
        raise SlackMethodError("invalid_limit")
    members = list(channel.members)
    start = 0
    cursor = optional(args, "cursor")
    if cursor is not None:
        try:
            decoded = base64.b64decode(cursor, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise SlackMethodError("invalid_cursor") from exc
        user_id = decoded.removeprefix("user:")
        if not decoded.startswith("user:") or user_id not in members:
            raise SlackMethodError("invalid_cursor")
        start = members.index(user_id)
    page = members[start:start + limit]
    rest = members[start + limit:]
    next_cursor = base64.b64encode(f"user:{rest[0]}".encode()).decode() if rest else ""
    return {"members": page, "response_metadata": {"next_cursor": next_cursor}}
