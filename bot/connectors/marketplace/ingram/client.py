"""Ingram Micro Cloud Marketplace ("CMP", REST, spec 1.6) as a `Marketplace`.

Connection: `base_url` is the regional API root (`https://api.cloud.im/marketplace/us`); `options`
hold `username` (the staff user assigned to the Marketplace API app) and `marketplace` (the
marketplace code, e.g. `us`); `secrets` hold `subscription_key` (the API gateway key) and `password`.
`X-Subscription-Key` goes on every call; the bearer token comes from `auth.TokenCache`.

What a read costs (C customers, S subscriptions, page size P): companies ceil(C/P) calls;
subscriptions ceil(S/P) list calls plus one `GET /subscriptions/{id}` per subscription, because
only the details carry the products (mpn, quantity, prices). Lists page with limit/offset to the
reported total. The spec sets no maximum `limit` and the sandbox enforces none; public clients page
by 100 (Onify blueprint). So pages ask for 1000 rows, the offset advances by the rows actually
received (a server that caps pages silently loses nothing), and if the API refuses the first large
page with a 400 the client falls back to 100 for good.

`modified_since`: CMP cannot filter by modification date. The subscription list is cheap and
carries `lastModifiedDate` (a day, no time), so the whole list is read and details are fetched only
for subscriptions modified on or after the day of `modified_since` (in UTC): a change made earlier
the same day is read again, which costs a little and misses nothing. Subscriptions with no
`lastModifiedDate` are always fetched. A subscription whose details answer 404 (removed while the
read ran) is left out of the read rather than failing it.

No public source says a seat change moves `lastModifiedDate` (the simulator has a knob for either case,
`world.seat_change_bumps_last_modified`). So an incremental read also re-reads, on a cadence of its own,
one slice of every subscription: the subscriptions whose id falls in this read's turn (a stable CRC32 of
the id, modulo `RECHECK_READS`). Each subscription is therefore read in full at least once every
`RECHECK_READS` incremental reads, whether or not its date moved: a seat change that leaves the date
alone is seen within RECHECK_READS poll intervals (6 x the default 5 minutes = 30 minutes), or at the
engine's complete read if that comes first. Cost: about S / RECHECK_READS extra detail calls per
incremental read (measured in bench/README.md); a connection's `recheck_reads` option trades that cost
against the delay.

Calls of a no-change incremental read: the subscription list's pages (ceil(S/P)) and the recheck slice, nothing
else. Customers are listed on a complete read (`list_companies()` without `modified_since`); an incremental read
(asked after the subscriptions) fetches only the customers its subscriptions name that this client has not seen,
one `GET /customers/{id}` each (a new customer's first subscription), and lists them all when it has seen none
(a fresh process).

A subscription modified today is fetched at every incremental read until midnight. Fetching it once per date
change instead was tried: `lastModifiedDate` is a day, so a second change the same day leaves it alone and would
wait for the recheck slice (up to RECHECK_READS reads; tests/sync/test_bad_rows.py's second change of the day
went unplanned at the next cycle), and a poll that sees no change could not tell a quiet MSP from an unseen
change (the kill harness settles on the first such poll). What would give
"once per change": `GET /orders?creationTimeFrom=` (spec 1.6; a time, not a day) lists the orders placed since
the last read, and seat changes are orders; the simulator does not serve /orders yet.

Limits: the gateway enforces a per-key call rate whose size Ingram does not publish (a public
dashboard on the real API saw bursts of 60 pass and long runs at 20 in flight throttled). The
client keeps to 8 in flight and 900 calls per minute by default, under the sandbox's 1000 (a
connection's `requests_per_minute` option may set another); details are fetched by 8 workers
(`fan_out`), and a 429 waits for its Retry-After. Every call is a read, so 5xx, 429 and timeouts are
retried (until the cycle's read deadline, see `bot.connectors.http`).
"""

from __future__ import annotations

