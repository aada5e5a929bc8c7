"""Reading Web API arguments the way Slack does.

Arguments arrive as form fields or query parameters (all strings; `blocks`, `attachments`, `view`
JSON-encoded inside them) or as a JSON body (already typed). These helpers accept both forms.
A missing required argument is `invalid_arguments` with `[ERROR] missing required field: <name>`
in `response_metadata.messages`, the shape Slack returns for views.* and other newer methods.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.slack_workspace import SlackMethodError

_TRUE = {"1", "true", "yes", "on"}


def required(args: dict[str, Any], name: str, error: str | None = None) -> str:
    value = args.get(name)
    if value is None or value == "":
        if error:
            raise SlackMethodError(error)
        raise SlackMethodError("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])
    return str(value)


def optional(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    return None if value is None or value == "" else str(value)


def flag(args: dict[str, Any], name: str, default: bool = False) -> bool:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def json_field(args: dict[str, Any], name: str, error: str, *, messages: bool = False) -> Any:
    """A JSON-typed argument: the decoded value, or None if absent; `error` if it is not valid JSON."""
    value = args.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, (list, dict)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError) as exc:
        detail = [f"[ERROR] invalid JSON: {exc.__class__.__name__} [json-pointer:/{name}]"] if messages else None
        raise SlackMethodError(error, messages=detail) from exc


def integer(args: dict[str, Any], name: str, default: int, error: str) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SlackMethodError(error) from exc
