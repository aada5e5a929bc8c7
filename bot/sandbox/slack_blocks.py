"""Block Kit validation for the Slack facade, producing Slack's own error messages.

Slack rejects a bad surface with `invalid_blocks` (chat.*, response_url) or `invalid_arguments`
(views.*) and explains in `response_metadata.messages`, one line per problem, in the form
`[ERROR] <what> [json-pointer:<where>]`, e.g. `[ERROR] must be less than 25 characters
[json-pointer:/view/title/text]` (wording seen in Slack replies quoted in jeremeamia/slack-block-kit#3;
"must be less than N+1 characters" for an N-character limit, "must be more than 0 characters" for an
empty text, "no more than N items allowed" for a list over its limit).

Two layers:
1. our own walk over the JSON, which knows where each problem is and checks the limits slack_sdk does
   not (50 blocks per message, option text 75 / value 150, duplicate block_id / action_id, ...); the
   limits are Slack's Block Kit reference (docs.slack.dev/reference/block-kit), as tabled in
   shared/apis/slack.md A10;
2. slack_sdk.models as a backstop: every block goes through `Block.parse(...).to_dict()` and a view
   through `View(**view).to_dict()`, whose validators raise `SlackObjectFormationError`; a problem
   only slack_sdk finds is reported at the block's pointer with slack_sdk's message.

Wording for the structural problems ("failed to match all allowed schemas", "missing required field",
"duplicate ...") is our best reconstruction of Slack's, not a verbatim copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250 * 1024  # views.*: "view_too_large ... greater than 250kb"
MAX_MESSAGE_TEXT = 40_000  # chat.postMessage truncates text beyond this

SELECTS = {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
MULTI_SELECTS = {"multi_" + s for s in SELECTS}
TEXT_INPUTS = {"plain_text_input", "number_input", "email_text_input", "url_text_input", "rich_text_input"}
PICKERS = {"datepicker", "timepicker", "datetimepicker"}
CHOICES = {"checkboxes", "radio_buttons"}
ACCESSORY_ELEMENTS = {"button", "overflow", "image", "workflow_button"} | SELECTS | MULTI_SELECTS | PICKERS | CHOICES
ACTIONS_ELEMENTS = ACCESSORY_ELEMENTS - {"image"} | {"rich_text_input"}
INPUT_ELEMENTS = SELECTS | MULTI_SELECTS | TEXT_INPUTS | PICKERS | CHOICES | {"file_input"}
BLOCK_TYPES = {"section", "divider", "header", "context", "actions", "input", "image", "markdown", "rich_text",
               "video", "file", "table", "context_actions"}


def _kind(obj: dict[str, Any]) -> str | None:
    kind = obj.get("type")
    return kind if isinstance(kind, str) else None


def _error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


class _Walk:
    """Collects problems while walking one surface (a message's blocks or a view)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.block_ids: set[str] = set()
        self.action_ids: set[str] = set()

    def fail(self, message: str, pointer: str) -> None:
        self.problems.append(_error(message, pointer))

    def string(self, value: Any, pointer: str, max_len: int, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.fail("missing required field", pointer)
            return
        if not isinstance(value, str):
            self.fail("must be a string", pointer)
        elif len(value) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", pointer)

    def text(self, obj: Any, pointer: str, max_len: int, *, plain_only: bool = False,
             required: bool = True) -> None:
        if obj is None:
            if required:
                self.fail("missing required field", pointer)
            return
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in kinds:
            self.fail(f"must be one of the allowed types: {', '.join(kinds)}", pointer + "/type")
        text = obj.get("text")
        if not isinstance(text, str):
            self.fail("missing required field" if text is None else "must be a string", pointer + "/text")
        elif not text:
            self.fail("must be more than 0 characters", pointer + "/text")
        elif len(text) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", pointer + "/text")

    def items(self, value: Any, pointer: str, max_items: int, *, min_items: int = 0) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail("must provide an array", pointer)
            return []
        if len(value) > max_items:
            self.fail(f"no more than {max_items} items allowed", pointer)
        elif len(value) < min_items:
            self.fail(f"must provide at least {min_items} items", pointer)
        return value

    def option(self, opt: Any, pointer: str, *, plain_only: bool) -> None:
        if not isinstance(opt, dict):
            self.fail("must provide an object", pointer)
            return
        self.text(opt.get("text"), pointer + "/text", 75, plain_only=plain_only)
        self.string(opt.get("value"), pointer + "/value", 150, required=True)
        self.text(opt.get("description"), pointer + "/description", 75, plain_only=plain_only, required=False)

    def confirm(self, obj: Any, pointer: str) -> None:
        if obj is None:
            return
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        self.text(obj.get("title"), pointer + "/title", 100, plain_only=True)
        self.text(obj.get("text"), pointer + "/text", 300)
        self.text(obj.get("confirm"), pointer + "/confirm", 30, plain_only=True)
        self.text(obj.get("deny"), pointer + "/deny", 30, plain_only=True)

    def element(self, el: Any, pointer: str, allowed: set[str]) -> None:
        if not isinstance(el, dict):
            self.fail("must provide an object", pointer)
            return
        kind = _kind(el)
        if kind not in allowed:
            self.fail("failed to match all allowed schemas", pointer)
            return
        action_id = el.get("action_id")
        self.string(action_id, pointer + "/action_id", 255)
        if isinstance(action_id, str):
            if action_id in self.action_ids:
                self.fail(f"duplicate action_id: {action_id}", pointer + "/action_id")
            self.action_ids.add(action_id)
        self.confirm(el.get("confirm"), pointer + "/confirm")
        self.text(el.get("placeholder"), pointer + "/placeholder", 150, plain_only=True, required=False)
        if kind in ("button", "workflow_button"):
            self.text(el.get("text"), pointer + "/text", 75, plain_only=True)
            self.string(el.get("value"), pointer + "/value", 2000)
            self.string(el.get("url"), pointer + "/url", 3000)
            if el.get("style") not in (None, "primary", "danger"):
                self.fail("must be one of: primary, danger", pointer + "/style")
        elif kind in ("static_select", "multi_static_select"):
            if el.get("options") is None and el.get("option_groups") is None:
                self.fail("must provide either options or option_groups", pointer)
            for i, opt in enumerate(self.items(el.get("options"), pointer + "/options", 100)):
                self.option(opt, f"{pointer}/options/{i}", plain_only=True)
            for g, group in enumerate(self.items(el.get("option_groups"), pointer + "/option_groups", 100)):
                gp = f"{pointer}/option_groups/{g}"
                if not isinstance(group, dict):
                    self.fail("must provide an object", gp)
                    continue
                self.text(group.get("label"), gp + "/label", 75, plain_only=True)
                for i, opt in enumerate(self.items(group.get("options"), gp + "/options", 100, min_items=1)):
                    self.option(opt, f"{gp}/options/{i}", plain_only=True)
        elif kind == "overflow":
            for i, opt in enumerate(self.items(el.get("options"), pointer + "/options", 5, min_items=1)):
                self.option(opt, f"{pointer}/options/{i}", plain_only=True)
        elif kind in CHOICES:
            for i, opt in enumerate(self.items(el.get("options"), pointer + "/options", 10, min_items=1)):
                self.option(opt, f"{pointer}/options/{i}", plain_only=False)
        elif kind == "plain_text_input":
            max_length = el.get("max_length")
            if max_length is not None and (not isinstance(max_length, int) or not 1 <= max_length <= 3000):
                self.fail("must be between 1 and 3000", pointer + "/max_length")
        elif kind == "image":
            self.string(el.get("alt_text"), pointer + "/alt_text", 2000, required=True)

    def block(self, block: Any, pointer: str, surface: str) -> None:
        if not isinstance(block, dict):
            self.fail("must provide an object", pointer)
            return
        kind = _kind(block)
        if kind not in BLOCK_TYPES:
            self.fail("failed to match all allowed schemas", pointer)
            return
        block_id = block.get("block_id")
        self.string(block_id, pointer + "/block_id", 255)
        if isinstance(block_id, str):
            if block_id in self.block_ids:
                self.fail(f"duplicate block_id: {block_id}", pointer + "/block_id")
            self.block_ids.add(block_id)
        if kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                self.fail("must provide either text or fields", pointer)
            self.text(block.get("text"), pointer + "/text", 3000, required=False)
            for i, f in enumerate(self.items(block.get("fields"), pointer + "/fields", 10)):
                self.text(f, f"{pointer}/fields/{i}", 2000)
            if block.get("accessory") is not None:
                self.element(block["accessory"], pointer + "/accessory", ACCESSORY_ELEMENTS)
        elif kind == "header":
            self.text(block.get("text"), pointer + "/text", 150, plain_only=True)
        elif kind == "markdown":
            self.string(block.get("text"), pointer + "/text", 12_000, required=True)
        elif kind == "context":
            elements = self.items(block.get("elements"), pointer + "/elements", 10, min_items=1)
            if block.get("elements") is None:
                self.fail("missing required field", pointer + "/elements")
            for i, el in enumerate(elements):
                ep = f"{pointer}/elements/{i}"
                if isinstance(el, dict) and el.get("type") == "image":
                    self.element(el, ep, {"image"})
                else:
                    self.text(el, ep, 3000)
        elif kind == "actions":
            if block.get("elements") is None:
                self.fail("missing required field", pointer + "/elements")
            for i, el in enumerate(self.items(block.get("elements"), pointer + "/elements", 25, min_items=1)):
                self.element(el, f"{pointer}/elements/{i}", ACTIONS_ELEMENTS)
        elif kind == "input":
            self.text(block.get("label"), pointer + "/label", 2000, plain_only=True)
            self.text(block.get("hint"), pointer + "/hint", 2000, plain_only=True, required=False)
            if block.get("element") is None:
                self.fail("missing required field", pointer + "/element")
            else:
                self.element(block["element"], pointer + "/element", INPUT_ELEMENTS)
        elif kind == "image":
            self.string(block.get("alt_text"), pointer + "/alt_text", 2000, required=True)

    def blocks(self, blocks: Any, pointer: str, max_blocks: int, surface: str) -> None:
        if not isinstance(blocks, list):
            self.fail("must provide an array", pointer)
            return
        if len(blocks) > max_blocks:
            self.fail(f"no more than {max_blocks} items allowed", pointer)
        for i, block in enumerate(blocks):
            before = len(self.problems)
            self.block(block, f"{pointer}/{i}", surface)
            if len(self.problems) == before and isinstance(block, dict):
                self._sdk_backstop(block, f"{pointer}/{i}")

    def _sdk_backstop(self, block: dict[str, Any], pointer: str) -> None:
        try:
            parsed = Block.parse(block)
            if parsed is not None:
                parsed.to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            self.fail(str(exc) or type(exc).__name__, pointer)


def validate_message_blocks(blocks: Any, pointer: str = "/blocks") -> list[str]:
    """Problems with the `blocks` of a message, as Slack's `[ERROR] ... [json-pointer:...]` lines."""
    walk = _Walk()
    walk.blocks(blocks, pointer, MAX_MESSAGE_BLOCKS, "message")
    return walk.problems


def validate_view(view: Any, pointer: str = "/view") -> list[str]:
    """Problems with a modal or Home tab view object."""
    walk = _Walk()
    if not isinstance(view, dict):
        walk.fail("must provide an object", pointer)
        return walk.problems
    kind = _kind(view)
    if kind not in ("modal", "home"):
        walk.fail("failed to match all allowed schemas", pointer + "/type")
        return walk.problems
    if kind == "modal":
        walk.text(view.get("title"), pointer + "/title", 24, plain_only=True)
        walk.text(view.get("submit"), pointer + "/submit", 24, plain_only=True, required=False)
        walk.text(view.get("close"), pointer + "/close", 24, plain_only=True, required=False)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and view.get("submit") is None:
            walk.fail("must provide submit when the view has input blocks", pointer + "/submit")
    else:
        walk.text(view.get("title"), pointer + "/title", 24, plain_only=True, required=False)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                walk.fail("failed to match all allowed schemas", f"{pointer}/{key}")
    walk.string(view.get("private_metadata"), pointer + "/private_metadata", 3000)
    walk.string(view.get("callback_id"), pointer + "/callback_id", 255)
    walk.string(view.get("external_id"), pointer + "/external_id", 255)
    if view.get("blocks") is None:
        walk.fail("missing required field", pointer + "/blocks")
    else:
        walk.blocks(view["blocks"], pointer + "/blocks", MAX_VIEW_BLOCKS, kind)
        if isinstance(view["blocks"], list) and not view["blocks"]:
            walk.fail("must provide at least 1 items", pointer + "/blocks")
    if not walk.problems:
        try:
            View(**view).to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            walk.fail(str(exc) or type(exc).__name__, pointer)
    return walk.problems


def fill_ids(blocks: list[Any], new_id: Callable[[], str]) -> list[Any]:
    """Give every block a block_id and every interactive element an action_id, as Slack does on save."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", new_id())
        elements: list[Any] = []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        if isinstance(block.get("element"), dict):
            elements.append(block["element"])
        if block.get("type") == "actions" and isinstance(block.get("elements"), list):
            elements.extend(block["elements"])
        for el in elements:
            if isinstance(el, dict) and el.get("type") not in (None, "image"):
                el.setdefault("action_id", new_id())
    return blocks


def find_element(blocks: list[Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (block, element) holding `action_id`, searching accessories, actions and input elements."""
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        candidates = [block.get("accessory"), block.get("element")]
        if isinstance(block.get("elements"), list):
            candidates.extend(block["elements"])
        for el in candidates:
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return block, el
    return None
