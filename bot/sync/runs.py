"""Sync runs that die are marked as such: each run names its process and heartbeats while its cycle runs.

A process killed mid-cycle (SIGKILL, a crash, the host gone) leaves its run `running`. The next cycle to start, on
any instance, marks every run whose heartbeat is older than `stale_after` as failed with an "interrupted" error.
A live instance's cycle heartbeats every `stale_after / 3`, so another instance starting a cycle beside it never
takes it for dead, however long its reads take.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import SyncRun, SyncRunStatus

log = logging.getLogger(__name__)

INTERRUPTED = ("interrupted: the process running this cycle stopped (killed, crashed or shut down) before it "
               "finished; what it had posted is settled by the cycles after it")


async def mark_interrupted_runs(*, session: AsyncSession, now: datetime, stale_after: timedelta) -> int:
    """Mark the runs whose process stopped heartbeating as failed ("interrupted"); returns how many. A run from
    before heartbeats existed counts from its start. The caller commits."""
    marked = await session.execute(
        update(SyncRun)
        .where(SyncRun.status == SyncRunStatus.running,
               func.coalesce(SyncRun.heartbeat_at, SyncRun.started_at) < now - stale_after)
        .values(status=SyncRunStatus.failed, finished_at=now, error=INTERRUPTED)
        .execution_options(synchronize_session=False))
    if marked.rowcount:
        log.warning("%d sync run(s) left running by a process that stopped were marked interrupted", marked.rowcount)
    return marked.rowcount


async def end_runs_of(*, sessions: async_sessionmaker[AsyncSession], owner: str, now: datetime, error: str) -> None:
    """A cycle of this process failed with an exception: its run is not left running."""
    async with sessions() as session:
        await session.execute(
            update(SyncRun).where(SyncRun.owner == owner, SyncRun.status == SyncRunStatus.running)
            .values(status=SyncRunStatus.failed, finished_at=now, error=error)
            .execution_options(synchronize_session=False))
        await session.commit()


@contextlib.asynccontextmanager
async def heartbeat_while(*, sessions: async_sessionmaker[AsyncSession], owner: str,
                          clock: Callable[[], datetime], every: timedelta) -> AsyncIterator[None]:
    """Renew the heartbeat of this process's running runs every `every` until the block ends."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every.total_seconds())
            try:
                async with sessions() as session:
                    await session.execute(
                        update(SyncRun).where(SyncRun.owner == owner, SyncRun.status == SyncRunStatus.running)
                        .values(heartbeat_at=clock()).execution_options(synchronize_session=False))
                    await session.commit()
            except Exception:  # the database may be away for a moment; the next beat tries again
                log.warning("the sync run heartbeat could not be written", exc_info=True)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
