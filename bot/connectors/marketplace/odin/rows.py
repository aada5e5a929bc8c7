"""BA's positional result rows, named in one place, and the value formats BA uses inside them.

BA (`Execute` on `Server: BM`) answers `{"Result": [...]}` where single-record methods put one row
array in `Result[0]` and list methods put a list of row arrays there. Rows are positional: the
field order below is the only thing that gives a column its meaning (orders from the public Python
Odin BSS wrapper and the PBA `AccountDetailsGet_API` reference, as recorded in
shared/apis/marketplaces.md section 1.1). A row longer than its layout is accepted (a later BA
version may append columns); a shorter one is a malformed reply, except where `MIN_FIELDS` allows
less.

Value formats:
- dates are unix timestamps (int; 0 = not set), read as UTC calendar days;
- money is a string with an ISO currency prefix, "USD 12.00" (sometimes with thousands
  separators, or bare); both the amount and the currency are kept; an amount no one can bill with
  (bot.domain.money: not finite, negative, 10^10 or more) is dropped, logged, and one with more than 4
  decimals rounded to 4;
- amounts of a resource are doubles (sometimes as text); one that is not a finite count from 0 to
  1,000,000,000 makes the reply malformed (skipping the resource would read as "removed");
- subscription `Status` / `PeriodType` codes: BA's value tables were not found published. The
  codes below are the ones the project's notes and the sandbox use (30 Active [notes], 15 Trial
  [a public PBA client], 40 On hold, 50 Expired, 60 Terminated; PeriodType 2 month(s), 3 year(s),
  1 day(s)). An unknown status code is read as `pending` (its seats keep their count; nothing is
  levelled to zero on a guess) and logged.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.connectors.errors import MalformedReplyError
from bot.domain.enums import SubscriptionStatus, Term
from bot.domain.money import NumberError, vendor_amount, vendor_count

log = logging.getLogger(__name__)

SYSTEM = "odin"

MY_CUSTOMERS = "AccountGetMyCustomersList"
ACCOUNT_DETAILS = "AccountDetailsGet_API"
CUSTOMER_SUBSCRIPTIONS = "GetCustomerSubscriptionList_API"
SUBSCRIPTION_DETAILS_EX = "SubscriptionDetailsGetEx_API"
SUBSCRIPTION_RESOURCES = "SubscriptionResourcesListGet_API"

FIELDS: dict[str, tuple[str, ...]] = {
    # Not in BA's public _API reference; a public PBA client reads AccountID from column 0 and nothing else,
    # so nothing else is read (a longer row is accepted); names and the reseller come from AccountDetailsGet_API.
    MY_CUSTOMERS: ("AccountID",),
    ACCOUNT_DETAILS: (
        "AccountID", "VendorAccountID", "CompanyName", "Address1", "Address2", "City", "State", "Zip",
        "CountryID", "PostalAddress", "accFName", "accMName", "accLName", "accEmail", "accPhCountryCode",
        "accPhAreaCode", "accPhNumber", "accPhExtention", "accFaxCountryCode", "accFaxAreaCode", "accFaxNumber",
        "accFaxExtention", "CreationDate", "TaxStatus",
    ),
    CUSTOMER_SUBSCRIPTIONS: (
        "SubscriptionID", "SubscriptionName", "PlanID", "PlanName", "PlanPeriodID", "Period", "PeriodType",
        "StartDate", "ExpirationDate", "Status", "ServStatus", "ContainerName",
    ),
    SUBSCRIPTION_DETAILS_EX: (
        "SubscriptionID", "SubscriptionName", "AccountID", "PlanID", "PlanName", "Status", "ServStatus",
        "StartDate", "ExpirationDate", "LastBillDate", "NextBillDate", "BillingPeriodType", "BillingPeriod",
        "Trial", "ShutdownDate", "TerminateDate", "Period", "PeriodType", "FreezePrices", "PromoCode",
    ),
    SUBSCRIPTION_RESOURCES: (
        "ResourceID", "ResourceRateID", "ResourceName", "StoreDescription", "StorePriceText", "StoreSortOrder",
        "Status", "ResourceCategory", "IncludedAmount", "AdditionalAmount", "UsedAmount", "OrderedAmount", "Unit",
        "MinUnits", "MaxUnits", "Measurable", "RelativeStatus", "OrderNumber", "SetupFee", "RecurringFee",
        "OveruseFee", "Location", "IsOveruseFeeTiered", "IsRecurringFeeTiered", "IsSetupFeeTiered",
    ),
}
LIST_METHODS = frozenset({MY_CUSTOMERS, CUSTOMER_SUBSCRIPTIONS, SUBSCRIPTION_RESOURCES})
MIN_FIELDS: dict[str, int] = {}

STATUS = {15: SubscriptionStatus.pending, 30: SubscriptionStatus.active, 40: SubscriptionStatus.suspended,
          50: SubscriptionStatus.expired, 60: SubscriptionStatus.cancelled}
PERIOD_DAY, PERIOD_MONTH, PERIOD_YEAR = 1, 2, 3

Row = dict[str, Any]
_MONEY = re.compile(r"^\s*(?P<currency>[A-Za-z]{3})?\s*(?P<amount>[-+]?[\d,]*\.?\d+)\s*$")


def named_rows(method: str, result: Any) -> list[Row]:
    """The rows of a list method's `Result`, each as {field name: value}."""
    if not isinstance(result, list) or not result or not isinstance(result[0], list):
        raise MalformedReplyError(SYSTEM, f"{method}: expected Result[0] to be a list of rows, got {_shape(result)}")
    return [_named(method, row) for row in result[0]]


