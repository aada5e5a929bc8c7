"""The month-end invoice rounds the scheduler runs (shared/apis/invoices.md 1.1 and 5.5), and their messages.

- `take_in_invoices`: from the 5th of the month (Pax8 generates invoices on the 4th and releases them through the
  API once approved, by the 5th; a regenerated one comes later), every day until the month ends, and at once on
  the marketplace's invoice-ready notification: each active marketplace with an invoice reader has the invoices
  dated this month read and stored once; the month's invoice of each source is then shown in Slack (one message,
  updated only when what it shows changed: a new invoice, a credit, a replacement).
- `preview_drafts`: on the checklist's day before month end, the distributor's draft items of the month about
  to be billed are checked like an invoice and shown as a preview (never as the invoice, never stored).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.connectors.errors import ConnectorError
from bot.connectors.invoice_sources import NoInvoiceSource, invoice_source
from bot.db.app_settings import load_app_settings
from bot.db.models import Invoice
from bot.domain.invoices import first_of
from bot.notify.invoice_blocks import preview_blocks, preview_text
from bot.notify.invoice_messages import show_invoice
from bot.notify.kept_messages import KeptMessage, keep_message
from bot.services.invoice_findings import source_label
from bot.sync.invoice_check import check_lines
from bot.sync.invoice_intake import fetch_invoices

if TYPE_CHECKING:
    from bot.app_context import AppContext
    from bot.sync.engine import SyncEngine

log = logging.getLogger(__name__)

RELEASE_DAY = 5
ACTOR = "schedule"


def _readers(engine: SyncEngine):
    for marketplace in engine.marketplaces:
        try:
            yield marketplace.system, invoice_source(marketplace.system, marketplace)
        except NoInvoiceSource:
            continue


async def take_in_invoices(*, app_context: AppContext, engine: SyncEngine, client: AsyncWebClient | None,
                           today: date, force: bool = False) -> list[Invoice]:
    """The invoices stored now; before the 5th nothing is read unless `force` (a notification said one is ready)."""
    if today.day < RELEASE_DAY and not force:
        return []
    month = first_of(today)
    stored: list[Invoice] = []
    read: list[str] = []
    for system, reader in _readers(engine):
        try:
            stored += await fetch_invoices(sessions=app_context.sessions, reader=reader, start=month, end=today,
                                           now=app_context.clock(), actor=ACTOR)
        except ConnectorError as exc:
            log.warning("the %s invoices of %s were not read: %s", source_label(system), f"{month:%Y-%m}",
                        exc.describe())
            continue
        read.append(system)
    if client is None or not read:
        return stored
    async with app_context.sessions() as session:
        newest = (await session.execute(select(Invoice.source, Invoice.id).where(
            Invoice.month == month, Invoice.source.in_(read)).order_by(Invoice.id))).all()
    for invoice_id in {source: invoice_id for source, invoice_id in newest}.values():
        await show_invoice(app_context=app_context, client=client, invoice_id=invoice_id)
    return stored


async def preview_drafts(*, app_context: AppContext, engine: SyncEngine, client: AsyncWebClient,
                         today: date) -> list[KeptMessage]:
    """The next invoice's draft items checked against what the PSA bills now, one kept message per source."""
    month = first_of(first_of(today) + timedelta(days=32))
    async with app_context.sessions() as session:
        settings = await load_app_settings(session=session)
    channel = settings.checklist_channel or settings.alerts_channel
    if channel is None:
        log.warning("the invoice preview cannot be shown: no checklist or alerts channel is set (/seats config)")
        return []
    shown: list[KeptMessage] = []
    for system, reader in _readers(engine):
        try:
            lines = await reader.draft_lines(month_offset=1)
        except ConnectorError as exc:
            log.warning("the %s draft items were not read: %s", source_label(system), exc.describe())
            continue
        if lines is None:
            continue  # the vendor has no preview
        async with app_context.sessions() as session:
            result = await check_lines(session=session, marketplace=system, first=month, lines=lines)
        label, name = source_label(system), f"{month:%B %Y}"
        kept = await keep_message(sessions=app_context.sessions, client=client,
                                  key=f"invoice-preview:{system}:{month:%Y-%m}", channel=channel,
                                  text=preview_text(label, name, result), blocks=preview_blocks(label, name, result))
        if kept is not None:
            shown.append(kept)
    return shown
