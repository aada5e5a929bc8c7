"""Many reads of one vendor through a bounded pool of workers.

A large read makes thousands of requests (one per agreement, per subscription, per customer: whatever
the vendor's API cannot list in bulk). Starting a task for each would leave thousands of them parked on the
client's limiter: memory for nothing, and a cancellation storm when one fails. Instead `fan_out` runs
as many workers as the limiter lets requests fly; each takes the next item when it is done with one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from bot.connectors.errors import ConnectorError

T = TypeVar("T")
R = TypeVar("R")


async def fan_out(items: Iterable[T], call: Callable[[T], Awaitable[R]], *, workers: int) -> list[R]:
    """`call(item)` for every item, at most `workers` at a time; the results in the items' order.
    The first failure stops the other workers and is raised itself (not an exception group)."""
    pending: Sequence[T] = list(items)
    results: list[R] = [None] * len(pending)  # type: ignore[list-item]
    indexes = iter(range(len(pending)))  # shared: each index is taken by exactly one worker

    async def worker() -> None:
        for index in indexes:
            results[index] = await call(pending[index])

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(workers, len(pending)))):
                group.create_task(worker())
    except BaseExceptionGroup as failures:
        raise first_failure(failures) from None
    return results


def first_failure(failures: BaseExceptionGroup) -> BaseException:
    """The connector error among a group's failures (the others are usually its consequences)."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [failures]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        else:
            leaves.append(current)
    return next((e for e in leaves if isinstance(e, ConnectorError)), leaves[0])
