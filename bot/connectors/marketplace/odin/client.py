"""Odin Automation / CloudBlue Commerce billing ("BA") as a `Marketplace`, over its XML-RPC API.

Connection: `base_url` is the gateway's (or BA's) RPC2 URL (`https://<gateway>/RPC2`, BA itself listens on
`http://<BA-host>:5224/RPC2`); `secrets` hold the reseller's `username` (user id) and `password`, sent in
every `Execute` struct as the public Python BA client sends them; `options` may set `basic_auth` ("yes":
the gateway also takes them as HTTP basic auth), `reseller_account_id` (only customers whose BA
VendorAccountID is that account are read) and `requests_per_second` (the client's budget, 200 by default:
BA publishes no limit; the simulator allows 250).

What a read costs (N customers, S subscriptions):
- customers: `AccountGetMyCustomersList` (one call). It is not in BA's public reference; the one public client
  that calls it reads only column 0, the AccountID, so nothing else of it is read;
- names (and each account's VendorAccountID, for the reseller filter): `AccountDetailsGet_API`, documented,
  one call per customer, cached. The cache follows the complete-read cadence: every account is read again on
  the engine's complete read (`list_companies(modified_since=None)`), or once `NAMES_REFRESH` has passed on
  the injected clock (`now`, the application's clock) for a caller that never says; a new account is read when
  it first appears. So the first read and one read a day cost 1 + N calls for the companies; every other
  cycle none beyond the list (plus one per new customer). Measured at the `large` scale in bench/README.md;
- one customer list per cycle: the engine asks for subscriptions and companies in turn, and the list read by
  the first is handed to the second (`LIST_SHARED_S`, a duration on the monotonic timer), not read again;
- subscriptions: `GetCustomerSubscriptionList_API` per customer. Its rows already carry the name,
  Period/PeriodType, Start/ExpirationDate and Status, so `SubscriptionDetailsGetEx_API` is not
  called per subscription (it would double the calls for nothing); `get_subscription` uses it,
  because it is the call that gives a subscription's AccountID;
- resources: `SubscriptionResourcesListGet_API` per subscription: IncludedAmount and
  AdditionalAmount become `MarketResource.included/additional`; RecurringFee ("USD 12.00") is the
  unit price and its prefix the currency. BA reports no cost in these calls, so `unit_cost` is None
  (a "cost + markup" price source cannot be fed from Odin).
A cycle (list_companies + list_subscriptions) is 1 + N + S calls, plus N once a day for the names.

A complete-read cadence of its own: BA has no delta call, so every read is whole, and the posting cadence (the
engine's poll, 5 minutes by default) would read every customer and subscription each time. The connection's
`full_read_minutes` option (0 by default: every poll reads) sets how often the subscriptions are read when the
engine asks for an incremental read: in between, an incremental read makes no call and returns nothing (an
incremental snapshot changes nothing it is not given); the engine's own complete read always reads. Changes
in between arrive by the marketplace's notifications (`sync_subscription`), or at the next read. The companies
half of a cycle follows the subscriptions half: skipped when it was skipped.
XML-RPC has no batching here, so calls run side by side, one worker per place in the limiter (8 in
flight by default). List calls pass SortNo 1 (by the first column, the id). A customer or
subscription that BA reports gone ("does not exist") between the list and the next call is left
out of the read rather than failing it.

`modified_since`: none of these calls filters by modification date and BA rows carry no
modification stamp, so every read that reads is a full read and `modified_at` is None. Status codes are read as the
notes give them (rows.py) and stay opaque where no source gives their table.

Test connection tells apart: an unreachable host (connection refused, timeout), refused credentials (a
BA fault saying so, or the gateway's HTTP 401), a method the gateway does not let this user call (each
method a read uses is tried once), and a URL where something else answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import httpx

from bot.clock import Clock, SystemClock
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
from bot.connectors.http import CallStats, RequestLimiter, RetryPolicy, VendorHttp, vendor_client
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
REQUESTS_PER_SECOND = 200  # BA publishes no rate limit; the simulator's gateway allows 250 a second
NAMES_REFRESH = timedelta(hours=24)  # the engine's complete-read cadence (full_read_every)
# a customer list read by one half of a cycle serves the other half, within this: the subscriptions half of a
# `large` read takes minutes on a loaded machine (a 120 s window missed it: the list and every name read twice)
LIST_SHARED_S = 3600.0
SORT_BY_ID = 1
TRUE_WORDS = frozenset({"yes", "true", "1", "on"})


@dataclass(frozen=True)
class Account:
    name: str
    vendor_account_id: int | None


class OdinClient:
    system = "odin"

    def __init__(self, *, rpc: OdinRpc, reseller_account_id: int | None = None, now: Clock | None = None,
                 names_refresh: timedelta = NAMES_REFRESH, full_read_every: timedelta = timedelta(0)) -> None:
        self.rpc = rpc
        self.stats: CallStats = rpc.http.stats
        self.reseller_account_id = reseller_account_id
        self._now = now or SystemClock()
        self._names_refresh = names_refresh
        self._full_read_every = full_read_every
        self._accounts: dict[int, Account] = {}  # AccountDetailsGet_API, by account id
        self._accounts_read_at: datetime | None = None
        self._subscriptions_read_at: datetime | None = None
        self._skipped = False  # the last subscriptions read was skipped by the cadence: the companies read is too
        self._shared_ids: tuple[str, float, list[int]] | None = None  # (half, monotonic, ids): for the other half
        self._details_this_cycle: set[int] = set()  # accounts whose details this cycle has read already

    @classmethod
    def from_connection(cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                        retry: RetryPolicy = RetryPolicy(), max_in_flight: int = MAX_IN_FLIGHT,
                        transport: httpx.AsyncBaseTransport | None = None, now: Clock | None = None,
                        names_refresh: timedelta = NAMES_REFRESH) -> OdinClient:
        secrets, options = connection.secrets, connection.options
        missing = [f"secrets.{name}" for name in ("username", "password") if not secrets.get(name)]
        if missing:
            raise ValueError(f"odin connection is missing {', '.join(missing)} (the gateway's user id and password)")
        for value in secrets.values():
            register_secret(value)
        username, password = secrets["username"], secrets["password"]
        basic = str(options.get("basic_auth") or "").strip().lower() in TRUE_WORDS
        client = vendor_client(timeout=timeout, auth=httpx.BasicAuth(username, password) if basic else None,
                               transport=transport, headers={"User-Agent": "SeatSync"})
        per_second = int(options.get("requests_per_second") or REQUESTS_PER_SECOND)
        http = VendorHttp(system=cls.system, client=client, error_message=error_message, retry=retry,
                          limiter=RequestLimiter(max_concurrent=max_in_flight, per_window=per_second, window_s=1.0))
        reseller = options.get("reseller_account_id")
        full_read_minutes = float(options.get("full_read_minutes") or 0)
        return cls(rpc=OdinRpc(http, connection.base_url, username=username, password=password),
                   reseller_account_id=int(reseller) if reseller not in (None, "") else None, now=now,
                   names_refresh=names_refresh, full_read_every=timedelta(minutes=full_read_minutes))

    # --- Marketplace ---------------------------------------------------------------------------
    async def list_companies(self, *, modified_since: datetime | None = None) -> list[MarketCompany]:
        """Every customer (the reseller's, when one is set); none, without a call, for an incremental read whose
        subscriptions half the connection's own cadence skipped (the names stay as stored)."""
        if modified_since is not None and self._skipped:
            return []
        accounts = await self._my_accounts(refresh_names=modified_since is None)
        return [MarketCompany(external_id=str(account_id), name=self._accounts[account_id].name)
                for account_id in accounts if account_id in self._accounts]

    async def list_subscriptions(self, *, modified_since: datetime | None = None) -> list[MarketSubscription]:
        """Every subscription of every customer (BA cannot filter by modification); none, without a call, for an
        incremental read between two reads of the connection's `full_read_minutes` cadence."""
        self._skipped = self._between_reads(modified_since)
        if self._skipped:
            return []
        self._subscriptions_read_at = self._now()
        accounts = await self._my_accounts(half="subscriptions")
        per_account = await self._each(accounts, lambda account_id: _unless_gone(self._subscription_rows(account_id)))
        heads = [(account_id, row) for account_id, rows in zip(accounts, per_account, strict=True)
                 for row in rows or ()]
        resources = await self._each(
            heads, lambda head: _unless_gone(self._resources(integer(head[1], "SubscriptionID"))))
        # a customer or subscription removed while the read ran is left out, not an error
        return [_subscription(account_id, row, lines)
                for (account_id, row), lines in zip(heads, resources, strict=True) if lines is not None]

    def _between_reads(self, modified_since: datetime | None) -> bool:
        """An incremental read that the connection's own complete-read cadence says to skip."""
        if modified_since is None or not self._full_read_every or self._subscriptions_read_at is None:
            return False
        return self._now() - self._subscriptions_read_at < self._full_read_every

    async def get_subscription(self, external_id: str) -> MarketSubscription:
        subscription_id = _subscription_id(external_id)
        detail, lines = await self._each([lambda: self.rpc.execute(SUBSCRIPTION_DETAILS_EX, subscription_id),
                                          lambda: self._resources(subscription_id)], lambda call: call())
        row = named_row(SUBSCRIPTION_DETAILS_EX, detail)
        return _subscription(integer(row, "AccountID"), row, lines)

    async def test_connection(self) -> ConnectionCheck:
        """Log in and try each method a read uses once: tells a wrong password from an unreachable host from a
        method the gateway does not allow."""
        url = self.rpc.url
        facts = {"url": url}
        method = MY_CUSTOMERS
        try:
            ids = await self._customer_ids()
            facts["customers"] = str(len(ids))
            if ids:
                method = ACCOUNT_DETAILS
                await self._account_details(ids[0])
                method = CUSTOMER_SUBSCRIPTIONS
                first: list[Row] = []
                for account_id in ids[:20]:  # the first customer with a subscription, among the first few
                    first = await self._subscription_rows(account_id)
                    if first:
                        break
                if first:
                    subscription_id = integer(first[0], "SubscriptionID")
                    method = SUBSCRIPTION_RESOURCES
                    await self.rpc.execute(SUBSCRIPTION_RESOURCES, subscription_id, SORT_BY_ID)
                    method = SUBSCRIPTION_DETAILS_EX
                    await self.rpc.execute(SUBSCRIPTION_DETAILS_EX, subscription_id)
            mine = await self._my_accounts(ids) if self.reseller_account_id is not None else ids
        except ConnectorError as exc:
            return ConnectionCheck(ok=False, system=self.system, detail=_explain(exc, url, method), facts=facts)
        if self.reseller_account_id is not None:
            facts["customers_of_reseller"] = str(len(mine))
            if ids and not mine:
                resellers = sorted({str(a.vendor_account_id) for a in self._accounts.values()
                                    if a.vendor_account_id is not None})
                facts["resellers"] = ", ".join(resellers) or "not reported"
                return ConnectionCheck(
                    ok=False, system=self.system, facts=facts,
                    detail=(f"BA answered, but none of its {len(ids)} customer accounts belongs to reseller "
                            f"account {self.reseller_account_id} (they belong to {facts['resellers']}). "
                            "Check the reseller account id."))
        return ConnectionCheck(ok=True, system=self.system, facts=facts,
                               detail=f"BA answered at {url}; {len(mine)} customer accounts readable.")

    async def aclose(self) -> None:
        await self.rpc.http.client.aclose()

    # --- calls -----------------------------------------------------------------------------------
    async def _each(self, items: Iterable[T], call: Callable[[T], Awaitable[R]]) -> list[R]:
        return await fan_out(items, call, workers=self.rpc.http.limiter.max_concurrent)

    async def _customer_ids(self) -> list[int]:
        """Column 0 of AccountGetMyCustomersList: the one column a public source reads."""
        return [integer(row, "AccountID") for row in named_rows(MY_CUSTOMERS, await self.rpc.execute(MY_CUSTOMERS))]

    async def _cycle_customer_ids(self, half: str) -> list[int]:
        """The customer list, read once per cycle: the half of a cycle (companies, subscriptions) that reads it
        leaves it for the other half, which takes it once."""
        shared, self._shared_ids = self._shared_ids, None
        if shared is not None and shared[0] != half and time.monotonic() - shared[1] < LIST_SHARED_S:
            return shared[2]
        ids = await self._customer_ids()
        self._shared_ids, self._details_this_cycle = (half, time.monotonic(), ids), set()
        return ids

    async def _my_accounts(self, ids: list[int] | None = None, *, half: str = "companies",
                           refresh_names: bool = False) -> list[int]:
        """The customer accounts to read (the reseller's when one is set), their details cached."""
        ids = await self._cycle_customer_ids(half) if ids is None else ids
        now = self._now()
        if refresh_names or self._accounts_read_at is None or now - self._accounts_read_at >= self._names_refresh:
            # the complete-read cadence: every account again (once, whichever half of the cycle asks first)
            wanted, self._accounts_read_at = [i for i in ids if i not in self._details_this_cycle], now
        else:
            wanted = [account_id for account_id in ids if account_id not in self._accounts]
        self._details_this_cycle.update(wanted)
        details = await self._each(wanted, lambda account_id: _unless_gone(self._account_details(account_id)))
        for account_id, row in zip(wanted, details, strict=True):
            if row is None:  # removed while the read ran
                self._accounts.pop(account_id, None)
                continue
            vendor = row.get("VendorAccountID")
            self._accounts[account_id] = Account(name=text(row, "CompanyName"),
                                                 vendor_account_id=None if vendor in (None, "") else integer(
                                                     row, "VendorAccountID"))
        present = [account_id for account_id in ids if account_id in self._accounts]
        if self.reseller_account_id is None:
            return present
        return [account_id for account_id in present
                if self._accounts[account_id].vendor_account_id in (None, self.reseller_account_id)]

    async def _account_details(self, account_id: int) -> Row:
        return named_row(ACCOUNT_DETAILS, await self.rpc.execute(ACCOUNT_DETAILS, account_id))

    async def _subscription_rows(self, account_id: int) -> list[Row]:
        return named_rows(CUSTOMER_SUBSCRIPTIONS,
                          await self.rpc.execute(CUSTOMER_SUBSCRIPTIONS, account_id, SORT_BY_ID))

    async def _resources(self, subscription_id: int) -> list[MarketResource]:
        rows = named_rows(SUBSCRIPTION_RESOURCES,
                          await self.rpc.execute(SUBSCRIPTION_RESOURCES, subscription_id, SORT_BY_ID))
        return [_resource(row) for row in rows]


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


def _explain(exc: ConnectorError, url: str, method: str) -> str:
    """What a failed connection test means, in words a billing lead can act on."""
    message = exc.vendor_message
    if isinstance(exc, UnreachableError):
        if message.startswith("cannot connect"):
            return (f"Cannot reach BA at {url}: {message}. Check the host and port (the gateway's URL, or BA's "
                    "XML-RPC port 5224) and that it allows calls from this machine's IP address.")
        return f"BA at {url} did not answer in time ({message}); it may be overloaded or a firewall drops the call."
    if isinstance(exc, AuthenticationError):
        return (f"The user id or password for {url} was rejected: {message}. Check the reseller's gateway "
                "credentials (and whether the gateway wants them as HTTP basic auth too).")
    if isinstance(exc, PermissionDeniedError):
        if exc.status == 403:
            return (f"{url} refused this machine (HTTP 403): {message}. BA answers only allowed IP addresses; "
                    "ask the provider to allow this machine.")
        return (f"The gateway does not let this user call {method}, which SeatSync needs to read: {message}. "
                "Ask the provider to allow it for this user.")
    if isinstance(exc, MalformedReplyError):
        return f"Something answered at {url}, but not BA's XML-RPC API: {message}"
    if isinstance(exc, RejectedError) and exc.status == 404:
        return message
    if isinstance(exc, RejectedError | NotFoundError):
        return f"BA answered but refused {method}: {message}"
    return f"BA at {url} is failing right now ({exc.kind}): {message}"
