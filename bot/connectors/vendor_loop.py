"""The vendors' event loop: every connector call runs on one worker thread with an asyncio loop of its own.

Why: a large read is thousands of HTTP calls whose request and reply handling (httpx, XML-RPC and JSON parsing)
costs milliseconds of CPU each. On the loop that also serves Slack and the web, that CPU is time every ack waits
behind; on a loop of its own, the serving loop only awaits results, and the thread switch (the GIL's switch
interval) bounds how long an ack waits for the vendors' work.

`VENDOR_LOOP.run(fn, *args)` runs `fn(*args)` (a coroutine function) as a task on the vendor loop, in a copy of the
caller's context (tenant, read deadline, shared budget, log redaction), and awaits its outcome from the caller's
loop: its result, or its exception itself (the same object, so typed connector errors keep their type).
Cancelling the caller cancels the task and waits for it to end; a task cancelled on the vendor loop (at shutdown)
cancels the caller. `call_on(loop, fn, *args)` is the same in either direction: the vendor side uses it to reach
back to the serving loop for what lives there (the shared budget's database sessions,
`bot.connectors.shared_budget.on_caller_loop`).

The thread is a daemon started on first use; `stop()` (the server's cleanup, the CLI's exit, an atexit hook as a
last resort) cancels what still runs on it and ends it; a later `run` starts a new one.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.connectors.shared_budget import SHARED_BUDGET, SharedBudget

T = TypeVar("T")

# the loop the current task was called from, set in the context a vendor task runs in (None on the caller's side)
CALLER_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "seatsync_caller_loop", default=None)


async def call_on(loop: asyncio.AbstractEventLoop, fn: Callable[..., Awaitable[T]], *args: Any,
                  context: contextvars.Context | None = None, **kwargs: Any) -> T:
    """`await fn(*args, **kwargs)` as a task on `loop` (another thread's), in a copy of the current context (or
    `context`); the outcome crosses back as it is; cancellation crosses both ways."""
    context = contextvars.copy_context() if context is None else context
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
    tasks: list[asyncio.Task[T]] = []

    def start() -> None:
        if outcome.done():  # the caller gave up before the task could start
            return
        task = loop.create_task(fn(*args, **kwargs), context=context)
        tasks.append(task)
        task.add_done_callback(lambda done: _settle(outcome, done))

    def cancel() -> None:
        if tasks:
            tasks[0].cancel()
        elif not outcome.done():
            outcome.cancel()

    loop.call_soon_threadsafe(start)
    waiter = asyncio.wrap_future(outcome)
    try:
        return await asyncio.shield(waiter)
    except asyncio.CancelledError:
        if waiter.cancelled():  # cancelled on the far side: nothing left to wait for
            raise
        loop.call_soon_threadsafe(cancel)
        try:  # the far task ends (its finally blocks run) before the caller goes on
            await waiter
        except BaseException:  # noqa: S110 - the caller's cancellation is what is raised
            pass
        raise


def _settle(outcome: concurrent.futures.Future, task: asyncio.Task) -> None:
    if task.cancelled():
        outcome.cancel()
    elif (error := task.exception()) is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(task.result())


class VendorLoop:
    """One daemon thread running an event loop for the vendors' I/O (see the module's docstring)."""

    def __init__(self, name: str = "seatsync-vendors") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running vendor loop, started on first use."""
        with self._lock:
            if self._loop is None or not self._thread or not self._thread.is_alive():
                self._loop, self._thread = self._start()
            return self._loop

    def on_it(self) -> bool:
        """Is the calling code running on the vendor loop?"""
        loop = self._loop
        return loop is not None and _running_loop() is loop

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`await fn(*args, **kwargs)` on the vendor loop (directly when already on it)."""
        if self.on_it():
            return await fn(*args, **kwargs)
        context = contextvars.copy_context()
        context.run(_enter_vendor_side, asyncio.get_running_loop())
        return await call_on(self.loop, fn, *args, context=context, **kwargs)

    async def stop(self) -> None:
        """Cancel what still runs on the vendor loop, let it end, and end the thread (awaited, so a task reaching
        back to the caller's loop meanwhile is still served)."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        ended: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: loop.create_task(_wind_down(loop, ended)))
        await asyncio.wrap_future(ended)
        await asyncio.to_thread(thread.join)

    def stop_now(self) -> None:
        """`stop` for code outside any loop (the interpreter's exit): tasks reaching back to a caller's loop that is
        no longer running are cut off."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None or not thread.is_alive():
            return
        ended: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: loop.create_task(_wind_down(loop, ended)))
        thread.join(timeout=5)

    def _start(self) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=serve, name=self.name, daemon=True)
        thread.start()
        ready.wait()
        return loop, thread


async def _wind_down(loop: asyncio.AbstractEventLoop, ended: concurrent.futures.Future[None]) -> None:
    others = [task for task in asyncio.all_tasks(loop) if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    ended.set_result(None)
    loop.stop()


class OnVendorLoop:
    """A connector (or its invoice reader) whose coroutine methods run on the vendor loop. Everything else (its
    system, call counters, flags, plain methods such as `watch_services`) is the connector's own, read and set
    through. It is built on the caller's thread: a client binds to a loop only when it first waits, on the
    vendor loop (httpx's pool, asyncio's locks)."""

    def __init__(self, target: Any, vendor_loop: VendorLoop | None = None) -> None:
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "_vendor_loop", vendor_loop or VENDOR_LOOP)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.target, name)
        if not inspect.iscoroutinefunction(value):
            return value
        vendor_loop = self._vendor_loop

        @functools.wraps(value)
        async def on_vendor_loop(*args: Any, **kwargs: Any) -> Any:
            return await vendor_loop.run(value, *args, **kwargs)

        return on_vendor_loop

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.target, name, value)

    def __repr__(self) -> str:
        return f"OnVendorLoop({self.target!r})"


def unwrapped(connector: Any) -> Any:
    """The connector itself, behind an `OnVendorLoop` or not."""
    return connector.target if isinstance(connector, OnVendorLoop) else connector


class _BudgetOnCallerLoop:
    """A shared budget taken on the loop it belongs to (its database sessions are bound to that loop)."""

    def __init__(self, budget: SharedBudget, loop: asyncio.AbstractEventLoop) -> None:
        self.budget, self.loop = budget, loop

    async def take(self, *, system: str, per_window: int, window_s: float) -> None:
        await call_on(self.loop, self.budget.take, system=system, per_window=per_window, window_s=window_s)


def _enter_vendor_side(caller: asyncio.AbstractEventLoop) -> None:
    """In the context a vendor task gets: where it was called from, and the caller's budget taken there."""
    CALLER_LOOP.set(caller)
    budget = SHARED_BUDGET.get()
    if budget is not None and not isinstance(budget, _BudgetOnCallerLoop):
        SHARED_BUDGET.set(_BudgetOnCallerLoop(budget, caller))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


VENDOR_LOOP = VendorLoop()
atexit.register(VENDOR_LOOP.stop_now)
