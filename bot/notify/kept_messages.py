"""Messages SeatSync keeps up to date instead of repeating: one per failure cause, held change, health alert.

`keep_message` posts the message the first time its key is seen, and updates it (chat.update) after
that; once resolved (green) a later occurrence of the same key starts a new message. A Slack error
(channel_not_found, not_in_channel, invalid_auth...) is logged, stored on the row for App Home, and
never raised into the job that wanted to tell someone: the next call tries again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import SlackMessage, SlackMessageState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeptMessage:
    key: str
    channel: str
    ts: str | None
    state: SlackMessageState
    posted_new: bool  # a new message went out (rather than an update of the existing one)
    error: str | None  # Slack's error code when it could not be posted or updated


# One writer per key in this process: a button's refresh and a scheduled job's, both finding no message
# yet, would otherwise each post one. (Across processes the unique key keeps one row; the scheduler's
# lease keeps the jobs in one process.)
_key_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


async def keep_message(
    *, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient, key: str, channel: str, text: str,
    blocks: list[dict[str, Any]], resolved: bool = False, payload: dict[str, Any] | None = None,
) -> KeptMessage | None:
    """Post or update the message for `key`. With `resolved`, only an open message is updated (turned
    green); there is nothing to resolve when no message was ever posted, and None is returned."""
    lock = _key_locks.get(key)
    if lock is None:
        lock = _key_locks[key] = asyncio.Lock()
    async with lock:
        return await _keep_message(sessions=sessions, client=client, key=key, channel=channel, text=text,
                                   blocks=blocks, resolved=resolved, payload=payload)


async def _keep_message(
    *, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient, key: str, channel: str, text: str,
    blocks: list[dict[str, Any]], resolved: bool, payload: dict[str, Any] | None,
) -> KeptMessage | None:
    state = SlackMessageState.resolved if resolved else SlackMessageState.open
    async with sessions() as session:
        row = await session.scalar(select(SlackMessage).where(SlackMessage.key == key))
        if row is None and resolved:
            return None
        if row is not None and resolved and row.state is SlackMessageState.resolved:
            return KeptMessage(key, row.channel, row.ts, row.state, posted_new=False, error=None)
        new_occurrence = row is not None and row.state is SlackMessageState.resolved and not resolved
        update_in_place = (row is not None and row.ts is not None and row.channel == channel
                           and not new_occurrence)
        error: str | None = None
        posted_new = False
        ts = row.ts if update_in_place else None
        try:
            if update_in_place:
                try:
                    await client.chat_update(channel=channel, ts=row.ts, text=text, blocks=blocks)
                except SlackApiError as exc:
                    if exc.response.get("error") != "message_not_found":
                        raise
                    update_in_place, ts = False, None  # deleted in Slack: post it again
            if not update_in_place:
                response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
                ts, posted_new = response.get("ts"), True
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "slack_error")
            log.warning("cannot post or update the Slack message %s in %s: %s", key, channel, error)
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = "slack_unreachable"
            log.warning("cannot reach Slack to post or update the message %s: %s", key, type(exc).__name__)
        if row is None:
            row = SlackMessage(key=key, channel=channel, ts=ts, state=state, payload=payload or {}, last_error=error)
            session.add(row)
        else:
            # ts: the message now showing this key; None when a new one should have gone out and did not,
            # so a later call never edits an older (resolved) message by mistake
            row.channel, row.ts = channel, ts
            row.state, row.last_error = state, error
            if payload is not None:
                row.payload = payload
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # another process recorded the same key first; it owns the message
            log.info("the Slack message %s was recorded by another process", key)
        return KeptMessage(key, channel, row.ts, state, posted_new=posted_new, error=error)


async def find_kept_message(*, session: AsyncSession, key: str) -> SlackMessage | None:
    return await session.scalar(select(SlackMessage).where(SlackMessage.key == key))


async def open_kept_messages(*, session: AsyncSession, prefix: str) -> list[SlackMessage]:
    """Messages whose key starts with `prefix` that are not resolved yet (e.g. every open failure alert)."""
    return list(await session.scalars(
        select(SlackMessage).where(SlackMessage.key.startswith(prefix, autoescape=True),
                                   SlackMessage.state == SlackMessageState.open)
        .order_by(SlackMessage.id)))
