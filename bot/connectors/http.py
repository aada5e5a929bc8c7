"""The HTTP layer every vendor client stands on: timeouts, bounded retries, a client-side limiter,
typed errors and call counters.

Retry rules (tenacity, jittered exponential backoff, honouring Retry-After, bounded in attempts and
total time):
- 429 is retried for any request: the vendor did not process it.
- Connection failures before anything was sent are retried for any request.
- 5xx and timeouts are retried only for idempotent requests (reads, queries). For a write they raise
  with `outcome_unknown=True`: the caller reads the PSA back before deciding to write again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedError,
    ServerError,
    UnreachableError,
)

ErrorMessage = Callable[[httpx.Response], str]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    max_total_s: float = 60.0
    base_delay_s: float = 0.25
    max_delay_s: float = 15.0


@dataclass
class CallStats:
    """Counters of calls made, for benchmarks and /metrics: total, by operation, retries, errors."""

    total: int = 0
    retries: int = 0
    by_operation: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)

    def record(self, operation: str, status: int | str) -> None:
        self.total += 1
        self.by_operation[operation] += 1
        self.by_status[str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        return {"total": self.total, "retries": self.retries, "by_operation": dict(self.by_operation),
                "by_status": dict(self.by_status)}

    def reset(self) -> None:
        self.total = self.retries = 0
        self.by_operation.clear()
        self.by_status.clear()


class RequestLimiter:
    """At most `max_concurrent` requests in flight and `per_window` started in any `window_s`."""

    def __init__(self, *, max_concurrent: int, per_window: int | None = None, window_s: float = 60.0) -> None:
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._per_window = per_window
        self._window_s = window_s
        self._started: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._semaphore.acquire()
        if self._per_window is None:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._started and now - self._started[0] >= self._window_s:
                    self._started.popleft()
                if len(self._started) < self._per_window:
                    self._started.append(now)
                    return
                await asyncio.sleep(self._window_s - (now - self._started[0]))

    async def __aexit__(self, *exc: object) -> None:
        self._semaphore.release()


class RetrySignal(Exception):
    """Raised inside an attempt to ask for another one; a vendor client may raise it for throttling that
    its API reports in an odd way (Autotask's thread limit can come as a 500)."""

    def __init__(self, error: ConnectorError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


class VendorHttp:
    def __init__(
        self,
        *,
        system: str,
        client: httpx.AsyncClient,
        error_message: ErrorMessage,
        limiter: RequestLimiter,
        retry: RetryPolicy = RetryPolicy(),
        stats: CallStats | None = None,
    ) -> None:
        self.system = system
        self.client = client
        self.error_message = error_message
        self.limiter = limiter
        self.retry = retry
        self.stats = stats or CallStats()

    async def request(self, method: str, url: str, *, operation: str, idempotent: bool,
                      **kwargs: Any) -> httpx.Response:
        """Send one request (with retries per the rules above); return a 2xx response or raise."""
        attempts = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts) | stop_after_delay(self.retry.max_total_s),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, RetrySignal)),
            reraise=True,
        )
        try:
            async for attempt in attempts:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    return await self._once(method, url, operation=operation, idempotent=idempotent, **kwargs)
        except RetrySignal as exhausted:
            raise exhausted.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, retry_state) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetrySignal) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry.max_delay_s)
        return wait_random_exponential(multiplier=self.retry.base_delay_s, max=self.retry.max_delay_s)(retry_state)

    async def _once(self, method: str, url: str, *, operation: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        async with self.limiter:
            try:
                response = await self.client.request(method, url, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # nothing reached the vendor: safe to retry any request
                self.stats.record(operation, "connect-error")
                raise RetrySignal(UnreachableError(self.system, f"cannot connect: {exc}")) from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                self.stats.record(operation, "no-reply")
                error = UnreachableError(self.system, f"no reply ({type(exc).__name__})",
                                         outcome_unknown=not idempotent)
                if idempotent:
                    raise RetrySignal(error) from None
                raise error from None
        self.stats.record(operation, response.status_code)
        if response.is_success:
            return response
        raise self._classify(response, idempotent)

    def _classify(self, response: httpx.Response, idempotent: bool) -> Exception:
        status = response.status_code
        message = self._message(response)
        if status == 429:
            retry_after = _retry_after(response)
            return RetrySignal(RateLimitedError(self.system, message, retry_after=retry_after), retry_after)
        if status >= 500:
            error = ServerError(self.system, message, status=status, outcome_unknown=not idempotent)
            return RetrySignal(error) if idempotent else error
        if status == 401:
            return AuthenticationError(self.system, message, status=status)
        if status == 403:
            return PermissionDeniedError(self.system, message, status=status)
        if status == 404:
            return NotFoundError(self.system, message, status=status)
        return RejectedError(self.system, message, status=status)

    def _message(self, response: httpx.Response) -> str:
        try:
            return self.error_message(response) or response.reason_phrase
        except Exception:  # a reply we cannot read still gets a message
            return f"{response.reason_phrase}: {response.text[:300]}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_json(system: str, response: httpx.Response) -> Any:
    """The reply's JSON, or a MalformedReplyError that says what came back instead."""
    try:
        return response.json()
    except ValueError:
        raise MalformedReplyError(system, f"expected JSON, got {response.headers.get('content-type', '?')}: "
                                          f"{response.text[:200]!r}", status=response.status_code) from None
