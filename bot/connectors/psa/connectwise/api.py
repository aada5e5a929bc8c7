"""ConnectWise Manage REST 3.0 over the shared HTTP layer: site and codebase, headers, paging, id batches.

What the connector relies on (shared/apis/connectwise.md; sources named there):
- Codebase: `GET {site}/login/companyinfo/{companyId}` answers `{"Codebase": "v4_6_release/", ...}`
  [client: pyconnectwise], or a JSON `null` for a company the site does not know [client:
  django-connectwise]. The API base is then `{site}/{codebase}apis/3.0` (B1). Looked up once per client.
- Auth: `Basic base64("{companyId}+{publicKey}:{privateKey}")` and the `clientId` header on every call
  (B2). The model is pinned with `Accept: application/vnd.connectwise.com+json; version=2025.8`; the
  server's newest version comes back in `api-current-version` (B1) and is kept for test_connection.
- Limits: more than ~1,000 requests a minute gets throttled with 429 + Retry-After (B8); SeatSync keeps
  to 600 a minute and 6 requests in flight by default, and VendorHttp waits out any Retry-After.
- Paging (B4): forward-only (`pagination-type: forward-only`, `pageId` = the last id seen) rather than
  navigable `page=N`. Both cost one call per 1,000 rows when the last page is short (forward-only
  stops on a short page without asking again); only an exact multiple of 1,000 rows costs forward-only
  one extra, empty, call. In exchange the server seeks by id instead of skipping OFFSET rows, and a
  record deleted or added while a long read is under way cannot shift a later page, which would skip
  a record that a complete read then marks as removed. `fields=` always carries `id` because the
  cursor is the id.
- Errors (B8): `{"code","message","errors":[{code,message,field,resource}]}`; the throttle body is
  `{"error","message"}`. `connectwise_error_message` turns either into one line with the field-level
  messages, so a 400 InvalidObject reaches the billing team with ConnectWise's own reasons.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote

import httpx

from bot.connectors.errors import MalformedReplyError, NotFoundError
from bot.connectors.http import CallStats, RequestLimiter, RetryPolicy, VendorHttp, parse_json, vendor_client
from bot.connectors.psa.connectwise.conditions import URL_LIMIT, all_of, id_batches, ids_in
from bot.log_redaction import register_secret

SYSTEM = "connectwise"
API_VERSION = "2025.8"
ACCEPT = f"application/vnd.connectwise.com+json; version={API_VERSION}"
PAGE_SIZE = 1000
REQUESTS_PER_MINUTE = 600
MAX_CONCURRENT = 6
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_PAGE_ID_ROOM = 24  # "&pageId=<id>" added to every page after the first


@dataclass(frozen=True)
class ConnectWiseLogin:
    site_url: str  # https://api-na.myconnectwise.net, or an on-premise host
    company_id: str
    public_key: str
    private_key: str = field(repr=False)
    client_id: str
    codebase: str | None = None  # "v4_6_release/"; looked up from companyinfo when None


def connectwise_error_message(response: httpx.Response) -> str:
    """ConnectWise's own words from an error reply, field-level messages included."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return f"{response.reason_phrase}: {text}" if text else response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    message = str(body.get("message") or body.get("error") or "").strip()
    code = body.get("code")
    parts = [f"{message} ({code})" if code and message else message or str(code or "")]
    for entry in body.get("errors") or []:
        if isinstance(entry, dict) and entry.get("message"):
            field = entry.get("field")
            parts.append(f"{field}: {entry['message']}" if field else str(entry["message"]))
    return "; ".join(part for part in parts if part)


