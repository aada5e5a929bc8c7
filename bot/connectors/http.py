"""The HTTP layer every vendor client stands on: timeouts, bounded retries, a client-side limiter,
typed errors and call counters.

Retry rules (jittered exponential backoff; a Retry-After is waited out in full, and holds the whole
limiter, since the vendor refuses every request of ours until then):
- 429 is retried for any request: the vendor did not process it.
- Connection failures before anything was sent are retried for any request.
- 5xx and timeouts are retried only for idempotent requests (reads, queries). For a write they raise
  with `outcome_unknown=True`: the caller reads the PSA back before deciding to write again.
How long: a request's budget counts only time it spends outside SeatSync's own limiter queue (its
attempts on the wire and the backoff between them), never the time it waits behind other requests of
ours (a large read queues thousands of requests for minutes, and a retry queues again). A read made
under `read_deadline(...)` (the engine sets one per cycle) is retried until that deadline, however many
attempts it takes; any other request stops after `RetryPolicy.max_attempts` attempts or `max_total_s`
seconds of that budget. A read still queued when its deadline passes fails with `DeadlinePassedError`,
so nothing waits for ever. The loop is tenacity's, with these stop and wait rules. A tenant's budget shared between
processes (`bot.connectors.shared_budget`) is taken before the local limiter's turn.
"""

from __future__ import annotations

import asyncio
import functools
import random
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    DeadlinePassedError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedError,
    ServerError,
    UnreachableError,
)
from bot.connectors.shared_budget import SHARED_BUDGET

ErrorMessage = Callable[[httpx.Response], str]


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process: building one loads the CA bundle (about 60 ms of CPU),
    and SeatSync builds vendor clients per cycle and per Test connection. A context is safe to share."""
    return httpx.create_ssl_context()


def vendor_client(**options: Any) -> httpx.AsyncClient:
    """An httpx client for a vendor's API, on the shared TLS context."""
    return httpx.AsyncClient(verify=shared_tls_context(), **options)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # writes, and reads made outside a read deadline
    max_total_s: float = 60.0  # the same, counted from the request's first send
    base_delay_s: float = 0.25
    max_delay_s: float = 15.0  # the longest backoff between attempts (a Retry-After may ask for longer)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff after the `attempt`-th failed attempt."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt - 1, 60)))


# --- the read deadline -----------------------------------------------------------------------------
_read_deadline: ContextVar[float | None] = ContextVar("seatsync_read_deadline", default=None)


@contextmanager
def read_deadline(seconds: float) -> Iterator[float]:
    """Reads made inside (and in tasks started inside) are retried until `seconds` from now, not by
    the retry policy's attempt count; an enclosing earlier deadline still wins. Yields the deadline
    (time.monotonic())."""
    outer = _read_deadline.get()
    deadline = time.monotonic() + seconds
    if outer is not None:
        deadline = min(deadline, outer)
    token = _read_deadline.set(deadline)
    try:
        yield deadline
    finally:
        _read_deadline.reset(token)


def current_read_deadline() -> float | None:
    return _read_deadline.get()


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
    """At most `max_concurrent` requests in flight, and at most `per_window` in any `window_s`.

    The window is kept from the client's side of the wire conservatively: a request occupies a place
    from when it starts until `window_s` after its reply came back (the server counted it somewhere in
    between), so a client set to the vendor's own budget never exceeds it. `hold(s)` stops every new
    request for `s` seconds (a Retry-After). Cancelling a waiter gives its place back.
    """

    def __init__(self, *, max_concurrent: int, per_window: int | None = None, window_s: float = 60.0) -> None:
        self.max_concurrent = max_concurrent
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._per_window = per_window
        self._window_s = window_s
        self._finished: deque[float] = deque()  # when each request of the current window came back
        self._in_flight = 0
        self._came_back = asyncio.Event()
        self._not_before = 0.0
        self._lock = asyncio.Lock()

    def windows(self) -> list[tuple[int, float]]:
        """The budgets this limiter keeps, as (requests, per seconds): what a shared budget must keep too."""
        return [(self._per_window, self._window_s)] if self._per_window is not None else []

    def hold(self, seconds: float) -> None:
        self._not_before = max(self._not_before, time.monotonic() + seconds)

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        try:
            async with self._lock:
                await self._wait_for_room()
                self._in_flight += 1
        except BaseException:
            self._semaphore.release()
            raise

    def release(self) -> None:
        self._in_flight -= 1
        if self._per_window is not None:
            self._finished.append(time.monotonic())
        self._came_back.set()
        self._semaphore.release()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    async def _wait_for_room(self) -> None:
        while True:
            now = time.monotonic()
            if now < self._not_before:
                await asyncio.sleep(self._not_before - now)
                continue
            if self._per_window is None:
                return
            while self._finished and now - self._finished[0] >= self._window_s:
                self._finished.popleft()
            if len(self._finished) + self._in_flight < self._per_window:
                return
            if self._finished:
                await asyncio.sleep(self._window_s - (now - self._finished[0]))
            else:  # the whole window is in flight: wait for a reply
                self._came_back.clear()
                await self._came_back.wait()


