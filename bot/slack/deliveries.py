"""Slack retries never repeat an action: a delivery whose trigger_id (or event_id) already ran is acked
and dropped, whichever instance it reaches.

The keys live in the `slack_deliveries` table: the first delivery INSERTs its key, and a unique-key
collision means another delivery (a retry with `X-Slack-Retry-Num`, here or on another instance)
already ran it. Slack retries within about five minutes; rows older than an hour are pruned.
When the database cannot be reached the delivery runs (logged): losing an action is worse than the
rare double that the listener's own database work would then refuse anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import SYSTEM_CLOCK, Clock
from bot.db.models import SlackDelivery

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(hours=1)
PRUNE_EVERY_S = 5 * 60
MAX_KEY_LENGTH = 160  # slack_deliveries.key


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

    async def first_time(self, key: str) -> bool:
        """True, and remember the key, unless some instance has already seen it."""
        now = self.clock()
        if self._sqlite_writes is None:
            return await self._record(key, now)
        async with self._sqlite_writes:
            return await self._record(key, now)

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

    async def _prune_now_and_then(self, session: AsyncSession, now: datetime) -> None:
        monotonic = time.monotonic()
        if self._pruned_at is not None and monotonic - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = monotonic
        await session.execute(delete(SlackDelivery).where(SlackDelivery.seen_at < now - self.keep_for))
        await session.commit()  # on its own, so a collision's rollback below does not undo it


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
