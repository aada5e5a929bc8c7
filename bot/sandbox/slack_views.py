"""views.open, views.push, views.update, views.publish, and what a view_submission ack does to the stack.

Per Slack's method reference (slack-ruby/slack-api-ref `methods/views/*.json`, docs.slack.dev):
- views.open / views.push exchange a `trigger_id` (or `interactivity_pointer`): unknown ->
  `invalid_trigger_id`, already used -> `exchanged_trigger_id`, older than 3 s -> `expired_trigger_id`;
- a view over 250 kB -> `view_too_large`; a modal stack holds at most 3 views -> `push_limit_reached`;
- views.update takes `view_id` or `external_id`; an unknown (or closed) view -> `not_found`; a stale
  `hash` -> `hash_conflict`; `external_id` must be unique among open views -> `duplicate_external_id`;
- an invalid view -> `invalid_arguments` with `response_metadata.messages` pointing into `/view/...`
  (bolt-js#407 and jeremeamia/slack-block-kit#3 show views.open answering `invalid_arguments`
  for a bad view, unlike chat.* which answer `invalid_blocks`).
We validate the view before exchanging the trigger, so a rejected view does not burn the trigger.
Success bodies are `{"ok": true, "view": {...}}` with the fields of Slack's example reply (id, team_id,
hash, state, root_view_id, previous_view_id, app_id, bot_id, ...); Slack fills in missing block_id /
action_id values, and so do we.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from bot.sandbox.slack_args import json_field, optional, required
from bot.sandbox.slack_blocks import MAX_VIEW_BYTES, fill_ids, validate_view
from bot.sandbox.slack_workspace import MAX_VIEW_STACK, SlackMethodError, SlackRecorder, SlackView


def _view_argument(args: dict[str, Any], *, expected_type: str | None) -> dict[str, Any]:
    view = json_field(args, "view", "invalid_arguments", messages=True)
    if view is None:
        raise SlackMethodError("invalid_arguments", messages=["[ERROR] missing required field: view"])
    problems = validate_view(view)
    if not problems and expected_type and view.get("type") != expected_type:
        problems = [f"[ERROR] must be {expected_type} [json-pointer:/view/type]"]
    if problems:
        raise SlackMethodError("invalid_arguments", messages=problems)
    if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
        raise SlackMethodError("view_too_large")
    return view


def _materialize(rec: SlackRecorder, view: dict[str, Any], *, view_id: str, root_id: str,
                 previous_id: str | None, state: dict[str, Any] | None = None) -> dict[str, Any]:
    blocks = fill_ids(copy.deepcopy(view["blocks"]), lambda: rec.random_token(5))
    kept = {bid: v for bid, v in (state or {}).items()
            if any(isinstance(b, dict) and b.get("block_id") == bid for b in blocks)}
    body: dict[str, Any] = {
        "id": view_id, "team_id": rec.team_id, "type": view["type"], "blocks": blocks,
        "private_metadata": view.get("private_metadata") or "", "callback_id": view.get("callback_id") or "",
        "state": {"values": kept}, "hash": rec.new_view_hash(),
        "title": view.get("title") or {"type": "plain_text", "text": "View Title"},
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"), "submit": view.get("submit"),
        "previous_view_id": previous_id, "root_view_id": root_id, "app_id": rec.app_id,
        "external_id": view.get("external_id") or "", "app_installed_team_id": rec.team_id, "bot_id": rec.bot_id,
    }
    return body


def _check_external_id(rec: SlackRecorder, view: dict[str, Any], except_id: str | None = None) -> None:
    external_id = view.get("external_id")
    if external_id and any(v.open and v.id != except_id and v.body.get("external_id") == external_id
                           for v in rec.views.values()):
        raise SlackMethodError("duplicate_external_id")


def _trigger_argument(args: dict[str, Any]) -> str:
    trigger = optional(args, "trigger_id") or optional(args, "interactivity_pointer")
    if trigger is None:
        raise SlackMethodError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
    return trigger


def views_open(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    trigger_id = _trigger_argument(args)
    view = _view_argument(args, expected_type="modal")
    _check_external_id(rec, view)
    trigger = rec.exchange_trigger_id(trigger_id)
    view_id = rec.new_id("V")
    body = _materialize(rec, view, view_id=view_id, root_id=view_id, previous_id=None)
    rec.views[view_id] = SlackView(id=view_id, user_id=trigger.user_id, body=body, root_id=view_id)
    rec.stacks[view_id] = [view_id]
    return {"view": body}


def _stack_for(rec: SlackRecorder, user_id: str, view_id: str | None) -> list[str] | None:
    if view_id and view_id in rec.views and rec.views[view_id].open:
        return rec.stacks.get(rec.views[view_id].root_id)
    stacks = [ids for ids in rec.stacks.values() if ids and rec.views[ids[0]].user_id == user_id]
    return stacks[-1] if stacks else None


def push_view(rec: SlackRecorder, stack: list[str], view: dict[str, Any]) -> dict[str, Any]:
    if len(stack) >= MAX_VIEW_STACK:
        raise SlackMethodError("push_limit_reached")
    top = rec.views[stack[-1]]
    view_id = rec.new_id("V")
    body = _materialize(rec, view, view_id=view_id, root_id=top.root_id, previous_id=top.id)
    rec.views[view_id] = SlackView(id=view_id, user_id=top.user_id, body=body, root_id=top.root_id)
    stack.append(view_id)
    return body


def views_push(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    trigger_id = _trigger_argument(args)
    view = _view_argument(args, expected_type="modal")
    _check_external_id(rec, view)
    trigger = rec.exchange_trigger_id(trigger_id)
    stack = _stack_for(rec, trigger.user_id, trigger.view_id)
    if stack is None:
        raise SlackMethodError("not_found")
    return {"view": push_view(rec, stack, view)}


def replace_view(rec: SlackRecorder, current: SlackView, view: dict[str, Any]) -> dict[str, Any]:
    if not view.get("external_id") and current.body.get("external_id"):
        view = {**view, "external_id": current.body["external_id"]}
    current.body = _materialize(rec, view, view_id=current.id, root_id=current.root_id,
                                previous_id=current.body.get("previous_view_id"),
                                state=current.body.get("state", {}).get("values"))
    return current.body


def views_update(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = optional(args, "view_id"), optional(args, "external_id")
    if view_id is None and external_id is None:
        raise SlackMethodError("invalid_arguments",
                               messages=["[ERROR] missing required field: view_id or external_id"])
    view = _view_argument(args, expected_type=None)
    if view_id is not None:
        current = rec.views.get(view_id)
    else:
        current = next((v for v in rec.views.values() if v.open and v.body.get("external_id") == external_id), None)
    if current is None or not current.open:
        raise SlackMethodError("not_found")
    expected = optional(args, "hash")
    if expected is not None and expected != current.hash:
        raise SlackMethodError("hash_conflict")
    _check_external_id(rec, view, except_id=current.id)
    return {"view": replace_view(rec, current, view)}


def views_publish(rec: SlackRecorder, args: dict[str, Any]) -> dict[str, Any]:
    user_id = required(args, "user_id")
    view = _view_argument(args, expected_type="home")
    if user_id not in rec.users or rec.users[user_id].is_bot:
        raise SlackMethodError("user_not_found")
    existing_id = rec.home_views.get(user_id)
    expected = optional(args, "hash")
    if existing_id is not None:
        current = rec.views[existing_id]
        if expected is not None and expected != current.hash:
            raise SlackMethodError("hash_conflict")
        return {"view": replace_view(rec, current, view)}
    view_id = rec.new_id("V")
    body = _materialize(rec, view, view_id=view_id, root_id=view_id, previous_id=None)
    rec.views[view_id] = SlackView(id=view_id, user_id=user_id, body=body, root_id=view_id)
    rec.home_views[user_id] = view_id
    return {"view": body}


# --- what the user's client does with a view_submission ack ---------------------------------------

def close_view(rec: SlackRecorder, view_id: str, *, whole_stack: bool = False) -> None:
    view = rec.views.get(view_id)
    if view is None:
        return
    stack = rec.stacks.get(view.root_id, [])
    doomed = list(stack) if whole_stack else [v for v in stack if v == view_id]
    for vid in doomed:
        rec.views[vid].open = False
        stack.remove(vid)
    if not stack:
        rec.stacks.pop(view.root_id, None)


def apply_submission_ack(rec: SlackRecorder, view_id: str, ack: Any) -> list[str]:
    """Apply the app's answer to a view_submission; return what Slack would refuse (empty if fine)."""
    view = rec.views.get(view_id)
    if view is None or not view.open:
        return [f"view {view_id} is not open"]
    if not isinstance(ack, dict) or not ack.get("response_action"):
        close_view(rec, view_id)
        return []
    action = ack["response_action"]
    if action == "clear":
        close_view(rec, view_id, whole_stack=True)
        return []
    if action == "errors":
        errors = ack.get("errors")
        if not isinstance(errors, dict) or not errors:
            return ["response_action errors needs a non-empty errors object"]
        inputs = {b.get("block_id") for b in view.body["blocks"] if isinstance(b, dict) and b.get("type") == "input"}
        return [f"errors key {key!r} is not the block_id of an input block" for key in errors if key not in inputs]
    if action in ("update", "push"):
        try:
            new_view = _view_argument({"view": ack.get("view")}, expected_type="modal")
            if action == "update":
                replace_view(rec, view, new_view)
            else:
                push_view(rec, rec.stacks[view.root_id], new_view)
        except SlackMethodError as exc:
            return [exc.error, *exc.extra.get("response_metadata", {}).get("messages", [])]
        return []
    return [f"unknown response_action {action!r}"]