def named_row(method: str, result: Any) -> Row:
    """The one row of a single-record method's `Result`, as {field name: value}."""
    if not isinstance(result, list) or not result:
        raise MalformedReplyError(SYSTEM, f"{method}: expected Result[0] to be a row, got {_shape(result)}")
    return _named(method, result[0])


def _named(method: str, row: Any) -> Row:
    fields = FIELDS[method]
    if not isinstance(row, list):
        raise MalformedReplyError(SYSTEM, f"{method}: expected a row array, got {_shape(row)}")
    needed = MIN_FIELDS.get(method, len(fields))
    if len(row) < needed:
        raise MalformedReplyError(SYSTEM, f"{method}: a row has {len(row)} fields, expected {len(fields)}")
    return dict(zip(fields, row, strict=False))


def _shape(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- values ------------------------------------------------------------------------------------
def integer(row: Row, name: str) -> int:
    value = row.get(name)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise MalformedReplyError(SYSTEM, f"{name} should be an integer, got {_shape(value)}")


def text(row: Row, name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value).strip()


def unix_day(row: Row, name: str) -> date | None:
    """A BA timestamp as a UTC calendar day; 0 or empty means not set."""
    value = row.get(name)
    if value in (None, "", 0, "0"):
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise MalformedReplyError(SYSTEM, f"{name} should be a unix timestamp, got {_shape(value)}") from None
    return datetime.fromtimestamp(seconds, UTC).date()


def money(value: Any, *, where: str = "amount") -> tuple[Decimal | None, str | None]:
    """("USD 12.00") -> (Decimal("12.00"), "USD"); a bare number has no currency; unreadable, or an amount no one
    can bill with -> (None, None), logged with `where` (the record and field)."""
    if value is None or value == "":
        return None, None
    currency = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount: Any = value
    else:
        match = _MONEY.match(str(value))
        if match is None:
            log.warning("odin: %s: cannot read the money value %r; the price is left empty", where, value)
            return None, None
        amount = match["amount"].replace(",", "")
        currency = match["currency"].upper() if match["currency"] else None
    try:
        return vendor_amount(amount, field=where), currency
    except NumberError as exc:
        log.warning("odin: %s; the price is left empty", exc)
        return None, None


def whole_amounts(included: Any, additional: Any, *, where: str = "resource") -> tuple[int, int]:
    """BA amounts may be doubles; SeatSync stores whole units. The sum is rounded up (billing less than
    was bought is the loss SeatSync prevents) and the included part rounded up within it."""
    inc, add = _seats(included, where, "IncludedAmount"), _seats(additional, where, "AdditionalAmount")
    try:
        vendor_count(add, field="AdditionalAmount")
        whole_included = vendor_count(inc, field="IncludedAmount")
        return whole_included, vendor_count(inc + add, field="IncludedAmount + AdditionalAmount") - whole_included
    except NumberError as exc:
        raise MalformedReplyError(SYSTEM, f"{where}: {exc}") from None


def _seats(value: Any, where: str, name: str) -> float:
    if value is None or value == "":
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MalformedReplyError(SYSTEM, f"{where}: {name} should be a number, got {_shape(value)}") from None


def subscription_status(code: int) -> SubscriptionStatus:
    status = STATUS.get(code)
    if status is None:
        log.warning("odin: unknown subscription Status code %s, read as pending", code)
        return SubscriptionStatus.pending
    return status


def term(period: int, period_type: int) -> Term:
    months = {PERIOD_MONTH: period, PERIOD_YEAR: 12 * period}.get(period_type)
    if months == 1:
        return Term.monthly
    if months == 12:
        return Term.annual
    return Term.other

