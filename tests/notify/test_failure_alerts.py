"""Failure alerts end to end: real failed posts (Autotask refusing changes on inactive contracts, and the
simulator's fault knobs), one kept message per cause through the Slack simulator, Retry now through
signed block_actions, and the message turning green once the changes post."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.models import Adjustment, SlackMessage, SlackMessageState
from bot.demo.workspace import open_workspace
from bot.notify.failure_alerts import post_failure_alerts
from bot.sandbox.app import Sandbox
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.services.dashboard import undelivered_messages
from bot.slack.ids import AlertId
from bot.sync.failure_causes import cause_key, normalise_error
from bot.sync.schedule import JobId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    LEE,
    SAM,
    replies_to,
    slack,
    start_app,
)
from tests.conftest import TEST_SECRET_KEY
from tests.scheduled_jobs import run_scheduled_job
from tests.sync.engine_setup import link_line, pick_lines

NOT_A_MEMBER = "C0RANDOM001"


@pytest.fixture
async def failing(database_url, clock, today):
    """Two linked lines whose Autotask contracts went inactive before their changes were posted."""
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    world = sandbox.world
    lines = pick_lines(world, "autotask", 2)
    lines[0].set_market_total(8)
    lines[0].set_psa_units(1)
    lines[1].set_market_total(5)
    lines[1].set_psa_units(2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_ids = [await link_line(workspace, line, "odin") for line in lines]
    contracts = {world.autotask_contract_services[line.service_id].contract_id for line in lines}
    for contract_id in contracts:
        world.autotask_contracts[contract_id].status = 0
    _, report = await workspace.engine.reconcile_links(link_ids=link_ids, actor="U0DANA0001")
    assert report.failed == 2 and report.needs_action == 2
    workspace.lines, workspace.contracts = lines, contracts
    yield workspace
    await workspace.close()


async def start_alerting_app(aiohttp_client, slack, tmp_path, database_url, workspace,  # noqa: F811
                             channel: str | None = BILLING_CHANNEL, **env):
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, **env, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
        settings.alerts_channel = channel
        await save_app_settings(session=session, settings=settings, actor="test")
        await session.commit()
    return context, sender


async def attempts(context) -> list[int]:
    async with context.sessions() as session:
        return list(await session.scalars(select(Adjustment.attempts).order_by(Adjustment.id)))


def chat(recorder, method: str) -> list:
    return [c for c in recorder.calls(method) if c.ok]


def alert_texts(message: dict) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


async def test_one_alert_per_cause_updated_on_repeat_and_green_once_posted(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                            database_url, failing):
    recorder, _ = slack
    context, sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing)
    client = context.bolt.client
    world = failing.sandbox.world

    first = await post_failure_alerts(app_context=context, client=client)

    assert (first.posted, first.updated) == (1, 0)
    alert, = chat(recorder, "chat.postMessage")
    assert alert.args["channel"] == BILLING_CHANNEL
    assert alert.args["text"].startswith("Autotask could not take 2 changes: Autotask refused the change: Contract ")
    assert "is inactive; service units cannot be adjusted." in alert.args["text"]
    assert validate_message_blocks(alert.args["blocks"]) == []
    shown = alert_texts(alert.args)
    tries = await attempts(context)
    assert f"+7 (1 → 8) · {tries[0]} attempt" in shown and f"+3 (2 → 5) · {tries[1]} attempt" in shown
    ts = alert.response["ts"]
    message = recorder.messages[(BILLING_CHANNEL, ts)].message
    actions = next(b for b in message["blocks"] if b["type"] == "actions")["elements"]
    retry_button, log_button = actions
    assert retry_button["action_id"] == AlertId.RETRY_NOW and retry_button["value"].startswith("failure:autotask:")
    log_url = urlsplit(log_button["url"])
    assert log_url.path == "/reports/failures.html"
    page = await sender._client.get(f"{log_url.path}?{log_url.query}")
    assert page.status == 200 and "is inactive" in await page.text()

    again = await post_failure_alerts(app_context=context, client=client)  # nothing changed: Slack left alone
    assert (again.posted, again.updated, again.unchanged) == (0, 0, 1)
    assert chat(recorder, "chat.update") == []

    # Retry now while the contracts are still inactive: the same message is updated, not a second one posted
    await sender.block_actions(AlertId.RETRY_NOW, message=ts, user_id=SAM)
    await listeners_done()
    assert any(r.startswith("Posted 0 of 2") for r in replies_to(recorder, SAM))
    assert chat(recorder, "chat.update")
    assert replies_to(recorder, SAM)[:2] == ["Retrying 2 changes now…", "Posted 0 of 2; 2 still failing."]
    assert len(chat(recorder, "chat.postMessage")) == 1
    retried = await attempts(context)
    assert retried[0] > tries[0]
    assert f"· {retried[0]} attempts" in alert_texts(recorder.messages[(BILLING_CHANNEL, ts)].message)

    # Retry now while Autotask is down (a fault knob): nothing posted, the alert unchanged
    failing.sandbox.faults["autotask"].update({"error_rates": {503: 1.0}})
    await sender.block_actions(AlertId.RETRY_NOW, message=ts, user_id=SAM)
    await listeners_done()
    assert any(r.startswith("Nothing was posted") for r in replies_to(recorder, SAM))
    assert len(chat(recorder, "chat.update")) == 1

    # The cause is fixed: the next Retry now posts both changes and the alert turns green
    failing.sandbox.faults["autotask"].reset()
    for contract_id in failing.contracts:
        world.autotask_contracts[contract_id].status = 1
    await sender.block_actions(AlertId.RETRY_NOW, message=ts, user_id=SAM)
    await listeners_done()
    assert any(r.startswith("Posted 2 of 2") for r in replies_to(recorder, SAM))
    assert len(chat(recorder, "chat.update")) == 2

    green = recorder.messages[(BILLING_CHANNEL, ts)].message
    final = max(await attempts(context))
    assert final > max(retried)
    assert green["text"] == f"Posted after {final} attempts"
    assert alert_texts(green).startswith(f":white_check_mark: *Posted after {final} attempts*")
    assert not any(b["type"] == "actions" for b in green["blocks"])
    assert len(chat(recorder, "chat.postMessage")) == 1
    assert [line.psa_units for line in failing.lines] == [8, 5]
    assert [[(w.before, w.after) for w in line.writes()] for line in failing.lines] == [[(1, 8)], [(2, 5)]]
    async with context.sessions() as session:
        kept = (await session.scalars(select(SlackMessage))).one()
        assert kept.state is SlackMessageState.resolved and kept.ts == ts
    assert (await post_failure_alerts(app_context=context, client=client)).resolved == 0  # green stays green
    assert [(c.method, c.error) for c in recorder.calls() if not c.ok] == []


async def test_someone_outside_the_billing_team_cannot_retry(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                            failing):
    recorder, _ = slack
    context, sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing,
                                               SEATSYNC_BILLING_TEAM="S0BILLING01")
    await post_failure_alerts(app_context=context, client=context.bolt.client)
    ts = chat(recorder, "chat.postMessage")[0].response["ts"]
    writes, before = len(failing.sandbox.world.write_log), await attempts(context)

    await sender.block_actions(AlertId.RETRY_NOW, message=ts, user_id=LEE)

    await listeners_done()
    assert replies_to(recorder, LEE)
    assert replies_to(recorder, LEE)[0].startswith("Only the billing team can do that")
    async with context.sessions() as session:
        assert [a.attempts for a in await session.scalars(select(Adjustment))] == before
    assert len(failing.sandbox.world.write_log) == writes


async def test_a_tampered_cause_retries_nothing(aiohttp_client, slack, tmp_path, database_url, failing):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing)
    await post_failure_alerts(app_context=context, client=context.bolt.client)
    ts = chat(recorder, "chat.postMessage")[0].response["ts"]
    before = await attempts(context)

    await sender.block_actions(AlertId.RETRY_NOW, message=ts, user_id=SAM, value="failure:autotask:forged")

    await listeners_done()
    assert replies_to(recorder, SAM)
    assert replies_to(recorder, SAM) == ["Nothing is failing for this reason any more."]
    assert await attempts(context) == before


async def test_no_alerts_channel_is_logged_once_and_nothing_crashes(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                    database_url, failing, caplog):
    recorder, _ = slack
    context, _ = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing, channel=None)
    caplog.set_level(logging.WARNING, logger="bot.notify.failure_alerts")

    passes = [await post_failure_alerts(app_context=context, client=context.bolt.client) for _ in range(3)]

    assert {p.skipped for p in passes} == {"no alerts channel is set"}
    notices = [r for r in caplog.records if "no alerts channel is set" in r.getMessage()]
    assert len(notices) == 1
    assert chat(recorder, "chat.postMessage") == []


async def test_not_in_channel_is_stored_for_app_home_then_posted_once_invited(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                              database_url, failing):
    recorder, _ = slack
    context, _ = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing,
                                          channel=NOT_A_MEMBER)

    refused = await post_failure_alerts(app_context=context, client=context.bolt.client)

    assert refused.undelivered == ["not_in_channel"] and refused.posted == 0
    async with context.sessions() as session:
        assert [(m.channel, m.last_error) for m in await undelivered_messages(session=session)] == [
            (NOT_A_MEMBER, "not_in_channel")]
    recorder.channels[NOT_A_MEMBER].is_member = True

    delivered = await post_failure_alerts(app_context=context, client=context.bolt.client)

    assert delivered.posted == 1 and delivered.undelivered == []
    assert len(recorder.channel_messages(NOT_A_MEMBER)) == 1


async def test_the_scheduled_job_and_a_slack_sync_both_raise_the_alert(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                       database_url, failing):
    recorder, _ = slack
    context, sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing)

    await sender.slash_command("sync", user_id=SAM)  # the failures wait for their backoff; the alert goes out
    await listeners_done()
    assert any(c.args["channel"] == BILLING_CHANNEL and "could not take" in c.args["text"]
               for c in chat(recorder, "chat.postMessage"))

    async with context.sessions() as session:  # a new cause appears: the minute job reports it
        adjustment = (await session.scalars(select(Adjustment).order_by(Adjustment.id))).first()
        adjustment.last_error = "Autotask did not answer properly (server_error): 503 Service Unavailable."
        await session.commit()
    await run_scheduled_job(context, JobId.FAILURE_ALERTS)

    alerts = [c.args for c in chat(recorder, "chat.postMessage") if "could not take" in c.args["text"]]
    assert [a["text"].split(":")[0] for a in alerts] == ["Autotask could not take 2 changes",
                                                         "Autotask could not take 1 change"]
    assert alerts[1]["text"].endswith("Autotask did not answer properly (server_error): 503 Service Unavailable.")
    updated, = chat(recorder, "chat.update")  # the first cause now has one change left
    assert updated.args["text"].startswith("Autotask could not take 1 change: Autotask refused the change")


def test_causes_ignore_the_particulars_of_each_failure():
    one = "Autotask refused the change: Contract 31 is inactive; service units cannot be adjusted."
    other = "Autotask refused the change: Contract 5702 is inactive; service units cannot be adjusted."
    assert normalise_error(one) == normalise_error(other)
    assert cause_key("autotask", one) == cause_key("autotask", other)
    assert cause_key("connectwise", one) != cause_key("autotask", one)
    assert cause_key("autotask", one) != cause_key("autotask", "Autotask rejected SeatSync's credentials")
