"""The scripted demo's signs of life: a line per phase on stderr, a heartbeat while a phase runs, and
a watchdog that ends a run that has stopped moving, saying where it stood.

A large run spends minutes reading (a large PSA's cycle can be ~4,000 calls at 1,000 a minute), so a
person must see it is alive. A run is stuck, not slow, when for `stall_s` seconds no vendor call was
answered and the process used almost no CPU (the demo's own work and the in-process simulators both
burn CPU; waiting on a lock, a leaked limiter place or an event that never comes does not).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any, TextIO, TypeVar

from bot.connectors.http import CallStats

T = TypeVar("T")
STALL_S = 180.0
HEARTBEAT_S = 30.0
IDLE_CPU_S = 2.0  # CPU seconds within stall_s below which the process counts as idle


class DemoFailed(Exception):
    """The run cannot finish; the message says why (printed by `seatsync demo`, which exits non-zero)."""


class Progress:
    def __init__(self, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.phase = "starting"

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.line(phase)

    def line(self, text: str) -> None:
        stream = self.stream or sys.stderr
        print(f"seatsync demo [{self.clock() - self.started:6.0f} s] {text}", file=stream, flush=True)


class Watchdog:
    """Runs the demo's script; beats every `heartbeat_s`; cancels it with DemoFailed when it stalls."""

    def __init__(self, progress: Progress, stats: Callable[[], dict[str, CallStats]], *,
                 stall_s: float = STALL_S, heartbeat_s: float = HEARTBEAT_S,
                 cpu: Callable[[], float] = time.process_time) -> None:
        self.progress = progress
        self.stats = stats
        self.stall_s = stall_s
        self.heartbeat_s = heartbeat_s
        self.cpu = cpu

    async def run(self, script: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(script)
        watch = asyncio.ensure_future(self._watch())
        try:
            await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
        if watch.done() and not watch.cancelled() and watch.exception() is not None:
            raise watch.exception()  # type: ignore[misc]
        return task.result()

    async def _watch(self) -> None:
        last_calls, last_cpu, last_move = self._calls(), self.cpu(), self.progress.clock()
        while True:
            await asyncio.sleep(self.heartbeat_s)
            calls, cpu, now = self._calls(), self.cpu(), self.progress.clock()
            self.progress.line(f"still {self.progress.phase}: {self._tally()}")
            if calls != last_calls or cpu - last_cpu >= IDLE_CPU_S:
                last_calls, last_cpu, last_move = calls, cpu, now
            elif now - last_move >= self.stall_s:
                raise DemoFailed(f"stuck while {self.progress.phase}: no vendor call answered and the process "
                                 f"idle for {now - last_move:.0f} s ({self._tally()}); waiting at: {waiting_at()}")

    def _calls(self) -> int:
        return sum(stats.total for stats in self.stats().values())

    def _tally(self) -> str:
        parts = [f"{stats.total:,} {system} calls" for system, stats in self.stats().items()]
        retries = sum(stats.retries for stats in self.stats().values())
        return ", ".join(parts) + f", {retries:,} retried"


def waiting_at(most: int = 3) -> str:
    """Where the other tasks of the loop are parked (innermost frames), most common first."""
    places: Counter[str] = Counter()
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is current:
            continue
        frames: list[str] = []
        awaited: Any = task.get_coro()
        while awaited is not None and len(frames) < 50:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                frames.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename.rsplit('/', 1)[-1]}:"
                              f"{frame.f_lineno})")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
        places[" < ".join(reversed(frames[-3:])) or repr(task)] += 1
    return "; ".join(f"{count} task(s) in {place}" for place, count in places.most_common(most)) or "nothing"
