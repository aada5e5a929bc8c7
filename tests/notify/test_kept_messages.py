"""Kept Slack messages against the Slack simulator and a real database: post once, update after, turn green,
and every Slack refusal stored (for App Home) instead of raised."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.db.engine import session_factory
from bot.db.models import SlackMessage, SlackMessageState
from bot.notify.kept_messages import find_kept_message, keep_message, open_kept_messages
from bot.sandbox.slack_ratelimit import SlackRateLimits
from bot.services.dashboard import undelivered_messages
from bot.slack.bolt_app import create_slack_client
from tests.commands.test_seats_command import TOKEN, slack  # noqa: F401 - the slack fixture
from tests.conftest import make_env

ALERTS = "C0BILLING01"
NOT_A_MEMBER = "C0RANDOM001"


def blocks(text: str) -> list[dict]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def client_for(slack, tmp_path, token: str = TOKEN):  # noqa: F811
    _, server = slack
    settings = load_settings(make_env(tmp_path, SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET="s",
                                      SEATSYNC_SLACK_API_URL=str(server.make_url("/slack/api/"))), dotenv_path=None)
    return create_slack_client(settings)


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


async def keep(sessions, client, key="failure:x", channel=ALERTS, text="Autotask refused 3 changes", **kw):
    return await keep_message(sessions=sessions, client=client, key=key, channel=channel, text=text,
                              blocks=blocks(text), **kw)


async def test_posted_once_then_updated_then_green_then_a_new_occurrence_posts_again(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)

    first = await keep(sessions, client, payload={"count": 1})
    second = await keep(sessions, client, text="Autotask refused 4 changes")
    green = await keep(sessions, client, text="Posted after 3 attempts", resolved=True)
    again = await keep(sessions, client, text="Autotask refused 1 change")

    assert first.posted_new and not second.posted_new and not green.posted_new and again.posted_new
    assert first.ts == second.ts == green.ts != again.ts
    assert [c.method for c in recorder.calls() if c.method.startswith("chat.")] == [
        "chat.postMessage", "chat.update", "chat.update", "chat.postMessage"]
    assert recorder.messages[(ALERTS, first.ts)].message["text"] == "Posted after 3 attempts"
    async with sessions() as session:
        row = await find_kept_message(session=session, key="failure:x")
        assert (row.ts, row.state, row.last_error) == (again.ts, SlackMessageState.open, None)
        assert row.payload == {"count": 1}  # kept when a call gives none
        assert [m.key for m in await open_kept_messages(session=session, prefix="failure:")] == ["failure:x"]
        assert await open_kept_messages(session=session, prefix="checklist:") == []


async def test_resolving_what_was_never_posted_does_nothing(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    assert await keep(sessions, client_for(slack, tmp_path), resolved=True) is None
    assert recorder.calls() == []


async def test_not_in_channel_is_stored_for_app_home_and_retried_next_time(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)

    refused = await keep(sessions, client, channel=NOT_A_MEMBER)

    assert refused.error == "not_in_channel" and refused.ts is None and not refused.posted_new
    async with sessions() as session:
        undelivered = await undelivered_messages(session=session)
        assert [(m.key, m.channel, m.last_error) for m in undelivered] == [("failure:x", NOT_A_MEMBER,
                                                                            "not_in_channel")]
    recorder.channels[NOT_A_MEMBER].is_member = True  # someone invited the bot

    delivered = await keep(sessions, client, channel=NOT_A_MEMBER)

    assert delivered.error is None and delivered.posted_new
    assert recorder.channel_messages(NOT_A_MEMBER)[0]["ts"] == delivered.ts
    async with sessions() as session:
        assert await undelivered_messages(session=session) == []


async def test_an_update_refused_keeps_the_message_it_will_update_later(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    posted = await keep(sessions, client)

    refused = await keep(sessions, client_for(slack, tmp_path, token="xoxb-revoked"), text="refused 5 changes")
    updated = await keep(sessions, client, text="Autotask refused 6 changes")

    assert refused.error == "invalid_auth" and refused.ts == posted.ts
    assert updated.error is None and updated.ts == posted.ts and not updated.posted_new
    assert len(recorder.channel_messages(ALERTS)) == 1
    assert recorder.channel_messages(ALERTS)[0]["text"] == "Autotask refused 6 changes"


async def test_a_failed_new_occurrence_never_edits_the_old_green_message(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    old = await keep(sessions, client)
    await keep(sessions, client, text="Posted", resolved=True)
    recorder.channels[ALERTS].is_member = False
    assert (await keep(sessions, client, text="failing again")).error == "not_in_channel"
    recorder.channels[ALERTS].is_member = True

    again = await keep(sessions, client, text="failing again")

    assert again.posted_new and again.ts != old.ts
    assert recorder.messages[(ALERTS, old.ts)].message["text"] == "Posted"


async def test_unknown_channel_bad_token_and_deleted_message(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    assert (await keep(sessions, client, key="a", channel="C0NOSUCH001")).error == "channel_not_found"
    assert (await keep(sessions, client_for(slack, tmp_path, token="xoxb-revoked"), key="b")).error == "invalid_auth"

    posted = await keep(sessions, client, key="c")
    await client.chat_delete(channel=ALERTS, ts=posted.ts)  # someone deleted it in Slack
    reposted = await keep(sessions, client, key="c", text="still failing")

    assert reposted.posted_new and reposted.ts != posted.ts and reposted.error is None
    async with sessions() as session:
        errors = {m.key: m.last_error for m in await session.scalars(select(SlackMessage))}
    assert errors == {"a": "channel_not_found", "b": "invalid_auth", "c": None}


async def test_moving_the_channel_posts_in_the_new_one(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    await keep(sessions, client)
    moved = await keep(sessions, client, channel="C0GENERAL01")
    assert moved.posted_new and len(recorder.channel_messages("C0GENERAL01")) == 1


async def test_rate_limited_posts_wait_for_retry_after(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    recorder.limits = SlackRateLimits(post_message_per_second=1.0, post_message_burst=1)
    recorder.reset()
    client = client_for(slack, tmp_path)
    started = time.monotonic()

    first = await keep(sessions, client, key="one")
    second = await keep(sessions, client, key="two")  # the channel's bucket is empty: 429, Retry-After 1

    assert first.error is None and second.error is None and second.posted_new
    assert time.monotonic() - started >= 0.9
    statuses = [c.status for c in recorder.calls("chat.postMessage")]
    assert statuses == [200, 429, 200]
    assert recorder.calls("chat.postMessage")[1].response["error"] == "ratelimited"


async def test_rate_limited_beyond_the_retries_is_stored(slack, sessions, tmp_path):  # noqa: F811
    recorder, _ = slack
    recorder.limits = SlackRateLimits(post_message_per_second=0.01, post_message_burst=1)
    recorder.reset()
    client = client_for(slack, tmp_path)
    client.retry_handlers = []  # no waiting in this test: the first 429 is the answer
    await keep(sessions, client, key="one")

    limited = await keep(sessions, client, key="two")

    assert limited.error == "ratelimited" and limited.ts is None


async def test_slack_unreachable_is_stored_not_raised(sessions, tmp_path):
    settings = load_settings(make_env(tmp_path, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="s",
                                      SEATSYNC_SLACK_API_URL="http://127.0.0.1:9/api/"), dotenv_path=None)
    client = create_slack_client(settings)
    client.retry_handlers = []

    kept = await keep(sessions, client)

    assert kept.error == "slack_unreachable"


async def test_two_writers_of_one_new_key_post_one_message(slack, sessions, tmp_path):  # noqa: F811
    import asyncio

    recorder, _ = slack
    client = client_for(slack, tmp_path)

    kept = await asyncio.gather(*(keep(sessions, client, key="approval:acme", text=f"held {n}") for n in range(3)))

    assert [c.method for c in recorder.calls() if c.method.startswith("chat.")] == [
        "chat.postMessage", "chat.update", "chat.update"]
    assert len({k.ts for k in kept}) == 1
