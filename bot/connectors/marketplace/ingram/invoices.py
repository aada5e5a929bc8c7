"""Ingram CMP's invoices for the month-end check: the rated-data reports (shared/apis/invoices.md 2.1-2.2).

CMP has no invoice endpoint: invoice data comes as reports pre-configured in the marketplace's UI. SeatSync lists
`GET /reports?type=on_invoice&status=completed&from&to` (offset/limit paging), keeps the CSV ones, and downloads
each from its `downloadUrl` at once (an expiring blob link); the file's SHA-256 and the report id identify it.
The columns (`COLUMNS`) are the ones an MSP integration retains of an "Every Invoice" report: invoice metadata,
customer, subscription ID, SKU (the MPN, the link's resource key), charge type (Recurring, Prorate), billing
period, quantity, four-decimal unit cost and extended cost. A report in another format or with other columns
is refused with its name: import it as a file with a column mapping instead (`seatsync invoices import`).
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.connectors.errors import MalformedReplyError
from bot.connectors.marketplace.ingram.records import SYSTEM
from bot.domain.invoice_check import InvoiceLine, LineKind
from bot.domain.invoices import ReceivedInvoice, first_of

PAGE = 100
COLUMNS = ("Invoice Number", "Invoice Date", "Customer ID", "Customer Name", "Subscription ID", "SKU", "Product Name",
           "Charge Type", "Billing Period Start", "Billing Period End", "Quantity", "Unit Cost", "Extended Cost",
           "Currency")
KINDS = {"recurring": LineKind.subscription, "prorate": LineKind.prorate, "usage": LineKind.usage}


class IngramInvoices:
    system = SYSTEM

    def __init__(self, client: Any) -> None:
        self.client = client

    async def list_invoices(self, *, start: date, end: date) -> list[ReceivedInvoice]:
        """Completed on_invoice reports created from `start` to the 10th of the month after `end` (a month's
        report comes after its invoice date)."""
        heads, offset, total = [], 0, 1
        until = first_of(first_of(end) + timedelta(days=32)).replace(day=10)
        while offset < total:
            body = await self.client._get("/reports", {"type": "on_invoice", "status": "completed",
                                                       "from": start.isoformat(), "to": until.isoformat(),
                                                       "offset": offset, "limit": PAGE}, "reports")
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise MalformedReplyError(SYSTEM, "reports: expected {data: [...], pagination}")
            total = int((body.get("pagination") or {}).get("total") or 0)
            rows = [row for row in body["data"] if isinstance(row, dict)]
            offset += max(len(rows), 1)
            for row in rows:
                if str(row.get("format")).lower() != "csv":
                    continue
                month = date.fromisoformat(str(row.get("startDate"))[:10]).replace(day=1)
                if start <= month <= end:
                    heads.append(ReceivedInvoice(source_id=str(row["id"]), month=month, lines=(),
                                                 number=str(row.get("name") or row["id"]),
                                                 status=str(row.get("status") or ""),
                                                 raw_lines=({"downloadUrl": str(row.get("downloadUrl") or "")},)))
            if not rows:
                break
        return heads

    async def read_invoice(self, head: ReceivedInvoice) -> ReceivedInvoice:
        url = head.raw_lines[0]["downloadUrl"]
        response = await self.client.http.request("GET", url, operation="report file", idempotent=True)
        content = response.content
        lines, raws, number, invoice_day = parse_report(content, head.source_id)
        return ReceivedInvoice(source_id=head.source_id, month=head.month, lines=tuple(lines),
                               number=number or head.number,
                               invoice_date=invoice_day, status=head.status, currency="USD",
                               total=sum((line.cost_total for line in lines), Decimal(0)), raw_lines=tuple(raws),
                               file_name=f"{head.number}.csv", file_sha256=hashlib.sha256(content).hexdigest())

    async def draft_lines(self, *, month_offset: int = 1) -> list[InvoiceLine] | None:
        return None  # CMP has no preview of the month being billed


def _number(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MalformedReplyError(SYSTEM, f"{where}: {text!r} is not a number") from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 10:
        raise MalformedReplyError(SYSTEM, f"{where}: {text!r} is out of range")
    return value


def parse_report(content: bytes, report_id: str) -> tuple[list[InvoiceLine], list[dict], str | None, date | None]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MalformedReplyError(SYSTEM, f"report {report_id} lacks the columns {', '.join(missing)}; import it "
                                          "as a file with a column mapping (seatsync invoices import)")
    lines, raws, number, invoice_day = [], [], None, None
    for position, row in enumerate(reader, start=2):
        where = f"report {report_id} line {position}"
        try:
            start, end = date.fromisoformat(row["Billing Period Start"]), date.fromisoformat(row["Billing Period End"])
            invoice_day = invoice_day or date.fromisoformat(row["Invoice Date"])
        except ValueError:
            raise MalformedReplyError(SYSTEM, f"{where}: a date is not YYYY-MM-DD") from None
        number = number or row["Invoice Number"]
        quantity = _number(row["Quantity"], where)
        lines.append(InvoiceLine(
            line_id=f"{report_id}:{position}", kind=KINDS.get(row["Charge Type"].strip().lower(), LineKind.other),
            company_id=row["Customer ID"], company_name=row["Customer Name"], product_id=row["SKU"],
            product_name=row["Product Name"], subscription_id=row["Subscription ID"] or None, period_start=start,
            period_end=end, quantity=quantity, unit_cost=_number(row["Unit Cost"], where),
            cost_total=_number(row["Extended Cost"], where)))
        raws.append(dict(row))
    return lines, raws, number, invoice_day
