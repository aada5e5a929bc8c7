"""What a person's clicks in the browser console become: the signed requests Slack sends the app.

The browser says what the person did (typed `/seats link` in #billing-alerts, picked an option, pressed
Submit); this module checks that Slack's client would let them (the view is theirs and open, the message is
one they can see), builds Slack's payload with `SlackRequestSender` (a fresh trigger_id from the simulated
workspace, the view's state as the person filled it in, signed with the signing secret), POSTs it to the
app's request URL and does with the answer what Slack does: a slash command's body becomes an ephemeral
message, a view_submission's `response_action` changes the modal stack, a block_suggestion's options go
back to the select. When the app does not answer in time (Slack waits 3 s) or answers an error, Slack's
own words are shown: `/seats failed with the error "operation_timeout"`, or a toast in the browser.
The browser never sees the signing secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.sandbox.slack_blocks import find_element
from bot.sandbox.slack_chat import command_reply
from bot.sandbox.slack_console.surfaces import Note
from bot.sandbox.slack_payloads import MULTI_OPTION, SINGLE_OPTION
from bot.sandbox.slack_requests import SlackReply, SlackRequestSender
from bot.sandbox.slack_views import close_view
from bot.sandbox.slack_workspace import SlackRecorder, SlackView

SLACK_TIMEOUT_S = 3.0  # Slack gives up on an app's answer after 3 seconds
TROUBLE = "We had some trouble connecting. Try again?"  # what Slack's client shows when an interaction fails


class Refused(Exception):
    """Something Slack's client would not let the person do (HTTP status for the browser, and why)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Outcome:
    """What the browser is told after an interaction; the rest arrives through the workspace's state."""

    notice: str | None = None  # Slack's words when the app failed to answer properly
    errors: dict[str, str] = field(default_factory=dict)  # view_submission `response_action: errors`
    options: list[Any] | None = None  # block_suggestion
    option_groups: list[Any] | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.notice is None}
        if self.notice is not None:
            body["notice"] = self.notice
        if self.errors:
            body["errors"] = self.errors
        if self.options is not None:
            body["options"] = self.options
        if self.option_groups is not None:
            body["option_groups"] = self.option_groups
        return body


@dataclass
class Surface:
    """Where an action happened: a view (modal or Home tab), or a message in a channel."""

    view: SlackView | None = None
    channel_id: str | None = None
    ts: str | None = None

    @property
    def blocks(self) -> list[Any]:
        return self.view.body.get("blocks", []) if self.view is not None else []


