"""Halo JSON (clients, client contracts, recurring invoices and their lines) as SeatSync's PSA records. No I/O.

SeatSync's words on the Halo side (notes = shared/apis/halopsa.md §3):
- company = Client (`id`, `name`, `inactive`);
- contract = the recurring invoice (its id is negative, kept signed: "-94"): it is what bills seats and what a
  change is posted to. It is named after the ClientContract it bills under (its `ref`, or the invoice's
  `contract_ref`), else "Recurring invoice -94"; two recurring invoices of one client with the same name get their
  id added. Its status and dates are its contract's: expired once the contract's `end_date` has passed, inactive
  when the contract says `active: false`, else active (one without a contract is active). `prorates` stays None:
  Halo has no switch of its own; SeatSync adds the pro-rata record itself (posting.py), per change.
- service = a line of the recurring invoice (InvoiceDetail): its units are `qty_order` (rounded up when
  fractional), its name `item_shortdescription` (else `item_code`), its catalogue id `_itemid` (-1 = none), its
  price and cost `unit_price` / `unit_cost`.
- A line that has ended (`isinactive`, or an `enddate` before today) bills nothing: its units in effect are 0 and
  it is inactive; the simulator, like a careful reading of Halo, refuses to change its quantity.
- A line whose quantity Halo calculates itself (`_is_calculated_line`, or quantity links to licences or
  subscriptions: Halo's own distributor modules drive it, notes §4) is read, but SeatSync will not post to it
  (calculated_by_halo).
- Dates are Halo's `YYYY-MM-DDTHH:MM:SS` (UTC, no offset); `1899-12-30T00:00:00` (any year before 1901) means none.
- Numbers follow bot.domain.money: a quantity that is not finite or is beyond 1,000,000,000 in size makes the
  record unreadable (a malformed reply: a line left out would read as removed); a price or cost no one can bill
  with reads as unknown, logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.connectors.errors import MalformedReplyError
from bot.connectors.psa.halopsa.api import SYSTEM
from bot.domain.enums import ContractStatus
from bot.domain.money import NumberError, vendor_amount, vendor_count
from bot.domain.records import PsaCompanyRecord, PsaContractRecord, PsaServiceRecord

log = logging.getLogger(__name__)

NO_ID = -1
_LAST_NO_DATE_YEAR = 1900


def halo_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise MalformedReplyError(SYSTEM, f"{value!r} is not a Halo date") from None
    return None if parsed.year <= _LAST_NO_DATE_YEAR else parsed


def record_id(value: Any) -> int | None:
    """An id Halo sends, or None for its "none" (-1, 0, absent)."""
    if isinstance(value, bool) or not isinstance(value, int) or value in (NO_ID, 0):
        return None
    return value


def company_record(row: dict[str, Any]) -> PsaCompanyRecord:
    with readable(row, "client"):
        return PsaCompanyRecord(external_id=str(row["id"]), name=str(row.get("name") or f"client {row['id']}"),
                                is_active=not row.get("inactive"))


def contract_status(contract: dict[str, Any] | None, today: date) -> ContractStatus:
    if contract is None:
        return ContractStatus.active
    end = halo_date(contract.get("end_date"))
    if end is not None and end < today:
        return ContractStatus.expired
    return ContractStatus.inactive if contract.get("active") is False else ContractStatus.active


def contract_records(invoices: list[dict[str, Any]], contracts: dict[int, dict[str, Any]],
                     today: date) -> list[PsaContractRecord]:
    """One contract per recurring invoice; `contracts`: the ClientContracts by id."""
    named: list[tuple[dict[str, Any], dict[str, Any] | None, str]] = []
    for invoice in invoices:
        with readable(invoice, "recurring invoice"):
            contract = contracts.get(record_id(invoice.get("contract_id")) or 0)
            ref = str((contract or {}).get("ref") or invoice.get("contract_ref") or "")
            named.append((invoice, contract, ref.strip() or f"Recurring invoice {invoice['id']}"))
    taken = Counter((invoice["client_id"], name) for invoice, _, name in named)
    records: list[PsaContractRecord] = []
    for invoice, contract, name in named:
        with readable(invoice, "recurring invoice"):
            if taken[(invoice["client_id"], name)] > 1:
                name = f"{name} (recurring invoice {invoice['id']})"
            records.append(PsaContractRecord(
                external_id=str(invoice["id"]), company_external_id=str(invoice["client_id"]), name=name,
                status=contract_status(contract, today),
                start_date=halo_date((contract or {}).get("start_date")),
                end_date=halo_date((contract or {}).get("end_date")), prorates=None))
    return records


def line_ended(line: dict[str, Any], today: date) -> bool:
    end = halo_date(line.get("enddate"))
    return bool(line.get("isinactive")) or (end is not None and end < today)


def calculated_by_halo(line: dict[str, Any]) -> bool:
    """Halo computes this line's quantity from licences, subscriptions, users or assets (its own sync drives it)."""
    if line.get("_is_calculated_line") is True:
        return True
    return any(line.get(name) for name in ("quantity_licences", "quantity_subscriptions", "quantity_users",
                                           "quantity_assets"))


def line_units(line: dict[str, Any], today: date) -> int:
    with readable(line, "recurring invoice line"):
        if line_ended(line, today):
            return 0
        return vendor_count(line.get("qty_order") or 0, field=f"line {line['id']} qty_order", negative=True)


def service_record(line: dict[str, Any], invoice_id: int, today: date) -> PsaServiceRecord:
    with readable(line, "recurring invoice line"):
        item = record_id(line.get("_itemid"))
        name = str(line.get("item_shortdescription") or line.get("item_code") or f"line {line['id']}")
        return PsaServiceRecord(
            external_id=str(line["id"]), contract_external_id=str(invoice_id), name=name.strip(),
            units=line_units(line, today), catalog_id=None if item is None else str(item),
            unit_price=money(line.get("unit_price"), where=f"line {line['id']}: unit_price"),
            unit_cost=money(line.get("unit_cost"), where=f"line {line['id']}: unit_cost"),
            is_active=not line_ended(line, today))


def invoice_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    lines = invoice.get("lines")
    if lines is None:
        return []
    if not isinstance(lines, list) or not all(isinstance(line, dict) and isinstance(line.get("id"), int)
                                              for line in lines):
        raise MalformedReplyError(SYSTEM, f"recurring invoice {invoice.get('id')} has lines that are not records")
    return lines


def money(value: Any, *, where: str) -> Decimal | None:
    """None when absent, or when no one can bill with it (logged with `where`)."""
    if value is None:
        return None
    try:
        return vendor_amount(value, field=where)
    except NumberError as exc:
        log.warning("halopsa: %s; read as unknown", exc)
        return None


@contextmanager
def readable(row: Any, what: str) -> Iterator[None]:
    """Turns a record missing what we need (KeyError, bad types, bad numbers) into a MalformedReplyError."""
    if not isinstance(row, dict):
        raise MalformedReplyError(SYSTEM, f"expected a {what} record, got {str(row)[:120]!r}")
    try:
        yield
    except (KeyError, TypeError, ValueError, ArithmeticError, NumberError) as exc:
        raise MalformedReplyError(SYSTEM, f"unreadable {what} record ({type(exc).__name__}: {exc}): "
                                          f"{str(row)[:160]}") from None
