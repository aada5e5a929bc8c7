"""The payloads Slack sends an app, built from the simulated workspace.

Shapes follow bolt-python's scenario tests (tests/scenario_tests_async/test_slash_command.py,
test_block_actions.py, test_view_submission.py, test_block_suggestion.py, test_events.py) and Slack's
interaction payload reference: slash commands are urlencoded fields; interactivity payloads carry
`team`, `user`, `api_app_id`, `token` (the legacy verification token), `trigger_id`, `container`,
`enterprise` / `is_enterprise_install`; actions carry per-element values (`value`,
`selected_option`, `selected_options`, `selected_date`, ...); a view_submission's
`view.state.values` has an entry for every input block, empty ones as null; Events API deliveries are
an `event_callback` envelope with `event_id`, `event_time` and `authorizations`.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_blocks import find_element
from bot.sandbox.slack_workspace import SlackChannel, SlackRecorder, SlackUser

SINGLE_OPTION = {"static_select", "external_select", "overflow", "radio_buttons"}
MULTI_OPTION = {"multi_static_select", "multi_external_select", "checkboxes"}
TEXT_VALUE = {"plain_text_input", "number_input", "email_text_input", "url_text_input", "rich_text_input"}
# element type -> the state/action field holding a plain (non-option) choice
PLAIN_FIELD = {
    "users_select": "selected_user", "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation", "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel", "multi_channels_select": "selected_channels",
    "datepicker": "selected_date", "timepicker": "selected_time", "datetimepicker": "selected_date_time",
}


def team_object(rec: SlackRecorder) -> dict[str, Any]:
    return {"id": rec.team_id, "domain": rec.team_domain}


def user_object(rec: SlackRecorder, user: SlackUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": rec.team_id}


def interaction_base(rec: SlackRecorder, kind: str, user: SlackUser) -> dict[str, Any]:
    return {"type": kind, "team": team_object(rec), "user": user_object(rec, user), "api_app_id": rec.app_id,
            "token": rec.verification_token,
            "enterprise": {"id": rec.enterprise_id, "name": rec.enterprise_name} if rec.enterprise_id else None,
            "is_enterprise_install": rec.is_enterprise_install}


def slash_command_fields(rec: SlackRecorder, *, text: str, command: str, user: SlackUser, channel: SlackChannel,
                         trigger_id: str, response_url: str) -> list[tuple[str, str]]:
    return [("token", rec.verification_token), ("team_id", rec.team_id), ("team_domain", rec.team_domain),
            ("channel_id", channel.id), ("channel_name", "directmessage" if channel.is_im else channel.name),
            ("user_id", user.id), ("user_name", user.name), ("command", command), ("text", text),
            ("api_app_id", rec.app_id), ("is_enterprise_install", "true" if rec.is_enterprise_install else "false"),
            *([("enterprise_id", rec.enterprise_id), ("enterprise_name", rec.enterprise_name or "")]
              if rec.enterprise_id else []),
            ("response_url", response_url), ("trigger_id", trigger_id)]


def resolve_option(element: dict[str, Any] | None, choice: Any) -> dict[str, Any]:
    """An option object for `choice`: given as-is if a dict, else the element's option with that value."""
    if isinstance(choice, dict):
        return choice
    value = str(choice)
    options = list((element or {}).get("options") or [])
    for group in (element or {}).get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return option
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def element_value(element: dict[str, Any] | None, kind: str, choice: Any) -> dict[str, Any]:
    """The value part of an action or a state entry for an element of type `kind`."""
    if kind in SINGLE_OPTION:
        return {"selected_option": None if choice is None else resolve_option(element, choice)}
    if kind in MULTI_OPTION:
        return {"selected_options": [resolve_option(element, c) for c in (choice or [])]}
    if kind in PLAIN_FIELD:
        return {PLAIN_FIELD[kind]: list(choice or []) if kind.startswith("multi_") else choice}
    return {"value": choice}