class ConsoleInteractions:
    def __init__(self, recorder: SlackRecorder, request_url: Callable[[], str | None], *,
                 timeout_s: float = SLACK_TIMEOUT_S) -> None:
        self.recorder = recorder
        self.request_url = request_url
        self.timeout_s = timeout_s
        self.notes: list[Note] = []
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- what the person may do ------------------------------------------------------------------

    def person(self, user_id: Any) -> str:
        user = self.recorder.users.get(str(user_id or ""))
        if user is None or user.is_bot or user.deleted:
            raise Refused(404, f"no person {user_id!r} in this workspace")
        return user.id

    def channel_for(self, user_id: str, channel_id: Any) -> str:
        channel = self.recorder.channels.get(str(channel_id or ""))
        if channel is None or user_id not in channel.members:
            raise Refused(403, f"{user_id} is not in channel {channel_id!r}")
        return channel.id

    def surface(self, user_id: str, where: Any) -> Surface:
        """The view or message `where` names, if this person can see it."""
        rec = self.recorder
        where = where if isinstance(where, dict) else {}
        if where.get("view_id"):
            view = rec.views.get(str(where["view_id"]))
            if view is None or view.user_id != user_id or not view.open:
                raise Refused(403, f"view {where['view_id']!r} is not open for {user_id}")
            return Surface(view=view)
        channel_id, ts = str(where.get("channel") or ""), str(where.get("ts") or "")
        stored = rec.messages.get((channel_id, ts))
        if stored is not None and not stored.deleted and user_id in rec.channels[channel_id].members:
            return Surface(channel_id=channel_id, ts=ts)
        if any(m.channel == channel_id and m.ts == ts for m in rec.ephemeral_messages(user_id)):
            return Surface(channel_id=channel_id, ts=ts)
        raise Refused(403, f"no message {ts!r} in {channel_id!r} that {user_id} can see")

    # --- sending ---------------------------------------------------------------------------------

    def _sender(self) -> SlackRequestSender:
        url = self.request_url()
        if not url:
            raise Refused(409, "no app is connected to this Slack: tell the sandbox where the app's Slack endpoint "
                               "is (seatsync sandbox --slack-request-url, or PUT /admin/slack/request-url)")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return SlackRequestSender(signing_secret=self.recorder.signing_secret, events_url=url,
                                  recorder=self.recorder, session=self._session)

    async def _deliver(self, send: Awaitable[Any]) -> Any:
        """The app's reply, or the error Slack reports when there is none in time ("operation_timeout") or the
        app cannot be reached ("dispatch_failed")."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await send
        except TimeoutError:
            return "operation_timeout"
        except aiohttp.ClientError:
            return "dispatch_failed"
        except ValueError as exc:  # the sender's own check: what Slack's client would not send
            raise Refused(400, str(exc)) from exc
        finally:
            self.recorder.changed()

    def _note(self, channel: str, user_id: str, text: str) -> None:
        self.notes.append(Note(channel=channel, user_id=user_id, text=text, ts=self.recorder.next_ts()))
        self.recorder.changed()

    # --- the interactions ------------------------------------------------------------------------

    async def command(self, user_id: Any, channel_id: Any, text: Any) -> Outcome:
        user = self.person(user_id)
        channel = self.channel_for(user, channel_id)
        typed = str(text or "").strip()
        if not typed.startswith("/"):  # an ordinary message: the app is not subscribed to message events
            if typed:
                self.recorder.add_user_message(channel, user, typed)
                self.recorder.changed()
            return Outcome()
        command, _, arguments = typed.partition(" ")
        if command != "/seats":
            self._note(channel, user, f"{command} is not a valid command. In Slack, all messages that start with "
                                      "the \"/\" character are interpreted as commands.")
            return Outcome()
        reply = await self._deliver(self._sender().slash_command(arguments.strip(), user_id=user, channel_id=channel,
                                                                 command=command))
        if isinstance(reply, str) or reply.status != 200:
            error = reply if isinstance(reply, str) else "dispatch_failed"
            self._note(channel, user, f"{command} failed with the error \"{error}\"")
            return Outcome()
        body = reply.json if reply.json is not None else reply.body
        problems = command_reply(self.recorder, channel_id=channel, user_id=user, command=typed, body=body)
        if problems:
            self._note(channel, user, f"{command} failed with the error \"invalid_blocks\" ({'; '.join(problems)})")
        return Outcome()

    async def act(self, user_id: Any, where: Any, action_id: Any, block_id: Any, choice: Any, values: Any
                  ) -> Outcome:
        """A click, a pick or a tick on an interactive element: block_actions."""
        user = self.person(user_id)
        surface = self.surface(user, where)
        blocks = surface.blocks if surface.view is not None else self._message_blocks(surface)
        found = find_element(blocks, str(action_id or ""))
        if found is None:
            raise Refused(404, f"no element {action_id!r} there")
        kind = found[1].get("type", "button")
        given: dict[str, Any] = {}
        if kind in SINGLE_OPTION:
            given["selected_option"] = choice
        elif kind in MULTI_OPTION:
            given["selected_options"] = list(choice or [])
        elif kind != "button":
            given["value"] = choice
        sender = self._sender()
        block = str(block_id or found[0].get("block_id") or "")
        if surface.view is not None:
            send = sender.block_actions(str(action_id), view=surface.view.id, user_id=user, block_id=block,
                                        values=self._values(values), **given)
        else:
            send = sender.block_actions(str(action_id), message=surface.ts, channel_id=surface.channel_id,
                                        user_id=user, block_id=block, **given)
        return self._outcome(await self._deliver(send))

    async def submit(self, user_id: Any, view_id: Any, values: Any) -> Outcome:
        user = self.person(user_id)
        surface = self.surface(user, {"view_id": view_id})
        assert surface.view is not None
        reply = await self._deliver(self._sender().view_submission(surface.view.id, self._values(values),
                                                                   user_id=user))
        outcome = self._outcome(reply)
        if isinstance(reply, SlackReply) and reply.status == 200:
            if reply.problems:
                outcome.notice = f"{TROUBLE} (Slack refused the app's answer: {'; '.join(reply.problems)})"
            elif isinstance(reply.json, dict) and reply.json.get("response_action") == "errors":
                outcome.errors = {str(k): str(v) for k, v in (reply.json.get("errors") or {}).items()}
        return outcome

    async def close_modal(self, user_id: Any, view_id: Any, *, cleared: bool) -> Outcome:
        """Close (the top view: back to the one below) or ✕ (`cleared`: the whole stack); view_closed if asked."""
        user = self.person(user_id)
        surface = self.surface(user, {"view_id": view_id})
        assert surface.view is not None
        if surface.view.body.get("type") != "modal":
            raise Refused(400, "only a modal can be closed")
        if not self.request_url():  # no app to tell: the view just closes
            close_view(self.recorder, surface.view.id, whole_stack=cleared)
            self.recorder.changed()
            return Outcome()
        reply = await self._deliver(self._sender().view_closed(surface.view.id, user_id=user, is_cleared=cleared))
        return Outcome() if reply is None else self._outcome(reply)

    async def suggest(self, user_id: Any, where: Any, action_id: Any, block_id: Any, typed: Any) -> Outcome:
        """The person types into an external select: block_suggestion, answered with the options at once."""
        user = self.person(user_id)
        surface = self.surface(user, where)
        sender = self._sender()
        if surface.view is not None:
            send = sender.block_suggestion(str(action_id or ""), str(typed or ""), view=surface.view.id,
                                           block_id=str(block_id or "") or None, user_id=user)
        else:
            send = sender.block_suggestion(str(action_id or ""), str(typed or ""), message=surface.ts,
                                           block_id=str(block_id or "") or None, user_id=user)
        reply = await self._deliver(send)
        outcome = self._outcome(reply)
        if isinstance(reply, SlackReply) and reply.status == 200:
            if reply.problems:
                outcome.notice = f"Slack refused the app's options: {'; '.join(reply.problems)}"
            else:
                outcome.options = reply.json.get("options")
                outcome.option_groups = reply.json.get("option_groups")
        return outcome

    async def open_home(self, user_id: Any) -> Outcome:
        """The person opens the app's Home tab: the `app_home_opened` event."""
        user = self.person(user_id)
        return self._outcome(await self._deliver(self._sender().app_home_opened(user)))

    # --- helpers -----------------------------------------------------------------------------------

    def _message_blocks(self, surface: Surface) -> list[Any]:
        stored = self.recorder.messages.get((surface.channel_id or "", surface.ts or ""))
        if stored is not None:
            return stored.message.get("blocks") or []
        ephemeral = next(m for m in self.recorder.ephemeral if m.channel == surface.channel_id and m.ts == surface.ts)
        return ephemeral.message.get("blocks") or []

    @staticmethod
    def _values(values: Any) -> dict[str, Any]:
        if values is None:
            return {}
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise Refused(400, "values must map block_id to {action_id: choice}")
        return values

    @staticmethod
    def _outcome(reply: SlackReply | str) -> Outcome:
        if isinstance(reply, str):
            return Outcome(notice=f"{TROUBLE} (the app did not answer: {reply})")
        if reply.status != 200:
            return Outcome(notice=f"{TROUBLE} (the app answered HTTP {reply.status})")
        return Outcome()
