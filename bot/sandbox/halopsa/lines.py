"""What `POST /api/RecurringInvoice` does: Halo's array-body update of recurring invoices and their lines.

Sources (notes = shared/apis/halopsa.md §2, §4): create and update are both `POST /api/{Entity}` with a JSON
array; a record with `id` is updated [code homotechsual New-HaloPOSTRequest.ps1]. The one public script that
changes a recurring line GETs the invoice, edits the line and POSTs `[{"id": <id>, "lines": [<ALL lines>]}]`,
always sending every line, each as it was read [code jakesiney/HaloPSA-Update-Invoice-Lines]. Whether a line
left out is deleted is not documented.

The simulator takes the SAFE reading everywhere the sources are silent, so a careless client loses data here
rather than in a customer's Halo:
- A `lines` array replaces the invoice's lines: a stored line the array leaves out is DELETED. A client must
  re-post every line. Without a `lines` key the lines are untouched (fields absent from the header keep their
  values: Halo's updates are partial at the top level, as homotechsual's Set-* commands rely on).
- A posted line replaces the stored line: a field the posted line leaves out takes its empty value (qty_order
  0, unit_price 0, no item, no dates, no text). Post each line as it was read, changing only what you mean.
- A line's `prorata_data` array likewise replaces its pro-rata records: an entry with an `id` keeps the stored
  record as it is (posted values are ignored: the record is Halo's), an entry without one adds a record, and
  a stored record not yet invoiced that the array leaves out is deleted. Invoiced records are never deleted.
- Halo does not add a pro-rata record when `qty_order` changes through the API (its own distributor modules
  prorate calculated lines, notes §4); a client that wants a mid-period change charged or credited on the next
  invoice adds the record itself: `{"date", "quantity", "unitprice", "unitcost", "shortdescription",
  "longdescription", "prorata_next_invoice": true}`, billed as quantity × unitprice (a credit when negative).
- A line with an `id` must belong to that recurring invoice; a line without one (or id 0) is new. An unknown
  recurring-invoice id is refused (never created: creating recurring invoices is not simulated). The whole
  array is checked before anything is applied: one bad record and nothing changes (400).
- `qty_order` is a number ≥ 0, prices finite numbers; numeric strings are accepted (as Newtonsoft binds them),
  NaN and Infinity are not. A `_itemid` must name an item (-1 = none). Changing the quantity of a line that
  has ended (its `enddate` before today, or `isinactive`) is refused.
- Unknown fields (`add_lines` included) are ignored, as ASP.NET model binding ignores them.

The write log (`world.write_log`, system "halopsa") gets one record per line whose billing changed: its
quantity, a pro-rata record added or deleted, the line created or deleted (after = 0). `service_id` is the
line id, `reference` "{recurring invoice id}/{line id}", `key` the first `[seatsync:<key>]` found in a new
pro-rata record's descriptions or in a changed `comment_1`, `comment_2` or `item_internal_reference` of the
line: the places a client can keep an idempotency key that Halo keeps with the change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sandbox.halopsa.records import HaloLine, HaloProRata, HaloPsaData, HaloRecurringInvoice
from bot.sandbox.world import SandboxWorld

KEY_MARKER = re.compile(r"\[seatsync:([^\]\s]+)\]")
_KEY_FIELDS = ("comment_1", "comment_2", "internal_reference")
_NO_DATE_YEAR = 1899


class Rejected(ValueError):
    """An update Halo refuses (400); `errors` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class LineChange:
    invoice_id: int
    line_id: int
    before: Decimal
    after: Decimal
    key: str | None


@dataclass
class _Plan:
    invoice: HaloRecurringInvoice
    header: dict[str, str]
    lines: list[HaloLine] | None  # None: the lines stay as they are
    new_records: dict[int, list[HaloProRata]]  # line id -> records the post adds


def update_recurring_invoices(world: SandboxWorld, body: Any) -> tuple[list[HaloRecurringInvoice], list[LineChange]]:
    """Apply a POST body; the invoices updated, in order, and every line whose billing changed."""
    if not isinstance(body, list) or not body:
        raise Rejected(["The request body must be a JSON array of recurring invoices."])
    halo, errors, plans, seen = world.halopsa, [], [], set()
    for index, record in enumerate(body):
        try:
            plan = _plan(world, record, index)
            if plan.invoice.id in seen:
                raise Rejected([f"[{index}] recurring invoice {plan.invoice.id} appears twice in the array"])
            seen.add(plan.invoice.id)
            plans.append(plan)
        except Rejected as exc:
            errors.extend(exc.errors)
    if errors:
        raise Rejected(errors)
    changes: list[LineChange] = []
    for plan in plans:
        changes.extend(_apply(world, halo, plan))
    return [plan.invoice for plan in plans], changes


