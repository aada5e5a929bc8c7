"""The door of the ConnectWise simulator: throttling, auth, API version and the error shape.

`api_gate` is the sub-app's own middleware (inside the fault middleware app.py puts in front of it);
it applies to the REST API paths, not to the public companyinfo lookup.

Behaviour and where it comes from (notes = shared/apis/connectwise.md):
- Auth [notes B2]: `Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")` against
  `world.credentials`; the company id is case-insensitive, the keys are not. Missing or wrong ->
  401 `{"code":"Unauthorized",...}` (the code ConnectWiseManageAPI's Invoke-CWMWebRequest.ps1
  special-cases; the message text is the simulator's).
- `clientId` header: required by the Developer Guide ("required for all API calls"). A request
  without it is rejected with 400 and "clientId" in the error, as mspvectis.com/docs/connectwise
  reports CW does ("rejects API calls from unregistered client apps with a 400 and 'clientId' in the
  error"). The body wording is the simulator's. The simulator also refuses (400) a clientId other
  than the one in the world's credentials, standing in for "not registered".
- Versioning [notes B1]: `Accept: application/vnd.connectwise.com+json; version=YYYY.N` may pin a
  model; every API response carries `api-current-version`. The current version is 2025.16 (the
  newest published OpenAPI document seen, per gitea.resolutionflow.com's copy of the CW docs; the
  notes' spec is 2025.8). A version that is malformed, older than 2019.1 (when versioning by release
  began, PSA-Versioning.md) or newer than the current one gets 400 BadRequest: CW's own answer is
  undocumented, this is the simulator's choice. Accept headers without a version get the latest.
- Errors [notes B8]: `{"code","message","errors"}`; 400 BadRequest / InvalidObject (validation, with
  ValidationError entries), 401 Unauthorized, 403 Security, 404 NotFound, 405 MethodNotAllowed,
  415 UnsupportedMediaType, 5xx ConnectWiseApi (the code a real 500 carries in
  ConnectWiseManageAPI issue #1). Unknown routes and wrong methods come out in this shape too.
- Rate limit [notes B8, Developer Guide]: a sliding per-minute budget (default 1,000 requests/min;
  `app[CONNECTWISE_BUDGET]` changes it) -> 429 with `Retry-After` (whole seconds) and the
  documented body `{"error":"ConnectWiseAPI","message":"Too many requests. Please try again in N
  seconds."}`. The fault knobs' injected 429s get the same body, with N read from the Retry-After
  header the fault middleware sets after `connectwise_error(429, ...)` returns. Every request to
  the API counts, refused ones included.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.world import SandboxWorld

API_PATH = "/v4_6_release/apis/3.0"
CURRENT_API_VERSION = "2025.16"
OLDEST_API_VERSION = (2019, 1)

_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Security", 404: "NotFound", 405: "MethodNotAllowed",
          409: "Conflict", 415: "UnsupportedMediaType"}


def connectwise_error(status: int, message: str, *, code: str | None = None,
                      errors: list[dict[str, Any]] | None = None) -> web.Response:
    """An error in ConnectWise's shape; 429 gets the throttle body instead."""
    if status == 429:
        return _ThrottleResponse()
    body = {"code": code or _CODES.get(status, "ConnectWiseApi"), "message": message, "errors": errors}
    return web.json_response(body, status=status)


class _ThrottleResponse(web.Response):
    """429 whose body quotes the Retry-After header, which whoever returns it may set afterwards."""

    def __init__(self) -> None:
        super().__init__(status=429, content_type="application/json")

    async def prepare(self, request: web.BaseRequest):  # type: ignore[override]
        wait = self.headers.setdefault("Retry-After", "1")
        self.text = json.dumps({"error": "ConnectWiseAPI",
                                "message": f"Too many requests. Please try again in {wait} seconds."})
        return await super().prepare(request)


@dataclass
class RequestBudget:
    """A sliding-window request budget: at most `per_minute` requests in any `window_s` seconds."""

    per_minute: int = 1000
    window_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _stamps: deque[float] = field(default_factory=deque, repr=False)

    def admit(self) -> int | None:
        """None if the request may go ahead, else the whole seconds until it could."""
        now = self.clock()
        while self._stamps and self._stamps[0] <= now - self.window_s:
            self._stamps.popleft()
        if len(self._stamps) >= self.per_minute:
            return max(1, math.ceil(self._stamps[0] + self.window_s - now))
        self._stamps.append(now)
        return None


CONNECTWISE_BUDGET = web.AppKey("connectwise_budget", RequestBudget)
WORLD = web.AppKey("connectwise_world", SandboxWorld)


class Refusal(Exception):
    """Raised anywhere in a request to answer with `response` (a ConnectWise-shaped error)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@web.middleware
async def api_gate(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    is_api = API_PATH + "/" in request.path or request.path.endswith(API_PATH)
    try:
        if is_api:
            wait = request.app[CONNECTWISE_BUDGET].admit()
            if wait is not None:
                response = connectwise_error(429, "Too many requests")
                response.headers["Retry-After"] = str(wait)
                return response
            _check_auth(request, request.app[WORLD])
            _check_version(request)
        response = await handler(request)
    except Refusal as refusal:
        response = refusal.response
    except web.HTTPMethodNotAllowed as exc:
        response = connectwise_error(405, f"The {exc.method} method is not supported on {request.path}")
        response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
    except web.HTTPNotFound:
        response = connectwise_error(404, f"No resource at {request.path}")
    if is_api:
        response.headers["api-current-version"] = CURRENT_API_VERSION
    return response


def _check_auth(request: web.Request, world: SandboxWorld) -> None:
    creds = world.credentials
    header = request.headers.get("Authorization", "")
    if not header:
        raise Refusal(connectwise_error(
            401, "Authorization is required: Basic base64(companyId+publicKey:privateKey)"))
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    user, _, private_key = decoded.partition(":")
    company, _, public_key = user.partition("+")
    valid = (
        scheme.lower() == "basic"
        and company.casefold() == creds.connectwise_company_id.casefold()
        and hmac.compare_digest(public_key.encode(), creds.connectwise_public_key.encode())
        and hmac.compare_digest(private_key.encode(), creds.connectwise_private_key.encode())
    )
    if not valid:
        raise Refusal(connectwise_error(
            401, "Invalid credentials: the company id, public key or private key is wrong"))
    client_id = request.headers.get("clientId", "").strip()
    if not client_id:
        raise Refusal(connectwise_error(
            400, "A clientId header is required on every request "
                 "(register one at https://developer.connectwise.com/ClientID)"))
    if client_id.casefold() != creds.connectwise_client_id.casefold():
        raise Refusal(connectwise_error(400, f"clientId {client_id} is not a registered clientId"))


_VERSION = re.compile(r"version\s*=\s*([^;,\s]+)", re.IGNORECASE)


def _check_version(request: web.Request) -> None:
    found = _VERSION.search(request.headers.get("Accept", ""))
    if found is None:
        return
    requested = found.group(1).strip('"')
    parts = re.fullmatch(r"(\d{4})\.(\d{1,2})", requested)
    current = tuple(int(p) for p in CURRENT_API_VERSION.split("."))
    if parts is None or not OLDEST_API_VERSION <= (int(parts[1]), int(parts[2])) <= current:
        raise Refusal(connectwise_error(
            400, f"Unsupported API version {requested!r} in the Accept header; versions 2019.1 to "
                 f"{CURRENT_API_VERSION} are available (application/vnd.connectwise.com+json; version=YYYY.N)"))