def build_action(element: dict[str, Any] | None, *, action_id: str, block_id: str, action_ts: str,
                 value: Any = None, selected_option: Any = None, selected_options: Any = None) -> dict[str, Any]:
    kind = (element or {}).get("type") or ("static_select" if selected_option is not None else "button")
    action: dict[str, Any] = {"type": kind, "action_id": action_id, "block_id": block_id}
    if kind in ("button", "workflow_button"):
        action["text"] = (element or {}).get("text") or {"type": "plain_text", "text": "Button", "emoji": True}
        chosen = value if value is not None else (element or {}).get("value")
        if chosen is not None:
            action["value"] = chosen
        if (element or {}).get("style"):
            action["style"] = element["style"]  # type: ignore[index]
    elif kind in SINGLE_OPTION:
        action.update(element_value(element, kind, selected_option if selected_option is not None else value))
    elif kind in MULTI_OPTION:
        action.update(element_value(element, kind, selected_options if selected_options is not None else value))
    else:
        action.update(element_value(element, kind, value))
    if element and element.get("placeholder"):
        action["placeholder"] = element["placeholder"]
    action["action_ts"] = action_ts
    return action


def locate(blocks: list[Any], action_id: str, block_id: str | None) -> tuple[str, dict[str, Any] | None]:
    """(block_id, element) for an action_id on a surface; the element is None if it is not there."""
    found = find_element(blocks, action_id)
    if found is None:
        return block_id or "", None
    block, element = found
    return block_id or str(block.get("block_id", "")), element


def submission_state(view: dict[str, Any], values: dict[str, Any], *, check_required: bool = True
                     ) -> dict[str, Any]:
    """`view.state.values` for a submission: every input block, filled from `values`.

    `values` maps block_id -> {action_id: choice} or block_id -> choice (the block's one element).
    Raises ValueError for an unknown block_id, or (with `check_required`, as for a submission) an empty
    required input (Slack's client would not let the user submit). A click in the view sends the state
    as it is, empty required inputs too.
    """
    inputs = {b["block_id"]: b for b in view.get("blocks", [])
              if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("element"), dict)}
    unknown = set(values) - set(inputs)
    if unknown:
        raise ValueError(f"no input block with block_id {sorted(unknown)} in view {view.get('id')}")
    state: dict[str, Any] = {}
    for block_id, block in inputs.items():
        element = block["element"]
        action_id, kind = element["action_id"], element.get("type", "plain_text_input")
        given = values.get(block_id)
        if isinstance(given, dict) and set(given) <= {action_id} and given:
            given = given[action_id]
        if check_required and given in (None, "", []) and not block.get("optional", False):
            raise ValueError(f"input {block_id!r} is required; Slack would not submit the view without it")
        state[block_id] = {action_id: {"type": kind, **element_value(element, kind, given)}}
    return state


def event_envelope(rec: SlackRecorder, event: dict[str, Any], *, event_id: str, event_time: int) -> dict[str, Any]:
    return {
        "token": rec.verification_token, "team_id": rec.team_id, "context_team_id": rec.team_id,
        "context_enterprise_id": rec.enterprise_id, "enterprise_id": rec.enterprise_id, "api_app_id": rec.app_id,
        "event": event, "type": "event_callback", "event_id": event_id, "event_time": event_time,
        "authorizations": [{"enterprise_id": rec.enterprise_id, "team_id": rec.team_id, "user_id": rec.bot_user.id,
                            "is_bot": True, "is_enterprise_install": rec.is_enterprise_install}],
        "is_ext_shared_channel": False, "event_context": "4-" + rec.random_token(40),
    }


def option_problems(answer: Any) -> list[str]:
    """What Slack would reject in an options (block_suggestion) answer."""
    if not isinstance(answer, dict):
        return ["options answer is not a JSON object"]
    problems: list[str] = []
    groups = answer.get("option_groups")
    option_lists = [answer.get("options")] if groups is None else [g.get("options") for g in groups]
    if groups is None and answer.get("options") is None:
        return ["options answer has neither options nor option_groups"]
    if groups is not None and len(groups) > 100:
        problems.append(f"{len(groups)} option_groups (limit 100)")
    for options in option_lists:
        if not isinstance(options, list):
            problems.append("options is not an array")
            continue
        if len(options) > 100:
            problems.append(f"{len(options)} options (limit 100)")
        for option in options:
            text = ((option or {}).get("text") or {}).get("text", "")
            value = (option or {}).get("value", "")
            if not text or len(text) > 75:
                problems.append(f"option text {text!r} must be 1..75 characters")
            if not isinstance(value, str) or len(value) > 150:
                problems.append(f"option value {value!r} must be a string of at most 150 characters")
    return problems
