"""Await what Bolt's listeners do after their ack, instead of polling for its effects.

SeatSync's Bolt app answers Slack at `ack()` (process_before_response off) and Bolt runs the rest of the listener
in a task of its own on the same event loop (slack_bolt/listener/asyncio_runner.py: the coroutine
`run_ack_function_asynchronously`, created before the HTTP answer is returned). So once a test holds the answer
to a request it sent, that task is pending or already done; `listeners_done()` awaits every pending one (and any
a listener's work starts in turn). A test then asserts on what the work left behind: a failure says at once what
is missing, and nothing waits on a timer.
"""

from __future__ import annotations

import asyncio

BOLT_LISTENER_COROUTINE = "run_ack_function_asynchronously"


def _is_bolt_listener(task: asyncio.Task) -> bool:
    return getattr(task.get_coro(), "__qualname__", "").endswith(BOLT_LISTENER_COROUTINE)


def pending_listeners() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if not task.done() and _is_bolt_listener(task)]


async def listeners_done(limit_s: float = 30.0) -> None:
    """Every listener's work after its ack, finished (its exceptions are Bolt's to log, as in production)."""
    async with asyncio.timeout(limit_s):  # a guard against a listener that never ends, not a wait
        while pending := pending_listeners():
            await asyncio.wait(pending)
