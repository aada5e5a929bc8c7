"""A modal's state between steps: sealed into `private_metadata` with the app's key, checked on return.

Each state is sealed for its dialog (`SealedFor`, part of the MAC), so a state sealed for one dialog is
refused by another. A state that fails the check is answered with a plain error and nothing is saved.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import section, truncate
from bot.slack.ids import LinkBlockId, LinkCallbackId, SealedFor
from bot.slack.metadata import metadata_key, seal, unseal
from bot.slack.mrkdwn import mrkdwn_escape

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

TAMPERED = "This dialog's state was altered, so nothing was saved. Open it again with the /seats command."
MAX_TITLE = 24


def seal_state(app_context: AppContext, purpose: SealedFor | str, payload: dict[str, Any]) -> str:
    return seal(payload, key=metadata_key(app_context.settings.secret_key), purpose=purpose)


def open_state(app_context: AppContext, purpose: SealedFor | str, value: str | None) -> dict[str, Any]:
    """The sealed payload; TamperedMetadata when it was altered or sealed for another dialog."""
    return unseal(value, key=metadata_key(app_context.settings.secret_key), purpose=purpose)


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (a refusal, a failure), with a Close button."""
    return View(type="modal", callback_id=LinkCallbackId.REFUSED, title=truncate(title, MAX_TITLE), close="Close",
                blocks=[section(text, block_id=LinkBlockId.NOTICE)]).to_dict()


def first_input_block(view: dict[str, Any]) -> str | None:
    return next((b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"), None)


def error_answer(view: dict[str, Any], message: str, *, title: str = "Not saved") -> dict[str, Any]:
    """A view_submission answer showing `message` (plain words, maybe quoting a name): on the first input
    block (Slack shows errors as typed), else as a notice view (mrkdwn: escaped)."""
    block_id = first_input_block(view)
    if block_id:
        return {"response_action": "errors", "errors": {block_id: message}}
    return {"response_action": "update", "view": notice_view(title, mrkdwn_escape(message))}


def tampered_answer(view: dict[str, Any]) -> dict[str, Any]:
    return error_answer(view, TAMPERED, title="Dialog altered")


async def replace_view(client: AsyncWebClient, view: dict[str, Any], body: dict[str, Any]) -> None:
    """views.update guarded by the view's hash. A refusal is logged, not raised: hash_conflict means a newer
    step is already showing (the person clicks again)."""
    try:
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=body)
    except SlackApiError as exc:
        log.info("dialog %s not updated: %s", view.get("id"), exc.response.get("error"))
