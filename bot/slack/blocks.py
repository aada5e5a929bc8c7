"""Small Block Kit builders over `slack_sdk.models.blocks`; `.to_dict()` runs slack_sdk's validation.

`section` and `context` take mrkdwn that SeatSync wrote, with any data in it passed through
`bot.slack.mrkdwn.mrkdwn_escape`; their text objects are `verbatim`, so Slack adds no links or mentions
of its own. `plain_section` and `plain_context` take text shown exactly as given (plain_text: no markup)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

MAX_MESSAGE_BLOCKS = 50  # Slack's per-message limit; slack_sdk does not check it (shared/apis/slack.md A16)
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=truncate(text, MAX_HEADER_TEXT))


def mrkdwn(markdown: str, limit: int = MAX_SECTION_TEXT) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(markdown, limit), verbatim=True)


def section(markdown: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=mrkdwn(markdown), block_id=block_id)


def context(markdown: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(markdown)])


def plain_section(text: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=PlainTextObject(text=truncate(text, MAX_SECTION_TEXT), emoji=True), block_id=block_id)


def plain_context(text: str) -> ContextBlock:
    return ContextBlock(elements=[PlainTextObject(text=truncate(text, MAX_SECTION_TEXT), emoji=True)])


def button(text: str, action_id: str, *, value: str | None = None, primary: bool = False) -> ButtonElement:
    return ButtonElement(text=truncate(text, MAX_BUTTON_TEXT), action_id=action_id, value=value,
                         style="primary" if primary else None)


def buttons(elements: Sequence[ButtonElement], *, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(elements=list(elements), block_id=block_id)


def message_blocks(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """The blocks as dicts, validated by slack_sdk, refusing more than a message may carry."""
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"a message holds at most {MAX_MESSAGE_BLOCKS} blocks, not {len(blocks)}")
    return [block.to_dict() for block in blocks]


def link_button(text: str, action_id: str, url: str, *, primary: bool = False) -> ButtonElement:
    """A button that opens `url` in the browser (Slack still sends a block_actions: ack it)."""
    return ButtonElement(text=truncate(text, MAX_BUTTON_TEXT), action_id=action_id, url=url,
                         style="primary" if primary else None)
