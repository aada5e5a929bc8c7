"""An invoice file shared with the bot (in its DM, or a CSV/XLSX in a channel it is in): read from Slack, imported
with the column mapping saved for the source (the active marketplace), answered in the conversation.

Slack sends two events for one share (`file_shared`, and the conversation's `message` of subtype `file_share`);
the file is taken once: the answer is one kept message per file (`invoice-file:<file id>`), and a file already
answered is left alone. The first file of a source has no saved mapping: the answer carries *Set the columns…*,
whose modal offers the file's headers with SeatSync's guesses picked; submitting imports it. Billing team only.
A file that cannot be read or mapped is answered with the reason and nothing is stored (the import is one
transaction); an invoice stored before (same source id or same file) is said to be.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.invoices.views import mapping_block_id, mapping_modal
from bot.db.app_settings import load_app_settings
from bot.notify.invoice_messages import show_invoice
from bot.notify.kept_messages import find_kept_message, keep_message
from bot.services.invoice_files import (
    FIELDS,
    REQUIRED,
    InvoiceFileError,
    guess_mapping,
    import_invoice_file,
    missing_fields,
    read_table,
    saved_mapping,
)
from bot.services.invoice_findings import source_label
from bot.slack.blocks import button, buttons, message_blocks, section
from bot.slack.guards import billing_team_only, refusal_for_billing_team
from bot.slack.ids import InvoiceId, SealedFor
from bot.slack.inbound import from_a_message
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import open_state, seal_state
from bot.slack.mrkdwn import mrkdwn_escape
from bot.slack.shared_files import SharedFile, SharedFileError, read_shared_file

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

INVOICE_SUFFIXES = (".csv", ".xlsx")
MAX_FILES_PER_MESSAGE = 5
FIELD_LABELS = {
    "company_id": "Customer id", "company_name": "Customer name", "subscription_id": "Subscription id",
    "product_id": "Product id / SKU", "product_name": "Product name", "quantity": "Quantity",
    "unit_cost": "Unit cost", "cost_total": "Line total (cost)", "period_start": "Period start",
    "period_end": "Period end", "kind": "Line type (subscription, prorate, usage…)", "term": "Term",
    "line_id": "Line id", "invoice_number": "Invoice number", "invoice_date": "Invoice date",
    "currency": "Currency",
}
_file_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def register_file_events(app: AsyncApp) -> None:
    app.event("file_shared")(file_shared)
    app.event({"type": "message", "subtype": "file_share"})(message_with_files)
    app.action(InvoiceId.MAPPING_OPEN.value, matchers=[from_a_message], middleware=[billing_team_only])(
        open_mapping)
    app.view(InvoiceId.MAPPING_CALLBACK.value, middleware=[billing_team_only])(submit_mapping)


def answer_key(file_id: str) -> str:
    return f"invoice-file:{file_id}"


async def file_shared(event: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    await take_file(app_context, client, file_id=str(event.get("file_id") or ""), user=event.get("user_id"),
                    channel=event.get("channel_id"), tell_refusal=True)


async def message_with_files(event: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    if event.get("bot_id"):
        return
    for shared in (event.get("files") or [])[:MAX_FILES_PER_MESSAGE]:
        if isinstance(shared, dict):
            await take_file(app_context, client, file_id=str(shared.get("id") or ""), user=event.get("user"),
                            channel=event.get("channel"), tell_refusal=False)


def _in_a_dm(channel: str) -> bool:
    return channel.startswith("D")


async def take_file(app_context: AppContext, client: AsyncWebClient, *, file_id: str, user: str | None,
                    channel: str | None, tell_refusal: bool) -> None:
    """Read, map and import one shared file, once; the answer goes to the conversation it was shared in."""
    if not file_id or not channel or not user:
        return
    lock = _file_locks.get(file_id)
    if lock is None:
        lock = _file_locks[file_id] = asyncio.Lock()
    async with lock:
        async with app_context.sessions() as session:
            if await find_kept_message(session=session, key=answer_key(file_id)) is not None:
                return  # answered already (the other event of the same share)
        try:
            shared = await read_shared_file(client, file_id)
        except SharedFileError as exc:
            if _in_a_dm(channel):
                await _answer(app_context, client, file_id, channel, f"I could not read that file: {exc}. "
                                                                    "Nothing was stored.")
            return
        if not _in_a_dm(channel) and Path(shared.name).suffix.lower() not in INVOICE_SUFFIXES:
            return  # a channel's other files are not SeatSync's business
        refused = await refusal_for_billing_team(app_context, client, user)
        if refused is not None:
            if tell_refusal:
                await _ephemeral(client, channel, user, f"I did not import {shared.name}: {refused}")
            return
        await _import_or_ask(app_context, client, shared, channel=channel, user=user)


async def _import_or_ask(app_context: AppContext, client: AsyncWebClient, shared: SharedFile, *, channel: str,
                         user: str) -> None:
    async with app_context.sessions() as session:
        marketplace = (await load_app_settings(session=session)).marketplace
        saved = await saved_mapping(session, marketplace) if marketplace else None
    if not marketplace:
        await _answer(app_context, client, shared.id, channel,
                      f"I did not import {shared.name}: no marketplace is configured yet (/seats config).")
        return
    if saved is None:
        try:
            read_table(shared.content, shared.name)
        except InvoiceFileError as exc:
            await _answer(app_context, client, shared.id, channel, f"I could not import it: {exc}. Nothing was stored.")
            return
        value = seal_state(app_context, SealedFor.INVOICE_MAPPING, {"f": shared.id, "c": channel})
        await _answer(app_context, client, shared.id, channel,
                      f"This is the first {source_label(marketplace)} invoice file I am given: say once which "
                      f"column holds what, and I import {shared.name}.",
                      action=button("Set the columns…", InvoiceId.MAPPING_OPEN, value=value, primary=True))
        return
    await import_shared(app_context, client, shared, channel=channel, user=user, given={})


async def import_shared(app_context: AppContext, client: AsyncWebClient, shared: SharedFile, *, channel: str,
                        user: str, given: dict[str, str]) -> None:
    async with app_context.sessions() as session:
        marketplace = (await load_app_settings(session=session)).marketplace or ""
        try:
            result = await import_invoice_file(session=session, content=shared.content, file_name=shared.name,
                                               source=marketplace, marketplace=marketplace, month=None, given=given,
                                               actor=user, now=app_context.clock())
            await session.commit()
        except InvoiceFileError as exc:
            await session.rollback()
            await _answer(app_context, client, shared.id, channel, f"I could not import it: {exc}. Nothing was stored.")
            return
    invoice = result.stored.invoice
    number = invoice.number or invoice.source_id[:12]
    if not result.stored.created:
        await _answer(app_context, client, shared.id, channel,
                      f"Already stored: invoice {number} for {invoice.month:%B %Y} (the same invoice or the same "
                      "file); nothing changed.")
        return
    await _answer(app_context, client, shared.id, channel,
                  f"Stored invoice {number} for {invoice.month:%B %Y} from {source_label(marketplace)}: "
                  f"{len(result.received.lines):,} lines. Its check follows.")
    await show_invoice(app_context=app_context, client=client, invoice_id=invoice.id)


async def _answer(app_context: AppContext, client: AsyncWebClient, file_id: str, channel: str, text: str, *,
                  action=None) -> None:
    blocks = [section(mrkdwn_escape(text))]
    if action is not None:
        blocks.append(buttons([action], block_id=InvoiceId.MAPPING_ACTIONS_BLOCK))
    await keep_message(sessions=app_context.sessions, client=client, key=answer_key(file_id), channel=channel,
                       text=mrkdwn_escape(text), blocks=message_blocks(blocks))


async def _ephemeral(client: AsyncWebClient, channel: str, user: str, text: str) -> None:
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=mrkdwn_escape(text))
    except SlackApiError as exc:
        log.info("cannot tell %s why a file was not imported: %s", user, exc.response.get("error"))


async def open_mapping(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    await ack()
    try:
        state = open_state(app_context, SealedFor.INVOICE_MAPPING, body["actions"][0].get("value"))
    except TamperedMetadata:
        return
    file_id = str(state.get("f") or "")
    try:
        shared = await read_shared_file(client, file_id)
        headers, _ = read_table(shared.content, shared.name)
    except (SharedFileError, InvoiceFileError) as exc:
        await _answer(app_context, client, file_id, str(state.get("c") or ""),
                      f"I could not read that file: {exc}. Nothing was stored.")
        return
    metadata = seal_state(app_context, SealedFor.INVOICE_MAPPING, state)
    view = mapping_modal(file_name=shared.name, headers=[h for h in headers if h],
                         fields={name: FIELD_LABELS.get(name, name) for name in FIELDS},
                         guessed=guess_mapping(headers), required=REQUIRED, metadata=metadata)
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("cannot open the invoice columns modal: %s", exc.response.get("error"))


async def submit_mapping(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                         app_context: AppContext) -> None:
    first_block = mapping_block_id(REQUIRED[0])
    try:
        state = open_state(app_context, SealedFor.INVOICE_MAPPING, view.get("private_metadata"))
    except TamperedMetadata:
        await ack(response_action="errors", errors={first_block: "This dialog's state was altered; nothing stored."})
        return
    values = view.get("state", {}).get("values", {})
    given = {}
    for name in FIELDS:
        picked = ((values.get(mapping_block_id(name)) or {}).get(name) or {}).get("selected_option")
        if isinstance(picked, dict) and picked.get("value"):
            given[name] = str(picked["value"])
    missing = missing_fields(given)
    if missing:
        block = mapping_block_id(missing[0] if missing[0] in FIELDS else "unit_cost")
        await ack(response_action="errors", errors={block: f"Pick a column for {', '.join(missing)}."})
        return
    await ack()
    file_id, channel = str(state.get("f") or ""), str(state.get("c") or "")
    try:
        shared = await read_shared_file(client, file_id)
    except SharedFileError as exc:
        await _answer(app_context, client, file_id, channel, f"I could not read that file: {exc}. Nothing was stored.")
        return
    await import_shared(app_context, client, shared, channel=channel, user=body["user"]["id"], given=given)
