"""What a request to /slack/events may hold, read before Bolt sees it; and ids read out of what Slack sends.

Slack sends a slash command as form fields, an interaction as one form field `payload=<JSON object>`,
and an Events API delivery as a JSON object (shared/apis/slack.md A4, A6-A9). `read_slack_body` parses
exactly that, by the Content-Type, and checks that the body carries what Slack always sends and what the
listeners rely on: who acted, the action list, the view and its state, the typed value of an options
request, the event. Anything else is a `MalformedRequest`, answered 400 before any listener runs, so a
signed but malformed body never reaches a handler that would fail on it (or Bolt's own parsing, which
raises on a bad `payload` and misreads any form body containing the word "payload").

`row_id` reads a database id out of a button value or an option (`whole_number` an index or a page):
ASCII digits within range (the id columns are PostgreSQL `integer`), or None. A 23-digit id is "not one of
ours", not an overflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FORM_FIELDS = 50
MAX_ROW_ID = 2**31 - 1  # the id columns are `integer` on PostgreSQL

SLASH_COMMAND_FIELDS = ("command", "text", "user_id", "channel_id", "team_id", "trigger_id", "response_url")
# what each element type puts in an action or a view's state entry, and the JSON type it must have
STRING_FIELDS = ("value", "selected_date", "selected_time", "selected_user", "selected_conversation",
                 "selected_channel")
STRING_LIST_FIELDS = ("selected_users", "selected_conversations", "selected_channels")


class MalformedRequest(ValueError):
    """The body is not something Slack sends (or lacks what it always sends); the message says what."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """The body as the listeners will see it; MalformedRequest when it is not a request Slack would send."""
    media = media_type(content_type)
    if media == JSON:
        body = _json_object(raw, "the JSON body")
    elif media == FORM:
        fields = _form_fields(raw)
        body = _json_object(fields["payload"], "the payload field") if "payload" in fields else fields
    else:
        raise MalformedRequest(f"Slack sends {FORM} or {JSON}, not {media or 'no Content-Type'}")
    _check(body)
    return body


def row_id(value: Any) -> int | None:
    """A database id from what Slack sent back (a button value, a selected option), or None."""
    number = whole_number(value, maximum=MAX_ROW_ID)
    return number if number else None


def whole_number(value: Any, *, maximum: int) -> int | None:
    """0..maximum from a string of ASCII digits (or an int), else None: "²" and "١٢" are digits to
    str.isdigit(), and a 23-digit number would overflow the database; neither is an index we handed out."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= len(str(maximum)):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= maximum else None


# --- parsing -----------------------------------------------------------------------------------------

def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise MalformedRequest(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what} is not a JSON object")
    return value