import base64
import logging
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

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
from bot.connectors.http import CallStats, RequestLimiter, RetryPolicy, VendorHttp, parse_json, vendor_client
from bot.connectors.marketplace.ingram.auth import (
    GATEWAY_PREFIX,
    MarketplaceRejectedError,
    SubscriptionKeyRejectedError,
    TokenCache,
    from_gateway,
    login_error,
)
from bot.connectors.marketplace.ingram.records import (
    SYSTEM,
    Json,
    company,
    error_message,
    iso_day,
    page,
    subscription,
    token_info,
)
from bot.domain.records import ConnectionCheck, MarketCompany, MarketSubscription
from bot.log_redaction import register_secret

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
PAGE_SIZE = 1000
FALLBACK_PAGE_SIZE = 100
MAX_IN_FLIGHT = 8
QUOTA_CALLS, QUOTA_WINDOW_S = 900, 60.0  # kept under the gateway's per-key call rate
RECHECK_READS = 6  # every subscription is read in full at least once in this many incremental reads


class IngramClient:
    system = SYSTEM

    def __init__(self, *, http: VendorHttp, username: str, password: str, marketplace: str,
                 page_size: int = PAGE_SIZE, clock: Callable[[], float] = time.monotonic,
                 recheck_reads: int = RECHECK_READS) -> None:
        if recheck_reads < 1:
            raise ValueError("ingram: recheck_reads must be at least 1")
        self.recheck_reads = recheck_reads
        self._recheck_turn = 0
        self.http = http
        self.stats: CallStats = http.stats
        self.marketplace = marketplace
        self.page_size = page_size
        self._basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.tokens = TokenCache(self._login, clock)
        self._customers: dict[str, MarketCompany] = {}  # every customer this client has read, by id
        self._named_customers: set[str] = set()  # the customer ids the last subscription read named
        self._absent: set[str] = set()  # named by a subscription, but answered 404: not asked again until listed

    @classmethod
    def from_connection(cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                        retry: RetryPolicy = RetryPolicy(), page_size: int = PAGE_SIZE,
                        max_in_flight: int = MAX_IN_FLIGHT, quota_calls: int | None = None,
                        quota_window_s: float = QUOTA_WINDOW_S,
                        clock: Callable[[], float] = time.monotonic,
                        transport: httpx.AsyncBaseTransport | None = None,
                        recheck_reads: int = RECHECK_READS) -> IngramClient:
        options, secrets = connection.options, connection.secrets
        missing = [f"options.{n}" for n in ("username", "marketplace") if not options.get(n)]
        missing += [f"secrets.{n}" for n in ("subscription_key", "password") if not secrets.get(n)]
        if missing:
            raise ValueError(f"ingram connection is missing {', '.join(missing)}")
        for value in secrets.values():
            register_secret(value)
        client = vendor_client(
            base_url=connection.base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"X-Subscription-Key": secrets["subscription_key"], "Accept": "application/json",
                     "User-Agent": "SeatSync"},
        )
        # the connection may carry its own budget (a key Ingram allows more, or the sandbox's whole quota)
        per_window = quota_calls or int(options.get("requests_per_minute") or QUOTA_CALLS)
        http = VendorHttp(system=SYSTEM, client=client, error_message=error_message, retry=retry,
                          limiter=RequestLimiter(max_concurrent=max_in_flight, per_window=per_window,
                                                 window_s=quota_window_s))
        return cls(http=http, username=options["username"], password=secrets["password"],
                   marketplace=options["marketplace"], page_size=page_size, clock=clock,
                   recheck_reads=int(options.get("recheck_reads") or recheck_reads))

    # --- Marketplace ---------------------------------------------------------------------------
    async def list_companies(self, *, modified_since: datetime | None = None) -> list[MarketCompany]:
        """Every customer; for an incremental read, only those the last subscriptions named that this client has
        not read before (see the module docstring)."""
        if modified_since is None or not self._customers:
            self._customers = {c.external_id: c for c in
                               (company(item) for item in await self._every("/customers", "customers"))}
            self._absent = set()
            return list(self._customers.values())
        new = sorted(self._named_customers - self._customers.keys() - self._absent)
        found = await fan_out(new, self._customer_unless_gone, workers=self.http.limiter.max_concurrent)
        self._absent.update(customer for customer, item in zip(new, found, strict=True) if item is None)
        fresh = [company(item) for item in found if item is not None]
        self._customers.update((c.external_id, c) for c in fresh)
        return fresh

    async def list_subscriptions(self, *, modified_since: datetime | None = None) -> list[MarketSubscription]:
        """Every subscription with its products, or only those modified on or after the day of
        `modified_since`, plus the recheck slice (see the module docstring)."""
        heads = await self._every("/subscriptions", "subscriptions")
        self._named_customers = {str(h["customerId"]) for h in heads if h.get("customerId") is not None}
        if modified_since is not None:
            since = (modified_since if modified_since.tzinfo else modified_since.replace(tzinfo=UTC))
            day = since.astimezone(UTC).date()
            turn, self._recheck_turn = self._recheck_turn, (self._recheck_turn + 1) % self.recheck_reads
            heads = [h for h in heads
                     if (iso_day(h, "lastModifiedDate") or day) >= day or self._recheck_slice(h) == turn]
        details = await fan_out(heads, lambda head: self._details_unless_gone(head["id"]),
                                workers=self.http.limiter.max_concurrent)
        # a subscription removed while the read ran is left out, not an error
        return [subscription(head, detail) for head, detail in zip(heads, details, strict=True) if detail is not None]

    async def _customer_unless_gone(self, customer_id: str) -> Json | None:
        try:
            item = await self._get(f"/customers/{quote(customer_id, safe='')}", None, "customer")
        except NotFoundError:
            return None
        if not isinstance(item, dict) or "id" not in item:
            raise MalformedReplyError(SYSTEM, f"customer {customer_id}: expected a Customer, got {type(item).__name__}")
        return item

    def _recheck_slice(self, head: Json) -> int:
        """Which incremental read re-reads this subscription whatever its date (stable across processes)."""
        return zlib.crc32(str(head["id"]).encode()) % self.recheck_reads

    async def get_subscription(self, external_id: str) -> MarketSubscription:
        detail = await self._details(external_id)
        return subscription({}, detail)

    async def test_connection(self) -> ConnectionCheck:
        url = str(self.http.client.base_url).rstrip("/")
        facts = {"url": url, "marketplace": self.marketplace}
        try:
            self.tokens.reset()
            await self.tokens.get()
            _, customers = page(await self._get("/customers", {"offset": 0, "limit": 1}, "customers"), "customers")
            _, subscriptions = page(await self._get("/subscriptions", {"offset": 0, "limit": 1}, "subscriptions"),
                                    "subscriptions")
        except ConnectorError as exc:
            return ConnectionCheck(ok=False, system=SYSTEM, detail=self._explain(exc, url), facts=facts)
        facts.update(customers=str(customers), subscriptions=str(subscriptions))
        return ConnectionCheck(ok=True, system=SYSTEM, facts=facts,
                               detail=(f"Logged in to marketplace '{self.marketplace}' at {url}; "
                                       f"{customers} customers and {subscriptions} subscriptions readable."))

    async def aclose(self) -> None:
        await self.http.client.aclose()

    # --- calls -----------------------------------------------------------------------------------
    async def _login(self) -> tuple[str, float | None]:
        try:
            response = await self._send("POST", "/token", "token", json={"marketplace": self.marketplace},
                                        headers={"Authorization": self._basic})
        except AuthenticationError as exc:
            raise login_error(exc) from None
        except RejectedError as exc:
            if exc.status == 400 and "marketplace" in exc.vendor_message.lower():
                raise MarketplaceRejectedError(SYSTEM, exc.vendor_message, status=exc.status) from None
            raise
        return token_info(parse_json(SYSTEM, response))

    async def _get(self, path: str, params: dict[str, Any] | None, operation: str) -> Any:
        """GET with the bearer token; a refused token (not a refused key) is replaced once."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            try:
                response = await self._send("GET", path, operation, params=params,
                                            headers={"Authorization": f"Bearer {token}"})
            except AuthenticationError as exc:
                if from_gateway(exc):
                    raise SubscriptionKeyRejectedError(SYSTEM, exc.vendor_message, status=exc.status) from None
                if attempt == 2:
                    raise
                log.info("ingram: token refused (%s); logging in again", exc.vendor_message)
                self.tokens.discard(token)
                continue
            return parse_json(SYSTEM, response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str, operation: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, path, operation=operation, idempotent=True, **kwargs)
        except NotFoundError as exc:
            if exc.vendor_message.startswith(GATEWAY_PREFIX):  # no such route: the base URL is wrong
                base = str(self.http.client.base_url).rstrip("/")
                raise RejectedError(SYSTEM, f"no Marketplace API operation at {base}{path} "
                                            f"({exc.vendor_message})", status=exc.status) from None
            raise

    async def _details_unless_gone(self, subscription_id: Any) -> Json | None:
        try:
            return await self._details(subscription_id)
        except NotFoundError:
            return None

    async def _details(self, subscription_id: Any) -> Json:
        detail = await self._get(f"/subscriptions/{quote(str(subscription_id), safe='')}", None, "subscription")
        if not isinstance(detail, dict) or "id" not in detail:
            raise MalformedReplyError(SYSTEM, f"subscription {subscription_id}: expected SubscriptionDetailed, "
                                              f"got {type(detail).__name__}")
        return detail

    async def _every(self, path: str, what: str) -> list[Json]:
        """All items of a list, paged with limit/offset to the reported total; de-duplicated by id
        (a row inserted while paging shifts the next page)."""
        items: dict[str, Json] = {}
        offset = 0
        while True:
            try:
                body = await self._get(path, {"offset": offset, "limit": self.page_size}, what)
            except RejectedError as exc:
                if offset == 0 and exc.status == 400 and self.page_size > FALLBACK_PAGE_SIZE:
                    log.warning("ingram: %s refused limit=%s (%s); paging by %s", path, self.page_size,
                                exc.vendor_message, FALLBACK_PAGE_SIZE)
                    self.page_size = FALLBACK_PAGE_SIZE
                    continue
                raise
            rows, total = page(body, what)
            for row in rows:
                items[str(row["id"])] = row
            offset += len(rows)
            if not rows or offset >= total:
                return list(items.values())

    def _explain(self, exc: ConnectorError, url: str) -> str:
        """What a failed connection test means, in words a billing lead can act on."""
        message = exc.vendor_message.removeprefix(GATEWAY_PREFIX).rstrip(".")
        if isinstance(exc, SubscriptionKeyRejectedError):
            return (f"Ingram's API gateway rejected the subscription key: {message}. Copy the key of the "
                    "Marketplace API subscription again from the Ingram Micro Cloud Marketplace.")
        if isinstance(exc, MarketplaceRejectedError):
            return (f"The marketplace code '{self.marketplace}' was rejected for this API user: {message}. "
                    "Use the code of the marketplace the account lives in (e.g. us, eu, uk).")
        if isinstance(exc, AuthenticationError):
            return (f"The API user name or password was rejected: {message}. Check the staff user assigned to "
                    "the Marketplace API app (it must be activated) and its password.")
        if isinstance(exc, PermissionDeniedError):
            return f"The API user is not allowed to read customers or subscriptions: {message}"
        if isinstance(exc, RejectedError) and exc.status == 404:
            return (f"Nothing answers as the Marketplace API at {url}: {message}. The URL should be the "
                    "regional API root, e.g. https://api.cloud.im/marketplace/us.")
        if isinstance(exc, UnreachableError):
            return f"Cannot reach {url}: {message}. Check the URL and this machine's internet access."
        if isinstance(exc, MalformedReplyError):
            return f"Something answered at {url}, but not the Marketplace API: {message}"
        return f"The Marketplace API at {url} is failing right now ({exc.kind}): {message}"
