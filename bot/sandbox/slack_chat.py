"""chat.postMessage, chat.postEphemeral, chat.update, chat.delete and response_url posts.

Behaviour per Slack's method reference (errors as listed in the Slack OpenAPI document in
tests/specs and in slack-ruby/slack-api-ref `methods/chat/*.json`):
- the channel may be an id, a name ("#billing-alerts") or a user id (the app's DM with that user);
  an unknown channel, or a private one the bot is not in, is `channel_not_found`; a public channel the
  bot has not joined is `not_in_channel` (the app is assumed not to hold `chat:write.public`);
- `no_text` when there is neither text, blocks nor attachments; `invalid_blocks_format` when `blocks`
  is not a JSON array; `invalid_blocks` with `response_metadata.messages` when a block is invalid;
- text longer than 40,000 characters is truncated, not refused (Slack's chat.postMessage docs:
  "Slack will truncate messages containing more than 40,000 characters");
- chat.update / chat.delete: `message_not_found`, and `cant_update_message` / `cant_delete_message`
  for a message the bot did not post; chat.update keeps blocks / attachments it is not given.

response_url posts (hooks.slack.com in real life) are JSON bodies with text/blocks, `response_type`
(ephemeral by default, or in_channel), `replace_original`, `delete_original`. A URL works 5 times
within 30 minutes. Their error replies are not well documented; we answer
`{"ok": false, "error": ...}` with 404 `no_service` (unknown URL), 404 `expired_url`, 404 `used_url`,
400 `invalid_payload`, 400 `no_text`, 400 `invalid_blocks` — our choice, recorded here.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_args import json_field, optional, required
from bot.sandbox.slack_blocks import MAX_MESSAGE_TEXT, fill_ids, validate_message_blocks
from bot.sandbox.slack_workspace import (
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_S,
    SlackChannel,
    SlackMessage,
    SlackMethodError,
    SlackRecorder,
)

_MISSING = object()


def postable_channel(rec: SlackRecorder, ref: str) -> SlackChannel:
    channel = rec.resolve_channel(ref)
    if channel is None or (channel.is_private and not channel.is_im and not channel.is_member):
        raise SlackMethodError("channel_not_found")
    if channel.is_archived:
        raise SlackMethodError("is_archived")
    if not channel.is_member:
        raise SlackMethodError("not_in_channel")
    return channel


def message_content(rec: SlackRecorder, args: dict[str, Any], *, require_content: bool = True
                    ) -> tuple[str | None, Any, Any]:
    """(text, blocks, attachments) from the arguments; blocks/attachments are _MISSING when not given."""
    blocks = json_field(args, "blocks", "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackMethodError("invalid_blocks_format")
    if blocks is not None:
        problems = validate_message_blocks(blocks)
        if problems:
            raise SlackMethodError("invalid_blocks", messages=problems)
        fill_ids(blocks, lambda: rec.random_token(5))
    attachments = json_field(args, "attachments", "invalid_attachments")
    if attachments is not None:
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise SlackMethodError("invalid_attachments")
        if len(attachments) > 100:
            raise SlackMethodError("too_many_attachments")
        for i, attachment in enumerate(attachments):
            inner = attachment.get("blocks")
            problems = validate_message_blocks(inner, f"/attachments/{i}/blocks") if inner is not None else []
            if problems:
                raise SlackMethodError("invalid_attachments", messages=problems)
    text = optional(args, "text")
    if require_content and not text and not blocks and not attachments:
        raise SlackMethodError("no_text")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        text = text[:MAX_MESSAGE_TEXT]
    return (text, _MISSING if blocks is None else blocks, _MISSING if attachments is None else attachments)


def bot_profile(rec: SlackRecorder) -> dict[str, Any]:
    icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_{}.png"
    return {"id": rec.bot_id, "deleted": False, "name": rec.bot_user.real_name, "updated": 1_700_000_000,
            "app_id": rec.app_id, "icons": {"image_36": icon.format(36), "image_48": icon.format(48),
                                           "image_72": icon.format(72)}, "team_id": rec.team_id}


def _bot_message(rec: SlackRecorder, text: str | None, blocks: Any, attachments: Any,
                 thread_ts: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"user": rec.bot_user.id, "type": "message", "ts": rec.next_ts(), "bot_id": rec.bot_id,
                               "app_id": rec.app_id, "text": text or "", "team": rec.team_id,
                               "bot_profile": bot_profile(rec)}
    if blocks is not _MISSING:
        message["blocks"] = blocks
    if attachments is not _MISSING:
        message["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments)]
    if thread_ts:
        message["thread_ts"] = thread_ts
        message["parent_user_id"] = rec.bot_user.id
    return message


def chat_post_message(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    channel = postable_channel(rec, required(args, "channel"))
    text, blocks, attachments = message_content(rec, args)
    message = _bot_message(rec, text, blocks, attachments, optional(args, "thread_ts"))
    rec.messages[(channel.id, message["ts"])] = SlackMessage(channel=channel.id, message=message)
    return {"channel": channel.id, "ts": message["ts"], "message": message}


def chat_post_ephemeral(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    channel = postable_channel(rec, required(args, "channel"))
    user_id = required(args, "user")
    if user_id not in rec.users:
        raise SlackMethodError("user_not_found")
    if not channel.is_im and user_id not in channel.members:
        raise SlackMethodError("user_not_in_channel")
    text, blocks, attachments = message_content(rec, args)
    message = _bot_message(rec, text, blocks, attachments, optional(args, "thread_ts"))
    rec.ephemeral.append(SlackMessage(channel=channel.id, message=message, ephemeral_to=user_id))
    return {"message_ts": message["ts"]}


def _own_message(rec: SlackRecorder, args: dict[str, Any], refusal: str) -> SlackMessage:
    channel = rec.resolve_channel(required(args, "channel"))
    if channel is None or (channel.is_private and not channel.is_im and not channel.is_member):
        raise SlackMethodError("channel_not_found")
    stored = rec.messages.get((channel.id, required(args, "ts")))
    if stored is None or stored.deleted:
        raise SlackMethodError("message_not_found")
    if stored.message.get("bot_id") != rec.bot_id:
        raise SlackMethodError(refusal)
    return stored


def _apply_update(rec: SlackRecorder, message: dict[str, Any], text: str | None, blocks: Any, attachments: Any
                  ) -> None:
    if text is not None:
        message["text"] = text
    if blocks is not _MISSING:
        message["blocks"] = blocks
    if attachments is not _MISSING:
        message["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments)]
    message["edited"] = {"user": rec.bot_user.id, "ts": rec.next_ts()}


def chat_update(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    stored = _own_message(rec, args, "cant_update_message")
    text, blocks, attachments = message_content(rec, args)
    _apply_update(rec, stored.message, text, blocks, attachments)
    reply = {key: stored.message[key] for key in ("bot_id", "type", "text", "user", "team", "app_id", "blocks",
                                                   "attachments", "edited", "bot_profile") if key in stored.message}
    return {"channel": stored.channel, "ts": stored.ts, "text": stored.message["text"], "message": reply}


def chat_delete(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    stored = _own_message(rec, args, "cant_delete_message")
    stored.deleted = True
    return {"channel": stored.channel, "ts": stored.ts}


def post_to_response_url(rec: SlackRecorder, url_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    """Apply a response_url post; (HTTP status, reply body)."""
    target = rec.response_urls.get(url_id)
    if target is None:
        return 404, {"ok": False, "error": "no_service"}
    if rec.now() - target.issued_at > RESPONSE_URL_TTL_S:
        return 404, {"ok": False, "error": "expired_url"}
    if target.uses >= RESPONSE_URL_MAX_USES:
        return 404, {"ok": False, "error": "used_url"}
    if not isinstance(body, dict):
        return 400, {"ok": False, "error": "invalid_payload"}
    target.uses += 1
    original = _original_message(rec, target.channel_id, target.message_ts)
    if body.get("delete_original") in (True, "true"):
        if original is not None:
            original.deleted = True
        return 200, {"ok": True}
    try:
        text, blocks, attachments = message_content(rec, body)
    except SlackMethodError as exc:
        return 400, exc.body()
    channel_id = target.channel_id or (rec.users[target.user_id].dm_channel if target.user_id in rec.users else "")
    if body.get("replace_original") in (True, "true") and original is not None:
        _apply_update(rec, original.message, text, blocks, attachments)
        return 200, {"ok": True}
    message = _bot_message(rec, text, blocks, attachments, body.get("thread_ts"))
    if body.get("response_type") == "in_channel":
        rec.messages[(channel_id, message["ts"])] = SlackMessage(channel=channel_id, message=message)
    else:
        rec.ephemeral.append(SlackMessage(channel=channel_id, message=message, ephemeral_to=target.user_id))
    return 200, {"ok": True}


def _original_message(rec: SlackRecorder, channel_id: str | None, ts: str | None) -> SlackMessage | None:
    if not channel_id or not ts:
        return None
    public = rec.messages.get((channel_id, ts))
    if public is not None:
        return public
    return next((m for m in rec.ephemeral if m.channel == channel_id and m.ts == ts), None)


def command_reply(rec: SlackRecorder, *, channel_id: str, user_id: str, command: str, body: Any) -> list[str]:
    """What Slack shows for a slash command's HTTP answer (Slack's "Responding to slash commands"): nothing for an
    empty body; a plain text or JSON `{text, blocks, response_type}` body is a message from the app, ephemeral to
    the person unless `response_type` is `in_channel` (then the command is shown in the channel before it).
    Returns what Slack would refuse in the answer (then nothing is shown)."""
    if body in (None, "", {}):
        return []
    args = body if isinstance(body, dict) else {"text": str(body)}
    try:
        text, blocks, attachments = message_content(rec, args)
    except SlackMethodError as exc:
        return [exc.error, *exc.extra.get("response_metadata", {}).get("messages", [])]
    if args.get("response_type") == "in_channel":
        rec.add_user_message(channel_id, user_id, command)
        message = _bot_message(rec, text, blocks, attachments)
        rec.messages[(channel_id, message["ts"])] = SlackMessage(channel=channel_id, message=message)
    else:
        message = _bot_message(rec, text, blocks, attachments)
        rec.ephemeral.append(SlackMessage(channel=channel_id, message=message, ephemeral_to=user_id))
    rec.changed()
    return []
