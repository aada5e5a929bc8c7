"""Fault injection for the simulators: latency, error rates, 429 bursts, timeouts, lost replies.

Each simulator gets its own `FaultKnobs`, applied by `fault_middleware` around every route except
the admin ones. Randomness comes from a seeded generator so a run with a given seed is repeatable.

A facade marks a request that changed state with `mark_write(request)`; only those can have their
reply dropped ("apply the write, drop the reply"), which is the failure that tests exactly-once
posting hardest: the PSA has the change, the client never hears so.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields

from aiohttp import web

WRITE_FLAG = web.RequestKey("seatsync_sandbox_write", bool)
ErrorBody = Callable[[int, str], web.Response]


@dataclass
class FaultKnobs:
    latency_ms: float = 0.0  # added to every call
    latency_jitter_ms: float = 0.0
    # added per KiB of the reply's body, so a 1,000-row page costs more than a one-row page, as on a real API
    # (the benchmarks set it; a figure that bigger pages flatter is no figure)
    latency_per_kib_ms: float = 0.0
    error_rates: dict[int, float] = field(default_factory=dict)  # status code -> probability per call
    burst_429: int = 0  # the next N calls get 429
    retry_after_s: float = 1.0  # Retry-After sent with injected 429s
    rate_429: float = 0.0  # probability of a 429 on any call
    timeout_rate: float = 0.0  # probability that a call hangs for `timeout_s` and is not processed
    timeout_s: float = 30.0
    drop_reply_rate: float = 0.0  # probability that a write is applied and its reply dropped
    seed: int = 0
    _rng: random.Random = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.error_rates = {int(k): float(v) for k, v in self.error_rates.items()}

    def roll(self, probability: float) -> bool:
        return probability > 0 and self._rng.random() < probability

    def jitter(self) -> float:
        return self._rng.uniform(0, self.latency_jitter_ms) if self.latency_jitter_ms else 0.0

    def body_delay_ms(self, body_bytes: int) -> float:
        return self.latency_per_kib_ms * body_bytes / 1024

    def as_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data["error_rates"] = {str(k): v for k, v in self.error_rates.items()}
        return data

    def update(self, changes: dict) -> None:
        """Apply a partial update (from the admin route); unknown keys raise ValueError."""
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            if name == "error_rates":
                value = {int(k): float(v) for k, v in dict(value).items()}
                bad = [code for code in value if not 400 <= code <= 599]
                if bad:
                    raise ValueError(f"error_rates: {bad} are not HTTP error statuses")
            elif name in ("burst_429", "seed"):
                value = int(value)
            else:
                value = float(value)
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
            setattr(self, name, value)
        if "seed" in changes:
            self._rng = random.Random(self.seed)

    def reset(self) -> None:
        fresh = FaultKnobs(seed=self.seed)
        for name, value in asdict(fresh).items():
            if not name.startswith("_"):
                setattr(self, name, value)
        self._rng = random.Random(self.seed)


# Named profiles for the demo and the checks.
PROFILES: dict[str, dict] = {
    "none": {},
    "light": {"latency_ms": 5, "latency_jitter_ms": 10, "error_rates": {500: 0.02}, "rate_429": 0.02,
              "retry_after_s": 0.2, "drop_reply_rate": 0.02},
    "heavy": {"latency_ms": 5, "latency_jitter_ms": 20, "error_rates": {500: 0.08, 503: 0.04}, "rate_429": 0.08,
              "retry_after_s": 0.2, "timeout_rate": 0.03, "timeout_s": 3.0, "drop_reply_rate": 0.10},
}


def mark_write(request: web.Request) -> None:
    """Called by a facade once it has applied a change for this request."""
    request[WRITE_FLAG] = True


def fault_middleware(knobs: FaultKnobs, error_body: ErrorBody):
    """An aiohttp middleware applying `knobs`; `error_body(status, message)` speaks the vendor's shape."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        delay = knobs.latency_ms + knobs.jitter()
        if delay:
            await asyncio.sleep(delay / 1000)
        if knobs.burst_429 > 0:
            knobs.burst_429 -= 1
            return _too_many(knobs, error_body)
        if knobs.roll(knobs.rate_429):
            return _too_many(knobs, error_body)
        if knobs.roll(knobs.timeout_rate):
            await asyncio.sleep(knobs.timeout_s)
            return error_body(504, "Gateway Timeout")
        for status, rate in knobs.error_rates.items():
            if knobs.roll(rate):
                return error_body(status, _REASONS.get(status, "Injected error"))
        response = await handler(request)
        body = getattr(response, "body", None)
        if knobs.latency_per_kib_ms and isinstance(body, bytes):
            await asyncio.sleep(knobs.body_delay_ms(len(body)) / 1000)
        if request.get(WRITE_FLAG) and knobs.roll(knobs.drop_reply_rate):
            # The change is applied; the client must never learn the outcome from this reply.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        return response

    return middleware


def _too_many(knobs: FaultKnobs, error_body: ErrorBody) -> web.Response:
    response = error_body(429, "Too many requests")
    response.headers["Retry-After"] = f"{knobs.retry_after_s:g}"
    return response


_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
