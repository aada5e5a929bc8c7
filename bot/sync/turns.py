"""Long loops over a large read give the event loop back every so often.

A complete read of a large MSP stores tens of thousands of rows, and building, adding and flushing ORM objects is
Python work on the event loop: without a pause it held the loop for seconds at a time, and every Slack ack in
that window waited (Slack gives up after 3 s). Every `EVERY` rows the loop flushes what it added (so one flush
never prepares ten thousand rows at once) and lets the other tasks run.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

EVERY = 200  # rows between turns: a few tens of ms of ORM work on a loaded machine


async def give_a_turn(session: AsyncSession, done: int) -> None:
    """After the `done`-th row of a long loop (counting from 1)."""
    if done % EVERY == 0:
        await session.flush()
        await asyncio.sleep(0)
