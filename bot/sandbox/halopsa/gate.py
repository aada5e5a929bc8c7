"""The HaloPSA simulator's door: its rate limit, the scope each route needs, and its error shape.

Sources (notes = shared/apis/halopsa.md §2): clients map 400 (with an optional `errors` array of strings),
401, 403, 404, 429 (reading `Retry-After` seconds when present) and 5xx [code panoramicdata/HaloPsa.Api
ApiErrorParser.cs]; homotechsual reads a `Message` (or `error`) property from an error body [code
homotechsual New-HaloError.ps1]. Halo publishes no rate-limit figure.

Choices where the sources are silent:
- Error bodies are `{"message": "..."}`, with `"errors": [...]` listing every problem of a refused update;
  401 and 403 have no body (see auth.py). Unknown routes are 404, a known route with another method 405.
  Paths are case-insensitive (ASP.NET routing; homotechsual sends `api/client`, others `/api/Client`).
- Rate limit: a sliding one-minute window per instance, `application.requests_per_minute` requests
  (1,000 unless set: ConnectWise's figure, Halo publishes none), every request to /api counted (refused
  ones too; `authinfo` and the token endpoint not). Past it: 429, `Retry-After` in whole seconds until a
  request would be admitted again, and a message.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

WINDOW_S = 60.0


def halopsa_error(status: int, message: str, errors: list[str] | None = None) -> web.Response:
    body: dict = {"message": message}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status)


class Refusal(Exception):
    """Raised anywhere in a request to answer with `response`."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class RequestWindow:
    """At most `limit()` requests in any WINDOW_S seconds; the limit is read on every request."""

    limit: Callable[[], int]
    clock: Callable[[], float] = time.monotonic
    _stamps: deque[float] = field(default_factory=deque, repr=False)

    def admit(self) -> int | None:
        """None if the request may go ahead (and counts it), else the whole seconds until one could."""
        now, limit = self.clock(), max(0, self.limit())
        while self._stamps and self._stamps[0] <= now - WINDOW_S:
            self._stamps.popleft()
        self._stamps.append(now)  # a refused request counts too
        count = len(self._stamps)
        if count <= limit:
            return None
        # the next request is admitted once all but limit - 1 of these have left the window
        oldest_to_go = self._stamps[count - limit] if limit else now
        return max(1, math.ceil(oldest_to_go + WINDOW_S - now))


def too_many(wait_s: int) -> web.Response:
    response = halopsa_error(429, f"Too many requests: the API rate limit was reached. Retry after {wait_s} seconds.")
    response.headers["Retry-After"] = str(wait_s)
    return response


# What each route needs: (method, entity) -> scope. Entities are lower-cased path segments after /api/.
SCOPE_NEEDED: dict[tuple[str, str], str] = {
    ("GET", "client"): "read:customers",
    ("GET", "clientcontract"): "read:contracts",
    ("GET", "item"): "read:items",
    ("GET", "recurringinvoice"): "read:invoices",
    ("POST", "recurringinvoice"): "edit:invoices",
    ("GET", "invoice"): "read:invoices",
}
