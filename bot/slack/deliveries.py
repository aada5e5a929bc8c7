"""Slack retries never repeat an action: a delivery whose trigger_id (or event_id) already ran is acked
and dropped, whichever instance it reaches.

The keys live in the `slack_deliveries` table: the first delivery INSERTs its key, and a unique-key
collision means another delivery (a retry with `X-Slack-Retry-Num`, here or on another instance)
already ran it. Slack retries within about five minutes; rows older than an hour are pruned.
When the database cannot be reached the delivery runs (logged): losing an action is worse than the
rare double that the listener's own database work would then refuse anyway.

SQLite (one instance) has one writer for the whole file, and a cycle storing a complete read holds it for seconds
(`bot.db.one_writer`); an ack whose insert waited for it waited as long (issue 18). There the keys this instance saw
are also kept in memory, and an insert that does not get the writer at once is not waited for: the key is checked
by a read (which never waits for the writer in WAL mode: a key stored before a restart) and stored behind the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import delete, insert, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.clock import SYSTEM_CLOCK, Clock
from bot.db.models import SlackDelivery

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(hours=1)
PRUNE_EVERY_S = 5 * 60
MAX_KEY_LENGTH = 160  # slack_deliveries.key
SQLITE_WRITER_WAIT_MS = 50  # how long an ack's insert waits for SQLite's writer before it is stored behind the ack
STORE_BEHIND_ROWS = 500  # keys in one statement when they are stored behind their acks


class SeenDeliveries:
    """The set of delivery keys already handled, shared by every instance on one database."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock = SYSTEM_CLOCK,
                 keep_for: timedelta = KEEP_FOR) -> None:
        self.sessions = sessions
        self.clock = clock
        self.keep_for = keep_for
        self._pruned_at: float | None = None
        # SQLite takes one writer at a time and its busy handler backs off in sleeps of up to 100 ms;
        # queueing this process's inserts here instead keeps the ack fast under a burst of interactions
        self._sqlite_writes = asyncio.Lock() if sessions.kw["bind"].dialect.name == "sqlite" else None
        self._seen_here: dict[str, datetime] = {}  # SQLite: the keys this instance saw, oldest first
        self._to_store: list[tuple[str, datetime]] = []  # SQLite: seen while the writer was busy, not stored yet
        self._storing: asyncio.Task[None] | None = None

    async def first_time(self, key: str) -> bool:
        """True, and remember the key, unless some instance has already seen it."""
        now = self.clock()
        if self._sqlite_writes is None:
            return await self._record(key, now)
        key = key[:MAX_KEY_LENGTH]
        self._forget_before(now - self.keep_for)
        if key in self._seen_here:
            return False
        self._seen_here[key] = now
        if self._storing is None:
            async with self._sqlite_writes:
                if self._storing is None and (stored := await self._record_unless_busy(key, now)) is not None:
                    return stored
        if await self._stored_before(key):
            return False
        self._to_store.append((key, now))
        if self._storing is None:
            self._storing = asyncio.create_task(self._store_behind())
        return True

    async def stored(self) -> None:
        """Return once the keys stored behind their acks are in the database (tests, shutdown)."""
        while self._storing is not None:
            await asyncio.shield(self._storing)

    async def _record(self, key: str, now: datetime) -> bool:
        try:
            async with self.sessions() as session:
                await self._prune_now_and_then(session, now)
                session.add(SlackDelivery(key=key[:MAX_KEY_LENGTH], seen_at=now))
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    return False
        except (SQLAlchemyError, OSError):  # OSError: the driver could not even connect
            log.exception("cannot record the Slack delivery %s; handling it without the retry check", key)
        return True

    async def _record_unless_busy(self, key: str, now: datetime) -> bool | None:
        """SQLite: insert the key if the writer is free within `SQLITE_WRITER_WAIT_MS`; None when it was not. Each
        statement commits by itself (autocommit), so the writer is never held across a turn of a busy loop."""
        try:
            async with self._autocommit() as connection:
                usual = await connection.scalar(text("PRAGMA busy_timeout"))
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WRITER_WAIT_MS}")
                try:
                    await self._prune_now_and_then(connection, now)
                    await connection.execute(insert(SlackDelivery).values(key=key, seen_at=now))
                except IntegrityError:
                    return False
                except OperationalError as exc:
                    if _locked(exc):
                        return None
                    raise
                finally:
                    await connection.exec_driver_sql(f"PRAGMA busy_timeout={int(usual)}")
        except (SQLAlchemyError, OSError):
            log.exception("cannot record the Slack delivery %s; handling it without the retry check", key)
        return True

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        async with self.sessions.kw["bind"].connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def _stored_before(self, key: str) -> bool:
        try:
            async with self.sessions() as session:
                return await session.scalar(select(SlackDelivery.key).where(SlackDelivery.key == key)) is not None
        except (SQLAlchemyError, OSError):
            log.exception("cannot read the Slack delivery %s; handling it without the retry check", key)
            return False

    async def _store_behind(self) -> None:
        """Store the keys seen while the writer was busy, waiting for it as long as it takes."""
        try:
            while self._to_store:
                batch, self._to_store = self._to_store, []
                try:
                    async with self._sqlite_writes, self._autocommit() as connection:
                        await self._prune_now_and_then(connection, batch[-1][1])
                        for first in range(0, len(batch), STORE_BEHIND_ROWS):
                            rows = [{"key": key, "seen_at": seen_at}
                                    for key, seen_at in batch[first:first + STORE_BEHIND_ROWS]]
                            await connection.execute(sqlite_insert(SlackDelivery).values(rows).on_conflict_do_nothing())
                except (SQLAlchemyError, OSError) as exc:
                    if _locked(exc):
                        self._to_store[:0] = batch  # still busy after the usual wait: again
                        continue
                    log.exception("cannot store %d Slack deliveries; a retry of one may run again", len(batch))
        finally:
            self._storing = None

    def _forget_before(self, cutoff: datetime) -> None:
        while self._seen_here:
            key, seen_at = next(iter(self._seen_here.items()))
            if seen_at >= cutoff:
                return
            del self._seen_here[key]

    async def _prune_now_and_then(self, session: AsyncSession | AsyncConnection, now: datetime) -> None:
        monotonic = time.monotonic()
        if self._pruned_at is not None and monotonic - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = monotonic
        await session.execute(delete(SlackDelivery).where(SlackDelivery.seen_at < now - self.keep_for))
        await session.commit()  # on its own, so a collision's rollback below does not undo it


def _locked(error: BaseException) -> bool:
    """SQLite's writer was held by another transaction for longer than the connection's busy timeout."""
    return isinstance(error, OperationalError) and "locked" in str(error.orig)


def delivery_key(body: dict[str, Any]) -> str | None:
    return body.get("trigger_id") or body.get("event_id")


def drop_repeated_deliveries(seen: SeenDeliveries):
    """Bolt global middleware: a retried delivery of something that already ran is answered 200, empty."""

    async def middleware(req: AsyncBoltRequest, resp: BoltResponse,
                         next: Callable[[], Awaitable[None]]) -> BoltResponse:  # noqa: A002 - Bolt's name
        key = delivery_key(req.body)
        if key is not None and not await seen.first_time(key):
            retry = req.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("dropped a repeated Slack delivery (retry %s) of %s", retry, key)
            return BoltResponse(status=200, body="")
        await next()
        return resp

    return middleware
