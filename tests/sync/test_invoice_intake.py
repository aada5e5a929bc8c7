"""Pax8 invoices into the database over real HTTP to the simulator: every released invoice stored once with its
lines, a second fetch stores nothing, a credited-and-reissued invoice supersedes the old one without counting
twice, and a credited invoice with no replacement yet is not reconcilable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.connectors.connection import Connection
from bot.connectors.invoice_sources import NoInvoiceSource, invoice_source
from bot.connectors.marketplace.pax8.client import Pax8Client
from bot.db.engine import session_factory
from bot.db.invoices import current_invoices, invoice_lines
from bot.db.models import Invoice, InvoiceLineRow, InvoiceSupersession
from bot.domain.invoice_check import LineKind
from bot.sandbox.pax8 import Pax8Simulator
from bot.sandbox.pax8.invoices import credit_and_reissue, released_lines
from bot.sync.invoice_intake import fetch_invoices
from tests.sandbox.pax8_client import PARTNER, FakeClock, pax8_app, small_world

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
pytestmark = pytest.mark.db


@pytest.fixture
def world():
    return small_world(seed=3)


@pytest.fixture
async def reader(aiohttp_server, world):
    server = await aiohttp_server(pax8_app(Pax8Simulator(world, clock=FakeClock())))
    creds = world.credentials
    client = Pax8Client.from_connection(Connection("pax8", str(server.make_url(PARTNER)),
                                                   {"client_id": creds.pax8_client_id},
                                                   {"client_secret": creds.pax8_client_secret}))
    yield invoice_source("pax8", client)
    await client.aclose()


async def fetch(engine, reader):
    return await fetch_invoices(sessions=session_factory(engine), reader=reader, start=date(2026, 1, 1),
                                end=date(2026, 12, 31), now=NOW)


async def test_every_released_invoice_is_stored_once_with_its_lines(engine, reader, world):
    book = world.pax8
    stored = await fetch(engine, reader)
    assert [invoice.month for invoice in stored] == book.invoice_months
    async with session_factory(engine)() as session:
        november = next(i for i in stored if i.month == date(2026, 11, 1))
        lines = await invoice_lines(session, november.id)
        expected = released_lines(book, date(2026, 11, 1))
        assert len(lines) == len(expected) == november.line_count
        assert sum((line.cost_total for line in lines), Decimal(0)) == sum(line.cost_total for line in expected)
        kinds = {line.kind for line in lines}
        assert LineKind.subscription in kinds and LineKind.prorate in kinds
        annual = [line for line in lines if line.months == 12]
        assert all(line.unit_cost == line.cost_total / line.quantity for line in annual if line.kind == "subscription")
    assert await fetch(engine, reader) == []  # fetched again: nothing new
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == len(book.invoice_months)
        assert await session.scalar(select(func.count()).select_from(InvoiceLineRow)) == sum(
            len(released_lines(book, month)) for month in book.invoice_months)


async def test_a_credited_and_reissued_invoice_supersedes_the_old_one(engine, reader, world):
    book = world.pax8
    month = book.invoice_months[-1]
    await fetch(engine, reader)
    corrected = released_lines(book, month)[:-1]  # the correction drops a line
    credit_and_reissue(book, month, corrected)
    stored = await fetch(engine, reader)
    assert [(invoice.month, invoice.line_count) for invoice in stored] == [(month, len(corrected))]
    async with session_factory(engine)() as session:
        current = {c.invoice.id: c for c in await current_invoices(session, month=month) if c.invoice}
        assert list(current) == [stored[0].id]  # one invoice of the month to check, the new one
        old = await session.scalar(select(Invoice).where(Invoice.month == month, Invoice.id != stored[0].id))
        assert old.line_count == len(corrected) + 1  # the old one is kept, unedited
        notes = (await session.scalars(select(InvoiceSupersession).where(InvoiceSupersession.invoice_id == old.id)
                                       )).all()
        assert {note.superseded_by_id for note in notes} == {None, stored[0].id}
    assert await fetch(engine, reader) == []
    async with session_factory(engine)() as session:  # the credit is noted once
        assert await session.scalar(select(func.count()).select_from(InvoiceSupersession)) == 2


async def test_credited_without_a_replacement_is_not_reconcilable(engine, world):
    book = world.pax8
    month = book.invoice_months[-1]

    class Stub:
        system = "pax8"

        def __init__(self, credited: bool) -> None:
            self.credited = credited

        async def list_invoices(self, *, start, end):
            from bot.domain.invoices import ReceivedInvoice

            return [ReceivedInvoice(source_id="inv-1", month=month, lines=(), number="inv-1",
                                    status="Credited" if self.credited else "Unpaid")]

        async def read_invoice(self, head):
            line = (await _one_line())
            return replace(head, lines=(line,))

    await fetch_invoices(sessions=session_factory(engine), reader=Stub(False), start=month, end=month, now=NOW)
    async with session_factory(engine)() as session:
        [current] = await current_invoices(session, month=month)
        assert current.invoice is not None
    await fetch_invoices(sessions=session_factory(engine), reader=Stub(True), start=month, end=month, now=NOW)
    async with session_factory(engine)() as session:
        [current] = await current_invoices(session, month=month)
        assert current.invoice is None and "credited" in current.reason


async def _one_line():
    from bot.domain.invoice_check import InvoiceLine

    return InvoiceLine(line_id="l1", kind=LineKind.subscription, company_id="c", company_name="C", product_id="p",
                       product_name="P", subscription_id="s", period_start=date(2026, 11, 1),
                       period_end=date(2026, 11, 30), quantity=Decimal(1), unit_cost=Decimal(2),
                       cost_total=Decimal(2))


async def test_draft_items_read_the_month_being_billed(reader, world):
    lines = await reader.draft_lines(month_offset=1)
    monthly = [line for line in lines if line.kind == LineKind.subscription and line.months == 1]
    assert monthly and {line.period_start for line in monthly} == {date(2026, 12, 1)}
    assert not any(line.kind == LineKind.usage for line in lines)  # drafts leave usage out, as Pax8 says


def test_a_marketplace_without_invoices_in_its_api_says_so():
    with pytest.raises(NoInvoiceSource, match="import them as files"):
        invoice_source("odin", object())
