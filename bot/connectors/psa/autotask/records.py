"""Autotask query bodies and the mapping of its records into SeatSync's PSA records (no I/O).

Field names are the camelCase ones the API returns (shared/apis/autotask.md A5). Choices made here:
- Contracts: only Recurring Service contracts (contractType 7 [doc: ContractServices entity]) can hold
  services. Status: endDate before today -> expired, else status 0 -> inactive, else active (status
  1 = Active / 0 = Inactive [unverified picklist, also what the simulator serves]). The API exposes no
  proration switch per contract (Autotask prorates by default [doc: AdjustServiceUnitsPrice]), so
  `prorates` stays None (unknown).
- A contract service's units are those of its ContractServiceUnits row covering the day. Split rows
  may touch on the split day (the doc says a split row ends "at the effectiveDate" of the later
  adjustment), so when two rows cover the day the one that started last wins. The price and cost of
  that row are the ones in effect; the contract service's own unitPrice/unitCost are the fallback.
- Dates come back as UTC ISO-8601 [doc]; a date-only field is read as the date part. Day bounds in
  filters are the whole UTC day, so a row stored at another hour of the same day still matches.
- Numbers follow bot.domain.money: units that are not finite or beyond 1,000,000,000 in size make the reply
  malformed (a service left out would read as removed); a price or cost no one can bill with (not finite,
  negative, 10^10 or more) reads as unknown for that service, logged; more than 4 decimals round to 4.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from bot.connectors.errors import MalformedReplyError
from bot.connectors.psa.autotask.http import SYSTEM
from bot.domain.enums import ContractStatus
from bot.domain.money import NumberError, vendor_amount, vendor_count
from bot.domain.records import PsaCompanyRecord, PsaContractRecord, PsaServiceRecord

log = logging.getLogger(__name__)

MAX_PAGE = 500  # MaxRecords accepts 1..500 [client: n8n][doc]
MAX_IN_VALUES = 500  # ids per `in` filter: within the 500 'OR' conditions a query may hold [doc(SOAP)]
RECURRING_SERVICE = 7
INACTIVE = 0

COMPANY_FIELDS = ("id", "companyName", "isActive")
CONTRACT_FIELDS = ("id", "companyID", "contractName", "contractType", "status", "startDate", "endDate")
CONTRACT_SERVICE_FIELDS = ("id", "contractID", "serviceID", "unitPrice", "unitCost", "invoiceDescription")
SERVICE_FIELDS = ("id", "name", "isActive")
UNIT_FIELDS = ("id", "contractServiceID", "startDate", "endDate", "units", "price", "cost")
CONTRACT_BUNDLE_FIELDS = ("id", "contractID", "serviceBundleID", "unitPrice", "invoiceDescription")
BUNDLE_FIELDS = ("id", "name", "isActive", "unitCost")
BUNDLE_UNIT_FIELDS = ("id", "contractServiceBundleID", "startDate", "endDate", "units", "price", "cost")
BUNDLE_PREFIX = "bundle-"  # a ContractServiceBundle's external id: "bundle-<id>", apart from contract services'


def bundle_id(external_id: str) -> int | None:
    """The ContractServiceBundle id an external id names, or None when it names a contract service."""
    text = str(external_id).strip()
    digits = text.removeprefix(BUNDLE_PREFIX)
    return int(digits) if text.startswith(BUNDLE_PREFIX) and digits.isdigit() else None
NOTE_FIELDS = ("id", "contractID", "description")

T = TypeVar("T")


# --- query bodies --------------------------------------------------------------------------------
# The operators Autotask documents [doc: REST_Basic_Query_Calls]. The live API silently DROPS any other
# and answers with every row (shared/apis/autotask.md; the simulator does the same), so a typo would read
# a whole table and count it as the answer: every body is checked before it is sent.
DOCUMENTED_OPERATORS = frozenset({"eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains",
                                  "exist", "notExist", "in", "notIn", "and", "or"})


def check_operators(conditions: Iterable[dict[str, Any]]) -> None:
    """Raise ValueError (a bug in SeatSync, never sent) for an operator Autotask does not document."""
    for condition in conditions:
        op = condition.get("op")
        if op not in DOCUMENTED_OPERATORS:
            raise ValueError(f"autotask: {op!r} is not a documented filter operator; the API would drop it "
                             "and return every record")
        if op in ("and", "or"):
            items = condition.get("items")
            if not items:
                raise ValueError(f"autotask: an {op!r} group needs items")
            check_operators(items)


def query_body(conditions: Sequence[dict[str, Any]], fields: Sequence[str], *, page_size: int = MAX_PAGE) -> dict:
    """A QueryModel; an empty condition list becomes the usual "every record" filter (id >= 0)."""
    items = list(conditions) or [{"op": "gte", "field": "id", "value": 0}]
    check_operators(items)
    return {"MaxRecords": page_size, "IncludeFields": list(fields), "filter": [{"op": "and", "items": items}]}


def changed_since(fields: Sequence[str], since: datetime) -> dict[str, Any]:
    """Records whose any of `fields` is on or after `since` (an `or` group)."""
    moment = utc_text(since)
    return {"op": "or", "items": [{"op": "gte", "field": name, "value": moment} for name in fields]}


def covering_day(day: date) -> list[dict[str, Any]]:
    """ContractServiceUnits rows whose [startDate, endDate] covers `day` (the whole UTC day)."""
    return [
        {"op": "lte", "field": "startDate", "value": f"{day.isoformat()}T23:59:59Z"},
        {"op": "gte", "field": "endDate", "value": f"{day.isoformat()}T00:00:00Z"},
    ]


def one_of(field: str, values: Sequence[int]) -> dict[str, Any]:
    return {"op": "in", "field": field, "value": list(values)}


def batches(values: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def utc_text(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- records -------------------------------------------------------------------------------------
def company_record(item: dict[str, Any]) -> PsaCompanyRecord:
    return PsaCompanyRecord(
        external_id=str(whole(item, "id", "Company")),
        name=str(item.get("companyName") or "").strip(),
        is_active=item.get("isActive") is not False,
    )


def contract_record(item: dict[str, Any], today: date) -> PsaContractRecord:
    start, end = day_of(item.get("startDate")), day_of(item.get("endDate"))
    return PsaContractRecord(
        external_id=str(whole(item, "id", "Contract")),
        company_external_id=str(whole(item, "companyID", "Contract")),
        name=str(item.get("contractName") or "").strip(),
        status=contract_status(item.get("status"), end, today),
        start_date=start,
        end_date=end,
        prorates=None,
    )


def contract_status(status: Any, end: date | None, today: date) -> ContractStatus:
    if end is not None and end < today:
        return ContractStatus.expired
    if status == INACTIVE:
        return ContractStatus.inactive
    return ContractStatus.active


def service_record(item: dict[str, Any], catalogue: dict[int, dict[str, Any]],
                   unit_row: dict[str, Any] | None) -> PsaServiceRecord:
    """A contract service joined with its catalogue Service (the name) and the unit row in effect."""
    service_id = whole(item, "serviceID", "ContractService")
    entry = catalogue.get(service_id, {})
    name = entry.get("name") or item.get("invoiceDescription") or f"Service {service_id}"
    where = f"ContractService {item.get('id')}"
    unit_where = f"ContractServiceUnit {unit_row.get('id')}" if unit_row else where
    price = money(unit_row.get("price"), where=f"{unit_where}: price") if unit_row else None
    cost = money(unit_row.get("cost"), where=f"{unit_where}: cost") if unit_row else None
    return PsaServiceRecord(
        external_id=str(whole(item, "id", "ContractService")),
        contract_external_id=str(whole(item, "contractID", "ContractService")),
        name=str(name).strip(),
        units=units_of(unit_row),
        catalog_id=str(service_id),
        unit_price=price if price is not None else money(item.get("unitPrice"), where=f"{where}: unitPrice"),
        unit_cost=cost if cost is not None else money(item.get("unitCost"), where=f"{where}: unitCost"),
        is_active=entry.get("isActive") is not False,
    )


def bundle_record(item: dict[str, Any], catalogue: dict[int, dict[str, Any]],
                  unit_row: dict[str, Any] | None) -> PsaServiceRecord:
    """A contract service bundle, as a service SeatSync can link: "bundle-<id>", its bundle's name."""
    bundle = whole(item, "serviceBundleID", "ContractServiceBundle")
    entry = catalogue.get(bundle, {})
    name = entry.get("name") or item.get("invoiceDescription") or f"Service bundle {bundle}"
    where = f"ContractServiceBundle {item.get('id')}"
    price = money(unit_row.get("price"), where=f"{where}: price") if unit_row else None
    cost = money(unit_row.get("cost"), where=f"{where}: cost") if unit_row else None
    return PsaServiceRecord(
        external_id=f"{BUNDLE_PREFIX}{whole(item, 'id', 'ContractServiceBundle')}",
        contract_external_id=str(whole(item, "contractID", "ContractServiceBundle")),
        name=f"{str(name).strip()} (service bundle)",
        units=units_of(unit_row),
        catalog_id=f"{BUNDLE_PREFIX}{bundle}",
        unit_price=price if price is not None else money(item.get("unitPrice"), where=f"{where}: unitPrice"),
        unit_cost=cost if cost is not None else money(entry.get("unitCost"), where=f"{where}: unitCost"),
        is_active=entry.get("isActive") is not False,
    )


