"""Pax8's invoices for the month-end check: `GET /invoices`, `GET /invoices/{id}/items`, `GET /invoices/draftItems`
(shared/apis/pax8.md 3-4; invoices.md 1.1-1.4), through the client's token and HTTP.

- `GET /invoices?invoiceDateRangeStart&invoiceDateRangeEnd&size=200` lists the partner's invoices (status as
  the examples show: Unpaid, Paid, Void, Carried, Nothing Due, Credited). Voided invoices never appear; a
  corrected one is `Credited` in full and a new invoice (a new id and number) is issued for the same month.
- `GET /invoices/{id}/items?size=200` pages its items; `GET /invoices/draftItems?monthOffset=0|1` pages the
  preview (items without an id; Arrears usage left out; 408 when Pax8 times out computing it).
- Item → line: `type` subscription with `term` Arrears is usage; subscription and prorate as they are;
  rebates, credits, one-time charges and fees are `other` (counted, not checked). `cost` is the partner's unit
  cost for the item's term: an Annual item's is for twelve months (`months` 12). `productId` is the link's
  resource key (as `records.resource` reads it), `subscriptionId` may be null (a migration service).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.connectors.errors import MalformedReplyError
from bot.connectors.marketplace.pax8.records import SYSTEM, Json
from bot.domain.invoice_check import InvoiceLine, LineKind
from bot.domain.invoices import ReceivedInvoice, first_of

PAGE_SIZE = 200
KINDS = {"subscription": LineKind.subscription, "prorate": LineKind.prorate}


class Pax8Invoices:
    system = SYSTEM

    def __init__(self, client: Any) -> None:
        self.client = client

    async def list_invoices(self, *, start: date, end: date) -> list[ReceivedInvoice]:
        rows = await self._pages("/invoices", "invoices", {"invoiceDateRangeStart": start.isoformat(),
                                                           "invoiceDateRangeEnd": end.isoformat(),
                                                           "sort": "invoiceDate,asc"})
        return [invoice_head(row) for row in rows]

    async def read_invoice(self, head: ReceivedInvoice) -> ReceivedInvoice:
        rows = await self._pages(f"/invoices/{head.source_id}/items", "invoice items", {})
        lines = tuple(item_line(row, f"{head.source_id}:{position}") for position, row in enumerate(rows))
        return ReceivedInvoice(source_id=head.source_id, month=head.month, lines=lines, number=head.number,
                               invoice_date=head.invoice_date, status=head.status, currency=head.currency,
                               total=head.total, raw_lines=tuple(rows))

    async def draft_lines(self, *, month_offset: int = 1) -> list[InvoiceLine] | None:
        rows = await self._pages("/invoices/draftItems", "draft items", {"monthOffset": month_offset})
        return [item_line(row, f"draft:{position}") for position, row in enumerate(rows)]

    async def _pages(self, path: str, what: str, params: dict[str, Any]) -> list[Json]:
        """Every page, one after the other (an invoice's items are a few pages at most)."""
        rows: list[Json] = []
        number, pages = 0, 1
        while number < pages:
            body = await self.client._get(path, {**params, "page": number, "size": PAGE_SIZE}, what)
            if not isinstance(body, dict) or not isinstance(body.get("content"), list):
                raise MalformedReplyError(SYSTEM, f"{what}: expected {{content: [...], page}}")
            info = body.get("page") if isinstance(body.get("page"), dict) else {}
            pages = int(info.get("totalPages") or 0)
            rows += [row for row in body["content"] if isinstance(row, dict)]
            number += 1
        return rows


def _day(row: Json, name: str, what: str) -> date:
    value = row.get(name)
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise MalformedReplyError(SYSTEM, f"{what}: {name} is not a date ({value!r})") from None


def _number(row: Json, name: str, what: str, default: Decimal | None = None) -> Decimal:
    value = row.get(name)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedReplyError(SYSTEM, f"{what}: {name} is not a number ({value!r})")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MalformedReplyError(SYSTEM, f"{what}: {name} is not a number ({value!r})") from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 10 or (isinstance(value, float) and math.isinf(value)):
        raise MalformedReplyError(SYSTEM, f"{what}: {name} is out of range ({value!r})")
    return number


def invoice_head(row: Json) -> ReceivedInvoice:
    invoice_id = row.get("id")
    if not isinstance(invoice_id, str) or not invoice_id:
        raise MalformedReplyError(SYSTEM, "an invoice has no id")
    day = _day(row, "invoiceDate", f"invoice {invoice_id}")
    total = row.get("total")
    return ReceivedInvoice(source_id=invoice_id, month=first_of(day), lines=(), number=invoice_id,
                           invoice_date=day, status=str(row.get("status") or "") or None,
                           currency=str(row.get("currencyCode") or "")[:3] or None,
                           total=None if total is None else _number(row, "total", f"invoice {invoice_id}"))


def item_line(row: Json, fallback_id: str) -> InvoiceLine:
    line_id = str(row.get("id") or fallback_id)
    what = f"invoice item {line_id}"
    kind_text, term = str(row.get("type") or ""), str(row.get("term") or "")
    kind = LineKind.usage if kind_text == "subscription" and term == "Arrears" else KINDS.get(kind_text, LineKind.other)
    quantity = _number(row, "quantity", what, Decimal(0))
    unit_cost = _number(row, "cost", what, Decimal(0))
    cost_total = _number(row, "costTotal", what, quantity * unit_cost)
    subscription_id = row.get("subscriptionId")
    product_id = str(row.get("productId") or row.get("sku") or "")
    return InvoiceLine(
        line_id=line_id, kind=kind, company_id=str(row.get("companyId") or ""),
        company_name=str(row.get("companyName") or ""), product_id=product_id,
        product_name=str(row.get("productName") or row.get("description") or product_id),
        subscription_id=str(subscription_id) if subscription_id else None,
        period_start=_day(row, "startPeriod", what), period_end=_day(row, "endPeriod", what),
        quantity=quantity, unit_cost=unit_cost, cost_total=cost_total, months=12 if term == "Annual" else 1)