class RetrySignal(Exception):
    """Raised inside an attempt to ask for another one; a vendor client may raise it for throttling that
    its API reports in an odd way (a thread limit reported as a 500)."""

    def __init__(self, error: ConnectorError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


@dataclass
class _Budget:
    """One request's retry budget: the time since its first send, less the time it then spent queued
    again behind SeatSync's own requests; or, for a read under a cycle's deadline, that deadline."""

    deadline: float | None
    first_sent: float | None = None
    requeued_s: float = 0.0

    def left_queue(self, waited_s: float) -> None:
        if self.first_sent is None:
            self.first_sent = time.monotonic()
        else:
            self.requeued_s += waited_s

    def spent(self, *, at: float) -> float:
        return 0.0 if self.first_sent is None else at - self.first_sent - self.requeued_s


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
        budget = _Budget(deadline=current_read_deadline() if idempotent else None)
        attempts = AsyncRetrying(stop=self._stop(budget), wait=self._wait,
                                 retry=retry_if_exception_type(RetrySignal), before_sleep=self._before_sleep,
                                 reraise=True)
        try:
            async for attempt in attempts:
                with attempt:
                    queued = time.monotonic()
                    await self._acquire(budget.deadline, operation)
                    budget.left_queue(time.monotonic() - queued)
                    try:
                        return await self._once(method, url, operation=operation, idempotent=idempotent, **kwargs)
                    finally:
                        self.limiter.release()
        except RetrySignal as exhausted:
            raise exhausted.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _stop(self, budget: _Budget) -> Callable[[RetryCallState], bool]:
        def stop(state: RetryCallState) -> bool:
            next_try = time.monotonic() + (state.upcoming_sleep or 0.0)
            if budget.deadline is not None:
                return next_try >= budget.deadline
            return (state.attempt_number >= self.retry.max_attempts
                    or budget.spent(at=next_try) > self.retry.max_total_s)

        return stop

    def _wait(self, state: RetryCallState) -> float:
        signal = state.outcome.exception() if state.outcome else None
        if isinstance(signal, RetrySignal) and signal.retry_after:
            return signal.retry_after  # waited in full: the vendor refuses us until then
        return self.retry.backoff(state.attempt_number)

    def _before_sleep(self, state: RetryCallState) -> None:
        signal = state.outcome.exception() if state.outcome else None
        if isinstance(signal, RetrySignal) and signal.retry_after:
            self.limiter.hold(signal.retry_after)  # every request of ours would be refused meanwhile
        self.stats.retries += 1

    async def _acquire(self, deadline: float | None, operation: str) -> None:
        if deadline is None:
            await self._take_turn()
            return
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self._take_turn()
        except TimeoutError:
            raise DeadlinePassedError(self.system, f"{operation} was still waiting for its turn when the "
                                                   "read's deadline passed") from None

    async def _take_turn(self) -> None:
        if (shared := SHARED_BUDGET.get()) is not None:
            for per_window, window_s in self.limiter.windows():
                await shared.take(system=self.system, per_window=per_window, window_s=window_s)
        await self.limiter.acquire()

    async def _once(self, method: str, url: str, *, operation: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
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
