"""Pax8's call budget: a sliding window of calls per API client, 429 beyond it.

Pax8 publishes no limit for the partner API. Third parties state 1,000 calls a minute per application
(Breeze's design doc; imperian-systems' README), and devx states 1,000 POSTs a minute for the vendor
usage API, so the sandbox counts 1,000 calls per 60 s per client id (`Budget`, settable per app).
A refused call is not counted. The 429 carries the partner API's `Error` body and no header at all:
Pax8 documents none (api-evangelist's conventions: "no X-RateLimit-* or Retry-After headers are
documented"), and a client must then back off on its own. The fault knobs' injected 429s do carry a
`Retry-After`, so a client meets both.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

Clock = Callable[[], float]
CALLS_PER_WINDOW = 1000
WINDOW_S = 60.0


@dataclass
class Budget:
    calls: int = CALLS_PER_WINDOW
    window_s: float = WINDOW_S


class CallBudget:
    def __init__(self, budget: Budget, clock: Clock) -> None:
        self.budget = budget
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def admit(self, client_id: str) -> float | None:
        """Count a call and return None, or return the seconds until one is allowed again."""
        now = self._clock()
        window = self._calls.setdefault(client_id, deque())
        while window and window[0] <= now - self.budget.window_s:
            window.popleft()
        if len(window) >= self.budget.calls:
            return max(window[0] + self.budget.window_s - now, 0.0)
        window.append(now)
        return None


def too_many(error_body: Callable[..., web.Response], path: str) -> web.Response:
    return error_body(429, "Too many requests: the API call rate limit was exceeded", path)