def _form_fields(raw: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True, errors="strict",
                          max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # a field without "=", bad percent-encoding, too many fields
        raise MalformedRequest("the form body cannot be read") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise MalformedRequest("the form body repeats a field")
    return fields


# --- shape -------------------------------------------------------------------------------------------

def _check(body: dict[str, Any]) -> None:
    if "command" in body:
        _slash_command(body)
        return
    if body.get("ssl_check") == "1":  # Slack's certificate check; Bolt answers it
        return
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MalformedRequest("the body has no type")
    checker = _CHECKS.get(kind)
    if checker is None:
        raise MalformedRequest(f"SeatSync does not handle {kind[:40]!r} requests")
    checker(body)


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> None:
    if key not in obj or obj[key] is None:
        if required:
            raise MalformedRequest(f"{where}.{key} is missing")
        return
    if not isinstance(obj[key], str):
        raise MalformedRequest(f"{where}.{key} is not a string")


def _object(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise MalformedRequest(f"{where}.{key} is {'missing' if value is None else 'not an object'}")
    return value


def _optional_object(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
    return None if obj.get(key) is None else _object(obj, key, where)


def _slash_command(body: dict[str, Any]) -> None:
    for key in SLASH_COMMAND_FIELDS:
        _text(body, key, "the command")


def _who(body: dict[str, Any]) -> None:
    user = _object(body, "user", "the payload")
    _text(user, "id", "the payload.user")
    team = _optional_object(body, "team", "the payload")  # null for an org-wide install
    if team is not None:
        _text(team, "id", "the payload.team")
    for key in ("trigger_id", "response_url", "api_app_id"):
        _text(body, key, "the payload", required=False)


def _entry(entry: Any, where: str) -> None:
    """An action, or one element's entry in a view's state: each kind of choice has its JSON type."""
    if not isinstance(entry, dict):
        raise MalformedRequest(f"{where} is not an object")
    for key in STRING_FIELDS:
        _text(entry, key, where, required=False)
    for key in STRING_LIST_FIELDS:
        if entry.get(key) is not None and not (isinstance(entry[key], list)
                                               and all(isinstance(i, str) for i in entry[key])):
            raise MalformedRequest(f"{where}.{key} is not a list of strings")
    if entry.get("selected_option") is not None:
        _option(entry["selected_option"], f"{where}.selected_option")
    if entry.get("selected_options") is not None:
        if not isinstance(entry["selected_options"], list):
            raise MalformedRequest(f"{where}.selected_options is not a list")
        for i, option in enumerate(entry["selected_options"]):
            _option(option, f"{where}.selected_options[{i}]")


def _option(option: Any, where: str) -> None:
    if not isinstance(option, dict):
        raise MalformedRequest(f"{where} is not an object")
    _text(option, "value", where)


def _view(body: dict[str, Any]) -> None:
    """A modal or Home tab as Slack sends it back: its id, hash, metadata, blocks and the state of its inputs."""
    view = _object(body, "view", "the payload")
    for key in ("id", "type", "hash", "private_metadata"):
        _text(view, key, "the view")
    for key in ("callback_id", "external_id"):
        _text(view, key, "the view", required=False)
    if not isinstance(view.get("blocks"), list):
        raise MalformedRequest("the view.blocks is not a list")
    values = _object(_object(view, "state", "the view"), "values", "the view.state")
    for block_id, elements in values.items():
        if not isinstance(elements, dict):
            raise MalformedRequest(f"the view.state.values.{block_id[:40]} is not an object")
        for action_id, entry in elements.items():
            _entry(entry, f"the view.state.values.{block_id[:40]}.{action_id[:40]}")


def _block_actions(body: dict[str, Any]) -> None:
    _who(body)
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MalformedRequest("the payload.actions is not a list of actions")
    for i, action in enumerate(actions):
        _entry(action, f"the payload.actions[{i}]")
        for key in ("action_id", "block_id"):
            _text(action, key, f"the payload.actions[{i}]")
    container = _object(body, "container", "the payload")
    _text(container, "type", "the payload.container")
    if container["type"] == "view" or "view" in body:
        _view(body)
    if container["type"] == "message":
        channel = _object(body, "channel", "the payload")
        _text(channel, "id", "the payload.channel")
        _text(body, "response_url", "the payload")
    _text(body, "trigger_id", "the payload")


def _view_submission(body: dict[str, Any]) -> None:
    _who(body)
    _view(body)


def _block_suggestion(body: dict[str, Any]) -> None:
    _who(body)
    for key in ("action_id", "block_id", "value"):
        _text(body, key, "the payload")
    if "view" in body:
        _view(body)


def _event_callback(body: dict[str, Any]) -> None:
    for key in ("team_id", "event_id"):
        _text(body, key, "the envelope")
    event = _object(body, "event", "the envelope")
    _text(event, "type", "the event")
    if event["type"] == "app_home_opened":
        _text(event, "user", "the event")
        for key in ("channel", "tab"):
            _text(event, key, "the event", required=False)


def _url_verification(body: dict[str, Any]) -> None:
    _text(body, "challenge", "the body")


def _rate_limited(body: dict[str, Any]) -> None:
    """Slack says it dropped events for a while; Bolt acks it."""


_CHECKS = {
    "block_actions": _block_actions,
    "view_submission": _view_submission,
    "view_closed": _view_submission,
    "block_suggestion": _block_suggestion,
    "event_callback": _event_callback,
    "url_verification": _url_verification,
    "app_rate_limited": _rate_limited,
}


# --- where a click came from (Bolt listener matchers) -------------------------------------------------

async def from_a_view(body: dict[str, Any]) -> bool:
    """The click came from a modal or the Home tab: its listener reads the view. A signed click naming a
    modal's action from anywhere else matches no listener (Bolt answers 404) instead of failing in it."""
    return isinstance(body.get("view"), dict)


async def from_a_message(body: dict[str, Any]) -> bool:
    """The click came from a message: its listener answers through response_url, in that channel."""
    return (body.get("container") or {}).get("type") == "message"
