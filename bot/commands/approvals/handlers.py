"""The buttons on a held-change message: *Approve*, *Reject* (a modal asks why), *Edit units/date* (a modal).

Billing team only (`billing_team_only`): anyone else gets an ephemeral refusal naming who can. Each listener
acks first. A decision is taken by the service functions (bot.sync.approvals), which refuse a change already decided
(someone else clicked first, or a newer count replaced it); then an approved change is posted at once
through the engine's outbox, and the group's message is updated to say who did what.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.approvals.views import edit_modal, reject_modal
from bot.db.app_settings import load_app_settings
from bot.domain.proration import business_date
from bot.notify.approval_blocks import action_pattern
from bot.notify.approval_messages import refresh_approval_messages
from bot.slack.engines import engine_or_reason
from bot.slack.guards import billing_team_only
from bot.slack.ids import ApprovalId, SealedFor
from bot.slack.inbound import from_a_message, row_id
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import open_state, seal_state
from bot.slack.mrkdwn import mrkdwn_escape
from bot.sync.approval_groups import HeldChange, approval_groups
from bot.sync.approvals import (
    MAX_UNITS,
    ApprovalError,
    Decided,
    approve_change,
    edit_change,
    held_change,
    reject_change,
)
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

TAMPERED = "This dialog's state was altered, so nothing was decided. Click the button on the message again."


def register_approval_actions(app: AsyncApp) -> None:
    guarded = {"matchers": [from_a_message], "middleware": [billing_team_only]}
    app.action(action_pattern(ApprovalId.APPROVE), **guarded)(approve)
    app.action(action_pattern(ApprovalId.REJECT), **guarded)(reject_button)
    app.action(action_pattern(ApprovalId.EDIT), **guarded)(edit_button)
    app.view(ApprovalId.REJECT_CALLBACK.value, middleware=[billing_team_only])(submit_reject)
    app.view(ApprovalId.EDIT_CALLBACK.value, middleware=[billing_team_only])(submit_edit)


def _clicked_id(body: dict[str, Any]) -> int | None:
    return row_id(body["actions"][0].get("value"))


async def _tell(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                  app_context: AppContext) -> None:
    await ack()
    user_id, adjustment_id = body["user"]["id"], _clicked_id(body)
    if adjustment_id is None:
        await _tell(respond, "That button carries no change to approve.")
        return
    try:
        async with app_context.sessions() as session:
            decided = await approve_change(session=session, adjustment_id=adjustment_id, actor=user_id,
                                           now=app_context.clock())
            await session.commit()
    except ApprovalError as exc:
        await _tell(respond, f"Not approved: {mrkdwn_escape(str(exc))}.")
        await _refresh(app_context, client, adjustment_id)
        return
    await _refresh(app_context, client, adjustment_id)  # "approved by …, posting…" at once
    await _post_now(app_context, decided)
    await _refresh(app_context, client, adjustment_id)


async def reject_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                            app_context: AppContext) -> None:
    """*Reject*: a modal asks why."""
    await _open_modal(ack, body, respond, client, app_context, build_modal=reject_modal,
                      purpose=SealedFor.APPROVAL_REJECT)


async def edit_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          app_context: AppContext) -> None:
    """*Edit units/date*: a modal with the change's units and effective date."""
    await _open_modal(ack, body, respond, client, app_context, build_modal=edit_modal,
                      purpose=SealedFor.APPROVAL_EDIT)


async def _open_modal(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                      app_context: AppContext, *, build_modal, purpose: SealedFor) -> None:
    await ack()
    user_id, adjustment_id = body["user"]["id"], _clicked_id(body)
    if adjustment_id is None:
        await _tell(respond, "That button carries no change.")
        return
    change = await _awaiting_change(app_context, adjustment_id)
    if isinstance(change, str):
        await _tell(respond, change)
        return
    metadata = seal_state(app_context, purpose, {"id": adjustment_id})
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=build_modal(change, metadata=metadata))
    except SlackApiError as exc:
        log.warning("cannot open the approval modal for %s: %s", user_id, exc.response.get("error"))


async def _awaiting_change(app_context: AppContext, adjustment_id: int) -> HeldChange | str:
    """The change as its message shows it, or why it can no longer be decided."""
    async with app_context.sessions() as session:
        try:
            await held_change(session=session, adjustment_id=adjustment_id)
        except ApprovalError as exc:
            return f"Nothing to decide: {mrkdwn_escape(str(exc))}."
        groups = await approval_groups(session=session, adjustment_id=adjustment_id)
    return next(c for g in groups for c in g.changes if c.adjustment_id == adjustment_id)


