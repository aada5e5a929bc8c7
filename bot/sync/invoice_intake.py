"""Invoices from a marketplace's API into the database: listed, read whole once, stored once.

`fetch_invoices` lists the invoices dated in a range through the vendor's invoice reader
(`bot.connectors.invoice_sources`), reads the lines of each one not stored yet, stores it
(`bot.db.invoices.store_invoice`), and notes an invoice the source now marks credited (or void). A credited
invoice is read after the others of its month, so it never supersedes its own replacement. It returns the
invoices stored now: the month-end check and the Slack message start from them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.connectors.invoice_sources import InvoiceSource
from bot.db.invoices import find_stored, record_credited, store_invoice
from bot.db.models import Invoice


async def fetch_invoices(*, sessions: async_sessionmaker[AsyncSession], reader: InvoiceSource, start: date,
                         end: date, now: datetime, actor: str = "system") -> list[Invoice]:
    heads = await reader.list_invoices(start=start, end=end)
    heads.sort(key=lambda head: (head.month, head.credited, head.invoice_date or head.month))
    stored_now: list[Invoice] = []
    for head in heads:
        async with sessions() as session:
            existing = await find_stored(session, source=reader.system, received=head)
            if existing is not None:
                if head.credited:
                    await record_credited(session, invoice=existing, status=head.status or "", now=now)
                    await session.commit()
                continue
        whole = await reader.read_invoice(head)
        async with sessions() as session:
            stored = await store_invoice(session, source=reader.system, marketplace=reader.system, received=whole,
                                         now=now, actor=actor)
            await session.commit()
            if stored.created:
                stored_now.append(stored.invoice)
    return stored_now