class ConnectWiseApi:
    """One httpx client, limiter and counters for one ConnectWise site and company."""

    def __init__(
        self, login: ConnectWiseLogin, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(), requests_per_minute: int = REQUESTS_PER_MINUTE,
        max_concurrent: int = MAX_CONCURRENT, event_hooks: dict[str, list] | None = None,
    ) -> None:
        self.login = login
        self.site_url = login.site_url.rstrip("/")
        register_secret(login.private_key)
        self.client = vendor_client(timeout=timeout, event_hooks=event_hooks or {})
        self.http = VendorHttp(
            system=SYSTEM, client=self.client, error_message=connectwise_error_message,
            limiter=RequestLimiter(max_concurrent=max_concurrent, per_window=requests_per_minute, window_s=60.0),
            retry=retry,
        )
        token = base64.b64encode(
            f"{login.company_id}+{login.public_key}:{login.private_key}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "clientId": login.client_id, "Accept": ACCEPT}
        self._codebase = _normalise_codebase(login.codebase) if login.codebase else None
        self._codebase_lock = asyncio.Lock()
        self.api_current_version: str | None = None

    @property
    def stats(self) -> CallStats:
        return self.http.stats

    async def aclose(self) -> None:
        await self.client.aclose()

    # --- site and codebase ---------------------------------------------------------------------
    async def company_info(self) -> dict[str, Any] | None:
        """The public companyinfo record, or None when the site does not know the company."""
        url = f"{self.site_url}/login/companyinfo/{url_quote(self.login.company_id, safe='')}"
        response = await self.http.request("GET", url, operation="companyinfo", idempotent=True,
                                           headers={"Accept": "application/json"})
        body = parse_json(SYSTEM, response)
        if body is not None and not isinstance(body, dict):
            raise MalformedReplyError(SYSTEM, f"companyinfo answered {str(body)[:120]!r}, not a record",
                                      status=response.status_code)
        return body

    async def codebase(self) -> str:
        if self._codebase is None:
            async with self._codebase_lock:
                if self._codebase is None:
                    info = await self.company_info()
                    if info is None:
                        raise NotFoundError(SYSTEM, f"ConnectWise does not know company {self.login.company_id} "
                                                    f"at {self.site_url}")
                    codebase = info.get("Codebase")
                    if not isinstance(codebase, str) or not codebase.strip("/ "):
                        raise MalformedReplyError(SYSTEM, f"companyinfo has no Codebase: {str(info)[:200]}")
                    self._codebase = _normalise_codebase(codebase)
        return self._codebase

    async def url(self, path: str) -> str:
        return f"{self.site_url}/{await self.codebase()}apis/3.0/{path.lstrip('/')}"

    # --- requests ------------------------------------------------------------------------------
    async def get(self, path: str, *, operation: str, params: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> Any:
        response = await self.http.request("GET", await self.url(path), operation=operation, idempotent=True,
                                           params=params, headers={**self._headers, **(headers or {})})
        self._note_version(response)
        return parse_json(SYSTEM, response)

    async def get_record(self, path: str, *, operation: str, fields: str | None = None) -> dict[str, Any]:
        body = await self.get(path, operation=operation, params={"fields": fields} if fields else None)
        if not isinstance(body, dict):
            raise MalformedReplyError(SYSTEM, f"{path} answered {str(body)[:120]!r}, not a record")
        return body

    async def patch(self, path: str, operations: list[dict[str, Any]], *, operation: str) -> dict[str, Any]:
        """A JSON-patch write. Never retried on an unknown outcome (VendorHttp, idempotent=False)."""
        response = await self.http.request("PATCH", await self.url(path), operation=operation, idempotent=False,
                                           json=operations, headers=self._headers)
        self._note_version(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # ConnectWise accepted the write (2xx) but its reply cannot be read: the engine must look.
            raise MalformedReplyError(SYSTEM, f"the reply to a write was not a record: {response.text[:200]!r}",
                                      status=response.status_code, outcome_unknown=True)
        return body

    async def list_all(self, path: str, *, operation: str, conditions: str | None = None,
                       fields: str | None = None) -> list[dict[str, Any]]:
        """Every record of a list endpoint, forward-only paged to the end."""
        rows: list[dict[str, Any]] = []
        page_id = 0
        while True:
            params = _list_params(conditions, fields, page_id)
            body = await self.get(path, operation=operation, params=params,
                                  headers={"pagination-type": "forward-only"})
            page = _records(body, path)
            rows.extend(page)
            if len(page) < PAGE_SIZE:
                return rows
            next_id = page[-1]["id"]
            if next_id <= page_id:
                raise MalformedReplyError(SYSTEM, f"paging {path} stopped moving forward at id {page_id}")
            page_id = next_id

    async def list_by_ids(self, path: str, ids: list[int], *, operation: str, fields: str | None = None,
                          id_field: str = "id", also: str | None = None) -> list[dict[str, Any]]:
        """Records whose `id_field` is one of `ids`, in as few `in (...)` requests as the URL limit allows."""
        if not ids:
            return []
        shell = str(httpx.URL(await self.url(path), params=_list_params(all_of(also, ids_in([], id_field)), fields)))
        batches = id_batches(ids, URL_LIMIT - len(shell) - _PAGE_ID_ROOM)
        rows: list[dict[str, Any]] = []
        for batch in batches:
            rows.extend(await self.list_all(path, operation=operation, fields=fields,
                                            conditions=all_of(also, ids_in(batch, id_field))))
        return rows

    def _note_version(self, response: httpx.Response) -> None:
        self.api_current_version = response.headers.get("api-current-version") or self.api_current_version


def _normalise_codebase(codebase: str) -> str:
    return codebase.strip().strip("/") + "/"


def _list_params(conditions: str | None, fields: str | None, page_id: int = 0) -> dict[str, Any]:
    params: dict[str, Any] = {"pageSize": PAGE_SIZE}
    if conditions:
        params["conditions"] = conditions
    if fields:
        params["fields"] = fields if "id" in fields.split(",") else f"id,{fields}"
    if page_id:
        params["pageId"] = page_id
    return params


def _records(body: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), int) for r in body):
        raise MalformedReplyError(SYSTEM, f"{path} answered {str(body)[:160]!r}, not a list of records with ids")
    return body