# --- planning (nothing changes here) -------------------------------------------------------------
def _plan(world: SandboxWorld, record: Any, index: int) -> _Plan:
    where = f"[{index}]"
    if not isinstance(record, dict):
        raise Rejected([f"{where} is not an object"])
    invoice_id = record.get("id")
    if not isinstance(invoice_id, int) or isinstance(invoice_id, bool) or invoice_id in (0, -1):
        raise Rejected([f"{where} needs the id of an existing recurring invoice (creating them is not simulated)"])
    invoice = world.halopsa.recurring_invoices.get(invoice_id)
    if invoice is None:
        raise Rejected([f"{where} recurring invoice {invoice_id} was not found"])
    header = {name: _text(record, name, where) for name in ("internal_note", "reference") if name in record}
    if "lines" not in record:
        return _Plan(invoice, header, None, {})
    posted = record["lines"]
    if not isinstance(posted, list):
        raise Rejected([f"{where}.lines must be an array"])
    errors: list[str] = []
    lines: list[HaloLine] = []
    new_records: dict[int, list[HaloProRata]] = {}
    stored = {line.id: line for line in invoice.lines}
    taken: set[int] = set()
    for position, raw in enumerate(posted):
        try:
            line, added = _planned_line(world, invoice, stored, taken, raw, f"{where}.lines[{position}]")
            lines.append(line)
            new_records[id(line)] = added
        except Rejected as exc:
            errors.extend(exc.errors)
    if errors:
        raise Rejected(errors)
    return _Plan(invoice, header, lines, new_records)


def _planned_line(world: SandboxWorld, invoice: HaloRecurringInvoice, stored: dict[int, HaloLine],
                  taken: set[int], raw: Any, where: str) -> tuple[HaloLine, list[HaloProRata]]:
    if not isinstance(raw, dict):
        raise Rejected([f"{where} is not an object"])
    line_id = raw.get("id")
    if line_id in (None, 0):
        old = None
    elif not isinstance(line_id, int) or isinstance(line_id, bool) or line_id not in stored:
        raise Rejected([f"{where}: line {line_id!r} is not a line of recurring invoice {invoice.id}"])
    elif line_id in taken:
        raise Rejected([f"{where}: line {line_id} appears twice"])
    else:
        old = stored[line_id]
        taken.add(line_id)
    errors: list[str] = []

    def checked(check, *args):
        try:
            return check(*args)
        except Rejected as exc:
            errors.extend(exc.errors)
            return None

    item_id = checked(_item, world.halopsa, raw, where)
    line = HaloLine(
        id=old.id if old else 0, recurring_invoice_id=invoice.id, item_id=item_id,
        item_code=checked(_text, raw, "item_code", where) or "",
        short_description=checked(_text, raw, "item_shortdescription", where) or "",
        long_description=checked(_text, raw, "item_longdescription", where) or "",
        nominal_code=checked(_text, raw, "nominal_code", where) or "",
        quantity=checked(_amount, raw, "qty_order", where, True) or Decimal(0),
        unit_price=checked(_amount, raw, "unit_price", where, False) or Decimal(0),
        unit_cost=checked(_amount, raw, "unit_cost", where, False) or Decimal(0),
        start_date=checked(_date, raw, "startdate", where), end_date=checked(_date, raw, "enddate", where),
        inactive=bool(raw.get("isinactive", False)), sequence=_whole(raw.get("sequenceid"), len(taken) + 1),
        comment_1=checked(_text, raw, "comment_1", where) or "",
        comment_2=checked(_text, raw, "comment_2", where) or "",
        internal_reference=checked(_text, raw, "item_internal_reference", where) or "",
        external_reference=checked(_text, raw, "item_external_reference", where) or "")
    kept, added = checked(_prorata, world, invoice, old, raw, where) or ([], [])
    line.prorata = kept
    if errors:
        raise Rejected(errors)
    before = old.quantity if old else Decimal(0)
    if line.quantity != before and line.ended(world.today):
        raise Rejected([f"{where}: line {line_id} has ended (enddate or isinactive); its qty_order cannot change"])
    return line, added


