"""Autotask's own request limits: the hourly threshold per database and the thread limit per endpoint.

What the vendor documents [doc: REST_Thresholds_Limits, ThreadLimiting; KB: CloudDepot, MSPbots]:
- 10,000 requests per rolling 60 minutes per database, shared by every integration of the tenant. From
  50% of it Autotask adds about 0.5 s of latency per call, from 75% about 1 s; at 100% the API refuses
  requests until the window drains. Clients see the refusal as HTTP 429 [client: n8n retryHandler].
  The refusal's wording is not published; ours is an invented sentence.
- At most 3 concurrent requests per (API tracking identifier, object endpoint); the next one is refused
  with a message naming code Itgenatr005, "The Autotask API thread threshold of 3 threads has been
  exceeded." [client: n8n-nodes-autotask PR #107; status 429 as seen by clients quoting
  "Autotask API error: 429 - thread threshold of 3 threads has been exceeded"].
- zoneInformation is exempt from both; ThresholdInformation is not [doc: ThreadLimiting].

Requests refused by either limit are not counted (they did no work). Time is real monotonic time, not
the world's business clock: these limits are about request rates. `latency_factor` scales the added
latency so tests stay fast.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class AutotaskLimits:
    hourly_threshold: int = 10_000
    window_s: float = 3600.0
    thread_limit: int = 3
    latency_factor: float = 1.0  # 1.0 = the vendor's 0.5 s / 1 s; 0 disables the added latency
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def threshold_message(self) -> str:
        minutes = round(self.window_s / 60)
        return (f"The API request threshold of {self.hourly_threshold} requests per {minutes} minutes has been "
                "exceeded for this database. Requests are refused until usage drops below the threshold.")

    def thread_message(self) -> str:
        return (f"Itgenatr005: The Autotask API thread threshold of {self.thread_limit} threads has been exceeded. "
                "Reduce the number of concurrent requests to this endpoint.")


class RequestMeter:
    """Counts a tenant's requests in the rolling window and its concurrent requests per endpoint."""

    def __init__(self, limits: AutotaskLimits) -> None:
        self.limits = limits
        self._times: deque[float] = deque()
        self._active: dict[tuple[str, str], int] = {}

    def count(self) -> int:
        horizon = self.limits.clock() - self.limits.window_s
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        return len(self._times)

    def record(self, requests: int = 1) -> None:
        now = self.limits.clock()
        self._times.extend([now] * requests)

    def admit(self) -> float | None:
        """Count one request; the latency to add in seconds, or None when the threshold is reached."""
        used = self.count()
        threshold = self.limits.hourly_threshold
        if used >= threshold:
            return None
        self.record()
        share = used / threshold if threshold else 1.0
        base = 1.0 if share >= 0.75 else 0.5 if share >= 0.5 else 0.0
        return base * self.limits.latency_factor

    def acquire(self, integration_code: str, endpoint: str) -> bool:
        key = (integration_code, endpoint.lower())
        if self._active.get(key, 0) >= self.limits.thread_limit:
            return False
        self._active[key] = self._active.get(key, 0) + 1
        return True

    def release(self, integration_code: str, endpoint: str) -> None:
        key = (integration_code, endpoint.lower())
        remaining = self._active.get(key, 0) - 1
        if remaining > 0:
            self._active[key] = remaining
        else:
            self._active.pop(key, None)

    def active(self, integration_code: str, endpoint: str) -> int:
        return self._active.get((integration_code, endpoint.lower()), 0)