def rows_in_effect(rows: Iterable[dict[str, Any]], key_field: str = "contractServiceID") -> dict[int, dict[str, Any]]:
    """contractServiceID (or `key_field`) -> the unit row in effect, from rows that all cover the same day."""
    chosen: dict[int, dict[str, Any]] = {}
    for row in rows:
        key = whole(row, key_field, "ContractServiceUnit")
        current = chosen.get(key)
        if current is None or _started(row) >= _started(current):
            chosen[key] = row
    return chosen


def units_of(row: dict[str, Any] | None) -> int:
    """The row's units; no row covering the day means nothing is billed that day."""
    if row is None:
        return 0
    value = row.get("units")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedReplyError(SYSTEM, f"ContractServiceUnit {row.get('id')} has no whole units: {value!r}")
    try:
        vendor_count(value, field="units", negative=True)
    except NumberError as exc:
        raise MalformedReplyError(SYSTEM, f"ContractServiceUnit {row.get('id')}: {exc}") from None
    return int(value)


def _started(row: dict[str, Any]) -> tuple[str, int]:
    return str(row.get("startDate") or ""), int(row.get("id") or 0)


# --- values --------------------------------------------------------------------------------------
def whole(item: dict[str, Any], field: str, label: str) -> int:
    value = item.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise MalformedReplyError(SYSTEM, f"{label} record without a whole {field}: {str(item)[:200]!r}")
    return int(value)


def day_of(value: Any) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedReplyError(SYSTEM, f"not an ISO-8601 date: {value!r}") from None
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def money(value: Any, *, where: str = "amount") -> Decimal | None:
    """A price or cost; None when absent, unreadable or no one can bill with it (logged with `where`)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return vendor_amount(value, field=where)
    except NumberError as exc:
        log.warning("autotask: %s; read as unknown", exc)
        return None


def external_ids(values: Iterable[str]) -> list[int]:
    """The numeric ids among `values` (others cannot name an Autotask record), deduplicated, in order."""
    seen: dict[int, None] = {}
    for value in values:
        text = str(value).strip()
        if text.isdigit():
            seen.setdefault(int(text), None)
    return list(seen)
