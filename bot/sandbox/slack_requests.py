"""Plays Slack toward the app: signed slash commands, interactivity payloads and Events API deliveries.

`SlackRequestSender` builds each request as Slack does and POSTs it to the app's Slack endpoint:
- slash commands: `application/x-www-form-urlencoded` fields;
- block_actions / view_submission / view_closed / block_suggestion: `application/x-www-form-urlencoded` with one
  field, `payload=<JSON>`;
- Events API (`event_callback`, `url_verification`): `application/json`.
Every request carries `X-Slack-Request-Timestamp` and `X-Slack-Signature` =
`"v0=" + hex(HMAC-SHA256(signing_secret, f"v0:{timestamp}:{raw_body}"))` (shared/apis/slack.md A4),
and Slack's User-Agent. `Delivery` can forge the signature, skew the timestamp (Bolt refuses anything
more than 5 minutes off) or add the `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` headers of an
Events API redelivery.

trigger_ids and response_urls in the payloads are issued by the `SlackRecorder`, so the simulator
enforces their rules (a trigger works once within 3 s; a response_url 5 times within 30 min). After a
view_submission the sender applies the app's ack to the recorder's modal stack (close, clear, update,
push, errors) and reports in `SlackReply.problems` whatever Slack would have refused; after a
block_suggestion it checks the options answer against Slack's limits.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from bot.sandbox.slack_files import share_events, share_file
from bot.sandbox.slack_payloads import (
    build_action,
    event_envelope,
    interaction_base,
    locate,
    option_problems,
    slash_command_fields,
    submission_state,
)
from bot.sandbox.slack_views import apply_submission_ack, close_view
from bot.sandbox.slack_workspace import SlackChannel, SlackRecorder, SlackUser, SlackView

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def slack_signature(signing_secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(signing_secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return "v0=" + digest


@dataclass
class Delivery:
    """How to deliver one request: a forged signature, a skewed clock, or a retry's headers."""

    forge_signature: bool = False
    timestamp_skew_s: float = 0.0  # e.g. -600 for a request older than Bolt's 5-minute window
    retry_num: int | None = None
    retry_reason: str | None = None  # http_timeout, http_error, too_many_requests, ...


@dataclass
class SlackReply:
    status: int
    body: str
    json: Any
    headers: dict[str, str]
    payload: Any  # what was sent, decoded (dict, or the list of slash command fields)
    raw_body: str
    content_type: str
    problems: list[str] = field(default_factory=list)  # what Slack would refuse in the app's answer


