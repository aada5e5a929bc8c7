"""An invoice file the billing lead uploads (CSV or XLSX), for any marketplace: read with a column mapping that
is saved once per source, stored once (by the file's SHA-256), checked like any invoice.

The mapping says which column holds each field (`FIELDS`). The first import of a source guesses it from the
headers (Pax8's item fields, the Ingram rated-data report's columns, plain words) and takes any column a person
names (`--map quantity="Qty"`); what was used is saved under `invoice_mapping:<source>` in `app_settings` and
used again next time, so a source's file is described once. A file without a needed field is refused with the
headers it has; a row that cannot be read is refused with its line number and column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.audit import record_audit
from bot.db.invoices import Stored, store_invoice
from bot.db.models import AppSetting
from bot.db.tenant_scope import current_tenant_id
from bot.domain.invoice_check import InvoiceLine, LineKind
from bot.domain.invoices import ReceivedInvoice, first_of
from bot.domain.money import NumberError, parse_number

MAPPING_PREFIX = "invoice_mapping:"
MAX_ROWS = 200_000
REQUIRED = ("company_name", "product_name", "quantity")
FIELDS = ("company_id", "company_name", "subscription_id", "product_id", "product_name", "quantity", "unit_cost",
          "cost_total", "period_start", "period_end", "kind", "term", "line_id", "invoice_number", "invoice_date",
          "currency")
# header words per field, compared without case, spaces, dashes or underscores
GUESSES = {
    "company_id": ("companyid", "customerid", "accountid", "customernumber"),
    "company_name": ("companyname", "customername", "customer", "company", "accountname"),
    "subscription_id": ("subscriptionid", "subscription"),
    "product_id": ("productid", "sku", "mpn", "partnumber", "productsku"),
    "product_name": ("productname", "product", "description", "itemname"),
    "quantity": ("quantity", "qty", "units", "seats"),
    "unit_cost": ("cost", "unitcost", "unitprice", "price"),
    "cost_total": ("costtotal", "extendedcost", "extendedprice", "amountdue", "total", "amount"),
    "period_start": ("startperiod", "billingperiodstart", "periodstart", "startdate", "chargestartdate"),
    "period_end": ("endperiod", "billingperiodend", "periodend", "enddate", "chargeenddate"),
    "kind": ("type", "chargetype", "linetype", "kind"),
    "term": ("term", "billingterm", "billingfrequency"),
    "line_id": ("id", "lineid", "itemid"),
    "invoice_number": ("invoicenumber", "invoiceno", "invoiceid", "invoice"),
    "invoice_date": ("invoicedate",),
    "currency": ("currency", "currencycode"),
}
KIND_WORDS = {
    "subscription": LineKind.subscription, "recurring": LineKind.subscription, "renewal": LineKind.subscription,
    "prorate": LineKind.prorate, "proration": LineKind.prorate, "prorated": LineKind.prorate,
    "change": LineKind.prorate, "usage": LineKind.usage, "arrears": LineKind.usage,
}


class InvoiceFileError(ValueError):
    """A file SeatSync cannot read as an invoice; the message says what to change."""


@dataclass(frozen=True)
class ImportResult:
    stored: Stored
    received: ReceivedInvoice
    mapping: dict[str, str]


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-./()#]+", "", header.strip().lower())


def read_table(content: bytes, file_name: str) -> tuple[list[str], list[list[Any]]]:
    """The header row and the data rows of a CSV or XLSX file."""
    suffix = Path(file_name).suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise InvoiceFileError(f"{file_name} is not a readable XLSX workbook ({type(exc).__name__})") from None
        sheet = book.worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        book.close()
    elif suffix in (".csv", ".txt"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvoiceFileError(f"{file_name} is not UTF-8 text (save it as CSV UTF-8)") from None
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise InvoiceFileError(f"{file_name}: SeatSync reads invoices as .csv or .xlsx")
    rows = [row for row in rows if any(cell not in (None, "") for cell in row)]
    if not rows:
        raise InvoiceFileError(f"{file_name} is empty")
    if len(rows) > MAX_ROWS + 1:
        raise InvoiceFileError(f"{file_name} has more than {MAX_ROWS} rows")
    return [str(cell or "").strip() for cell in rows[0]], rows[1:]


def resolve_mapping(headers: list[str], *, saved: dict[str, str] | None, given: dict[str, str]) -> dict[str, str]:
    """field -> header: what a person gave, else what was saved for the source, else a guess from the headers."""
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise InvoiceFileError(f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}")
    present = {_norm(h): h for h in headers if h}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name in FIELDS:
        wanted = given.get(name) or (saved or {}).get(name)
        if wanted:
            if _norm(wanted) not in present:
                raise InvoiceFileError(f"the column {wanted!r} for {name} is not in the file; its columns are: "
                                       f"{', '.join(h for h in headers if h)}")
            mapping[name] = present[_norm(wanted)]
            used.add(_norm(wanted))
    for name in FIELDS:
        if name in mapping:
            continue
        for word in GUESSES[name]:
            if word in present and word not in used:
                mapping[name] = present[word]
                used.add(word)
                break
    missing = [name for name in REQUIRED if name not in mapping]
    if "unit_cost" not in mapping and "cost_total" not in mapping:
        missing.append("unit_cost or cost_total")
    if missing:
        raise InvoiceFileError(f"no column found for {', '.join(missing)}; name it with --map FIELD=COLUMN "
                               f"(the file's columns are: {', '.join(h for h in headers if h)})")
    return mapping


def _cell(row: list[Any], index: dict[str, int], name: str) -> Any:
    position = index.get(name)
    if position is None or position >= len(row):
        return None
    value = row[position]
    return value.strip() if isinstance(value, str) else value


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise InvoiceFileError(f"{where}: {value!r} is not a number")
    if isinstance(value, int | float | Decimal):
        value = format(Decimal(str(value)), "f")
    text = str(value or "0").replace("$", "").replace("€", "").replace("£", "").strip()
    if text.startswith("(") and text.endswith(")"):  # accounting negatives
        text = "-" + text[1:-1]
    try:
        number = parse_number(text, field=where)
    except NumberError as exc:
        raise InvoiceFileError(str(exc)) from None
    if abs(number) >= Decimal(10) ** 10:
        raise InvoiceFileError(f"{where}: {text} is out of range")
    return number.quantize(Decimal("0.0001"))


def _day(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for form in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text[:10], form).date()
        except ValueError:
            continue
    raise InvoiceFileError(f"{where}: {text!r} is not a date (write it as YYYY-MM-DD)")


def parse_invoice(headers: list[str], rows: list[list[Any]], mapping: dict[str, str], *, month: date | None,
                  file_name: str, sha256: str) -> ReceivedInvoice:
    index = {name: headers.index(column) for name, column in mapping.items()}
    lines: list[InvoiceLine] = []
    raws: list[dict[str, Any]] = []
    numbers: set[str] = set()
    dates: set[date] = set()
    currency = None
    for number, row in enumerate(rows, start=2):
        where = f"{file_name} line {number}"
        quantity = _number(_cell(row, index, "quantity"), f"{where}, {mapping['quantity']}")
        unit_cost = (_number(_cell(row, index, "unit_cost"), f"{where}, {mapping['unit_cost']}")
                     if "unit_cost" in index else None)
        cost_total = (_number(_cell(row, index, "cost_total"), f"{where}, {mapping['cost_total']}")
                      if "cost_total" in index else None)
        if cost_total is None:
            cost_total = (quantity * (unit_cost or Decimal(0))).quantize(Decimal("0.0001"))
        if unit_cost is None:
            unit_cost = (cost_total / quantity).quantize(Decimal("0.0001")) if quantity else Decimal(0)
        start = _day(_cell(row, index, "period_start"), f"{where}, period start")
        end = _day(_cell(row, index, "period_end"), f"{where}, period end")
        invoice_day = _day(_cell(row, index, "invoice_date"), f"{where}, invoice date")
        if invoice_day:
            dates.add(invoice_day)
        line_month = month or (first_of(invoice_day) if invoice_day else first_of(start) if start else None)
        if line_month is None:
            raise InvoiceFileError(f"{where}: no invoice date or period; give the month with --month YYYY-MM")
        start = start or line_month
        end = end or (line_month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        kind_text = str(_cell(row, index, "kind") or "subscription").strip().lower()
        term = str(_cell(row, index, "term") or "").strip().lower()
        kind = KIND_WORDS.get(kind_text.split()[0] if kind_text else "subscription", LineKind.other)
        if term == "arrears" and kind is LineKind.subscription:
            kind = LineKind.usage
        company_name = str(_cell(row, index, "company_name") or "").strip()
        product_name = str(_cell(row, index, "product_name") or "").strip()
        if not company_name or not product_name:
            raise InvoiceFileError(f"{where}: a line needs a company and a product")
        subscription = _cell(row, index, "subscription_id")
        if (found := _cell(row, index, "invoice_number")) not in (None, ""):
            numbers.add(str(found))
        currency = currency or (str(_cell(row, index, "currency") or "")[:3] or None)
        lines.append(InvoiceLine(
            line_id=str(_cell(row, index, "line_id") or f"{sha256[:12]}:{number}"), kind=kind,
            company_id=str(_cell(row, index, "company_id") or company_name), company_name=company_name,
            product_id=str(_cell(row, index, "product_id") or product_name), product_name=product_name,
            subscription_id=str(subscription) if subscription not in (None, "") else None,
            period_start=start, period_end=end, quantity=quantity, unit_cost=unit_cost, cost_total=cost_total,
            months=12 if term in ("annual", "yearly", "1 year", "12 months") else 1))
        raws.append({headers[i]: (cell if cell is None or isinstance(cell, int | float | str) else str(cell))
                     for i, cell in enumerate(row) if i < len(headers) and headers[i]})
    if not lines:
        raise InvoiceFileError(f"{file_name} has a header and no lines")
    # without a month or an invoice date: the month the seat lines bill (prorates are of the month before)
    seat_starts = [line.period_start for line in lines if line.kind is LineKind.subscription]
    invoice_month = month or first_of(min(dates) if dates else max(seat_starts or [x.period_start for x in lines]))
    return ReceivedInvoice(source_id=sha256, month=invoice_month, lines=tuple(lines),
                           number=", ".join(sorted(numbers))[:128] or file_name[:128],
                           invoice_date=min(dates) if dates else None, currency=currency,
                           total=sum((line.cost_total for line in lines), Decimal(0)), raw_lines=tuple(raws),
                           file_name=file_name[:255], file_sha256=sha256)


async def saved_mapping(session: AsyncSession, source: str) -> dict[str, str] | None:
    row = await session.get(AppSetting, (current_tenant_id(), MAPPING_PREFIX + source))
    return None if row is None else dict(row.value)


async def import_invoice_file(*, session: AsyncSession, content: bytes, file_name: str, source: str,
                              marketplace: str, month: date | None, given: dict[str, str], actor: str,
                              now: datetime) -> ImportResult:
    """Read, map and store one file; the mapping is saved for the source; the caller commits."""
    sha256 = hashlib.sha256(content).hexdigest()
    headers, rows = read_table(content, file_name)
    saved = await saved_mapping(session, source)
    mapping = resolve_mapping(headers, saved=saved, given=given)
    received = parse_invoice(headers, rows, mapping, month=month, file_name=file_name, sha256=sha256)
    if saved != mapping:
        row = await session.get(AppSetting, (current_tenant_id(), MAPPING_PREFIX + source))
        if row is None:
            session.add(AppSetting(key=MAPPING_PREFIX + source, value=mapping, updated_by=actor))
        else:
            row.value, row.updated_by = mapping, actor
        record_audit(session=session, actor=actor, action="save_invoice_mapping", subject_type="invoice_source",
                     subject_id=source[:64], before=saved, after=mapping)
    stored = await store_invoice(session, source=source, marketplace=marketplace, received=received, now=now,
                                 actor=actor)
    if stored.created:
        record_audit(session=session, actor=actor, action="import_invoice", subject_type="invoice",
                     subject_id=str(stored.invoice.id), before=None,
                     after={"file": file_name, "sha256": sha256, "lines": len(received.lines),
                            "month": received.month.isoformat()})
    return ImportResult(stored=stored, received=received, mapping=mapping)
