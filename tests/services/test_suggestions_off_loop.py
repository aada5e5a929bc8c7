"""Suggesting links for thousands of companies takes seconds of CPU; the event loop (Slack's acks) must not
wait for it.

No figure here depends on the machine's load: the loop's default executor notes when each job it runs
starts and ends, and the test counts the loop's turns inside the pairing's own window. Pairing on the loop
leaves no long job in the executor (and no turn while it runs); a loaded machine only makes the window
longer. How long the loop may stall is a speed figure: `bench/suggestions_loop.py` measures it.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from bot.services.suggestions import suggest_links
from tests.conftest import PINNED_NOW
from tests.many_companies import insert_many_companies


class TimedExecutor(ThreadPoolExecutor):
    """A thread pool that notes the (start, end) of every job it runs, in perf_counter seconds."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="timed")
        self.windows: list[tuple[float, float]] = []

    def submit(self, fn, /, *args, **kwargs):
        def timed():
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.windows.append((start, time.perf_counter()))

        return super().submit(timed)


async def test_the_event_loop_keeps_turning_while_5000_companies_are_paired(session):
    await insert_many_companies(session=session, count=5000, now=PINNED_NOW)
    executor = TimedExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    turns: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            await asyncio.sleep(0.01)
            turns.append(time.perf_counter())

    ticking = asyncio.create_task(ticker())
    try:
        suggestions = await suggest_links(session=session, psa="autotask")
    finally:
        done.set()
        await ticking
        executor.shutdown()

    assert len(suggestions) > 4500
    start, end = max(executor.windows, key=lambda window: window[1] - window[0], default=(0.0, 0.0))
    assert end - start > 0.3, f"the pairing did not run in a worker thread (longest job {end - start:.2f} s)"
    during = [turn for turn in turns if start < turn < end]
    assert len(during) >= 3, f"the loop turned {len(during)} times in the {end - start:.2f} s of pairing"