class SlackRequestSender:
    def __init__(self, *, signing_secret: str, events_url: str, recorder: SlackRecorder,
                 clock: Callable[[], float] = time.time, client: Any = None,
                 session: aiohttp.ClientSession | None = None, slack_base_url: str | None = None,
                 default_user_id: str | None = None, default_channel_id: str | None = None) -> None:
        """`client` is an aiohttp test client (then `events_url` is a path); else `session` or our own."""
        self.signing_secret = signing_secret
        self.events_url = events_url
        self.recorder = recorder
        self.clock = clock
        self._client = client
        self._session = session
        self._own_session = False
        if slack_base_url is not None:
            recorder.base_url = slack_base_url.rstrip("/")
        self.default_user_id = default_user_id
        self.default_channel_id = default_channel_id

    async def __aenter__(self) -> SlackRequestSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    # --- who and where ---------------------------------------------------------------------------

    def _user(self, user_id: str | None) -> SlackUser:
        rec = self.recorder
        chosen = user_id or self.default_user_id or next(u.id for u in rec.users.values() if not u.is_bot)
        if chosen not in rec.users:
            raise ValueError(f"no user {chosen} in the simulated workspace")
        return rec.users[chosen]

    def _channel(self, channel_id: str | None) -> SlackChannel:
        rec = self.recorder
        ref = channel_id or self.default_channel_id
        channel = rec.resolve_channel(ref) if ref else next(
            (c for c in rec.channels.values() if c.is_member and not c.is_im and not c.is_private), None)
        if channel is None:
            raise ValueError(f"no channel {ref} in the simulated workspace")
        return channel

    def _view(self, view: str | dict[str, Any]) -> SlackView:
        view_id = view if isinstance(view, str) else view.get("id", "")
        stored = self.recorder.views.get(view_id)
        if stored is None:
            raise ValueError(f"no view {view_id} in the simulated workspace")
        return stored

    # --- the requests ----------------------------------------------------------------------------

    async def slash_command(self, text: str = "", *, user_id: str | None = None, channel_id: str | None = None,
                            command: str = "/seats", delivery: Delivery | None = None) -> SlackReply:
        rec = self.recorder
        user, channel = self._user(user_id), self._channel(channel_id)
        fields = slash_command_fields(
            rec, text=text, command=command, user=user, channel=channel,
            trigger_id=rec.issue_trigger_id(user.id),
            response_url=rec.new_response_url(kind="commands", channel_id=channel.id, user_id=user.id))
        return await self._send(urlencode(fields), "application/x-www-form-urlencoded", fields, delivery)

    async def block_actions(self, action_id: str, *, value: Any = None, block_id: str | None = None,
                            view: str | dict[str, Any] | None = None, message: str | dict[str, Any] | None = None,
                            channel_id: str | None = None, user_id: str | None = None,
                            selected_option: Any = None, selected_options: Any = None,
                            values: dict[str, Any] | None = None, delivery: Delivery | None = None) -> SlackReply:
        """A click (or selection) on `action_id`, in a view (modal / Home tab) or in a message. `values`: what
        the person has entered in the view's inputs by then (as for view_submission); Slack sends it along."""
        rec = self.recorder
        user = self._user(user_id)
        payload = interaction_base(rec, "block_actions", user)
        if view is not None:
            stored = self._view(view)
            if values is not None:
                stored.body["state"] = {"values": submission_state(stored.body, values, check_required=False)}
            surface_blocks = stored.body["blocks"]
            payload["container"] = {"type": "view", "view_id": stored.id}
            payload["trigger_id"] = rec.issue_trigger_id(user.id, view_id=stored.id)
            payload["view"] = copy.deepcopy(stored.body)
            payload["state"] = copy.deepcopy(stored.body.get("state", {"values": {}}))
        elif message is not None:
            channel_ref, stored_message, ephemeral = self._message(message, channel_id)
            surface_blocks = stored_message.get("blocks", [])
            payload["container"] = {"type": "message", "message_ts": stored_message["ts"],
                                    "channel_id": channel_ref.id, "is_ephemeral": ephemeral}
            payload["trigger_id"] = rec.issue_trigger_id(user.id)
            payload["channel"] = {"id": channel_ref.id, "name": channel_ref.name if not channel_ref.is_im
                                  else "directmessage"}
            if not ephemeral:
                payload["message"] = copy.deepcopy(stored_message)
            payload["state"] = {"values": {}}
            payload["response_url"] = rec.new_response_url(kind="actions", channel_id=channel_ref.id, user_id=user.id,
                                                           message_ts=stored_message["ts"], ephemeral=ephemeral)
        else:
            raise ValueError("block_actions needs the view or the message the action happened in")
        found_block_id, element = locate(surface_blocks, action_id, block_id)
        payload["actions"] = [build_action(element, action_id=action_id, block_id=found_block_id,
                                           action_ts=rec.next_ts(), value=value, selected_option=selected_option,
                                           selected_options=selected_options)]
        return await self._send_interaction(payload, delivery)

    def _message(self, message: str | dict[str, Any], channel_id: str | None
                 ) -> tuple[SlackChannel, dict[str, Any], bool]:
        rec = self.recorder
        ts = message if isinstance(message, str) else message.get("ts", "")
        for (cid, mts), stored in rec.messages.items():
            if mts == ts and (channel_id is None or cid == channel_id):
                return rec.channels[cid], stored.message, False
        for stored in rec.ephemeral:
            if stored.ts == ts and (channel_id is None or stored.channel == channel_id):
                return rec.channels[stored.channel], stored.message, True
        raise ValueError(f"no message with ts {ts} in the simulated workspace")

    async def view_submission(self, view: str | dict[str, Any], values: dict[str, Any] | None = None, *,
                              user_id: str | None = None, delivery: Delivery | None = None) -> SlackReply:
        """The user presses Submit on an open modal with `values` ({block_id: {action_id: choice}})."""
        rec = self.recorder
        stored = self._view(view)
        if not stored.open:
            raise ValueError(f"view {stored.id} is not open; the user cannot submit it")
        user = self._user(user_id or stored.user_id)
        stored.body["state"] = {"values": submission_state(stored.body, values or {})}
        payload = interaction_base(rec, "view_submission", user)
        payload["trigger_id"] = rec.issue_trigger_id(user.id, view_id=stored.id)
        payload["view"] = copy.deepcopy(stored.body)
        payload["response_urls"] = []
        reply = await self._send_interaction(payload, delivery)
        if reply.status == 200:
            reply.problems = apply_submission_ack(rec, stored.id, reply.json)
        else:
            reply.problems = [f"the app answered HTTP {reply.status}; Slack shows the user an error"]
        return reply

    async def view_closed(self, view: str | dict[str, Any], *, user_id: str | None = None, is_cleared: bool = False,
                          delivery: Delivery | None = None) -> SlackReply | None:
        """The user closes a modal (its Close button or ✕; `is_cleared` when the whole stack goes). The view
        leaves the stack; Slack tells the app only when the view asked (`notify_on_close`), else None."""
        rec = self.recorder
        stored = self._view(view)
        if not stored.open:
            raise ValueError(f"view {stored.id} is not open; the user cannot close it")
        user = self._user(user_id or stored.user_id)
        payload = interaction_base(rec, "view_closed", user)
        payload["view"] = copy.deepcopy(stored.body)
        payload["is_cleared"] = is_cleared
        close_view(rec, stored.id, whole_stack=is_cleared)
        if not stored.body.get("notify_on_close"):
            return None
        return await self._send_interaction(payload, delivery)

    async def block_suggestion(self, action_id: str, value: str, *, view: str | dict[str, Any] | None = None,
                               message: str | dict[str, Any] | None = None, block_id: str | None = None,
                               user_id: str | None = None, delivery: Delivery | None = None) -> SlackReply:
        """The user types `value` into an external_select; the app answers with options."""
        rec = self.recorder
        user = self._user(user_id)
        payload = interaction_base(rec, "block_suggestion", user)
        if view is not None:
            stored = self._view(view)
            found_block_id, _ = locate(stored.body["blocks"], action_id, block_id)
            payload["container"] = {"type": "view", "view_id": stored.id}
            payload["view"] = copy.deepcopy(stored.body)
        elif message is not None:
            channel, stored_message, ephemeral = self._message(message, None)
            found_block_id, _ = locate(stored_message.get("blocks", []), action_id, block_id)
            payload["container"] = {"type": "message", "message_ts": stored_message["ts"], "channel_id": channel.id,
                                    "is_ephemeral": ephemeral}
            payload["channel"] = {"id": channel.id, "name": channel.name}
        else:
            raise ValueError("block_suggestion needs the view or the message holding the select")
        payload.update({"action_id": action_id, "block_id": found_block_id, "value": value})
        reply = await self._send_interaction(payload, delivery)
        reply.problems = option_problems(reply.json) if reply.status == 200 else [f"HTTP {reply.status}"]
        return reply

    async def app_home_opened(self, user_id: str | None = None, *, delivery: Delivery | None = None) -> SlackReply:
        rec = self.recorder
        user = self._user(user_id)
        event: dict[str, Any] = {"type": "app_home_opened", "user": user.id, "channel": user.dm_channel,
                                 "tab": "home", "event_ts": rec.next_ts()}
        home = rec.home_view(user.id)
        if home is not None:
            event["view"] = copy.deepcopy(home)
        return await self.event_callback(event, delivery=delivery)

    async def file_shared(self, name: str, content: bytes, *, user_id: str | None = None,
                          channel_id: str | None = None) -> tuple[str, list[SlackReply]]:
        """A person shares a file in a conversation (their DM with the app by default): the file is stored in the
        workspace and Slack sends `file_shared` and the `message` of subtype `file_share`. Returns the file id."""
        rec = self.recorder
        user = self._user(user_id)
        shared = share_file(rec, user_id=user.id, channel_id=channel_id or user.dm_channel, name=name,
                            content=content)
        replies = [await self.event_callback(event) for event in share_events(rec, shared)]
        return shared.id, replies

    async def event_callback(self, event: dict[str, Any], *, delivery: Delivery | None = None,
                             event_id: str | None = None) -> SlackReply:
        rec = self.recorder
        envelope = event_envelope(rec, event, event_id=event_id or rec.new_id("Ev0"),
                                  event_time=int(rec.now()))
        return await self._send(json.dumps(envelope), "application/json", envelope, delivery)

    async def url_verification(self, challenge: str | None = None, *, delivery: Delivery | None = None
                               ) -> SlackReply:
        rec = self.recorder
        payload = {"token": rec.verification_token, "challenge": challenge or rec.random_token(48),
                   "type": "url_verification"}
        return await self._send(json.dumps(payload), "application/json", payload, delivery)

    async def redeliver(self, reply: SlackReply, *, retry_num: int = 1, retry_reason: str = "http_timeout"
                        ) -> SlackReply:
        """Send the same body again as Slack's Events API retry (same event_id, fresh signature)."""
        return await self._send(reply.raw_body, reply.content_type, reply.payload,
                                Delivery(retry_num=retry_num, retry_reason=retry_reason))

    # --- signing and sending ---------------------------------------------------------------------

    async def _send_interaction(self, payload: dict[str, Any], delivery: Delivery | None) -> SlackReply:
        raw = "payload=" + quote(json.dumps(payload))
        return await self._send(raw, "application/x-www-form-urlencoded", payload, delivery)

    def headers_for(self, raw_body: str, content_type: str, delivery: Delivery | None = None) -> dict[str, str]:
        delivery = delivery or Delivery()
        timestamp = str(int(self.clock() + delivery.timestamp_skew_s))
        secret = self.signing_secret + "-forged" if delivery.forge_signature else self.signing_secret
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, "Accept": "application/json,*/*",
                   "X-Slack-Request-Timestamp": timestamp,
                   "X-Slack-Signature": slack_signature(secret, timestamp, raw_body)}
        if delivery.retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(delivery.retry_num)
            headers["X-Slack-Retry-Reason"] = delivery.retry_reason or "http_timeout"
        return headers

    async def _send(self, raw_body: str, content_type: str, payload: Any, delivery: Delivery | None) -> SlackReply:
        headers = self.headers_for(raw_body, content_type, delivery)
        poster = self._client
        if poster is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
                self._own_session = True
            poster = self._session
        async with poster.post(self.events_url, data=raw_body.encode(), headers=headers) as response:
            text = await response.text()
            reply_headers = dict(response.headers)
            status = response.status
        try:
            parsed: Any = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        return SlackReply(status=status, body=text, json=parsed, headers=reply_headers, payload=payload,
                          raw_body=raw_body, content_type=content_type)
