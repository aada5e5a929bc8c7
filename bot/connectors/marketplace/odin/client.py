"""Odin Automation / CloudBlue Commerce billing ("BA") as a `Marketplace`, over its XML-RPC API.

Connection: `base_url` is BA's RPC2 URL (`http://<BA-host>:5224/RPC2`); `options` may name
`reseller_account_id` (the MSP's own BA account: only customers whose VendorAccountID is that
account are read); `secrets` may hold `username`/`password`, sent as HTTP Basic when BA sits behind
an authenticating proxy. BA itself has no per-call credential: it trusts allowed IP addresses.

What a full read costs (N customers, S subscriptions): 1 + N + S calls.
- customers and their names: `AccountGetMyCustomersList` (one call; `AccountDetailsGet_API` per
  customer only when a row carries no CompanyName);
- subscriptions: `GetCustomerSubscriptionList_API` per customer. Its rows already carry the name,
  Period/PeriodType, Start/ExpirationDate and Status, so `SubscriptionDetailsGetEx_API` is not
  called per subscription (it would double the calls for nothing); `get_subscription` uses it,
  because it is the call that gives a subscription's AccountID;
- resources: `SubscriptionResourcesListGet_API` per subscription: IncludedAmount and
  AdditionalAmount become `MarketResource.included/additional`; RecurringFee ("USD 12.00") is the
  unit price and its prefix the currency. BA reports no cost in these calls, so `unit_cost` is None
  (a "cost + markup" price source cannot be fed from Odin).
XML-RPC has no batching here, so calls run side by side, one worker per place in the limiter (8 in
flight by default; BA publishes no rate limit). List calls pass SortNo 1 (by the first column, the id). A customer or
subscription that BA reports gone ("does not exist") between the list and the next call is left
out of the read rather than failing it.

`modified_since`: none of these calls filters by modification date and BA rows carry no
modification stamp, so every read is a full read and `modified_at` is None.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TypeVar

import httpx

from bot.connectors.connection import Connection
from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RejectedError,
    UnreachableError,
)
from bot.connectors.fanout import fan_out
from bot.connectors.http import CallStats, RequestLimiter, RetryPolicy, VendorHttp
from bot.connectors.marketplace.odin.rows import (
    ACCOUNT_DETAILS,
    CUSTOMER_SUBSCRIPTIONS,
    MY_CUSTOMERS,
    SUBSCRIPTION_DETAILS_EX,
    SUBSCRIPTION_RESOURCES,
    Row,
    integer,
    money,
    named_row,
    named_rows,
    subscription_status,
    term,
    text,
    unix_day,
    whole_amounts,
)
from bot.connectors.marketplace.odin.rpc import OdinRpc, error_message
from bot.domain.records import ConnectionCheck, MarketCompany, MarketResource, MarketSubscription
from bot.log_redaction import register_secret

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
MAX_IN_FLIGHT = 8
SORT_BY_ID = 1


class OdinClient:
    system = "odin"

    def __init__(self, *, rpc: OdinRpc, reseller_account_id: int | None = None) -> None:
        self.rpc = rpc
        self.stats: CallStats = rpc.http.stats
        self.reseller_account_id = reseller_account_id

    @classmethod
    def from_connection(cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                        retry: RetryPolicy = RetryPolicy(), max_in_flight: int = MAX_IN_FLIGHT,
                        transport: httpx.AsyncBaseTransport | None = None) -> OdinClient:
        for value in connection.secrets.values():
            register_secret(value)
        username = connection.secrets.get("username")
        auth = httpx.BasicAuth(username, connection.secrets.get("password", "")) if username else None
        client = httpx.AsyncClient(timeout=timeout, auth=auth, transport=transport,
                                   headers={"User-Agent": "SeatSync"})
        http = VendorHttp(system=cls.system, client=client, error_message=error_message,
                          limiter=RequestLimiter(max_concurrent=max_in_flight), retry=retry)
        reseller = connection.options.get("reseller_account_id")
        return cls(rpc=OdinRpc(http, connection.base_url),
                   reseller_account_id=int(reseller) if reseller not in (None, "") else None)

    # --- Marketplace ---------------------------------------------------------------------------
    async def list_companies(self) -> list[MarketCompany]:
        rows = self._mine(await self._customer_rows())
        unnamed = [integer(r, "AccountID") for r in rows if not text(r, "CompanyName")]
        details = await self._each(unnamed, self._account_details)
        names = {integer(d, "AccountID"): text(d, "CompanyName") for d in details}
        return [MarketCompany(external_id=str(integer(r, "AccountID")),
                              name=text(r, "CompanyName") or names.get(integer(r, "AccountID"), ""))
                for r in rows]

    async def list_subscriptions(self, *, modified_since: datetime | None = None) -> list[MarketSubscription]:
        """Every subscription of every customer; `modified_since` is ignored (BA cannot filter by it)."""
        accounts = [integer(r, "AccountID") for r in self._mine(await self._customer_rows())]
        per_account = await self._each(accounts, lambda account_id: _unless_gone(self._subscription_rows(account_id)))
        heads = [(account_id, row) for account_id, rows in zip(accounts, per_account, strict=True)
                 for row in rows or ()]
        resources = await self._each(
            heads, lambda head: _unless_gone(self._resources(integer(head[1], "SubscriptionID"))))
        # a customer or subscription removed while the read ran is left out, not an error
        return [_subscription(account_id, row, lines)
                for (account_id, row), lines in zip(heads, resources, strict=True) if lines is not None]

    async def get_subscription(self, external_id: str) -> MarketSubscription:
        subscription_id = _subscription_id(external_id)
        detail, lines = await self._each([lambda: self.rpc.execute(SUBSCRIPTION_DETAILS_EX, subscription_id),
                                          lambda: self._resources(subscription_id)], lambda call: call())
        row = named_row(SUBSCRIPTION_DETAILS_EX, detail)
        return _subscription(integer(row, "AccountID"), row, lines)

    async def test_connection(self) -> ConnectionCheck:
        url = self.rpc.url
        facts = {"url": url}
        try:
            rows = await self._customer_rows()
        except ConnectorError as exc:
            return ConnectionCheck(ok=False, system=self.system, detail=_explain(exc, url), facts=facts)
        resellers = sorted({str(r["VendorAccountID"]) for r in rows if r.get("VendorAccountID") is not None})
        facts.update(customers=str(len(rows)), resellers=", ".join(resellers) or "not reported")
        if self.reseller_account_id is not None:
            mine = self._mine(rows)
            facts["customers_of_reseller"] = str(len(mine))
            if rows and not mine:
                return ConnectionCheck(
                    ok=False, system=self.system, facts=facts,
                    detail=(f"BA answered, but none of its {len(rows)} customer accounts belongs to reseller "
                            f"account {self.reseller_account_id} (they belong to {facts['resellers']}). "
                            "Check the reseller account id."))
        return ConnectionCheck(ok=True, system=self.system, facts=facts,
                               detail=f"BA answered at {url}; {len(self._mine(rows))} customer accounts readable.")

    async def aclose(self) -> None:
        await self.rpc.http.client.aclose()

    # --- calls -----------------------------------------------------------------------------------
    async def _each(self, items: Iterable[T], call: Callable[[T], Awaitable[R]]) -> list[R]:
        return await fan_out(items, call, workers=self.rpc.http.limiter.max_concurrent)

    async def _customer_rows(self) -> list[Row]:
        return named_rows(MY_CUSTOMERS, await self.rpc.execute(MY_CUSTOMERS))

    async def _account_details(self, account_id: int) -> Row:
        return named_row(ACCOUNT_DETAILS, await self.rpc.execute(ACCOUNT_DETAILS, account_id))

    async def _subscription_rows(self, account_id: int) -> list[Row]:
        return named_rows(CUSTOMER_SUBSCRIPTIONS,
                          await self.rpc.execute(CUSTOMER_SUBSCRIPTIONS, account_id, SORT_BY_ID))

    async def _resources(self, subscription_id: int) -> list[MarketResource]:
        rows = named_rows(SUBSCRIPTION_RESOURCES,
                          await self.rpc.execute(SUBSCRIPTION_RESOURCES, subscription_id, SORT_BY_ID))
        return [_resource(row) for row in rows]

    def _mine(self, rows: list[Row]) -> list[Row]:
        if self.reseller_account_id is None:
            return rows
        return [r for r in rows
                if r.get("VendorAccountID") is None or integer(r, "VendorAccountID") == self.reseller_account_id]


# --- rows to domain records --------------------------------------------------------------------
def _subscription(account_id: int, row: Row, resources: list[MarketResource]) -> MarketSubscription:
    """From a GetCustomerSubscriptionList_API or SubscriptionDetailsGetEx_API row (same names)."""
    return MarketSubscription(
        external_id=str(integer(row, "SubscriptionID")),
        company_external_id=str(account_id),
        name=text(row, "SubscriptionName"),
        term=term(integer(row, "Period"), integer(row, "PeriodType")),
        status=subscription_status(integer(row, "Status")),
        start_date=unix_day(row, "StartDate"),
        end_date=unix_day(row, "ExpirationDate"),
        modified_at=None,
        resources=tuple(resources),
    )


def _resource(row: Row) -> MarketResource:
    where = f"resource {row.get('ResourceID')!r}"
    included, additional = whole_amounts(row.get("IncludedAmount"), row.get("AdditionalAmount"), where=where)
    price, currency = money(row.get("RecurringFee"), where=f"{where}: RecurringFee")
    return MarketResource(
        external_id=str(integer(row, "ResourceID")),
        name=text(row, "ResourceName"),
        included=included,
        additional=additional,
        unit=text(row, "Unit") or "unit",
        unit_price=price,
        unit_cost=None,
        currency=currency,
    )


def _subscription_id(external_id: str) -> int:
    try:
        return int(str(external_id).strip())
    except ValueError:
        raise NotFoundError("odin", f"{external_id!r} is not a BA subscription id (BA ids are integers)") from None


async def _unless_gone(call: Awaitable[T]) -> T | None:
    try:
        return await call
    except NotFoundError:
        return None


def _explain(exc: ConnectorError, url: str) -> str:
    """What a failed connection test means, in words a billing lead can act on."""
    message = exc.vendor_message
    if isinstance(exc, UnreachableError):
        if message.startswith("cannot connect"):
            return (f"Cannot reach BA at {url}: {message}. Check the host and port (BA's XML-RPC API listens on "
                    "5224) and that BA allows calls from this machine's IP address.")
        return f"BA at {url} did not answer in time ({message}); it may be overloaded or a firewall drops the call."
    if isinstance(exc, AuthenticationError):
        return f"The user name or password for {url} was rejected (HTTP 401): {message}"
    if isinstance(exc, PermissionDeniedError):
        return (f"{url} refused this machine (HTTP 403): {message}. BA answers only allowed IP addresses; "
                "ask the provider to allow this machine.")
    if isinstance(exc, MalformedReplyError):
        return f"Something answered at {url}, but not BA's XML-RPC API: {message}"
    if isinstance(exc, RejectedError) and exc.status == 404:
        return message
    if isinstance(exc, RejectedError | NotFoundError):
        return f"BA answered but refused to list the reseller's customers: {message}"
    return f"BA at {url} is failing right now ({exc.kind}): {message}"

