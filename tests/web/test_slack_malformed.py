"""Signed but malformed bodies at /slack/events: each is refused with a 4xx before any listener runs, never a
500, and nothing is logged as an unhandled exception. The bodies start from what Slack really sends (the
simulator's payload builders) and break one thing each; every one is signed with the app's secret."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from bot.app_factory import create_context
from bot.config import load_settings
from bot.sandbox.slack_payloads import event_envelope, interaction_base, slash_command_fields
from bot.sandbox.slack_requests import SlackRequestSender
from tests.commands.test_seats_command import BILLING_CHANNEL, DANA, SECRET, TOKEN, slack  # noqa: F401
from tests.conftest import make_env
from web.app import create_app

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
HUGE_ID = "12345678901234567890123"  # 23 digits: beyond any id column (and int64)


@dataclass
class Edge:
    """The app behind /slack/events and a way to POST any bytes to it, signed as Slack signs."""

    recorder: Any
    sender: SlackRequestSender
    client: Any

    async def post(self, raw: str | bytes, content_type: str | None, *, signed: bool = True) -> tuple[int, str]:
        data = raw.encode() if isinstance(raw, str) else raw
        headers = self.sender.headers_for("", content_type or "")  # Slack's headers, re-signed below
        if content_type is None:
            del headers["Content-Type"]
        timestamp = headers["X-Slack-Request-Timestamp"]
        secret = SECRET if signed else SECRET + "-forged"
        headers["X-Slack-Signature"] = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + data,
                                                        hashlib.sha256).hexdigest()
        async with self.client.post("/slack/events", data=data, headers=headers) as response:
            return response.status, await response.text()


@pytest.fixture
async def edge(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, server = slack
    api_url = str(server.make_url("/slack/api/"))
    settings = load_settings(make_env(tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET=SECRET,
                                      SLACK_BOT_TOKEN=TOKEN, SEATSYNC_SLACK_API_URL=api_url), dotenv_path=None)
    client = await aiohttp_client(create_app(create_context(settings), run_scheduler=False))
    sender = SlackRequestSender(signing_secret=SECRET, events_url="/slack/events", recorder=recorder, client=client,
                                default_user_id=DANA, default_channel_id=BILLING_CHANNEL)
    return Edge(recorder, sender, client)


# --- realistic bodies, then one thing broken -----------------------------------------------------------

def _command(rec) -> dict[str, str]:
    user, channel = rec.users[DANA], rec.channels[BILLING_CHANNEL]
    return dict(slash_command_fields(rec, text="sync", command="/seats", user=user, channel=channel,
                                     trigger_id=rec.issue_trigger_id(user.id),
                                     response_url=rec.new_response_url(channel_id=channel.id, user_id=user.id)))


def _click(rec, action_id: str = "seats_help_sync", value: Any = "x") -> dict[str, Any]:
    payload = interaction_base(rec, "block_actions", rec.users[DANA])
    payload.update({"container": {"type": "message", "message_ts": "1.2", "channel_id": BILLING_CHANNEL,
                                  "is_ephemeral": False},
                    "trigger_id": rec.issue_trigger_id(DANA), "channel": {"id": BILLING_CHANNEL, "name": "billing"},
                    "response_url": rec.new_response_url(kind="actions", channel_id=BILLING_CHANNEL, user_id=DANA),
                    "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                                 "action_ts": "1.3"}]})
    return payload


def _submission(rec) -> dict[str, Any]:
    payload = interaction_base(rec, "view_submission", rec.users[DANA])
    payload.update({"trigger_id": rec.issue_trigger_id(DANA), "response_urls": [],
                    "view": {"id": "V0TEST0001", "type": "modal", "callback_id": "seats_config", "hash": "1.a",
                             "private_metadata": "", "blocks": [], "state": {"values": {}}}})
    return payload


def _suggestion(rec) -> dict[str, Any]:
    payload = interaction_base(rec, "block_suggestion", rec.users[DANA])
    payload.update({"action_id": "seats_link_pick_company", "block_id": "b1", "value": "acme",
                    "container": {"type": "view", "view_id": "V0TEST0001"},
                    "view": {"id": "V0TEST0001", "type": "modal", "callback_id": "seats_link_wizard", "hash": "1.a",
                             "private_metadata": "", "blocks": [], "state": {"values": {}}}})
    return payload


def _event(rec) -> dict[str, Any]:
    return event_envelope(rec, {"type": "app_home_opened", "user": DANA, "channel": "D0DANA0001", "tab": "home",
                                "event_ts": "1.2"}, event_id="Ev0TEST01", event_time=1)


def _form(fields: dict[str, Any]) -> tuple[str, str]:
    return urlencode(fields), FORM


def _payload(payload: Any) -> tuple[str, str]:
    return "payload=" + quote(json.dumps(payload)), FORM


def _broken(build: Callable[[Any], dict[str, Any]], change: Callable[[dict[str, Any]], Any],
            wrap: Callable[[Any], tuple[str, str]] = _payload) -> Callable[[Any], tuple[str, str]]:
    def body(rec) -> tuple[str, str]:
        value = copy.deepcopy(build(rec))
        changed = change(value)
        return wrap(value if changed is None else changed)

    return body


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def change(value: dict[str, Any]) -> None:
        for key in path[:-1]:
            value = value[key]
        del value[path[-1]]

    return change


def _set(new: Any, *path: str | int) -> Callable[[dict[str, Any]], None]:
    def change(value: Any) -> None:
        for key in path[:-1]:
            value = value[key]
        value[path[-1]] = new

    return change


CASES: dict[str, Callable[[Any], tuple[str | bytes, str | None]]] = {
    # the body as a whole
    "form without payload": lambda rec: ("foo=bar&baz=1", FORM),
    "payload that is not JSON": lambda rec: ("payload=" + quote("{not json"), FORM),
    "payload that is a JSON list": lambda rec: ("payload=" + quote("[1, 2]"), FORM),
    "payload that is a JSON string": lambda rec: ("payload=" + quote('"block_actions"'), FORM),
    "payload that is null": lambda rec: ("payload=null", FORM),
    "empty payload": lambda rec: ("payload=", FORM),
    "JSON body that is a list": lambda rec: ("[1, 2]", JSON),
    "JSON body that is not JSON": lambda rec: ("{not json", JSON),
    "empty body": lambda rec: ("", FORM),
    "url-encoded garbage": lambda rec: ("%ZZ&&==&payload", FORM),
    "a field without a value": lambda rec: ("command", FORM),
    "a field twice": lambda rec: ("command=%2Fseats&command=%2Fother", FORM),
    "bad percent-encoding": lambda rec: ("payload=%FF%FE", FORM),
    "not UTF-8": lambda rec: (b"payload=\xff\xfe", FORM),
    # the Content-Type
    "an interaction sent as JSON": lambda rec: (_payload(_click(rec))[0], JSON),
    "an event sent as a form": lambda rec: (json.dumps(_event(rec)), FORM),
    "a command sent as JSON": lambda rec: (urlencode(_command(rec)), JSON),
    "text/plain": lambda rec: (json.dumps(_event(rec)), "text/plain"),
    "no Content-Type": lambda rec: (urlencode(_command(rec)), None),
    # the type
    "payload without type": _broken(_click, _drop("type")),
    "payload of an unknown type": _broken(_click, _set("frobnicate", "type")),
    "type that is not a string": _broken(_click, _set(["block_actions"], "type")),
    # who acted
    "block_actions without user": _broken(_click, _drop("user")),
    "user that is a string": _broken(_click, _set(DANA, "user")),
    "user without id": _broken(_click, _drop("user", "id")),
    "team that is a list": _broken(_click, _set(["T1"], "team")),
    "trigger_id that is an object": _broken(_click, _set({"id": 1}, "trigger_id")),
    # the actions
    "actions that are not a list": _broken(_click, _set({"0": {"action_id": "seats_help_sync"}}, "actions")),
    "actions that are empty": _broken(_click, _set([], "actions")),
    "an action that is not an object": _broken(_click, _set(["seats_help_sync"], "actions")),
    "an action without action_id": _broken(_click, _drop("actions", 0, "action_id")),
    "a button value that is a number": _broken(_click, _set(12, "actions", 0, "value")),
    "a selected option that is a string": _broken(_click, _set("12", "actions", 0, "selected_option")),
    "selected options that are not a list": _broken(_click, _set({"value": "1"}, "actions", 0, "selected_options")),
    "an option without value": _broken(_click, _set([{"text": {}}], "actions", 0, "selected_options")),
    "a message click without its channel": _broken(_click, _drop("channel")),
    "a message click without response_url": _broken(_click, _drop("response_url")),
    "a click without container": _broken(_click, _drop("container")),
    # views
    "view_submission without view": _broken(_submission, _drop("view")),
    "view without state": _broken(_submission, _drop("view", "state")),
    "state without values": _broken(_submission, _drop("view", "state", "values")),
    "state values that are a list": _broken(_submission, _set([], "view", "state", "values")),
    "a state entry that is a string": _broken(_submission, _set({"b": {"a": "x"}}, "view", "state", "values")),
    "a state entry whose value is a list": _broken(
        _submission, _set({"b": {"a": {"type": "plain_text_input", "value": ["x"]}}}, "view", "state", "values")),
    "private_metadata that is an object": _broken(_submission, _set({"k": 1}, "view", "private_metadata")),
    "view without id": _broken(_submission, _drop("view", "id")),
    "view without hash": _broken(_submission, _drop("view", "hash")),
    "view blocks that are not a list": _broken(_submission, _set({}, "view", "blocks")),
    "a suggestion's view without state": _broken(_suggestion, _drop("view", "state")),
    # options loading
    "block_suggestion without value": _broken(_suggestion, _drop("value")),
    "block_suggestion value that is a number": _broken(_suggestion, _set(7, "value")),
    "block_suggestion without action_id": _broken(_suggestion, _drop("action_id")),
    # slash commands
    "command without user_id": _broken(_command, _drop("user_id"), _form),
    "command without response_url": _broken(_command, _drop("response_url"), _form),
    "command without trigger_id": _broken(_command, _drop("trigger_id"), _form),
    # the Events API
    "event_callback without event": _broken(_event, _drop("event"), lambda v: (json.dumps(v), JSON)),
    "event that is a string": _broken(_event, _set("app_home_opened", "event"), lambda v: (json.dumps(v), JSON)),
    "event without type": _broken(_event, _drop("event", "type"), lambda v: (json.dumps(v), JSON)),
    "app_home_opened without user": _broken(_event, _drop("event", "user"), lambda v: (json.dumps(v), JSON)),
    "event_id that is a number": _broken(_event, _set(7, "event_id"), lambda v: (json.dumps(v), JSON)),
    "url_verification without challenge": lambda rec: (json.dumps({"type": "url_verification", "token": "t"}), JSON),
}


def exceptions_logged(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()]


@pytest.mark.parametrize("case", list(CASES))
async def test_a_signed_malformed_body_is_refused_with_a_4xx(edge, caplog, case):
    caplog.set_level(logging.DEBUG)
    raw, content_type = CASES[case](edge.recorder)

    status, text = await edge.post(raw, content_type)

    assert status == 400, (status, text)
    assert json.loads(text)["error"].startswith("malformed Slack request: ")
    assert exceptions_logged(caplog) == []
    assert edge.recorder.calls() == []  # no listener ran


@pytest.mark.parametrize("case", ["payload that is not JSON", "JSON body that is a list", "block_actions without user",
                                  "url-encoded garbage"])
async def test_an_unsigned_malformed_body_is_refused_before_it_is_read(edge, caplog, case):
    raw, content_type = CASES[case](edge.recorder)

    status, _ = await edge.post(raw, content_type, signed=False)

    assert status == 401
    assert exceptions_logged(caplog) == []


async def test_the_well_formed_bodies_the_cases_start_from_are_handled(edge, caplog):
    """The bases are accepted, so each case above is refused for the one thing it breaks."""
    rec = edge.recorder
    assert (await edge.post(*_form(_command(rec))))[0] == 200
    assert (await edge.post(*_payload(_click(rec))))[0] == 200
    assert (await edge.post(*_payload(_suggestion(rec))))[0] == 200
    assert (await edge.post(json.dumps(_event(rec)), JSON))[0] == 200
    submitted = await edge.post(*_payload(_submission(rec)))
    assert submitted[0] == 200 and "altered" in submitted[1]  # unsealed metadata: refused by the config modal
    assert exceptions_logged(caplog) == []


async def test_a_command_from_a_channel_named_payload_is_not_dropped(edge):
    """Bolt reads any form body containing "payload" as an empty body; the command would be 'unhandled'."""
    rec = edge.recorder
    channel = rec.add_channel("payload-team")
    fields = {**_command(rec), "channel_id": channel.id, "channel_name": "payload-team", "text": "frobnicate payload"}

    status, text = await edge.post(*_form(fields))

    assert status == 200 and "I don't know `/seats frobnicate payload`" in json.loads(text)["text"]
