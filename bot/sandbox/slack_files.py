"""Files people share in the simulated workspace: `files.info`, the private download URL, and the events a share
sends (`file_shared`, and the `message` of subtype `file_share` in the conversation it was shared in).

As Slack: `files.info` needs the file to be visible to the bot (shared in a conversation the bot is in, or in its
DM) and answers `file_not_found` otherwise; `url_private` / `url_private_download` serve the bytes only with the
bot token as a bearer `Authorization` header; without it (or with another token) Slack answers its sign-in page,
HTML with status 200, never the file, so a client must check what it got.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.slack_args import required
from bot.sandbox.slack_workspace import SlackMethodError

if TYPE_CHECKING:
    from bot.sandbox.slack_workspace import SlackRecorder

SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"
FILETYPES = {".csv": ("csv", "CSV"), ".xlsx": ("xlsx", "Excel Spreadsheet"), ".txt": ("text", "Plain Text"),
             ".png": ("png", "PNG"), ".pdf": ("pdf", "PDF")}


@dataclass
class SlackFile:
    id: str
    name: str
    content: bytes
    user: str
    channel: str  # the conversation it was shared in
    created: int
    deleted: bool = False
    shares: list[str] = field(default_factory=list)

    def kind(self) -> tuple[str, str]:
        suffix = "." + self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        return FILETYPES.get(suffix, ("binary", "Binary"))


def share_file(rec: SlackRecorder, *, user_id: str, channel_id: str, name: str, content: bytes) -> SlackFile:
    """A person uploads `name` into `channel_id` (a channel or a DM)."""
    shared = SlackFile(id=rec.new_id("F0"), name=name, content=content, user=user_id, channel=channel_id,
                       created=int(rec.now()), shares=[channel_id])
    rec.files[shared.id] = shared
    return shared


def file_object(rec: SlackRecorder, shared: SlackFile) -> dict[str, Any]:
    filetype, pretty = shared.kind()
    base = (rec.base_url or "").rstrip("/")
    path = f"{base}/files-pri/{rec.team_id}-{shared.id}/{shared.name}"
    mimetype = mimetypes.guess_type(shared.name)[0] or "application/octet-stream"
    return {"id": shared.id, "created": shared.created, "timestamp": shared.created, "name": shared.name,
            "title": shared.name, "mimetype": mimetype, "filetype": filetype, "pretty_type": pretty,
            "user": shared.user, "user_team": rec.team_id, "editable": False, "size": len(shared.content),
            "mode": "hosted", "is_external": False, "external_type": "", "is_public": False,
            "public_url_shared": False, "display_as_bot": False, "username": "", "url_private": path,
            "url_private_download": path + "?download=1",
            "permalink": f"https://{rec.team_domain}.slack.com/files/{shared.user}/{shared.id}/{shared.name}",
            "channels": [c for c in shared.shares if c.startswith("C")],
            "groups": [c for c in shared.shares if c.startswith("G")],
            "ims": [c for c in shared.shares if c.startswith("D")], "comments_count": 0}


def files_info(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    shared = rec.files.get(required(args, "file", "file_not_found"))
    if shared is None or not _visible_to_bot(rec, shared):
        raise SlackMethodError("file_not_found")
    if shared.deleted:
        raise SlackMethodError("file_deleted")
    return {"file": file_object(rec, shared), "comments": [], "response_metadata": {"next_cursor": ""}}


def _visible_to_bot(rec: SlackRecorder, shared: SlackFile) -> bool:
    for channel_id in shared.shares:
        channel = rec.channels.get(channel_id)
        if channel is not None and (channel.is_member or rec.bot_user.id in channel.members):
            return True
    return False


def share_events(rec: SlackRecorder, shared: SlackFile) -> list[dict[str, Any]]:
    """What Slack sends the app for one share: `file_shared`, then the conversation's `message` with the file."""
    channel = rec.channels.get(shared.channel)
    channel_type = "im" if channel is not None and channel.is_im else "channel"
    ts = rec.next_ts()
    return [
        {"type": "file_shared", "channel_id": shared.channel, "file_id": shared.id, "user_id": shared.user,
         "file": {"id": shared.id}, "event_ts": ts},
        {"type": "message", "subtype": "file_share", "text": "", "files": [file_object(rec, shared)],
         "upload": False, "user": shared.user, "display_as_bot": False, "ts": ts, "channel": shared.channel,
         "channel_type": channel_type, "event_ts": ts},
    ]


def serve_download(rec: SlackRecorder, request: web.Request) -> web.Response:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    team_and_id = request.match_info["file_ref"]
    shared = rec.files.get(team_and_id.split("-", 1)[-1])
    rec.record("files-pri", {"file": team_and_id}, 200, {"ok": token == rec.bot_token}, http_method="GET")
    if token != rec.bot_token or shared is None or shared.deleted:
        return web.Response(body=SIGN_IN_PAGE, content_type="text/html")
    mimetype = mimetypes.guess_type(shared.name)[0] or "application/octet-stream"
    return web.Response(body=shared.content, content_type=mimetype,
                        headers={"Content-Disposition": f'attachment; filename="{shared.name}"'})
