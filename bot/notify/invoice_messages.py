"""One Slack message per invoice month and source ("Pax8 invoice for November: 3 findings, 412.80 under-billed"),
kept current instead of repeated.

The message is keyed by source and month (`invoice:<source>:<YYYY-MM>`), so it is posted once: a re-check, a
decision, or the corrected invoice that replaces the first one updates it in place (chat.update), and a
replacement also says so once in the message's thread. It goes to the checklist channel (else the alerts
channel) the first time and stays where it was posted. Nothing is sent when what it would show is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.db.app_settings import load_app_settings
from bot.db.invoices import current_invoices
from bot.db.models import Invoice
from bot.domain.invoice_check import Finding, not_reconcilable
from bot.notify.invoice_blocks import invoice_blocks, invoice_text
from bot.notify.kept_messages import KeptMessage, find_kept_message, keep_message
from bot.services.invoice_findings import CheckedInvoice, checked_invoice
from bot.slack.ids import SealedFor
from bot.slack.modal_state import seal_state
from bot.slack.mrkdwn import mrkdwn_escape
from bot.slack.report_links import signed_links

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

LINK_DAYS = 35  # the report's links outlive the month's decisions; every update signs them afresh


def message_key(invoice: Invoice) -> str:
    return f"invoice:{invoice.source}:{invoice.month:%Y-%m}"


async def _current(app_context: AppContext, invoice_id: int) -> CheckedInvoice | None:
    """The check to show for `invoice_id`'s source and month: its newest invoice not replaced, or this one
    marked not reconcilable when it was credited and nothing replaced it yet."""
    async with app_context.sessions() as session:
        invoice = await session.get(Invoice, invoice_id)
        if invoice is None:
            return None
        currents = await current_invoices(session, month=invoice.month)
        mine = next((c for c in currents if (c.invoice.source if c.invoice else None) == invoice.source), None)
        shown = mine.invoice.id if mine is not None and mine.invoice is not None else invoice.id
        checked = await checked_invoice(session=session, invoice_id=shown)
    if checked is not None and (mine is None or mine.invoice is None) and checked.replaced_by is None:
        reason = mine.reason if mine is not None else "it was credited and no replacement has arrived yet"
        checked = CheckedInvoice(invoice=checked.invoice, label=checked.label, result=not_reconcilable(reason),
                                 decided={}, replaced_by=None)
    return checked


def _signature(checked: CheckedInvoice) -> str:
    shown = [(f.key, f.fingerprint, checked.decided[f.key].id if f.key in checked.decided else None)
             for f in checked.result.findings]
    text = json.dumps([checked.invoice.id, checked.result.state.value, checked.result.reason, shown])
    return hashlib.sha256(text.encode()).hexdigest()


async def show_invoice(*, app_context: AppContext, client: AsyncWebClient, invoice_id: int,
                       force: bool = False) -> KeptMessage | None:
    """Post or update the message of `invoice_id`'s source and month; None when there is nothing to send."""
    checked = await _current(app_context, invoice_id)
    if checked is None:
        return None
    key = message_key(checked.invoice)
    async with app_context.sessions() as session:
        settings = await load_app_settings(session=session)
        existing = await find_kept_message(session=session, key=key)
    payload = {"invoice_id": checked.invoice.id, "signature": _signature(checked)}
    if existing is not None and existing.ts and existing.payload == payload and not force:
        return None
    channel = existing.channel if existing is not None and existing.ts else (
        settings.checklist_channel or settings.alerts_channel)
    if channel is None:
        log.warning("the %s invoice for %s cannot be shown: no checklist or alerts channel is set (/seats config)",
                    checked.label, f"{checked.invoice.month:%Y-%m}")
        return None
    now = app_context.clock()
    report = signed_links(app_context, name="invoice-check", filters={"month": f"{checked.invoice.month:%Y-%m}"},
                          days=LINK_DAYS, now=now)["html"]

    def sealed(finding: Finding) -> str:
        return seal_state(app_context, SealedFor.INVOICE_FINDING, {"i": checked.invoice.id, "k": finding.key})

    def service_url(finding: Finding) -> str | None:
        if finding.service_id is None or not finding.subscription_id:
            return None
        return signed_links(app_context, name="linked", days=LINK_DAYS, now=now,
                            filters={"marketplace": checked.invoice.marketplace,
                                     "subscription": finding.subscription_id})["html"]

    blocks = invoice_blocks(checked, sealed=sealed, service_url=service_url, report_url=report)
    previous = (existing.payload or {}).get("invoice_id") if existing is not None else None
    kept = await keep_message(sessions=app_context.sessions, client=client, key=key, channel=channel,
                              text=invoice_text(checked), blocks=blocks, payload=payload)
    if kept is not None and kept.ts and not kept.posted_new and previous not in (None, checked.invoice.id):
        await _say_replaced(client, kept, checked)
    return kept


async def _say_replaced(client: AsyncWebClient, kept: KeptMessage, checked: CheckedInvoice) -> None:
    number = mrkdwn_escape(checked.invoice.number or checked.invoice.source_id)
    try:
        await client.chat_postMessage(channel=kept.channel, thread_ts=kept.ts,
                                      text=f"A corrected invoice ({number}) replaced the one first shown here; "
                                           f"the message above now checks it: {invoice_text(checked)}")
    except SlackApiError as exc:
        log.warning("cannot say in the thread that invoice %s replaced the first: %s", number,
                    exc.response.get("error"))
