"""One Autotask API user's session: zone discovery, auth headers, per-endpoint limits, query paging.

- The REST base of the tenant's zone comes from GET {base}/v1.0/zoneInformation?user=..., which needs
  no auth headers and is exempt from the limits [doc: GetZoneInfoCall][client: django-autotask]. It is
  fetched on first use and cached. A 401 anywhere may mean the tenant moved zone: we re-read the zone
  once and repeat the call there if it moved, as django-autotask does; a query whose paging cursor
  belongs to the old zone starts again from its first page at the new one.
- Every other call carries ApiIntegrationCode, UserName and Secret [spec: every path declares them].
- Queries are POST /V1.0/{Entity}/query with a QueryModel; further pages are fetched by calling
  pageDetails.nextPageUrl verbatim with the same method and body [client: django-autotask]. We only
  follow a nextPageUrl on the zone's own origin, so the secret never travels anywhere else.
- Each endpoint (entity) has its own limiter of THREAD_LIMIT concurrent requests; all share the hourly one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.connectors.errors import AuthenticationError, MalformedReplyError, RejectedError
from bot.connectors.http import CallStats, RequestLimiter, RetryPolicy, parse_json
from bot.connectors.psa.autotask.http import (
    HOURLY_THRESHOLD,
    SYSTEM,
    THREAD_LIMIT,
    AutotaskHttp,
    EndpointLimiter,
    autotask_error_message,
    tenant_hour_limiter,
)

ZONE_ENDPOINT = "zoneInformation"


@dataclass(frozen=True)
class Zone:
    url: str  # the zone's REST base, ".../ATServicesRest", no trailing slash
    name: str
    web_url: str


class UnknownApiUser(AuthenticationError):
    """zoneInformation does not know the user name (Autotask answers HTTP 500)."""


class _ZoneMoved(Exception):
    """A paging cursor of the old zone got a 401 after the tenant moved: start the query again."""


class AutotaskSession:
    def __init__(self, *, base_url: str, username: str, integration_code: str, secret: str,
                 client: httpx.AsyncClient, retry: RetryPolicy, stats: CallStats,
                 requests_per_hour: int = HOURLY_THRESHOLD, thread_limit: int = THREAD_LIMIT) -> None:
        self.base_url = discovery_base(base_url)
        self.username = username
        self.client = client
        self.retry = retry
        self.stats = stats
        self._auth = {"ApiIntegrationCode": integration_code, "UserName": username, "Secret": secret}
        self._thread_limit = thread_limit
        self._tenant_hour = tenant_hour_limiter(requests_per_hour)
        self._endpoints: dict[str, AutotaskHttp] = {}
        self._discovery = AutotaskHttp(system=SYSTEM, client=client, error_message=autotask_error_message,
                                       limiter=RequestLimiter(max_concurrent=THREAD_LIMIT), retry=retry, stats=stats)
        self._zone: Zone | None = None
        self._zone_lock = asyncio.Lock()

    def missing_settings(self) -> list[str]:
        names = {"ApiIntegrationCode": "the API integration code", "UserName": "the API user name",
                 "Secret": "the API user's secret"}
        return [label for header, label in names.items() if not self._auth[header].strip()]

    # --- zone --------------------------------------------------------------------------------------
    async def zone(self) -> Zone:
        missing = self.missing_settings()
        if missing:
            raise AuthenticationError(SYSTEM, f"the connection has no {' and no '.join(missing)}")
        if self._zone is None:
            async with self._zone_lock:
                if self._zone is None:
                    self._zone = await self._discover()
        return self._zone

    async def _moved_since(self, stale: Zone) -> bool:
        """Re-read the zone after a 401 on `stale`; True when the tenant now lives elsewhere."""
        async with self._zone_lock:
            if self._zone is stale or self._zone is None:
                self._zone = await self._discover()
            return self._zone.url.rstrip("/").lower() != stale.url.rstrip("/").lower()

    async def _discover(self) -> Zone:
        url = f"{self.base_url}/v1.0/zoneInformation"
        try:
            response = await self._discovery.request("GET", url, operation=ZONE_ENDPOINT, idempotent=True,
                                                     params={"user": self.username})
        except (RejectedError, AuthenticationError) as exc:
            if exc.status != 500:  # Autotask's answer for an unknown user; anything else is another fault
                raise
            raise UnknownApiUser(SYSTEM, f"Autotask does not know the API user {self.username!r}: "
                                         f"{exc.vendor_message}", status=exc.status) from None
        body = parse_json(SYSTEM, response)
        zone_url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(zone_url, str) or not zone_url.startswith(("https://", "http://")):
            raise MalformedReplyError(SYSTEM, f"zoneInformation gave no zone URL: {str(body)[:200]!r}",
                                      status=response.status_code)
        if urlsplit(self.base_url).scheme == "https" and not zone_url.startswith("https://"):
            raise MalformedReplyError(SYSTEM, f"zoneInformation pointed to a plain-http URL: {zone_url}")
        return Zone(url=zone_url.rstrip("/"), name=str(body.get("zoneName") or ""),
                    web_url=str(body.get("webUrl") or ""))

    # --- calls -------------------------------------------------------------------------------------
    def _http(self, endpoint: str) -> AutotaskHttp:
        key = endpoint.lower()
        if key not in self._endpoints:
            limiter = EndpointLimiter(max_concurrent=self._thread_limit, tenant_hour=self._tenant_hour)
            self._endpoints[key] = AutotaskHttp(system=SYSTEM, client=self.client, limiter=limiter,
                                                error_message=autotask_error_message, retry=self.retry,
                                                stats=self.stats)
        return self._endpoints[key]

    async def call(self, method: str, endpoint: str, path: str, *, operation: str, idempotent: bool,
                   json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        """One call to {zone}{path} (path starts with /V1.0/); the parsed JSON reply.

        `endpoint` is the entity the thread limit counts the call against.
        """
        zone = await self.zone()
        try:
            response = await self._send(method, endpoint, zone.url + path, operation=operation,
                                        idempotent=idempotent, json=json, params=params)
        except AuthenticationError:
            if not await self._moved_since(zone):
                raise
            # Refused at the old zone, so nothing was done there: safe to send again, writes included.
            response = await self._send(method, endpoint, (await self.zone()).url + path, operation=operation,
                                        idempotent=idempotent, json=json, params=params)
        try:
            return parse_json(SYSTEM, response)
        except MalformedReplyError as exc:
            exc.outcome_unknown = not idempotent  # a 2xx to a write: it landed, but we cannot read what it made
            raise

    async def _send(self, method: str, endpoint: str, url: str, *, operation: str, idempotent: bool,
                    json: Any, params: Mapping[str, str] | None) -> httpx.Response:
        return await self._http(endpoint).request(method, url, operation=operation, idempotent=idempotent,
                                                  headers=self._auth, json=json, params=params)

    async def query(self, entity: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item the query matches, following nextPageUrl to the end."""
        try:
            return await self._pages(entity, body)
        except _ZoneMoved:
            return await self._pages(entity, body)

    async def query_many(self, entity: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of several queries of one entity, run side by side (its limiter paces them)."""
        results = await self.side_by_side(*((entity, body) for body in bodies))
        return [item for items in results for item in items]

    async def side_by_side(self, *queries: tuple[str, dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The items of each (entity, body) query, run concurrently; the first failure cancels the rest."""
        tasks = [asyncio.ensure_future(self.query(entity, body)) for entity, body in queries]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _pages(self, entity: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        operation = f"{entity}.query"
        reply = await self.call("POST", entity, f"/V1.0/{entity}/query", operation=operation, idempotent=True,
                                json=body)
        items, next_url = _page(reply, entity)
        seen: set[str] = set()
        while next_url:
            if next_url in seen:
                raise MalformedReplyError(SYSTEM, f"{entity} paging went round in a loop at {next_url}")
            seen.add(next_url)
            reply = await self._next_page(entity, next_url, body, operation)
            page, next_url = _page(reply, entity)
            items.extend(page)
        return items

    async def _next_page(self, entity: str, url: str, body: dict[str, Any], operation: str) -> Any:
        zone = await self.zone()
        if _origin(url) != _origin(zone.url):
            raise MalformedReplyError(SYSTEM, f"{entity} nextPageUrl leaves the zone {zone.url}: {url}")
        try:
            response = await self._send("POST", entity, url, operation=operation, idempotent=True, json=body,
                                        params=None)
        except AuthenticationError:
            if await self._moved_since(zone):
                raise _ZoneMoved from None
            raise
        return parse_json(SYSTEM, response)


def discovery_base(base_url: str) -> str:
    """The REST base without a trailing slash or version ("https://webservices.autotask.net/ATServicesRest")."""
    base = base_url.strip().rstrip("/")
    if base.lower().endswith("/v1.0"):
        base = base[: -len("/v1.0")]
    return base


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _page(reply: Any, entity: str) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(reply, dict) or not isinstance(reply.get("items"), list):
        raise MalformedReplyError(SYSTEM, f"{entity} query reply has no items list: {str(reply)[:200]!r}")
    items = reply["items"]
    if not all(isinstance(item, dict) for item in items):
        raise MalformedReplyError(SYSTEM, f"{entity} query reply holds items that are not records")
    details = reply.get("pageDetails")
    next_url = details.get("nextPageUrl") if isinstance(details, dict) else None
    if next_url is not None and not isinstance(next_url, str):
        raise MalformedReplyError(SYSTEM, f"{entity} nextPageUrl is not a URL: {next_url!r}")
    return items, next_url or None