def _submitted_id(app_context: AppContext, view: dict[str, Any], purpose: SealedFor) -> int:
    payload = open_state(app_context, purpose, view.get("private_metadata"))
    if not isinstance(payload.get("id"), int):
        raise TamperedMetadata("this dialog's state has no change in it")
    return payload["id"]


def _value(view: dict[str, Any], block_id: str, action_id: str) -> Any:
    entry = view.get("state", {}).get("values", {}).get(block_id, {}).get(action_id, {})
    return entry.get("value") if "value" in entry else entry.get("selected_date")


async def submit_reject(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        app_context: AppContext) -> None:
    user_id = body["user"]["id"]
    reason = (_value(view, ApprovalId.REASON_BLOCK, ApprovalId.REASON) or "").strip()
    errors = _checked(app_context, view, SealedFor.APPROVAL_REJECT)
    if isinstance(errors, dict):
        await ack(response_action="errors", errors=errors)
        return
    try:
        async with app_context.sessions() as session:
            decided = await reject_change(session=session, adjustment_id=errors, actor=user_id, reason=reason,
                                          now=app_context.clock())
            await session.commit()
    except ApprovalError as exc:
        await ack(response_action="errors", errors={ApprovalId.REASON_BLOCK.value: f"Not rejected: {exc}."})
        return
    await ack()
    await _refresh(app_context, client, decided.adjustment_id)


async def submit_edit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                      app_context: AppContext) -> None:
    user_id = body["user"]["id"]
    checked = _checked(app_context, view, SealedFor.APPROVAL_EDIT)
    if isinstance(checked, dict):
        await ack(response_action="errors", errors=checked)
        return
    units_text = str(_value(view, ApprovalId.UNITS_BLOCK, ApprovalId.UNITS) or "").strip()
    date_text = str(_value(view, ApprovalId.DATE_BLOCK, ApprovalId.DATE) or "").strip()
    if not (units_text.isascii() and units_text.isdigit()):  # "²" and "١٢" are digits to str.isdigit
        await ack(response_action="errors",
                  errors={ApprovalId.UNITS_BLOCK.value: "Enter a whole number of units (0 or more)."})
        return
    units = int(units_text) if len(units_text) <= len(str(MAX_UNITS)) else MAX_UNITS + 1  # edit_change says
    try:
        effective = date.fromisoformat(date_text)
    except ValueError:
        await ack(response_action="errors", errors={ApprovalId.DATE_BLOCK.value: "Pick the effective date."})
        return
    now = app_context.clock()
    try:
        async with app_context.sessions() as session:
            timezone = (await load_app_settings(session=session)).timezone
            decided = await edit_change(session=session, adjustment_id=checked, units_to=units,
                                        effective=effective, actor=user_id, now=now,
                                        today=business_date(now, timezone))
            await session.commit()
    except ApprovalError as exc:
        block = ApprovalId.DATE_BLOCK if "date" in str(exc) else ApprovalId.UNITS_BLOCK
        await ack(response_action="errors", errors={block.value: f"Not saved: {exc}."})
        return
    await ack()
    await _refresh(app_context, client, decided.adjustment_id)
    await _post_now(app_context, decided)
    await _refresh(app_context, client, decided.adjustment_id)


def _checked(app_context: AppContext, view: dict[str, Any], purpose: SealedFor) -> int | dict[str, str]:
    """The adjustment id the modal is about, or the errors to show on its first input."""
    first_block = next((b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"),
                       ApprovalId.REASON_BLOCK.value)
    try:
        adjustment_id = _submitted_id(app_context, view, purpose)
    except TamperedMetadata:
        return {first_block: TAMPERED}
    return adjustment_id


async def _post_now(app_context: AppContext, decided: Decided) -> None:
    """Post the approved change through the outbox now; a failure stays in the outbox and is retried."""
    if decided.to_post is None:
        return
    engine = await engine_or_reason(app_context)
    if isinstance(engine, NotConfigured):
        log.info("approved change %s waits for the outbox job: %s", decided.to_post, engine.reason)
        return
    try:
        await engine.post_outbox(only_ids=[decided.to_post])
    except Exception:
        log.exception("posting approved change %s failed; the outbox retries it", decided.to_post)


async def _refresh(app_context: AppContext, client: AsyncWebClient, adjustment_id: int) -> None:
    async with app_context.sessions() as session:
        channel = (await load_app_settings(session=session)).alerts_channel
    await refresh_approval_messages(sessions=app_context.sessions, client=client, channel=channel,
                                    adjustment_id=adjustment_id)
