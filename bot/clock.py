"""The one source of "now": an injectable clock, held by the application context.

A clock is any callable returning an aware UTC datetime, so code that took `clock: Callable[[], datetime]`
keeps working. Production uses `SystemClock`; the demo's simulated days move an `OffsetClock`; tests
pin a `ManualClock` to a date of their choosing and move it by hand, so no expected value depends on
the real date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """Stands still until told to move (tests)."""

    def __init__(self, now: datetime) -> None:
        self._now = _aware(now)

    def __call__(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = _aware(now)

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


class OffsetClock:
    """Another clock shifted by an offset that can move (the demo lets days pass this way)."""

    def __init__(self, base: Clock | None = None, offset: timedelta = timedelta(0)) -> None:
        self.base = base or SystemClock()
        self.offset = offset

    def __call__(self) -> datetime:
        return self.base() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def __repr__(self) -> str:
        return f"OffsetClock({self.base!r}, {self.offset})"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a clock reads aware datetimes (UTC); got a naive one")
    return value.astimezone(UTC)


SYSTEM_CLOCK = SystemClock()
