"""What one person sees in the simulated Slack, as the JSON the browser console renders.

A person sees the channels they are a member of and their direct messages with the app; in each, the
bot's messages (threads under their parent), the ephemeral messages sent to them alone, and Slackbot's
notes to them (a slash command that failed, ...). Then their modal stack (bottom first), their App Home
view, the workspace's directory (to render mentions) and the last Web API calls the app made (the
console's call log). Nothing here changes the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack_workspace import SlackChannel, SlackRecorder, SlackUser

MESSAGES_PER_CHANNEL = 300
CALLS_SHOWN = 60
SLACKBOT_ID = "USLACKBOT"


@dataclass
class Note:
    """Something Slack itself tells one person ("/seats failed with the error ..."), shown as Slackbot's."""

    channel: str
    user_id: str
    text: str
    ts: str


def person_summary(rec: SlackRecorder, user: SlackUser) -> dict[str, Any]:
    roles = ["owner" if user.is_owner else "admin"] if user.is_admin or user.is_owner else []
    groups = [f"@{g.handle}" for g in rec.usergroups.values() if user.id in g.members]
    return {"id": user.id, "name": user.name, "real_name": user.real_name, "title": user.title,
            "roles": roles, "groups": groups}


def people(rec: SlackRecorder) -> list[dict[str, Any]]:
    return [person_summary(rec, u) for u in rec.users.values() if not u.is_bot and not u.deleted]


def visible_channels(rec: SlackRecorder, user: SlackUser) -> list[SlackChannel]:
    """The channels the person is in (by name), then their direct messages with the app."""
    joined = sorted((c for c in rec.channels.values() if not c.is_im and user.id in c.members),
                    key=lambda c: c.name)
    dm = rec.channels.get(user.dm_channel)
    return joined + ([dm] if dm is not None else [])


def _channel_summary(channel: SlackChannel) -> dict[str, Any]:
    kind = "im" if channel.is_im else "private" if channel.is_private else "channel"
    return {"id": channel.id, "name": channel.name, "kind": kind, "bot_is_member": channel.is_member,
            "archived": channel.is_archived}


def _shown(message: dict[str, Any], *, ephemeral: bool, rec: SlackRecorder) -> dict[str, Any]:
    author = rec.users.get(message.get("user", ""))
    return {
        "ts": message["ts"], "thread_ts": message.get("thread_ts"), "user": message.get("user"),
        "author": author.real_name if author else "Slackbot", "bot": bool(message.get("bot_id")),
        "text": message.get("text", ""), "blocks": message.get("blocks"), "attachments": message.get("attachments"),
        "edited": bool(message.get("edited")), "ephemeral": ephemeral,
    }


def channel_messages(rec: SlackRecorder, channel: SlackChannel, user: SlackUser, notes: list[Note]
                     ) -> list[dict[str, Any]]:
    shown = [_shown(m, ephemeral=False, rec=rec) for m in rec.channel_messages(channel.id)]
    shown += [_shown(m.message, ephemeral=True, rec=rec) for m in rec.ephemeral_messages(user.id)
              if m.channel == channel.id]
    shown += [{"ts": n.ts, "thread_ts": None, "user": SLACKBOT_ID, "author": "Slackbot", "bot": True, "text": n.text,
               "blocks": None, "attachments": None, "edited": False, "ephemeral": True}
              for n in notes if n.user_id == user.id and n.channel == channel.id]
    shown.sort(key=lambda m: m["ts"])
    return shown[-MESSAGES_PER_CHANNEL:]


def directory(rec: SlackRecorder) -> dict[str, Any]:
    """Names for mentions: `<@U…>`, `<#C…>`, `<!subteam^S…>`."""
    return {
        "users": {u.id: {"name": u.name, "real_name": u.real_name} for u in rec.users.values()},
        "channels": {c.id: {"name": c.name, "kind": _channel_summary(c)["kind"]} for c in rec.channels.values()},
        "usergroups": {g.id: {"handle": g.handle, "name": g.name} for g in rec.usergroups.values()},
    }


def recent_calls(rec: SlackRecorder) -> list[dict[str, Any]]:
    return [{"method": c.method, "ok": c.ok, "error": c.error, "status": c.status, "at": c.at}
            for c in rec.calls()[-CALLS_SHOWN:]]


def person_view(rec: SlackRecorder, user_id: str, *, notes: list[Note], request_url: str | None,
                workspaces: list[dict[str, Any]] | None = None, install_url: str | None = None) -> dict[str, Any]:
    """Everything the browser shows to `user_id`; `workspaces`: every workspace's console (when there are several),
    `install_url`: where this workspace installs the app (when it can and has not)."""
    user = rec.users[user_id]
    channels = visible_channels(rec, user)
    return {
        "team": {"id": rec.team_id, "name": rec.team_name, "domain": rec.team_domain},
        "app": {"name": rec.bot_user.real_name, "bot_user_id": rec.bot_user.id, "request_url": request_url},
        "me": person_summary(rec, user),
        "people": people(rec),
        "channels": [_channel_summary(c) for c in channels],
        "messages": {c.id: channel_messages(rec, c, user, notes) for c in channels},
        "modals": rec.open_views(user.id),
        "home": rec.home_view(user.id),
        "directory": directory(rec),
        "calls": recent_calls(rec),
        "workspaces": workspaces or [],
        "install_url": install_url,
    }
