"""The BA (billing) API methods the Odin simulator answers, as positional rows built from the world.

Each method returns BA's `Result` array: single-record methods `[row]`, list methods `[[row, ...]]`
(callers read `Result[0]` either way). Field orders follow the public Python Odin BSS wrapper
(`odin.wrapper.proxy.BssCaller` / `odin.api.bss.Bss`) and the PBA AccountDetailsGet_API reference
page cited in shared/apis/marketplaces.md. Dates are unix timestamps (int, 0 = not set); fees are
strings with a currency prefix ("USD 12.00"), as BA returns them.

`SortNo` (the last parameter of list methods), as that wrapper documents it: N sorts by the N-th
column ascending, -N descending; 0 keeps BA's default order (here: by the first column).

Simulator choices (the notes call these codes opaque; none was found published):
- Subscription `Status`: 30 Active (notes), 40 On hold (world "suspended"), 50 Expired,
  60 Terminated (world "cancelled"). 15 is Trial in BA (seen in a public PBA client), unused here.
- `ServStatus`: 60 Running, 50 Stopped (suspended or expired), 90 Removed (cancelled).
- `PeriodType`/`BillingPeriodType`: 2 = month(s), 3 = year(s); every subscription bills monthly.
- Resource row `Status` 1 = active rate; `ResourceCategory` "Licenses".
- Customer listing: BA's public `_API` reference (as far as it could be checked) has no "list my
  customers" call. A public PBA client (`ApiPBA.getAccounts`) uses the BM method
  `AccountGetMyCustomersList` with no parameters and reads the AccountID from column 0, and nothing
  else. What the other columns hold is not public, so the simulator serves one-column rows
  `[AccountID]`: a client can rely on nothing more (names and the reseller come from the documented
  `AccountDetailsGet_API`). That client sends `Username`/`Password` in the envelope; the gateway in
  front of BA requires them (odin_gateway).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from bot.sandbox.odin_accounts import PROVIDER_ACCOUNT_ID, account_profile, reseller_account_id
from bot.sandbox.world import Customer, Product, SandboxWorld, Subscription, SubscriptionLine

CURRENCY = "USD"
STATUS_CODES = {"active": 30, "suspended": 40, "expired": 50, "cancelled": 60}
SERV_STATUS_CODES = {"active": 60, "suspended": 50, "expired": 50, "cancelled": 90}
PERIOD_TYPE_MONTH = 2
PERIOD_TYPE_YEAR = 3
CONTAINER_NAME = "PEMGATE"
RESOURCE_CATEGORY = "Licenses"
RESOURCE_CATEGORY_ID = 10
PLAN_CATEGORY_ID = 20
MAX_UNITS = 100000

Row = list[Any]


class BaError(Exception):
    """A failure inside a BA method; the facade turns it into an XML-RPC fault."""


@dataclass(frozen=True)
class BaMethod:
    params: tuple[tuple[str, type], ...]
    run: Callable[..., list]


# --- helpers -----------------------------------------------------------------------------------
def timestamp(value: date | datetime | None) -> int:
    if value is None:
        return 0
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def money(amount: Decimal | int | float) -> str:
    return f"{CURRENCY} {Decimal(amount).quantize(Decimal('0.01'))}"


def sort_rows(rows: list[Row], sort_no: int, columns: int) -> list[Row]:
    if sort_no == 0:
        return rows
    if abs(sort_no) > columns:
        raise BaError(f"Wrong sort number {sort_no}: the result has {columns} columns.")
    index = abs(sort_no) - 1
    return sorted(rows, key=lambda row: row[index], reverse=sort_no < 0)


def _customer(world: SandboxWorld, account_id: int) -> Customer:
    customer = world.customers.get(account_id)
    if customer is None:
        raise BaError(f"Account #{account_id} does not exist.")
    return customer


def _subscription(world: SandboxWorld, subscription_id: int) -> Subscription:
    sub = world.subscriptions.get(subscription_id)
    if sub is None:
        raise BaError(f"Subscription #{subscription_id} does not exist.")
    return sub


def _product(world: SandboxWorld, resource_id: int) -> Product:
    product = world.products.get(resource_id)
    if product is None:  # an inconsistent world still answers, with a recognisable placeholder
        return Product(resource_id=resource_id, resource_rate_id=resource_id, mpn=f"RES-{resource_id}",
                       name=f"Resource #{resource_id}")
    return product


def _plan_subscriptions(world: SandboxWorld, plan_id: int) -> list[Subscription]:
    subs = sorted((s for s in world.subscriptions.values() if s.plan_id == plan_id),
                  key=lambda s: s.subscription_id)
    if not subs:
        raise BaError(f"Plan #{plan_id} does not exist.")
    return subs


def period_type(sub: Subscription) -> int:
    return PERIOD_TYPE_YEAR if sub.term == "annual" else PERIOD_TYPE_MONTH


def plan_period_id(sub: Subscription) -> int:
    return sub.plan_id * 10 + (2 if sub.term == "annual" else 1)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def billing_dates(sub: Subscription, today: date) -> tuple[int, int]:
    """(LastBillDate, NextBillDate): monthly anniversaries of the start date around `today`."""
    if today < sub.start_date:
        return 0, timestamp(sub.start_date)
    months = (today.year - sub.start_date.year) * 12 + today.month - sub.start_date.month
    last = _add_months(sub.start_date, months)
    if last > today:
        months -= 1
        last = _add_months(sub.start_date, months)
    following = _add_months(sub.start_date, months + 1)
    next_bill = timestamp(following) if sub.status in ("active", "suspended") else 0
    return timestamp(last), next_bill


# --- field orders (the positional layout of each row) ----------------------------------------
ACCOUNT_FIELDS = (
    "AccountID", "VendorAccountID", "CompanyName", "Address1", "Address2", "City", "State", "Zip", "CountryID",
    "PostalAddress", "accFName", "accMName", "accLName", "accEmail", "accPhCountryCode", "accPhAreaCode",
    "accPhNumber", "accPhExtention", "accFaxCountryCode", "accFaxAreaCode", "accFaxNumber", "accFaxExtention",
    "CreationDate", "TaxStatus",
)
MY_CUSTOMER_FIELDS = ("AccountID",)  # the only column a public source reads
CUSTOMER_SUBSCRIPTION_FIELDS = (
    "SubscriptionID", "SubscriptionName", "PlanID", "PlanName", "PlanPeriodID", "Period", "PeriodType",
    "StartDate", "ExpirationDate", "Status", "ServStatus", "ContainerName",
)
SUBSCRIPTION_FIELDS = ("SubscriptionID", "SubscriptionName", "AccountID", "PlanID", "PlanName", "Status",
                       "ServStatus")
SUBSCRIPTION_EX_FIELDS = (
    *SUBSCRIPTION_FIELDS, "StartDate", "ExpirationDate", "LastBillDate", "NextBillDate", "BillingPeriodType",
    "BillingPeriod", "Trial", "ShutdownDate", "TerminateDate", "Period", "PeriodType", "FreezePrices", "PromoCode",
)
RESOURCE_FIELDS = (
    "ResourceID", "ResourceRateID", "ResourceName", "StoreDescription", "StorePriceText", "StoreSortOrder",
    "Status", "ResourceCategory", "IncludedAmount", "AdditionalAmount", "UsedAmount", "OrderedAmount", "Unit",
    "MinUnits", "MaxUnits", "Measurable", "RelativeStatus", "OrderNumber", "SetupFee", "RecurringFee",
    "OveruseFee", "Location", "IsOveruseFeeTiered", "IsRecurringFeeTiered", "IsSetupFeeTiered",
)
PLAN_FIELDS = (
    "PlanID", "Name", "CategoryID", "ResourceCurrencyID", "ShortDescription", "LongDescription", "GateName",
    "GroupID", "IsParentReq", "RecurringType", "BillingPeriodType", "BillingPeriod", "ShowPriority",
    "Default_PlanPeriodID", "IsOTFI", "DocID", "VendorAccountID", "ServiceTemplateID", "PricePeriodType",
    "Published",
)
PLAN_RATE_FIELDS = (
    "ResourceRateID", "ResourceRateName", "Description", "Included_Value", "Upper_Limit", "Lower_Limit",
    "Unit_of_Measure", "Setup_Fee", "Recurring_Fee", "Measurable", "ResourceID", "SetupFeeDescr",
    "RecurrFeeDescr", "IsVisible", "IsMain", "StoreText", "IsSFperUnit", "IsRFperUnit", "IsSFforUpgrade",
    "StorePriceText", "ResourceCategoryID", "SortOrder", "IsOveruseFeeTiered", "IsRecurringFeeTiered",
    "IsSetupFeeTiered",
)


def positional(fields: tuple[str, ...], **values: Any) -> Row:
    """One BA row: `values` laid out in `fields` order; every field must be given."""
    missing, extra = set(fields) - set(values), set(values) - set(fields)
    if missing or extra:
        raise AssertionError(f"row fields: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return [values[name] for name in fields]


# --- accounts ----------------------------------------------------------------------------------
def account_details(world: SandboxWorld, account_id: int) -> list:
    customer = _customer(world, account_id)
    p = account_profile(customer)
    postal = ", ".join(part for part in (p.street, p.street2, f"{p.city}, {p.state} {p.zip_code}", p.country)
                       if part)
    return [positional(
        ACCOUNT_FIELDS, AccountID=customer.account_id, VendorAccountID=reseller_account_id(world),
        CompanyName=customer.name, Address1=p.street, Address2=p.street2, City=p.city, State=p.state,
        Zip=p.zip_code, CountryID=p.country, PostalAddress=postal, accFName=p.first_name, accMName=p.middle_name,
        accLName=p.last_name, accEmail=p.email, accPhCountryCode=p.phone_country, accPhAreaCode=p.phone_area,
        accPhNumber=p.phone_number, accPhExtention=p.phone_extension, accFaxCountryCode="", accFaxAreaCode="",
        accFaxNumber="", accFaxExtention="", CreationDate=timestamp(customer.created), TaxStatus=2,
    )]


def my_customers(world: SandboxWorld) -> list:
    rows = [positional(MY_CUSTOMER_FIELDS, AccountID=account_id) for account_id in sorted(world.customers)]
    return [rows]


# --- subscriptions -----------------------------------------------------------------------------
def customer_subscriptions(world: SandboxWorld, account_id: int, sort_no: int) -> list:
    _customer(world, account_id)
    subs = sorted((s for s in world.subscriptions.values() if s.account_id == account_id),
                  key=lambda s: s.subscription_id)
    rows = [positional(
        CUSTOMER_SUBSCRIPTION_FIELDS, SubscriptionID=s.subscription_id, SubscriptionName=s.name, PlanID=s.plan_id,
        PlanName=s.plan_name, PlanPeriodID=plan_period_id(s), Period=1, PeriodType=period_type(s),
        StartDate=timestamp(s.start_date), ExpirationDate=timestamp(s.expiration_date),
        Status=STATUS_CODES[s.status], ServStatus=SERV_STATUS_CODES[s.status], ContainerName=CONTAINER_NAME,
    ) for s in subs]
    return [sort_rows(rows, sort_no, len(CUSTOMER_SUBSCRIPTION_FIELDS))]


def _subscription_head(sub: Subscription) -> dict[str, Any]:
    return {"SubscriptionID": sub.subscription_id, "SubscriptionName": sub.name, "AccountID": sub.account_id,
            "PlanID": sub.plan_id, "PlanName": sub.plan_name, "Status": STATUS_CODES[sub.status],
            "ServStatus": SERV_STATUS_CODES[sub.status]}


def subscription_details(world: SandboxWorld, subscription_id: int) -> list:
    return [positional(SUBSCRIPTION_FIELDS, **_subscription_head(_subscription(world, subscription_id)))]


def subscription_details_ex(world: SandboxWorld, subscription_id: int) -> list:
    sub = _subscription(world, subscription_id)
    last_bill, next_bill = billing_dates(sub, world.today)
    shutdown = {"suspended": timestamp(sub.last_modified), "expired": timestamp(sub.expiration_date)}
    return [positional(
        SUBSCRIPTION_EX_FIELDS, **_subscription_head(sub), StartDate=timestamp(sub.start_date),
        ExpirationDate=timestamp(sub.expiration_date), LastBillDate=last_bill, NextBillDate=next_bill,
        BillingPeriodType=PERIOD_TYPE_MONTH, BillingPeriod=1, Trial=0, ShutdownDate=shutdown.get(sub.status, 0),
        TerminateDate=timestamp(sub.last_modified) if sub.status == "cancelled" else 0, Period=1,
        PeriodType=period_type(sub), FreezePrices=0, PromoCode="",
    )]


def _resource_row(world: SandboxWorld, sub: Subscription, line: SubscriptionLine, position: int) -> Row:
    product = _product(world, line.resource_id)
    return positional(
        RESOURCE_FIELDS, ResourceID=product.resource_id, ResourceRateID=product.resource_rate_id,
        ResourceName=product.name, StoreDescription=product.name,
        StorePriceText=f"{money(line.unit_price)}/{product.unit}/month", StoreSortOrder=position, Status=1,
        ResourceCategory=RESOURCE_CATEGORY, IncludedAmount=line.included, AdditionalAmount=line.additional,
        UsedAmount=line.used, OrderedAmount=line.ordered, Unit=product.unit, MinUnits=0, MaxUnits=MAX_UNITS,
        Measurable=0, RelativeStatus=0, OrderNumber=f"SO{sub.subscription_id:010d}", SetupFee=money(0),
        RecurringFee=money(line.unit_price), OveruseFee=money(0), Location="", IsOveruseFeeTiered=0,
        IsRecurringFeeTiered=0, IsSetupFeeTiered=0,
    )


def subscription_resources(world: SandboxWorld, subscription_id: int, sort_no: int) -> list:
    sub = _subscription(world, subscription_id)
    rows = [_resource_row(world, sub, line, i) for i, line in enumerate(sub.lines, start=1)]
    rows.sort(key=lambda row: row[0])
    return [sort_rows(rows, sort_no, len(RESOURCE_FIELDS))]


# --- plans -------------------------------------------------------------------------------------
def plan_details(world: SandboxWorld, plan_id: int) -> list:
    first = _plan_subscriptions(world, plan_id)[0]
    return [positional(
        PLAN_FIELDS, PlanID=plan_id, Name=first.plan_name, CategoryID=PLAN_CATEGORY_ID, ResourceCurrencyID=CURRENCY,
        ShortDescription=first.plan_name, LongDescription=f"{first.plan_name}, billed monthly per licence.",
        GateName=CONTAINER_NAME, GroupID=0, IsParentReq=0, RecurringType=10, BillingPeriodType=PERIOD_TYPE_MONTH,
        BillingPeriod=1, ShowPriority=0, Default_PlanPeriodID=plan_period_id(first), IsOTFI=0, DocID=0,
        VendorAccountID=PROVIDER_ACCOUNT_ID, ServiceTemplateID=100000 + plan_id % 100000,
        PricePeriodType=PERIOD_TYPE_MONTH, Published=1,
    )]


def plan_rates(world: SandboxWorld, plan_id: int, sort_no: int) -> list:
    included: dict[int, int] = {}
    for sub in _plan_subscriptions(world, plan_id):
        for line in sub.lines:
            included[line.resource_id] = min(included.get(line.resource_id, line.included), line.included)
    rows = []
    for order, resource_id in enumerate(sorted(included), start=1):
        product = _product(world, resource_id)
        rows.append(positional(
            PLAN_RATE_FIELDS, ResourceRateID=product.resource_rate_id, ResourceRateName=product.name,
            Description=f"{product.name} ({product.mpn})", Included_Value=included[resource_id],
            Upper_Limit=MAX_UNITS, Lower_Limit=0, Unit_of_Measure=product.unit, Setup_Fee=money(0),
            Recurring_Fee=money(product.price), Measurable=0, ResourceID=product.resource_id, SetupFeeDescr="",
            RecurrFeeDescr=f"per {product.unit} per month", IsVisible=1, IsMain=1 if order == 1 else 0,
            StoreText=product.name, IsSFperUnit=1, IsRFperUnit=1, IsSFforUpgrade=0,
            StorePriceText=f"{money(product.price)}/{product.unit}/month", ResourceCategoryID=RESOURCE_CATEGORY_ID,
            SortOrder=order, IsOveruseFeeTiered=0, IsRecurringFeeTiered=0, IsSetupFeeTiered=0,
        ))
    rows.sort(key=lambda row: row[0])
    return [sort_rows(rows, sort_no, len(PLAN_RATE_FIELDS))]


_ACCOUNT = (("AccountID", int),)
_SUBSCRIPTION = (("SubscriptionID", int),)
_PLAN = (("PlanID", int),)
_SORT = (("SortNo", int),)
METHODS: dict[str, BaMethod] = {
    "AccountDetailsGet_API": BaMethod(_ACCOUNT, account_details),
    "AccountGetMyCustomersList": BaMethod((), my_customers),
    "GetCustomerSubscriptionList_API": BaMethod(_ACCOUNT + _SORT, customer_subscriptions),
    "SubscriptionDetailsGet_API": BaMethod(_SUBSCRIPTION, subscription_details),
    "SubscriptionDetailsGetEx_API": BaMethod(_SUBSCRIPTION, subscription_details_ex),
    "SubscriptionResourcesListGet_API": BaMethod(_SUBSCRIPTION + _SORT, subscription_resources),
    "PlanDetailsGet_API": BaMethod(_PLAN, plan_details),
    "PlanRateListFullGet_API": BaMethod(_PLAN + _SORT, plan_rates),
}


def call_method(world: SandboxWorld, method_name: str, params: Sequence[Any]) -> list:
    """Check the positional params against the method's signature, then run it."""
    method = METHODS[method_name]
    if len(params) != len(method.params):
        names = ", ".join(name for name, _ in method.params) or "none"
        raise BaError(f"Method {method_name} expects {len(method.params)} parameter(s) ({names}), "
                      f"got {len(params)}.")
    for position, ((name, kind), value) in enumerate(zip(method.params, params, strict=True), start=1):
        if type(value) is not kind:
            raise BaError(f"Parameter #{position} ({name}) of {method_name} must be {kind.__name__}, "
                          f"got {type(value).__name__}.")
    return method.run(world, *params)
