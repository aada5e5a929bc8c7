"""The buttons of an invoice's message: *Accept*, *Fixed*, *Ignore…* (a modal asks why), *Link it…* (the link
wizard, pre-filled with the unlinked line's company, subscription and resource), and the url buttons (acked).

Billing team only. Each listener acks first; the decision is taken by `bot.services.invoice_findings`, which
refuses a finding no longer in the invoice's check; then the invoice's message is updated to show it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.invoices.views import ignore_modal
from bot.commands.link.wizard import open_prefilled_wizard
from bot.notify.invoice_blocks import action_pattern
from bot.notify.invoice_messages import show_invoice
from bot.services.invoice_findings import FindingDecisionError, checked_invoice, decide_finding, link_target
from bot.slack.guards import billing_team_only
from bot.slack.ids import InvoiceId, SealedFor
from bot.slack.inbound import from_a_message
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import open_state, seal_state
from bot.slack.mrkdwn import mrkdwn_escape

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

TAMPERED = "This button's finding was altered, so nothing was decided."


def register_invoice_actions(app: AsyncApp) -> None:
    guarded = {"matchers": [from_a_message], "middleware": [billing_team_only]}
    app.action(action_pattern(InvoiceId.ACCEPT), **guarded)(accept_finding)
    app.action(action_pattern(InvoiceId.FIXED), **guarded)(fixed_finding)
    app.action(action_pattern(InvoiceId.IGNORE), **guarded)(ignore_button)
    app.action(action_pattern(InvoiceId.LINK), **guarded)(link_button)
    app.action(action_pattern(InvoiceId.OPEN_SERVICE))(_ack_only)
    app.action(InvoiceId.OPEN_REPORT.value)(_ack_only)
    app.view(InvoiceId.IGNORE_CALLBACK.value, middleware=[billing_team_only])(submit_ignore)


async def _ack_only(ack: AsyncAck) -> None:
    await ack()


def _named(app_context: AppContext, value: str | None, purpose: SealedFor) -> tuple[int, str]:
    payload = open_state(app_context, purpose, value)
    invoice_id, key = payload.get("i"), payload.get("k")
    if not isinstance(invoice_id, int) or not isinstance(key, str):
        raise TamperedMetadata("no finding in it")
    return invoice_id, key


async def _tell(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def accept_finding(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                         app_context: AppContext) -> None:
    await _decide_from_button(ack, body, respond, client, app_context, "accepted")


async def fixed_finding(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                        app_context: AppContext) -> None:
    await _decide_from_button(ack, body, respond, client, app_context, "fixed")


async def _decide_from_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                              app_context: AppContext, decision: str) -> None:
    await ack()
    try:
        invoice_id, key = _named(app_context, body["actions"][0].get("value"), SealedFor.INVOICE_FINDING)
    except TamperedMetadata:
        await _tell(respond, TAMPERED)
        return
    error = await _decide(app_context, invoice_id, key, decision, None, body["user"]["id"])
    if error is not None:
        await _tell(respond, f"Not recorded: {mrkdwn_escape(error)}.")
    await show_invoice(app_context=app_context, client=client, invoice_id=invoice_id)


async def _decide(app_context: AppContext, invoice_id: int, key: str, decision: str, reason: str | None,
                  user_id: str) -> str | None:
    try:
        async with app_context.sessions() as session:
            await decide_finding(session=session, invoice_id=invoice_id, finding_key=key, decision=decision,
                                 reason=reason, actor=user_id, now=app_context.clock())
            await session.commit()
    except FindingDecisionError as exc:
        return str(exc)
    return None


async def ignore_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                        app_context: AppContext) -> None:
    """*Ignore…*: a modal asks why (the reason is required)."""
    await ack()
    value = body["actions"][0].get("value")
    try:
        invoice_id, key = _named(app_context, value, SealedFor.INVOICE_FINDING)
    except TamperedMetadata:
        await _tell(respond, TAMPERED)
        return
    async with app_context.sessions() as session:
        checked = await checked_invoice(session=session, invoice_id=invoice_id)
    finding = checked.finding(key) if checked is not None else None
    if finding is None:
        await _tell(respond, "This finding is no longer in the invoice's check; nothing to ignore.")
        await show_invoice(app_context=app_context, client=client, invoice_id=invoice_id)
        return
    metadata = seal_state(app_context, SealedFor.INVOICE_IGNORE, {"i": invoice_id, "k": key})
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=ignore_modal(finding, metadata=metadata))
    except SlackApiError as exc:
        log.warning("cannot open the ignore modal: %s", exc.response.get("error"))


async def submit_ignore(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        app_context: AppContext) -> None:
    entry = view.get("state", {}).get("values", {}).get(InvoiceId.REASON_BLOCK, {}).get(InvoiceId.REASON, {})
    reason = str(entry.get("value") or "").strip()
    try:
        invoice_id, key = _named(app_context, view.get("private_metadata"), SealedFor.INVOICE_IGNORE)
    except TamperedMetadata:
        await ack(response_action="errors",
                  errors={InvoiceId.REASON_BLOCK.value: "This dialog's state was altered; nothing was decided."})
        return
    if not reason:
        await ack(response_action="errors", errors={InvoiceId.REASON_BLOCK.value: "Say why it is ignored."})
        return
    error = await _decide(app_context, invoice_id, key, "ignored", reason, body["user"]["id"])
    if error is not None:
        await ack(response_action="errors", errors={InvoiceId.REASON_BLOCK.value: f"Not recorded: {error}."})
        return
    await ack()
    await show_invoice(app_context=app_context, client=client, invoice_id=invoice_id)


async def link_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                      app_context: AppContext) -> None:
    """*Link it…*: the link wizard, opened on the unlinked line's company (and subscription and resource where
    SeatSync has read them)."""
    await ack()
    try:
        invoice_id, key = _named(app_context, body["actions"][0].get("value"), SealedFor.INVOICE_FINDING)
    except TamperedMetadata:
        await _tell(respond, TAMPERED)
        return
    async with app_context.sessions() as session:
        checked = await checked_invoice(session=session, invoice_id=invoice_id)
        finding = checked.finding(key) if checked is not None else None
        target = (await link_target(session=session, invoice=checked.invoice, finding=finding)
                  if checked is not None and finding is not None else None)
    if target is None:
        await _tell(respond, "This line is no longer in the invoice's check; nothing to link.")
        return
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    await open_prefilled_wizard(app_context=app_context, client=client, trigger_id=body["trigger_id"],
                                user=body["user"]["id"], channel=channel, company=target.company,
                                subscription=target.subscription, resource=target.resource, hint=target.hint,
                                reply=lambda text: _tell(respond, text))
