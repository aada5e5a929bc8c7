"""The API gateway in front of the simulated Ingram Micro Cloud Marketplace: subscription key and quota.

CMP's `X-Subscription-Key` is an API-gateway subscription "that defines restrictions on your API
calls" (spec 1.6, every operation). Gateways of that style (Azure API Management) answer on their
own, before the backend sees the call, with `{"statusCode": <n>, "message": "..."}`:
- no key -> 401 "Access denied due to missing subscription key. ..."; wrong key -> 401 "Access
  denied due to invalid subscription key. ..." (wording from Microsoft's APIM troubleshooting article
  KB 4464930);
- a path or method no operation matches -> 404 "Resource not found";
- over the call rate of the key (APIM `rate-limit-by-key`: `calls` per sliding `renewal-period`,
  learn.microsoft.com/azure/api-management/rate-limit-by-key-policy) -> 429 with a `Retry-After`
  header (seconds) and "Rate limit is exceeded. Try again in N seconds.". Calls refused with 429
  are not counted.
The default budget (`GatewayQuota`: 1000 calls per 60 s per key) is a simulator choice; pass another
to `create_ingram_app(quota=...)`. Evidence for the style, not the size: a public dashboard built on
the real CMP API saw a 60-call burst pass and a long run of detail calls at concurrency 20
throttled, i.e. a time-window budget, not a concurrency cap; its size is not published.
"""

from __future__ import annotations

import hmac
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MISSING_KEY = ("Access denied due to missing subscription key. "
               "Make sure to include subscription key when making requests to an API.")
INVALID_KEY = ("Access denied due to invalid subscription key. "
               "Make sure to provide a valid key for an active subscription.")


@dataclass
class GatewayQuota:
    calls: int = 1000  # per renewal period, per subscription key
    renewal_period_s: float = 60.0


def gateway_error(status: int, message: str) -> web.Response:
    return web.json_response({"statusCode": status, "message": message}, status=status)


class RateLimiter:
    """A sliding-window call counter per key, like APIM's rate-limit-by-key."""

    def __init__(self, quota: GatewayQuota, clock: Clock) -> None:
        self.quota = quota
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def admit(self, key: str) -> float | None:
        """Record a call and return None, or return the seconds to wait when over the rate."""
        now = self._clock()
        window = self._calls.setdefault(key, deque())
        while window and window[0] <= now - self.quota.renewal_period_s:
            window.popleft()
        if len(window) >= self.quota.calls:
            return max(window[0] + self.quota.renewal_period_s - now, 0.0)
        window.append(now)
        return None


def gateway_middleware(expected_key: Callable[[], str], limiter: RateLimiter):
    """Route check, then subscription key, then the key's call rate; only then the backend."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            return gateway_error(404, "Resource not found")
        given = request.headers.get("X-Subscription-Key")
        if not given:
            return gateway_error(401, MISSING_KEY)
        if not hmac.compare_digest(given.encode(), expected_key().encode()):
            return gateway_error(401, INVALID_KEY)
        wait = limiter.admit(given)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            response = gateway_error(429, f"Rate limit is exceeded. Try again in {seconds} seconds.")
            response.headers["Retry-After"] = str(seconds)
            return response
        return await handler(request)

    return middleware
