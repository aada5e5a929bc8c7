"""An invoice file the billing lead uploads: CSV or XLSX, columns guessed or named once and saved per source,
stored once by its SHA-256, refused with the line and column when a cell cannot be read."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import xlsxwriter
from sqlalchemy import func, select

from bot.__main__ import main
from bot.clock import ManualClock
from bot.db.invoices import invoice_lines
from bot.db.models import AuditEvent, Invoice
from bot.domain.invoice_check import LineKind
from bot.services.invoice_files import InvoiceFileError, import_invoice_file, saved_mapping
from tests.conftest import PINNED_NOW

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)

PAX8_LIKE = """\
type,companyId,companyName,subscriptionId,productId,productName,startPeriod,endPeriod,quantity,term,cost,costTotal
subscription,c-1,Acme Co.,s-1,p-1,M365 Business Premium,2026-11-01,2026-11-30,12,Monthly,18.50,222.00
prorate,c-1,Acme Co.,s-1,p-1,M365 Business Premium,2026-10-16,2026-10-31,2,Monthly,18.50,19.10
subscription,c-2,Globex,s-2,p-2,Exchange Online,2026-10-15,2027-10-14,5,Annual,48.00,240.00
"""

OWN_WORDS = """Client,Item,Seats,Each,Billing month
Acme Co.,M365 Business Premium,12,18.50,2026-11-01
"""


async def run_import(session, content: str | bytes, *, name: str = "nov.csv", source: str = "pax8",
                     given: dict | None = None, month: date | None = None):
    data = content.encode() if isinstance(content, str) else content
    result = await import_invoice_file(session=session, content=data, file_name=name, source=source,
                                       marketplace="pax8", month=month, given=given or {}, actor="cli:test", now=NOW)
    await session.commit()
    return result


async def test_a_pax8_shaped_csv_is_read_without_a_mapping_and_stored_once(session):
    result = await run_import(session, PAX8_LIKE)
    assert result.stored.created
    invoice = result.stored.invoice
    assert (invoice.month, invoice.line_count, invoice.total) == (date(2026, 11, 1), 3, Decimal("481.10"))
    lines = await invoice_lines(session, invoice.id)
    assert [line.kind for line in lines] == [LineKind.subscription, LineKind.prorate, LineKind.subscription]
    assert [line.months for line in lines] == [1, 1, 12]
    assert lines[0].subscription_id == "s-1" and lines[0].product_id == "p-1" and lines[0].quantity == 12
    again = await run_import(session, PAX8_LIKE, name="renamed.csv", source="someone-else")
    assert not again.stored.created and again.stored.invoice.id == invoice.id  # the same file, by its hash
    assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
    actions = set((await session.scalars(select(AuditEvent.action))).all())
    assert {"import_invoice", "save_invoice_mapping"} <= actions


async def test_the_mapping_is_named_once_and_used_again(session):
    wanted = "no column found for company_name, product_name, unit_cost or cost_total.*Client, Item, Seats"
    with pytest.raises(InvoiceFileError, match=wanted):
        await run_import(session, OWN_WORDS, source="distie")
    given = {"company_name": "Client", "product_name": "Item", "quantity": "Seats", "unit_cost": "Each",
             "invoice_date": "Billing month"}
    first = await run_import(session, OWN_WORDS, source="distie", given=given)
    assert first.stored.invoice.month == date(2026, 11, 1)
    assert (await saved_mapping(session, "distie"))["quantity"] == "Seats"
    december = OWN_WORDS.replace("2026-11-01", "2026-12-01").replace(",12,", ",13,")
    second = await run_import(session, december, name="dec.csv", source="distie")  # no mapping given
    [line] = await invoice_lines(session, second.stored.invoice.id)
    assert (second.stored.invoice.month, line.quantity, line.cost_total) == (date(2026, 12, 1), 13,
                                                                             Decimal("240.5000"))


async def test_a_corrected_file_for_the_month_supersedes_the_first(session):
    from bot.db.invoices import current_invoices

    first = await run_import(session, PAX8_LIKE)
    corrected = PAX8_LIKE.replace(",12,Monthly,18.50,222.00", ",13,Monthly,18.50,240.50")
    second = await run_import(session, corrected, name="nov-corrected.csv")
    [current] = await current_invoices(session, month=date(2026, 11, 1))
    assert current.invoice.id == second.stored.invoice.id != first.stored.invoice.id


async def test_an_xlsx_file_reads_like_a_csv(session):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for row, values in enumerate(line.split(",") for line in PAX8_LIKE.strip().splitlines()):
        for column, value in enumerate(values):
            sheet.write_number(row, column, float(value)) if row and column in (8, 10, 11) else \
                sheet.write_string(row, column, value)
    book.close()
    result = await run_import(session, buffer.getvalue(), name="nov.xlsx")
    lines = await invoice_lines(session, result.stored.invoice.id)
    assert [line.quantity for line in lines] == [12, 2, 5]
    assert lines[1].cost_total == Decimal("19.1000")


@pytest.mark.parametrize(("content", "name", "message"), [
    (PAX8_LIKE.replace(",12,Monthly", ",twelve,Monthly"), "bad.csv", "bad.csv line 2, quantity: 'twelve'"),
    (PAX8_LIKE.replace("2026-11-01,2026-11-30,12", "first of nov,2026-11-30,12"), "bad.csv", "line 2, period start"),
    ("", "empty.csv", "empty.csv is empty"),
    (b"\xff\xfe\x00garbage", "bin.csv", "not UTF-8"),
    (b"not a workbook", "fake.xlsx", "not a readable XLSX"),
    (PAX8_LIKE, "nov.pdf", ".csv or .xlsx"),
])
async def test_unreadable_files_are_refused_with_the_place(session, content, name, message):
    with pytest.raises(InvoiceFileError, match=message):
        await run_import(session, content, name=name)
    assert await session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_the_cli_imports_a_file_and_says_so(tmp_path, monkeypatch, capsys, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEATSYNC_SECRET_KEY", "k" * 44)
    path = tmp_path / "nov.csv"
    path.write_text(PAX8_LIKE)
    argv = ["invoices", "import", str(path), "--marketplace", "pax8"]
    assert main(argv, clock=ManualClock(PINNED_NOW)) == 0
    assert "stored invoice nov.csv for November 2026 from pax8: 3 lines" in capsys.readouterr().out
    assert main(argv, clock=ManualClock(PINNED_NOW)) == 0
    assert "already stored" in capsys.readouterr().out
    assert main(["invoices", "import", str(path), "--marketplace", "pax8", "--map", "quantity"]) == 2
    assert "FIELD=COLUMN" in capsys.readouterr().err
    assert main(["invoices", "check", "--month", "2026-11"], clock=ManualClock(PINNED_NOW)) == 0
    assert "Pax8 invoice for November 2026" in capsys.readouterr().out
