"""ConnectWise JSON (companies, agreements, additions) as SeatSync's PSA records, and the fields read.

Choices, where the notes (shared/apis/connectwise.md B6) leave room:
- A company is active unless `deletedFlag` is set or its `status/name` says Inactive. Status names are
  a setup table each MSP edits; "Inactive" (any case, e.g. "Inactive - Gone") is the only one taken to
  mean the customer is gone ("Credit Hold" still bills).
- Agreement status: cancelled when `cancelledFlag` or agreementStatus Cancelled; expired when
  agreementStatus Expired or its `endDate` has passed (unless `noEndingDateFlag`); inactive for
  Inactive or any status ConnectWise may add later; else active. `prorates` is `prorateFlag`.
- The seat count of an addition is its `quantity`. `lessIncluded` is seats the MSP bundles into the
  agreement fee (billed amount = unitPrice x (quantity - lessIncluded)); SeatSync levels the seat
  count to what the marketplace sold and leaves that pricing decision alone, so it never reads or
  writes `lessIncluded`. This is also the number the PATCH writes, so a post reads back as posted.
- An addition whose `cancelledDate` is today or earlier bills nothing: it is inactive and its units in
  effect are 0 (a PATCH of quantity would not bill again; post_adjustment refuses it with a clear
  reason). A later cancelledDate still bills until then. A fractional quantity is rounded up.
- The service name is the catalog item's description (product/identifier when the catalog has none).
- Numbers follow bot.domain.money: a quantity that is not finite or beyond 1,000,000,000 in size makes the
  record unreadable (a malformed reply: an addition left out would read as removed); a unitPrice or
  unitCost no one can bill with (not finite, negative, 10^10 or more) reads as unknown, logged; more than
  4 decimals round to 4.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.connectors.errors import MalformedReplyError
from bot.domain.enums import ContractStatus
from bot.domain.money import NumberError, vendor_amount, vendor_count
from bot.domain.records import PsaCompanyRecord, PsaContractRecord, PsaServiceRecord

log = logging.getLogger(__name__)

SYSTEM = "connectwise"
COMPANY_FIELDS = "id,name,status/name,deletedFlag"
AGREEMENT_FIELDS = ("id,name,company/id,agreementStatus,cancelledFlag,startDate,endDate,noEndingDateFlag,"
                    "prorateFlag")
AGREEMENT_SCAN_FIELDS = "id,agreementStatus,cancelledFlag,prorateFlag"
ADDITION_FIELDS = "id,agreementId,product/id,product/identifier,quantity,unitPrice,unitCost,cancelledDate"
UNITS_FIELDS = "id,agreementId,quantity,cancelledDate"
POSTING_FIELDS = "id,agreementId,quantity,cancelledDate,description"
CATALOG_FIELDS = "id,identifier,description"
CLOSED_AGREEMENT_STATUSES = ("Cancelled", "Expired")

_STATUS = {"active": ContractStatus.active, "inactive": ContractStatus.inactive,
           "cancelled": ContractStatus.cancelled, "expired": ContractStatus.expired}


def company_record(row: dict[str, Any]) -> PsaCompanyRecord:
    with _readable(row, "company"):
        status = str((row.get("status") or {}).get("name") or "")
        active = not row.get("deletedFlag") and "inactive" not in status.casefold()
        return PsaCompanyRecord(external_id=str(row["id"]), name=str(row.get("name") or f"company {row['id']}"),
                                is_active=active)


def contract_status(row: dict[str, Any], today: date) -> ContractStatus:
    status = str(row.get("agreementStatus") or "Active").casefold()
    if row.get("cancelledFlag") or status == "cancelled":
        return ContractStatus.cancelled
    end = None if row.get("noEndingDateFlag") else cw_date(row.get("endDate"))
    if status == "expired" or (end is not None and end < today):
        return ContractStatus.expired
    return _STATUS.get(status, ContractStatus.inactive)


def contract_record(row: dict[str, Any], today: date) -> PsaContractRecord:
    with _readable(row, "agreement"):
        return PsaContractRecord(
            external_id=str(row["id"]), company_external_id=str(row["company"]["id"]),
            name=str(row.get("name") or f"agreement {row['id']}"), status=contract_status(row, today),
            start_date=cw_date(row.get("startDate")),
            end_date=None if row.get("noEndingDateFlag") else cw_date(row.get("endDate")),
            prorates=bool(row["prorateFlag"]) if "prorateFlag" in row else None,
        )


def is_cancelled(addition: dict[str, Any], today: date) -> bool:
    cancelled = cw_date(addition.get("cancelledDate"))
    return cancelled is not None and cancelled <= today


def units_in_effect(addition: dict[str, Any], today: date) -> int:
    with _readable(addition, "addition"):
        if is_cancelled(addition, today):
            return 0
        return vendor_count(Decimal(str(addition.get("quantity") or 0)), field="quantity", negative=True)


def product_id(addition: dict[str, Any]) -> int | None:
    product = addition.get("product")
    value = product.get("id") if isinstance(product, dict) else None
    return value if isinstance(value, int) else None


def service_record(addition: dict[str, Any], agreement_id: int, product_names: dict[int, str],
                   today: date) -> PsaServiceRecord:
    with _readable(addition, "addition"):
        catalog_id = product_id(addition)
        identifier = (addition.get("product") or {}).get("identifier")
        name = (catalog_id is not None and product_names.get(catalog_id)) or identifier or f"addition {addition['id']}"
        return PsaServiceRecord(
            external_id=str(addition["id"]), contract_external_id=str(agreement_id), name=str(name),
            units=units_in_effect(addition, today), catalog_id=None if catalog_id is None else str(catalog_id),
            unit_price=_money(addition.get("unitPrice"), where=f"addition {addition['id']}: unitPrice"),
            unit_cost=_money(addition.get("unitCost"), where=f"addition {addition['id']}: unitCost"),
            is_active=not is_cancelled(addition, today),
        )


def catalog_name(item: dict[str, Any]) -> str:
    return str(item.get("description") or item.get("identifier") or f"product {item['id']}")


def cw_date(value: Any) -> date | None:
    """`2026-01-02T00:00:00Z` -> 2026-01-02 (ConnectWise sends dates as UTC midnight datetimes)."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise MalformedReplyError(SYSTEM, f"{value!r} is not a ConnectWise date") from None


def _money(value: Any, *, where: str) -> Decimal | None:
    """None when absent, or when no one can bill with it (logged with `where`)."""
    if value is None:
        return None
    try:
        return vendor_amount(value, field=where)
    except NumberError as exc:
        log.warning("connectwise: %s; read as unknown", exc)
        return None


@contextmanager
def _readable(row: Any, what: str) -> Iterator[None]:
    """Turns a record missing what we need (KeyError, bad types) into a MalformedReplyError."""
    if not isinstance(row, dict):
        raise MalformedReplyError(SYSTEM, f"expected a {what} record, got {str(row)[:120]!r}")
    try:
        yield
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise MalformedReplyError(SYSTEM, f"unreadable {what} record ({type(exc).__name__}: {exc}): "
                                          f"{str(row)[:160]}") from None
