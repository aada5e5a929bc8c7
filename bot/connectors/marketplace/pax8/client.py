"""Pax8's partner API (`https://api.pax8.com/v1`) as a `Marketplace`.

Connection: `base_url` is the API root (`https://api.pax8.com/v1`); `options` hold `client_id`, `audience`
(default `https://api.pax8.com`, the partner endpoints), `token_url` (default `{base_url}/token`) and
`grant` (default `client_credentials`: the partner's own API credential; `authorization_code`: a hosted install the
partner consented to, see `auth`); `secrets` hold `client_secret`, `refresh_token` (the consent's, with the
`authorization_code` grant) and `webhook_secret` (the Authorization value Pax8 echoes on webhooks, checked by
`notifications`).

What a read costs (C companies, S subscriptions): `GET /companies` ceil(C/200) calls and
`GET /subscriptions` ceil(S/200) calls (`size=200`, the spec's maximum; page 0 tells the page count, the
rest are fetched side by side), plus one `POST /token` a day. A list row carries everything SeatSync needs
(quantity, product, prices, term, dates), so no call per subscription is made. An empty list still costs
its one call.

Incremental reads: none of Pax8's lists filters by modification (subscriptions sort by quantity, startDate,
endDate, createdDate, billingStart or price only; companies by name or address), so every read is a
complete one at the same ceil(n/200) calls; `modified_since` is accepted and ignored (the interface allows
it) and the vendor entry says `incremental_reads=False`.

Limits: Pax8 publishes none for the partner API; third parties state 1,000 calls a minute per application.
The client keeps to 8 in flight and 900 a minute (a connection's `requests_per_minute` option may set
another); a 429 without Retry-After (Pax8 documents none) backs off exponentially, with one it waits it
out. Every call is a read, so 5xx, 429 and timeouts are retried until the cycle's read deadline
(bot.connectors.http).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
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
from bot.connectors.marketplace.pax8.auth import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    GRANTS,
    PARTNER_AUDIENCE,
    VENDOR_AUDIENCES,
    ClientCredentialsGrant,
    ClientRejectedError,
    ConsentRefusedError,
    DelegatedGrant,
    TokenCache,
    TokenRefusedError,
)
from bot.connectors.marketplace.pax8.records import SYSTEM, Json, company, error_message, page, subscription, token_info
from bot.domain.records import ConnectionCheck, MarketCompany, MarketSubscription
from bot.log_redaction import register_secret

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
PAGE_SIZE = 200  # the spec's maximum `size`
MAX_IN_FLIGHT = 8
QUOTA_CALLS, QUOTA_WINDOW_S = 900, 60.0  # under the 1,000 a minute third parties report
CLIENT_ID_LENGTH = 32  # Pax8's API client ids are Auth0 client ids: 32 letters and digits


class Pax8Client:
    system = SYSTEM

    def __init__(self, *, http: VendorHttp, grant: ClientCredentialsGrant | DelegatedGrant, token_url: str,
                 page_size: int = PAGE_SIZE, clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.stats: CallStats = http.stats
        self.grant = grant
        self.token_url = token_url
        self.page_size = page_size
        self.tokens = TokenCache(self._login, clock)

    @classmethod
    def from_connection(cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                        retry: RetryPolicy = RetryPolicy(), page_size: int = PAGE_SIZE,
                        max_in_flight: int = MAX_IN_FLIGHT, quota_calls: int | None = None,
                        quota_window_s: float = QUOTA_WINDOW_S, clock: Callable[[], float] = time.monotonic,
                        transport: httpx.AsyncBaseTransport | None = None) -> Pax8Client:
        options, secrets = connection.options, connection.secrets
        grant_type = str(options.get("grant") or CLIENT_CREDENTIALS)
        if grant_type not in GRANTS:
            raise ValueError(f"pax8 connection: the {grant_type!r} grant is not supported "
                             f"(supported: {', '.join(GRANTS)})")
        delegated = grant_type == AUTHORIZATION_CODE
        missing = [f"options.{n}" for n in ("client_id",) if not options.get(n)]
        missing += [f"secrets.{n}" for n in ("client_secret", *(("refresh_token",) if delegated else ()))
                    if not secrets.get(n)]
        if missing:
            raise ValueError(f"pax8 connection is missing {', '.join(missing)}")
        for value in secrets.values():
            register_secret(value)
        base_url = connection.base_url.rstrip("/")
        client = vendor_client(base_url=base_url, timeout=timeout, transport=transport,
                               headers={"Accept": "application/json", "User-Agent": "SeatSync"})
        per_window = quota_calls or int(options.get("requests_per_minute") or QUOTA_CALLS)
        http = VendorHttp(system=SYSTEM, client=client, error_message=error_message, retry=retry,
                          limiter=RequestLimiter(max_concurrent=max_in_flight, per_window=per_window,
                                                 window_s=quota_window_s))
        client_id = str(options["client_id"]).strip()
        audience = str(options.get("audience") or PARTNER_AUDIENCE).strip()
        grant: ClientCredentialsGrant | DelegatedGrant = (
            DelegatedGrant(client_id=client_id, client_secret=secrets["client_secret"],
                           refresh_token=secrets["refresh_token"], audience=audience) if delegated
            else ClientCredentialsGrant(client_id=client_id, client_secret=secrets["client_secret"], audience=audience))
        token_url = str(options.get("token_url") or f"{base_url}/token")
        return cls(http=http, grant=grant, token_url=token_url, page_size=page_size, clock=clock)

    # --- Marketplace ---------------------------------------------------------------------------
    async def list_companies(self, *, modified_since: datetime | None = None) -> list[MarketCompany]:
        """Every company (Pax8 cannot filter by modification)."""
        return [company(item) for item in await self._every("/companies", "companies")]

    async def list_subscriptions(self, *, modified_since: datetime | None = None) -> list[MarketSubscription]:
        """Every subscription, of every status (a cancelled one levels its PSA service to zero);
        `modified_since` is ignored: Pax8 cannot filter by it (see the module docstring)."""
        rows = await self._every("/subscriptions", "subscriptions", {"sort": "createdDate,asc"})
        return [subscription(row) for row in rows]

    async def get_subscription(self, external_id: str) -> MarketSubscription:
        body = await self._get(f"/subscriptions/{quote(str(external_id), safe='')}", None, "subscription")
        if not isinstance(body, dict) or "id" not in body:
            raise MalformedReplyError(SYSTEM, f"subscription {external_id}: expected a Subscription, "
                                              f"got {type(body).__name__}")
        return subscription(body)

    async def test_connection(self) -> ConnectionCheck:
        url = str(self.http.client.base_url).rstrip("/")
        facts = {"url": url, "audience": self.grant.audience, "client_id": self.grant.client_id}
        if self.grant.audience != PARTNER_AUDIENCE:
            return ConnectionCheck(ok=False, system=SYSTEM, facts=facts, detail=self._wrong_audience())
        try:
            self.tokens.reset()
            await self.tokens.get()
            _, _, companies = page(await self._get("/companies", {"page": 0, "size": 1}, "companies"), "companies")
            _, _, subscriptions = page(await self._get("/subscriptions", {"page": 0, "size": 1}, "subscriptions"),
                                       "subscriptions")
        except ConnectorError as exc:
            return ConnectionCheck(ok=False, system=SYSTEM, detail=self._explain(exc, url), facts=facts)
        facts.update(companies=str(companies), subscriptions=str(subscriptions))
        return ConnectionCheck(ok=True, system=SYSTEM, facts=facts,
                               detail=(f"Signed in to Pax8 at {url} as API client {self.grant.client_id}; "
                                       f"{companies} companies and {subscriptions} subscriptions readable."))

    async def aclose(self) -> None:
        await self.http.client.aclose()

    # --- calls -----------------------------------------------------------------------------------
    async def _login(self) -> tuple[str, float | None]:
        try:
            response = await self.http.request("POST", self.token_url, operation="token", idempotent=True,
                                               json=self.grant.body())
        except AuthenticationError as exc:
            raise ClientRejectedError(SYSTEM, exc.vendor_message, status=exc.status) from None
        except PermissionDeniedError as exc:
            if isinstance(self.grant, DelegatedGrant):  # invalid_grant: the consent is gone
                raise ConsentRefusedError(SYSTEM, exc.vendor_message, status=exc.status) from None
            raise
        except NotFoundError as exc:
            raise RejectedError(SYSTEM, f"no token endpoint at {self.token_url} ({exc.vendor_message})",
                                status=exc.status) from None
        body = parse_json(SYSTEM, response)
        if isinstance(self.grant, DelegatedGrant) and isinstance(body, dict):
            self.grant.replied(body)
        return token_info(body)

    async def _get(self, path: str, params: dict[str, Any] | None, operation: str) -> Any:
        """GET with the bearer token; a refused token is replaced once (it may have been revoked)."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            try:
                response = await self.http.request("GET", path, operation=operation, idempotent=True,
                                                   params=params, headers={"Authorization": f"Bearer {token}"})
            except AuthenticationError as exc:
                if attempt == 2:
                    raise TokenRefusedError(SYSTEM, exc.vendor_message, status=exc.status) from None
                log.info("pax8: token refused (%s); signing in again", exc.vendor_message)
                self.tokens.discard(token)
                continue
            return parse_json(SYSTEM, response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _every(self, path: str, what: str, extra: dict[str, Any] | None = None) -> list[Json]:
        """Every item of a list: page 0 says how many pages there are, the others are read side by side;
        ceil(n/size) calls. De-duplicated by id; if the list grew while it was read (its total moved), the
        missing tail is read too."""
        params = {**(extra or {}), "size": self.page_size}
        rows, pages, total = page(await self._get(path, {**params, "page": 0}, what), what)
        items: dict[str, Json] = {str(row["id"]): row for row in rows}

        async def one(number: int) -> tuple[list[Json], int, int]:
            return page(await self._get(path, {**params, "page": number}, what), what)

        read = 1
        while read < pages:
            results = await fan_out(range(read, pages), one, workers=self.http.limiter.max_concurrent)
            read = pages
            for page_rows, page_count, page_total in results:
                for row in page_rows:
                    items[str(row["id"])] = row
                pages, total = max(pages, page_count), max(total, page_total)
        if len(items) < total:
            log.info("pax8: %s changed while it was read (%s of %s items); read the rest on the next cycle",
                     path, len(items), total)
        return list(items.values())

    # --- diagnosis -------------------------------------------------------------------------------
    def _wrong_audience(self) -> str:
        audience = self.grant.audience
        if audience in VENDOR_AUDIENCES:
            return (f"The audience '{audience}' opens Pax8's vendor surfaces, not the partner API SeatSync reads. "
                    f"Set the audience to {PARTNER_AUDIENCE}.")
        return f"The audience '{audience}' is not Pax8's partner API. Set it to {PARTNER_AUDIENCE}."

    def _explain(self, exc: ConnectorError, url: str) -> str:
        """What a failed connection test means, naming the credential to fix."""
        message = exc.vendor_message.rstrip(".")
        client_id = self.grant.client_id
        if isinstance(exc, ConsentRefusedError):
            return (f"Pax8 refused the partner's consent for app {client_id} ({message}): it was revoked in Pax8, or "
                    "given to another app. Connect Pax8 again to consent anew.")
        if isinstance(exc, ClientRejectedError):
            if len(client_id) != CLIENT_ID_LENGTH or not client_id.isalnum():
                return (f"Pax8 rejected the client ID '{client_id}' ({message}): a Pax8 API client ID is "
                        f"{CLIENT_ID_LENGTH} letters and digits. Copy it again from the Pax8 app: Settings > "
                        "Integrations > Credentials.")
            return (f"Pax8 rejected the client secret for client ID '{client_id}' ({message}). Pax8 answers the "
                    "same for an unknown ID, so check that the ID matches Settings > Integrations > Credentials in "
                    "the Pax8 app; if it does, the secret is wrong: Pax8 shows it only once, so create a new "
                    "credential and paste both.")
        if isinstance(exc, TokenRefusedError):
            return (f"Pax8 issued a token at {self.token_url} but the partner API at {url} refuses it ({message}). "
                    "The token URL and the API URL must belong to the same Pax8 environment.")
        if isinstance(exc, AuthenticationError):
            return f"Pax8 refused the credentials: {message}"
        if isinstance(exc, PermissionDeniedError):
            return f"This API credential may not read companies or subscriptions: {message}"
        if isinstance(exc, RejectedError) and exc.status == 404:
            return (f"Nothing answers as Pax8's partner API at {url}: {message}. The URL should be the API root, "
                    "e.g. https://api.pax8.com/v1.")
        if isinstance(exc, UnreachableError):
            return f"Cannot reach {url}: {message}. Check the URL and this machine's internet access."
        if isinstance(exc, MalformedReplyError):
            return f"Something answered at {url}, but not Pax8's partner API: {message}"
        return f"Pax8's partner API at {url} is failing right now ({exc.kind}): {message}"
