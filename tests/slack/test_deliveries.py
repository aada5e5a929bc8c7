"""Slack's retries never repeat an action, even when the retry reaches another instance on the same database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from bot.db.engine import create_engine, session_factory
from bot.db.models import SlackDelivery
from bot.sandbox.slack_requests import Delivery, SlackRequestSender
from bot.slack.deliveries import SeenDeliveries
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    SAM,
    SECRET,
    replies_to,
    slack,
    start_app,
)


async def test_a_retry_delivered_to_another_instance_is_not_run_again(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                       database_url):
    recorder, _ = slack
    _, first_sender = await start_app(aiohttp_client, slack, tmp_path / "one", database_url)
    second_context, second_sender = await start_app(aiohttp_client, slack, tmp_path / "two", database_url)
    assert first_sender._client is not second_sender._client

    first = await first_sender.slash_command("help", user_id=SAM)
    await listeners_done()
    assert replies_to(recorder, SAM)
    retried = await second_sender.redeliver(first, retry_num=1, retry_reason="http_timeout")
    later = await second_sender.redeliver(first, retry_num=2, retry_reason="http_timeout")

    assert (first.status, retried.status, later.status) == (200, 200, 200)
    assert retried.body == "" and later.body == ""
    assert retried.payload == first.payload  # the same trigger_id, delivered again
    # the second instance still runs what it has not seen
    await second_sender.slash_command("help", user_id=DANA)
    await listeners_done()
    assert replies_to(recorder, DANA)
    assert len(replies_to(recorder, SAM)) == 1
    async with second_context.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SlackDelivery)) == 2


async def test_a_retry_to_the_same_instance_is_dropped_and_a_first_delivery_with_a_retry_header_runs(
        aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    first = await sender.slash_command("help", user_id=SAM, channel_id=BILLING_CHANNEL)
    await listeners_done()
    assert replies_to(recorder, SAM)
    assert (await sender.redeliver(first)).body == ""

    # A retry whose first delivery never arrived is new to us: it runs once.
    other = SlackRequestSender(signing_secret=SECRET, events_url="/slack/events", recorder=recorder,
                               client=sender._client, default_user_id=DANA, default_channel_id=BILLING_CHANNEL)
    lost = await other.slash_command("help", delivery=Delivery(retry_num=1, retry_reason="http_timeout"))
    await listeners_done()
    assert replies_to(recorder, DANA)
    assert lost.status == 200
    assert (await other.redeliver(lost, retry_num=2)).body == ""
    assert len(replies_to(recorder, SAM)) == 1 and len(replies_to(recorder, DANA)) == 1


async def test_keys_older_than_an_hour_are_pruned(engine):
    sessions = session_factory(engine)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    clock = [now - timedelta(hours=2)]
    seen = SeenDeliveries(sessions=sessions, clock=lambda: clock[0])
    assert await seen.first_time("old-trigger")
    assert not await seen.first_time("old-trigger")

    clock[0] = now
    fresh = SeenDeliveries(sessions=sessions, clock=lambda: clock[0])  # a restarted instance prunes at once
    assert await fresh.first_time("new-trigger")
    async with sessions() as session:
        assert list(await session.scalars(select(SlackDelivery.key))) == ["new-trigger"]
    assert await fresh.first_time("old-trigger")  # forgotten after an hour: Slack stopped retrying long ago


async def test_an_unreachable_database_lets_the_delivery_run(caplog):
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    seen = SeenDeliveries(sessions=session_factory(engine))
    assert await seen.first_time("trigger-1")
    assert "without the retry check" in caplog.text
    await engine.dispose()


async def test_on_sqlite_an_ack_does_not_wait_while_a_long_write_holds_the_writer(engine, caplog):
    """A cycle storing a complete read holds SQLite's one writer for seconds (bot.db.one_writer): the delivery is
    decided without waiting for it, and its key is stored once the writer is free."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one writer; PostgreSQL inserts beside a long write")
    sessions = session_factory(engine)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    async with sessions() as session:
        session.add(SlackDelivery(key="before-a-restart", seen_at=now))
        await session.commit()
    seen = SeenDeliveries(sessions=sessions, clock=lambda: now)
    async with engine.connect() as long_write:
        await long_write.execute(delete(SlackDelivery).where(SlackDelivery.key == "nothing"))  # takes the writer
        # the writer stays held until the checks below are done: waiting for it would wait out the busy timeout
        decided = await asyncio.wait_for(asyncio.gather(
            seen.first_time("trigger-1"), seen.first_time("trigger-1"), seen.first_time("before-a-restart"),
            seen.first_time("trigger-2")), timeout=10)
        assert decided == [True, False, False, True]
        assert await session_keys(sessions) == ["before-a-restart"]  # not stored yet
        await long_write.rollback()
    await seen.stored()
    assert await session_keys(sessions) == ["before-a-restart", "trigger-1", "trigger-2"]
    restarted = SeenDeliveries(sessions=sessions, clock=lambda: now)
    assert not await restarted.first_time("trigger-2") and await restarted.first_time("trigger-3")
    assert "without the retry check" not in caplog.text


async def session_keys(sessions) -> list[str]:
    async with sessions() as session:
        return sorted(await session.scalars(select(SlackDelivery.key)))
