"""HaloPSA's REST API over the shared HTTP layer: the OAuth2 token, Halo's paging, its array-body POST, its errors.

What the connector relies on (notes = shared/apis/halopsa.md; sources named there):
- Two servers: the Authorisation Server and the Resource Server (`{instance}/api`). The token URL is
  `{auth_url}/token`, where `GET {instance}/api/authinfo` gives `auth_url` [code homotechsual Connect-HaloAPI.ps1];
  when authinfo is missing the fallback is `{instance}/auth/token`. Looked up once per client.
- Token: `POST {token_url}?tenant=<tenant>`, form body `grant_type=client_credentials&client_id&client_secret&scope`
  (scopes space-separated); the reply's `access_token`, `expires_in` (read, never assumed) and `scope` (what was
  granted). The token is cached and fetched again shortly before it expires (REFRESH_MARGIN_S, or a tenth of a
  short lifetime); a 401 on an API call (an expired or revoked token: `WWW-Authenticate: Bearer
  error="invalid_token"`) drops it and repeats the call once with a new one. A 401 means the call was not
  processed, so this holds for the POST too. Concurrent calls share one refresh.
- Token requests are sent as idempotent (a lost reply costs only a second token, never a second write).
- Lists: `GET /api/{Entity}?pageinate=true&page_size=1000&page_no=1..`, reply `{"record_count", "<collection>"}`
  (notes §2, the spelling `pageinate` is Halo's). Paging is by offset, so a record added or deleted while a list
  is read could shift a later page: a record read twice or skipped. A complete read that then marked a skipped
  line as removed would be wrong, so every page must report the same `record_count` and the ids read must be
  exactly that many, distinct; otherwise the whole list is read again (LIST_TRIES times, then a malformed reply
  that leaves the cycle partial). 1,000 is the largest page (homotechsual's default; the simulator cuts larger
  ones silently); the next page is asked for only while fewer than `record_count` records have come, so a
  complete read costs ceil(record_count / 1000) calls per entity, the paging floor.
- A page of 1,000 recurring invoices with their lines is megabytes that Halo computes before sending a byte,
  so list pages are read with at least LIST_READ_TIMEOUT_S of read timeout whatever the client's own (a short
  one serves single records and writes).
- Writes: `POST /api/{Entity}` with a JSON array (notes §2); never retried by the HTTP layer on a timeout or 5xx
  (outcome unknown: the poster reads Halo before writing again).
- Errors: no published shape (notes §2 [unconf]). Read, in order: `message`/`Message`, `error_description`,
  `error`, plus every string in `errors`; a 401's words come from its `WWW-Authenticate` header; a 403 has no
  body, so the connector names the scope the call needed. 429 carries `Retry-After` seconds (the HTTP layer
  waits it out, holding every request of this client meanwhile).
- Limits: Halo publishes none (notes §2 [unconf]). SeatSync keeps to `requests_per_minute` (600 unless the
  connection says otherwise) and MAX_CONCURRENT requests in flight, and paces them (PacedLimiter): a tenth of the
  minute's budget may go at once, the rest is spread evenly. A window limiter alone let a large reconciliation
  spend the minute's budget in its first half and then stop every request, writes included, until the window
  drained: half a minute, longer than a write may take under its claim (the poster abandoned four writes of the
  large sandbox MSP's 918 that way, with their outcome unknown).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
)
from bot.connectors.http import CallStats, RequestLimiter, RetryPolicy, VendorHttp, parse_json, vendor_client
from bot.log_redaction import register_secret

SYSTEM = "halopsa"
PAGE_SIZE = 1000
REQUESTS_PER_MINUTE = 600
MAX_CONCURRENT = 6
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
LIST_READ_TIMEOUT_S = 30.0
REFRESH_MARGIN_S = 60.0
LIST_TRIES = 3
# what SeatSync reads and writes (notes §1, "SeatSync minimum", without the licence scopes it does not use)
NEEDED_SCOPES = ("read:customers", "read:contracts", "read:invoices", "edit:invoices")
DEFAULT_SCOPE = " ".join(NEEDED_SCOPES)
# the scope each call needs: named in a 403, which Halo answers without a body
SCOPE_OF = {("GET", "client"): "read:customers", ("GET", "clientcontract"): "read:contracts",
            ("GET", "recurringinvoice"): "read:invoices", ("POST", "recurringinvoice"): "edit:invoices"}

Clock = Callable[[], float]


class PacedLimiter(RequestLimiter):
    """A RequestLimiter whose requests also start at an even pace: a token bucket of `burst` starts (a tenth of
    the window's budget unless given), refilled so that the bucket and the refill together never exceed
    `per_window` in any window. Cancelling a waiter gives its place back, as in RequestLimiter."""

    def __init__(self, *, max_concurrent: int, per_window: int, window_s: float = 60.0,
                 burst: int | None = None) -> None:
        super().__init__(max_concurrent=max_concurrent, per_window=per_window, window_s=window_s)
        self.burst = max(1, min(per_window, burst if burst is not None else per_window // 10))
        self.rate = max(1, per_window - self.burst) / window_s  # starts per second once the bucket is empty
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._pace = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._pace:
            while True:
                now = time.monotonic()
                self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    break
                await asyncio.sleep((1 - self._tokens) / self.rate)
        await super().acquire()


@dataclass(frozen=True)
class HaloLogin:
    instance_url: str  # https://acme.halopsa.com (its /api and /auth servers)
    tenant: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = DEFAULT_SCOPE


class TokenRefused(AuthenticationError):
    """The Authorisation Server refused a token: `error` is its OAuth2 code (invalid_client, invalid_scope, ...)."""

    def __init__(self, message: str, *, error: str, status: int | None) -> None:
        self.error = error
        super().__init__(SYSTEM, message, status=status)


@dataclass
class Token:
    value: str
    refresh_at: float  # monotonic
    scope: str | None


def halo_error_message(response: httpx.Response) -> str:
    """Halo's own words from an error reply (see the module docstring)."""
    parts: list[str] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for name in ("message", "Message", "error_description", "error"):
            value = body.get(name)
            if isinstance(value, str) and value.strip() and value.strip() not in parts:
                parts.append(value.strip())
        errors = body.get("errors")
        if isinstance(errors, list):
            parts += [str(entry).strip() for entry in errors if str(entry).strip()]
    elif body is not None:
        parts.append(str(body)[:300])
    elif response.text.strip():
        parts.append(" ".join(response.text.split())[:200])
    challenge = response.headers.get("WWW-Authenticate", "")
    if response.status_code == 401 and "error_description=" in challenge:
        parts.append(challenge.split("error_description=", 1)[1].strip().strip('"'))
    elif response.status_code == 401 and challenge:
        parts.append(f"no valid bearer token ({challenge})")
    return "; ".join(parts) or response.reason_phrase


def instance_base(url: str) -> str:
    """The instance URL without a trailing slash, `/api` or `/auth`."""
    base = url.strip().rstrip("/")
    for tail in ("/api", "/auth"):
        if base.lower().endswith(tail):
            base = base[: -len(tail)]
    return base


class HaloApi:
    """One httpx client, token, limiter and counters for one Halo instance and API application."""

    def __init__(self, login: HaloLogin, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                 retry: RetryPolicy = RetryPolicy(), requests_per_minute: int = REQUESTS_PER_MINUTE,
                 max_concurrent: int = MAX_CONCURRENT, clock: Clock = time.monotonic,
                 transport: httpx.AsyncBaseTransport | None = None, page_size: int = PAGE_SIZE) -> None:
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"halopsa: the page size is 1..{PAGE_SIZE}")
        self.login = login
        self.page_size = page_size
        self.base = instance_base(login.instance_url)
        register_secret(login.client_secret)
        self.client = vendor_client(timeout=timeout, transport=transport, headers={"Accept": "application/json"})
        self.http = VendorHttp(
            system=SYSTEM, client=self.client, error_message=halo_error_message,
            limiter=PacedLimiter(max_concurrent=max_concurrent, per_window=requests_per_minute, window_s=60.0),
            retry=retry,
        )
        base = httpx.Timeout(timeout)
        self._list_timeout = base if (base.read or 0) >= LIST_READ_TIMEOUT_S else httpx.Timeout(
            connect=base.connect, read=LIST_READ_TIMEOUT_S, write=base.write, pool=base.pool)
        self._clock = clock
        self._token: Token | None = None
        self._token_lock = asyncio.Lock()
        self._token_url: str | None = None
        self.tokens_fetched = 0

    @property
    def stats(self) -> CallStats:
        return self.http.stats

    @property
    def granted_scope(self) -> str | None:
        return self._token.scope if self._token else None

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- the token -----------------------------------------------------------------------------
    async def token_url(self) -> str:
        """`{auth_url}/token` from authinfo, else `{instance}/auth/token`."""
        if self._token_url is None:
            auth_url = f"{self.base}/auth"
            try:
                response = await self.http.request("GET", f"{self.base}/api/authinfo", operation="authinfo",
                                                   idempotent=True)
                body = parse_json(SYSTEM, response)
                found = body.get("auth_url") if isinstance(body, dict) else None
                if isinstance(found, str) and found.startswith(("https://", "http://")):
                    auth_url = found.rstrip("/")
            except (NotFoundError, MalformedReplyError):
                pass  # an instance without authinfo: the fallback
            self._token_url = f"{auth_url}/token"
        return self._token_url

    async def fetch_token(self, scope: str | None = None) -> Token:
        """A new token for `scope` (the login's when None); TokenRefused says why not."""
        login = self.login
        form = {"grant_type": "client_credentials", "client_id": login.client_id,
                "client_secret": login.client_secret, "scope": login.scope if scope is None else scope}
        url = await self.token_url()
        try:
            response = await self.http.request("POST", url, operation="token", idempotent=True,
                                               params={"tenant": login.tenant} if login.tenant else None, data=form)
        except ConnectorError as exc:
            if exc.status in (400, 401):
                raise TokenRefused(exc.vendor_message, error=_oauth_error(exc.vendor_message),
                                   status=exc.status) from None
            raise
        body = parse_json(SYSTEM, response)
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise MalformedReplyError(SYSTEM, f"the token reply has no access_token: {sorted(body or {})!r}",
                                      status=response.status_code)
        register_secret(value)
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) \
            and math.isfinite(lifetime) and lifetime > 0 else 3600.0
        margin = min(REFRESH_MARGIN_S, lifetime / 10)
        self.tokens_fetched += 1
        scope_granted = body.get("scope")
        return Token(value=value, refresh_at=self._clock() + lifetime - margin,
                      scope=scope_granted if isinstance(scope_granted, str) else None)

    async def token(self) -> Token:
        """The cached token, or a new one when it is due (TokenRefused says why Halo will not issue one)."""
        return await self._bearer()

    async def _bearer(self, stale: Token | None = None) -> Token:
        async with self._token_lock:
            token = self._token
            if token is None or token is stale or self._clock() >= token.refresh_at:
                self._token = token = await self.fetch_token()
            return token

    # --- calls ---------------------------------------------------------------------------------
    async def call(self, method: str, entity: str, path: str = "", *, operation: str, idempotent: bool,
                   params: dict[str, Any] | None = None, json: Any = None, listing: bool = False) -> httpx.Response:
        """One API call to `/api/{entity}{path}`; a 401 gets a new token and the call once more."""
        url = f"{self.base}/api/{entity}{path}"
        extra: dict[str, Any] = {"timeout": self._list_timeout} if listing else {}
        token = await self._bearer()
        for renewed in (False, True):
            try:
                return await self.http.request(method, url, operation=operation, idempotent=idempotent,
                                               params=params, json=json,
                                               headers={"Authorization": f"Bearer {token.value}"}, **extra)
            except AuthenticationError:
                if renewed:
                    raise
                token = await self._bearer(stale=token)  # refused unprocessed: safe to send again, writes too
            except PermissionDeniedError as exc:
                scope = SCOPE_OF.get((method, entity.lower()))
                needed = f" (the call needs the scope {scope})" if scope else ""
                raise PermissionDeniedError(SYSTEM, f"Halo refused {method} /api/{entity}{needed}: the API "
                                                    "application or its agent lacks the permission"
                                                    + (f"; {exc.vendor_message}" if exc.vendor_message != "Forbidden"
                                                       else ""), status=exc.status) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_record(self, entity: str, record_id: int, *, operation: str) -> dict[str, Any]:
        response = await self.call("GET", entity, f"/{record_id}", operation=operation, idempotent=True)
        body = parse_json(SYSTEM, response)
        if not isinstance(body, dict):
            raise MalformedReplyError(SYSTEM, f"{entity}/{record_id} answered {str(body)[:120]!r}, not a record")
        return body

    async def post(self, entity: str, records: list[dict[str, Any]], *, operation: str) -> Any:
        """Halo's array-body create/update; the reply's JSON. Never retried on an unknown outcome."""
        response = await self.call("POST", entity, operation=operation, idempotent=False, json=records)
        try:
            return response.json()
        except ValueError:
            # Halo accepted the write (2xx) but its reply cannot be read: the poster must look.
            raise MalformedReplyError(SYSTEM, f"the reply to a write was not JSON: {response.text[:200]!r}",
                                      status=response.status_code, outcome_unknown=True) from None

    async def list_all(self, entity: str, collection: str, *, operation: str,
                       params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every record of a list, in pages of PAGE_SIZE, checked whole (see the module docstring)."""
        problem = ""
        for _ in range(LIST_TRIES):
            rows, problem = await self._pages(entity, collection, operation=operation, params=params or {})
            if not problem:
                return rows
        raise MalformedReplyError(SYSTEM, f"{entity} could not be read whole in {LIST_TRIES} tries: {problem}")

    async def _pages(self, entity: str, collection: str, *, operation: str,
                     params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        rows: list[dict[str, Any]] = []
        expected: int | None = None
        page_no = 1
        while True:
            query = {**params, "pageinate": "true", "page_size": self.page_size, "page_no": page_no}
            response = await self.call("GET", entity, operation=operation, idempotent=True, params=query,
                                       listing=True)
            count, page = _page(parse_json(SYSTEM, response), entity, collection)
            if expected is None:
                expected = count
            elif count != expected:
                return rows, f"record_count moved from {expected} to {count} while paging"
            rows.extend(page)
            if len(rows) >= expected or not page:
                break
            page_no += 1
        ids = {row["id"] for row in rows}
        if len(ids) != len(rows) or len(rows) != expected:
            return rows, f"{len(rows)} records ({len(ids)} distinct) read where record_count said {expected}"
        return rows, ""


def _page(body: Any, entity: str, collection: str) -> tuple[int, list[dict[str, Any]]]:
    if not isinstance(body, dict) or not isinstance(body.get(collection), list):
        raise MalformedReplyError(SYSTEM, f"{entity} answered {str(body)[:160]!r}, not a page of {collection}")
    count, rows = body.get("record_count"), body[collection]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise MalformedReplyError(SYSTEM, f"{entity} answered without a record_count: {str(body)[:160]!r}")
    if not all(isinstance(row, dict) and isinstance(row.get("id"), int) and not isinstance(row["id"], bool)
               for row in rows):
        raise MalformedReplyError(SYSTEM, f"{entity} answered {collection} that are not records with ids")
    return count, rows


def _oauth_error(message: str) -> str:
    """The OAuth2 error code at the start of a token refusal's words ("invalid_client", ...)."""
    for code in ("invalid_client", "invalid_scope", "invalid_request", "unsupported_grant_type",
                 "unauthorized_client", "invalid_grant"):
        if code in message:
            return code
    return ""
