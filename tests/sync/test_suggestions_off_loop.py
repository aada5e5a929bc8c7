"""Suggesting links for thousands of companies takes seconds of CPU; the event loop (Slack's acks) must not
wait for it."""

from __future__ import annotations

import asyncio
import time

from bot.db.models import PsaSystem
from bot.sandbox.many_companies import insert_many_companies
from bot.sync.suggestions import suggest_links


async def test_the_event_loop_keeps_turning_while_5000_companies_are_paired(session):
    await insert_many_companies(session=session, count=5000)
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    suggestions = await suggest_links(session=session, psa=PsaSystem.autotask)
    took = time.perf_counter() - started
    done.set()
    await ticking

    assert len(suggestions) > 4500
    assert took > 0.5, "too little work to tell"
    # relative, so a loaded machine slows both sides alike: pairing on the loop would be one gap of ~all of it
    assert max(gaps) < took / 2, f"the loop stalled {max(gaps):.2f} s of {took:.2f} s"