def _prorata(world: SandboxWorld, invoice: HaloRecurringInvoice, old: HaloLine | None, raw: dict,
             where: str) -> tuple[list[HaloProRata], list[HaloProRata]]:
    stored = {record.id: record for record in (old.prorata if old else [])}
    posted = raw.get("prorata_data") or []
    if not isinstance(posted, list):
        raise Rejected([f"{where}.prorata_data must be an array"])
    kept_ids: set[int] = set()
    added: list[HaloProRata] = []
    for position, entry in enumerate(posted):
        here = f"{where}.prorata_data[{position}]"
        if not isinstance(entry, dict):
            raise Rejected([f"{here} is not an object"])
        record_id = entry.get("id")
        if record_id not in (None, 0):
            if record_id not in stored:
                raise Rejected([f"{here}: pro-rata record {record_id!r} is not on this line"])
            kept_ids.add(record_id)
            continue
        quantity = _amount(entry, "quantity", here, False)
        if quantity is None or quantity == 0:
            raise Rejected([f"{here}: quantity must be a number other than 0"])
        unit_price = _amount(entry, "unitprice", here, False)
        if unit_price is None:
            raise Rejected([f"{here}: unitprice is required"])
        added.append(HaloProRata(
            id=0, line_id=old.id if old else 0, recurring_invoice_id=invoice.id, client_id=invoice.client_id,
            day=_date(entry, "date", here) or world.today, quantity=quantity, unit_price=unit_price,
            unit_cost=_amount(entry, "unitcost", here, False) or Decimal(0),
            short_description=_text(entry, "shortdescription", here) or "",
            long_description=_text(entry, "longdescription", here) or "",
            next_invoice=bool(entry.get("prorata_next_invoice", True))))
    kept = [record for record in stored.values() if record.id in kept_ids or record.invoice_id is not None]
    return kept, added


def _item(halo: HaloPsaData, raw: dict, where: str) -> int | None:
    value = raw.get("_itemid")
    if value in (None, -1, 0):
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value not in halo.items:
        raise Rejected([f"{where}: _itemid {value!r} is not an item"])
    return value


def _text(raw: dict, name: str, where: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected([f"{where}: {name} must be a string"])
    return value


def _amount(raw: dict, name: str, where: str, non_negative: bool) -> Decimal | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Rejected([f"{where}: {name} must be a number"])
    if isinstance(value, float) and not math.isfinite(value):
        raise Rejected([f"{where}: {name} must be a finite number"])
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Rejected([f"{where}: {name} must be a number"]) from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 12:
        raise Rejected([f"{where}: {name} must be a finite number"])
    if non_negative and amount < 0:
        raise Rejected([f"{where}: {name} must not be negative"])
    return amount


def _date(raw: dict, name: str, where: str) -> date | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Rejected([f"{where}: {name} must be a date string"])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")).date() if "T" in value \
            else date.fromisoformat(value)
    except ValueError:
        raise Rejected([f"{where}: {name} {value!r} is not a date"]) from None
    return None if parsed.year <= _NO_DATE_YEAR else parsed


def _whole(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# --- applying ------------------------------------------------------------------------------------
def _apply(world: SandboxWorld, halo: HaloPsaData, plan: _Plan) -> list[LineChange]:
    invoice = plan.invoice
    for name, value in plan.header.items():
        setattr(invoice, name, value)
    invoice.last_modified = world.now()
    if plan.lines is None:
        return []
    changes: list[LineChange] = []
    old_lines = {line.id: line for line in invoice.lines}
    for line in plan.lines:
        added = plan.new_records[id(line)]
        old = old_lines.pop(line.id, None)
        if old is None:
            line.id = halo.next_id("line")
            halo.line_home[line.id] = invoice.id
        for record in added:
            record.id, record.line_id = halo.next_id("prorata"), line.id
        line.prorata = [*line.prorata, *added]
        dropped = old is not None and {r.id for r in old.prorata} - {r.id for r in line.prorata}
        before = old.quantity if old else Decimal(0)
        if old is None or line.quantity != before or added or dropped:
            changes.append(LineChange(invoice.id, line.id, before, line.quantity, _key_of(old, line, added)))
    for gone in old_lines.values():
        del halo.line_home[gone.id]
        changes.append(LineChange(invoice.id, gone.id, gone.quantity, Decimal(0), None))
    invoice.lines = plan.lines
    return changes


def _key_of(old: HaloLine | None, line: HaloLine, added: list[HaloProRata]) -> str | None:
    texts = [text for record in added for text in (record.short_description, record.long_description)]
    texts += [getattr(line, name) for name in _KEY_FIELDS if old is None or getattr(old, name) != getattr(line, name)]
    for text in texts:
        found = KEY_MARKER.search(text or "")
        if found:
            return found.group(1)
    return None
