"""Posting a seat change to a HaloPSA recurring-invoice line, exactly once, leaving every other line as it was.

How (notes = shared/apis/halopsa.md §4, "writing a line directly via API"):
1. `GET /api/RecurringInvoice/{id}` right before the write, under a lock per recurring invoice (two changes to
   one invoice never interleave in this process): Halo's update re-posts every line, so the lines sent must be
   the lines as they are now.
2. `POST /api/RecurringInvoice` with `[{"id": <id>, "lines": [<every line>]}]`: every other line exactly as read
   (every field, its pro-rata records by id), ours as read with:
   - `qty_order` = the new quantity (billed in full from the next invoice on);
   - `unit_price` / `unit_cost` when the request carries them (None keeps Halo's);
   - `item_internal_reference` = what it held before our marker, then `[seatsync:<key>]`: the key travels in every
     write, and an earlier key of ours is replaced;
   - when the change is prorated, one pro-rata record more in `prorata_data` (below).
   Nothing else: no header field, no other line. A line Halo deleted meanwhile is a NotFoundError; one that has
   ended, or whose quantity Halo calculates itself (its own distributor sync), is refused before any write.
3. The reply (201, the invoice with its lines) is the read-back; a reply that cannot be read means the outcome is
   unknown (the poster looks for the key next). The line ids sent must all come back: a missing one is logged as
   an error (nothing SeatSync can undo).

The prorated charge or credit, as a Halo MSP sees it on the next invoice: Halo bills recurring invoices in advance,
so the period since `lastcreated` (`period_start_date` up to `nextcreationdate`) was invoiced at the old quantity.
A change effective within it gets a pro-rata record on the line: `date` the effective day, `quantity` the change
(negative: a credit), `unitprice` the unit price × the days left (the effective day counted) ÷ the period's days
(4 decimals), `unitcost` likewise, `prorata_next_invoice` true; Halo bills quantity × unitprice on the next
invoice. For a monthly term this is SeatSync's own prorated amount to the cent (the same formula over the same
calendar month) while the change is under 100 seats; for an annual term SeatSync records the year's proration but
Halo bills the line monthly, so the record covers only the month already invoiced (the later months are billed
by the new quantity): charging the year would bill those months twice. None is added when the change is not
prorated (`request.prorate` off: a dropped credit, or a contract that does not prorate), when it takes effect
on or after `nextcreationdate` (the next invoice bills the new quantity in full), when the invoice was never
invoiced (`lastcreated` unset), or when the price is 0. A change effective before the invoiced period (an intent
that waited across an invoice run) is prorated from the period's start: the period before was invoiced already.
The record's `shortdescription` says what it is in the customer's words; its `longdescription` carries the key,
so every record SeatSync added names its change even after a later post replaced the line's marker.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.connectors.errors import MalformedReplyError, NotFoundError, RejectedError
from bot.connectors.psa.halopsa.api import SYSTEM, HaloApi
from bot.connectors.psa.halopsa.records import (
    calculated_by_halo,
    halo_date,
    invoice_lines,
    line_ended,
    line_units,
    money,
)
from bot.domain.records import AdjustmentRequest, PostResult

log = logging.getLogger(__name__)

KEY_FIELD = "item_internal_reference"
_MARKER_START = "[seatsync:"
PRICE_STEP = Decimal("0.0001")


def key_marker(key: str) -> str:
    return f"{_MARKER_START}{key}]"


def compose_reference(existing: Any, key: str) -> str:
    kept = str(existing or "").split(_MARKER_START, 1)[0].strip()
    return f"{kept} {key_marker(key)}" if kept else key_marker(key)


def invoiced_period(invoice: dict[str, Any]) -> tuple[date, date] | None:
    """[start, next invoice) of the period Halo invoiced last; None when it never invoiced."""
    last, following = halo_date(invoice.get("lastcreated")), halo_date(invoice.get("nextcreationdate"))
    if last is None or following is None:
        return None
    start = halo_date(invoice.get("period_start_date")) or last
    return (start, following) if start < following else None


def prorata_record(request: AdjustmentRequest, line: dict[str, Any], invoice: dict[str, Any], *, delta: int,
                   unit_price: Decimal | None, unit_cost: Decimal | None) -> dict[str, Any] | None:
    """The pro-rata record of a change of `delta` units (module docstring), or None when none is due."""
    period = invoiced_period(invoice)
    if not request.prorate or delta == 0 or period is None or not unit_price:
        return None
    start, following = period
    if request.effective_date >= following:
        return None
    day = max(request.effective_date, start)
    days, period_days = (following - day).days, (following - start).days
    share = Decimal(days) / Decimal(period_days)
    price = (unit_price * share).quantize(PRICE_STEP, rounding=ROUND_HALF_UP)
    cost = ((unit_cost or Decimal(0)) * share).quantize(PRICE_STEP, rounding=ROUND_HALF_UP)
    name = str(line.get("item_shortdescription") or line.get("item_code") or f"line {line['id']}").strip()
    before = request.units_to - delta
    return {
        "date": f"{day.isoformat()}T00:00:00", "quantity": delta, "unitprice": float(price), "unitcost": float(cost),
        "shortdescription": f"{name}: {before} -> {request.units_to}, pro rata {days} of {period_days} days",
        "longdescription": f"{key_marker(request.idempotency_key)} {request.description}".strip(),
        "prorata_next_invoice": True,
    }


def changed_line(request: AdjustmentRequest, line: dict[str, Any], invoice: dict[str, Any],
                 today: date) -> dict[str, Any]:
    """Our line as read, with the change (module docstring); every field it had is kept."""
    delta = request.units_to - line_units(line, today)
    unit_price = request.unit_price if request.unit_price is not None else money(
        line.get("unit_price"), where=f"line {line['id']}: unit_price")
    unit_cost = request.unit_cost if request.unit_cost is not None else money(
        line.get("unit_cost"), where=f"line {line['id']}: unit_cost")
    changed = dict(line)
    changed["qty_order"] = request.units_to
    if request.unit_price is not None:
        changed["unit_price"] = float(request.unit_price)
    if request.unit_cost is not None:
        changed["unit_cost"] = float(request.unit_cost)
    changed[KEY_FIELD] = compose_reference(line.get(KEY_FIELD), request.idempotency_key)
    record = prorata_record(request, line, invoice, delta=delta, unit_price=unit_price, unit_cost=unit_cost)
    if record is not None:
        changed["prorata_data"] = [*(line.get("prorata_data") or []), record]
    return changed


def update_body(request: AdjustmentRequest, invoice: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """The POST body: every line of the invoice, ours changed. Raises when ours cannot be changed."""
    line_id = ids_of(request)[1]
    lines = invoice_lines(invoice)
    ours = next((line for line in lines if line["id"] == line_id), None)
    if ours is None:
        raise NotFoundError(SYSTEM, f"recurring invoice {invoice.get('id')} has no line {line_id} (deleted?)")
    if line_ended(ours, today):
        raise RejectedError(SYSTEM, f"line {line_id} of recurring invoice {invoice.get('id')} has ended "
                                    f"(enddate {halo_date(ours.get('enddate'))}, isinactive "
                                    f"{bool(ours.get('isinactive'))}); link the resource to a live line")
    if calculated_by_halo(ours):
        raise RejectedError(SYSTEM, f"line {line_id} of recurring invoice {invoice.get('id')} has its quantity "
                                    "calculated by Halo from licences, subscriptions, users or assets (Halo's own "
                                    "distributor sync drives it); SeatSync will not overwrite it")
    new_lines = [changed_line(request, line, invoice, today) if line["id"] == line_id else line for line in lines]
    return [{"id": invoice["id"], "lines": new_lines}]


async def post_seat_change(api: HaloApi, request: AdjustmentRequest, *, today: date) -> PostResult:
    invoice_id, line_id = ids_of(request)
    invoice = await api.get_record("RecurringInvoice", invoice_id, operation="recurringinvoice.get")
    body = update_body(request, invoice, today)
    current = line_units(next(line for line in invoice_lines(invoice) if line["id"] == line_id), today)
    if current == request.units_to and request.unit_price is None and request.unit_cost is None:
        # levelled meanwhile (by hand, or by a write of ours whose reply was lost): nothing to send
        return PostResult(psa_reference=f"{invoice_id}/{line_id}", units_after=current)
    reply = await api.post("RecurringInvoice", body, operation="recurringinvoice.post")
    stored = _invoice_in(reply, invoice_id)
    lines = {line["id"]: line for line in invoice_lines(stored)}
    lost = [line["id"] for line in body[0]["lines"] if line["id"] not in lines]
    if lost:
        log.error("halopsa: recurring invoice %s came back without line(s) %s after SeatSync's update",
                  invoice_id, lost)
    if line_id not in lines:
        raise MalformedReplyError(SYSTEM, f"the reply to the update of recurring invoice {invoice_id} has no "
                                          f"line {line_id}", outcome_unknown=True)
    return PostResult(psa_reference=f"{invoice_id}/{line_id}", units_after=line_units(lines[line_id], today))


async def find_seat_change(api: HaloApi, request: AdjustmentRequest, *, today: date) -> PostResult | None:
    """The change is in Halo when its line carries the key (the marker, or a pro-rata record naming it)."""
    invoice_id, line_id = ids_of(request)
    try:
        invoice = await api.get_record("RecurringInvoice", invoice_id, operation="recurringinvoice.get")
    except NotFoundError:
        return None  # no recurring invoice, so no post of ours landed on it
    line = next((line for line in invoice_lines(invoice) if line["id"] == line_id), None)
    if line is None or not carries_key(line, request.idempotency_key):
        return None
    return PostResult(psa_reference=f"{invoice_id}/{line_id}", units_after=line_units(line, today))


def carries_key(line: dict[str, Any], key: str) -> bool:
    marker = key_marker(key)
    if marker in str(line.get(KEY_FIELD) or ""):
        return True
    return any(isinstance(record, dict) and (marker in str(record.get("longdescription") or "")
                                             or marker in str(record.get("shortdescription") or ""))
               for record in line.get("prorata_data") or [])


def ids_of(request: AdjustmentRequest) -> tuple[int, int]:
    """(recurring invoice id, line id) of a request."""
    return _id(request.contract_external_id, "recurring invoice"), _id(request.service_external_id, "line")


def _id(external_id: str, what: str) -> int:
    try:
        return int(str(external_id).strip())
    except ValueError:
        raise NotFoundError(SYSTEM, f"{external_id!r} is not a Halo {what} id") from None


def _invoice_in(reply: Any, invoice_id: int) -> dict[str, Any]:
    candidates = reply if isinstance(reply, list) else [reply]
    for candidate in candidates:
        if isinstance(candidate, dict) and candidate.get("id") == invoice_id:
            return candidate
    raise MalformedReplyError(SYSTEM, f"the reply to the update of recurring invoice {invoice_id} is not that "
                                      f"invoice: {str(reply)[:200]!r}", outcome_unknown=True)
