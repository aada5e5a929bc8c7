"""Slack retries never repeat an action: a delivery whose trigger_id (or event_id) already ran is acked
and dropped.

In memory, per process, for `ttl_s` (Slack retries within about five minutes): a restart or a second
instance forgets what ran. Good enough for one process; a shared store is the next step.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

DEFAULT_TTL_S = 15 * 60


class SeenDeliveries:
    """A TTL set of delivery keys."""

    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._seen: dict[str, float] = {}

    def first_time(self, key: str) -> bool:
        """True, and remember the key, unless it was seen within the TTL."""
        now = self.clock()
        self._seen = {k: at for k, at in self._seen.items() if now - at < self.ttl_s}
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


def delivery_key(body: dict[str, Any]) -> str | None:
    return body.get("trigger_id") or body.get("event_id")


def drop_repeated_deliveries(seen: SeenDeliveries):
    """Bolt global middleware: a retried delivery of something that already ran is answered 200, empty."""

    async def middleware(req: AsyncBoltRequest, resp: BoltResponse,
                         next: Callable[[], Awaitable[None]]) -> BoltResponse:  # noqa: A002 - Bolt's name
        key = delivery_key(req.body)
        if key is not None and not seen.first_time(key):
            return BoltResponse(status=200, body="")
        await next()
        return resp

    return middleware
