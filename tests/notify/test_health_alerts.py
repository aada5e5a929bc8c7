"""Connector health alerts against a real database and the Slack simulator, with a controlled clock: one
alert when a connector has failed or gone stale past the threshold, one "recovered", never one per run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connector_health import record_failure, record_success
from bot.db.engine import session_factory
from bot.db.models import ConnectorHealth, SlackMessage, SlackMessageState
from bot.db.tenant_scope import DEFAULT_TENANT_ID
from bot.notify.health_alerts import post_health_alerts
from bot.sandbox.slack_blocks import validate_message_blocks
from tests.commands.test_seats_command import BILLING_CHANNEL, slack  # noqa: F401 - the slack fixture
from tests.notify.test_kept_messages import NOT_A_MEMBER, client_for

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DIAGNOSIS = "Autotask refused the API user's credentials (401): check the integration code"


@pytest.fixture
async def sessions(engine):
    sessions = session_factory(engine)
    async with sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(alerts_channel=BILLING_CHANNEL,
                                                                      connector_stale_minutes=60), actor="test")
        await session.commit()
    return sessions


async def record(sessions, system: str, minutes: int, error: str | None = None) -> None:
    async with sessions() as session:
        at = T0 + timedelta(minutes=minutes)
        if error is None:
            await record_success(session=session, system=system, now=at)
        else:
            await record_failure(session=session, system=system, error=error, now=at)
        await session.commit()


async def alerts_at(sessions, client, minutes: int):
    return await post_health_alerts(sessions=sessions, client=client, now=T0 + timedelta(minutes=minutes))


def sent(recorder) -> list[tuple[str, str]]:
    return [(c.method, c.args["text"]) for c in recorder.calls() if c.method in ("chat.postMessage", "chat.update")]


async def test_a_failing_connector_alerts_once_and_recovers_once(sessions, slack, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    await record(sessions, "autotask", 0)
    await record(sessions, "autotask", 30, DIAGNOSIS)
    assert await alerts_at(sessions, client, 30) == []  # a failure within the threshold is not an outage

    await record(sessions, "autotask", 64, DIAGNOSIS)
    first = await alerts_at(sessions, client, 64)
    assert await alerts_at(sessions, client, 70) == []
    await record(sessions, "autotask", 75, DIAGNOSIS)
    assert await alerts_at(sessions, client, 90) == []  # still down: still said once

    assert [kept.posted_new for kept in first] == [True]
    assert sent(recorder) == [("chat.postMessage", f"Autotask has failed for 64 min: {DIAGNOSIS}")]
    assert validate_message_blocks(recorder.calls("chat.postMessage")[0].args["blocks"]) == []

    await record(sessions, "autotask", 95)
    recovered = await alerts_at(sessions, client, 96)
    assert await alerts_at(sessions, client, 100) == []

    assert [(kept.posted_new, kept.state) for kept in recovered] == [(False, SlackMessageState.resolved)]
    method, text = sent(recorder)[-1]
    assert method == "chat.update" and text.startswith("Autotask has recovered")
    assert len(sent(recorder)) == 2


async def test_a_stale_connector_alerts_once_and_recovers_once(sessions, slack, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    await record(sessions, "ingram", 0)
    assert await alerts_at(sessions, client, 60) == []  # exactly at the threshold: not stale yet

    stale = await alerts_at(sessions, client, 61)
    assert await alerts_at(sessions, client, 120) == []

    assert len(stale) == 1
    assert sent(recorder) == [("chat.postMessage", "Ingram Micro Cloud Marketplace has not been reached for 61 min "
                                                   "(last success 2026-11-22 09:00 UTC): is the sync running?")]
    await record(sessions, "ingram", 130)
    back = await alerts_at(sessions, client, 131)
    assert [kept.state for kept in back] == [SlackMessageState.resolved] and len(sent(recorder)) == 2


async def test_an_alert_slack_refused_is_said_on_the_next_run(sessions, slack, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    async with sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(alerts_channel=NOT_A_MEMBER), actor="test")
        await session.commit()
    await record(sessions, "autotask", 0, DIAGNOSIS)
    await record(sessions, "autotask", 1, DIAGNOSIS)  # never reached: reported after two failures

    assert await alerts_at(sessions, client, 2) == []
    async with sessions() as session:
        assert (await session.get(ConnectorHealth, (DEFAULT_TENANT_ID, "autotask"))).alerted is False
        refused = await session.scalar(select(SlackMessage).where(SlackMessage.key == "health:autotask"))
    assert refused.last_error == "not_in_channel"

    async with sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(alerts_channel=BILLING_CHANNEL), actor="test")
        await session.commit()
    again = await alerts_at(sessions, client, 3)
    assert [kept.posted_new for kept in again] == [True]
    assert sent(recorder)[-1] == ("chat.postMessage", f"Autotask has never been reached: {DIAGNOSIS}")
