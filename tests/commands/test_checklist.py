"""`/seats checklist`, its buttons, the scheduled checklist and the daily digest, end to end through the app and
the Slack simulator."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from bot.clock import ManualClock
from bot.commands.checklist.handlers import post_scheduled_checklist
from bot.db.app_settings import AppSettings, load_app_settings, save_app_settings
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.slack.ids import ActionId, ChecklistId, LinkCallbackId
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
from tests.notify.test_failure_alerts import attempts, failing, start_alerting_app  # noqa: F401 - the failing fixture
from tests.reports.dataset import build_dataset
from tests.scheduled_jobs import run_scheduled_job

CHECKLIST_CHANNEL = "C0GENERAL01"
NOT_A_MEMBER = "C0RANDOM001"


async def set_settings(context, **changes) -> None:
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
        for name, value in changes.items():
            setattr(settings, name, value)
        await save_app_settings(session=session, settings=settings, actor="test")
        await session.commit()


def posted(recorder, channel: str | None = None) -> list[dict]:
    return [c.args | {"ts": c.response["ts"]} for c in recorder.calls("chat.postMessage")
            if c.ok and (channel is None or c.args["channel"] == channel)]


def steps(blocks: list[dict]) -> dict[str, str]:
    return {b["block_id"]: b["text"]["text"] for b in blocks if b["type"] == "section"}


def accessories(blocks: list[dict]) -> dict[str, dict]:
    return {b["block_id"]: b["accessory"] for b in blocks if b.get("accessory")}


async def get(sender, url: str):
    parts = urlsplit(url)
    return await sender._client.get(f"{parts.path}?{parts.query}")


async def test_the_checklist_shows_each_step_live_with_its_button(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                  database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:
        await build_dataset(session)

    reply = await sender.slash_command("checklist")

    assert reply.status == 200
    await listeners_done()
    assert posted(recorder)
    message = posted(recorder)[0]
    assert message["channel"] == BILLING_CHANNEL
    assert validate_message_blocks(message["blocks"]) == []
    assert context.clock().date().isoformat() == "2026-11-16"  # start_app's pinned clock
    assert message["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text":
                                                                "Month-end checklist: November 2026", "emoji": True}}
    text = steps(message["blocks"])
    assert text[ChecklistId.UNLINKED_BLOCK].startswith("⚠️ *1. Unlinked subscriptions*: *1* not linked")
    assert '=HYPERLINK("http://x")' in text[ChecklistId.UNLINKED_BLOCK]
    assert text[ChecklistId.CREATE_BLOCK].startswith(
        "⚠️ *2. PSA companies/contracts to create*: *1* marketplace company has no PSA company linked")
    assert text[ChecklistId.CONFIRM_BLOCK].startswith("✅ *3. Link and confirm*: *1* resources linked; *0* adjustments")
    assert text[ChecklistId.FAILURES_BLOCK].startswith(
        "⚠️ *4. Failures pending*: *1* (1 need action): must be zero before invoicing.")
    # what the next sync would post, written nowhere yet: 3 seats × 9.50 for 15 of November's 30 days
    assert text[ChecklistId.PREVIEW_BLOCK] == (
        "✅ *5. What will be posted*: *1* change (1 would post); prorated total 14.25\n"
        "   • Acme Mfg. Inc. · Exchange Online: 5 → 8 on 2026-11-16, prorated 14.25 — would post")
    assert "Not ready to invoice yet" in str(message["blocks"][-1])
    buttons = accessories(message["blocks"])
    assert buttons[ChecklistId.CREATE_BLOCK]["action_id"] == ChecklistId.RELATIONS
    assert buttons[ChecklistId.FAILURES_BLOCK]["action_id"] == ChecklistId.RETRY_FAILURES
    assert buttons[ChecklistId.PREVIEW_BLOCK]["action_id"] == ActionId.HELP_SYNC_DRY_RUN
    for block_id, report in ((ChecklistId.UNLINKED_BLOCK, "unlinked"), (ChecklistId.CONFIRM_BLOCK, "linked")):
        url = buttons[block_id]["url"]
        assert urlsplit(url).path == f"/reports/{report}.html"
        assert (await get(sender, url)).status == 200
    adjustments_url = text[ChecklistId.CONFIRM_BLOCK].split("<", 1)[1].split("|", 1)[0]
    assert urlsplit(adjustments_url).path == "/reports/adjustments.html"
    assert (await get(sender, adjustments_url)).status == 200

    await sender.block_actions(ChecklistId.RELATIONS, message=message["ts"], user_id=SAM)
    await listeners_done()  # the bulk relations dialog, opened then filled
    assert recorder.calls("views.update")
    opened, = recorder.calls("views.open")
    assert opened.ok and recorder.open_views(SAM)[0]["callback_id"] == LinkCallbackId.RELATIONS
    assert [(c.method, c.error) for c in recorder.calls() if not c.ok] == []


async def test_outside_a_channel_the_checklist_comes_ephemerally(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                 database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    await sender.slash_command("checklist", user_id=LEE, channel_id=NOT_A_MEMBER)

    await listeners_done()
    assert recorder.ephemeral_messages(LEE)
    message = recorder.ephemeral_messages(LEE)[0].message
    assert message["text"].startswith("Month-end checklist") and message["text"].endswith("ready to invoice")
    assert "✅ Ready to invoice." in str(message["blocks"])
    assert "✅ *5. What will be posted*: nothing is waiting to be posted" in str(message["blocks"])
    assert [c.error for c in recorder.calls("chat.postMessage")] == ["not_in_channel"]


async def test_retry_failures_posts_them_and_redraws_the_checklist(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                   database_url, failing):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing,
                                               SEATSYNC_BILLING_TEAM="S0BILLING01")
    await sender.slash_command("checklist", user_id=SAM)
    await listeners_done()
    assert posted(recorder, BILLING_CHANNEL)
    checklist = posted(recorder, BILLING_CHANNEL)[0]
    assert steps(checklist["blocks"])[ChecklistId.FAILURES_BLOCK].startswith("⚠️ *4. Failures pending*: *2*")
    assert steps(checklist["blocks"])[ChecklistId.PREVIEW_BLOCK].startswith(
        "⚠️ *5. What will be posted*: *2* changes (2 failed, retrying)")
    before = await attempts(context)

    await sender.block_actions(ChecklistId.RETRY_FAILURES, message=checklist["ts"], user_id=LEE)
    await listeners_done()
    assert replies_to(recorder, LEE)
    assert replies_to(recorder, LEE)[0].startswith("Only the billing team can do that")
    assert await attempts(context) == before

    for contract_id in failing.contracts:  # the cause is fixed
        failing.sandbox.world.autotask_contracts[contract_id].status = 1
    await sender.block_actions(ChecklistId.RETRY_FAILURES, message=checklist["ts"], user_id=SAM)

    await listeners_done()
    assert any(r.startswith("Posted 2 of 2") for r in replies_to(recorder, SAM))
    assert any(c.args["ts"] == checklist["ts"] for c in recorder.calls("chat.update") if c.ok)
    redrawn = recorder.messages[(BILLING_CHANNEL, checklist["ts"])].message
    assert steps(redrawn["blocks"])[ChecklistId.FAILURES_BLOCK] == "✅ *4. Failures pending*: none"
    assert steps(redrawn["blocks"])[ChecklistId.PREVIEW_BLOCK].startswith("✅ *5. What will be posted*: nothing")
    assert [line.psa_units for line in failing.lines] == [8, 5]
    assert len(posted(recorder, BILLING_CHANNEL)) == 1  # posted before any alert pass saw them: no alert
    assert [(c.method, c.error) for c in recorder.calls() if not c.ok] == []


async def test_the_scheduled_checklist_is_kept_per_month(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                         caplog):
    recorder, _ = slack
    context, _ = await start_app(aiohttp_client, slack, tmp_path, database_url)
    client = context.bolt.client
    caplog.set_level(logging.WARNING, logger="bot.commands.checklist.handlers")

    assert await post_scheduled_checklist(app_context=context, client=client) is None
    assert "no checklist channel is set" in caplog.text and recorder.calls("chat.postMessage") == []

    await set_settings(context, checklist_channel=CHECKLIST_CHANNEL)
    first = await post_scheduled_checklist(app_context=context, client=client)
    rerun = await post_scheduled_checklist(app_context=context, client=client)

    assert first.key == "checklist:2026-11" and first.posted_new
    assert rerun.ts == first.ts and not rerun.posted_new
    assert len(posted(recorder, CHECKLIST_CHANNEL)) == 1
    assert [c.args["ts"] for c in recorder.calls("chat.update") if c.ok] == [first.ts]


async def test_the_scheduler_posts_the_digest_and_the_checklist_on_its_day(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                          database_url):
    recorder, _ = slack
    context, _ = await start_app(aiohttp_client, slack, tmp_path, database_url)
    assert context.clock().date().isoformat() == "2026-11-16"  # 14 days before November's end
    await set_settings(context, alerts_channel=BILLING_CHANNEL, checklist_channel=CHECKLIST_CHANNEL,
                       checklist_days_before_month_end=14)

    await run_scheduled_job(context, JobId.DAILY_DIGEST)
    await run_scheduled_job(context, JobId.DAILY_DIGEST)  # a re-run updates the day's message
    await run_scheduled_job(context, JobId.MONTH_END_CHECKLIST)

    digest, = posted(recorder, BILLING_CHANNEL)
    assert digest["text"] == "Daily digest: 0 adjustments posted, 0 failures pending, 0 new unlinked subscriptions"
    assert validate_message_blocks(digest["blocks"]) == []
    assert [c.args["ts"] for c in recorder.calls("chat.update") if c.ok] == [digest["ts"]]
    checklist, = posted(recorder, CHECKLIST_CHANNEL)
    assert checklist["text"].startswith("Month-end checklist (November 2026)")


async def test_settings_saved_after_start_are_used_by_the_checklist_job(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                        database_url):
    recorder, _ = slack
    context, _ = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:  # the clock's 2026-11-16 is 14 days before the month's end, not 13
        await save_app_settings(session=session, actor="test", settings=AppSettings(
            checklist_channel=CHECKLIST_CHANNEL, checklist_days_before_month_end=13))
        await session.commit()

    await run_scheduled_job(context, JobId.MONTH_END_CHECKLIST)

    assert posted(recorder) == []


@pytest.mark.parametrize(("instant", "timezone", "days_before", "month"), [
    ("2028-02-29T23:30:00+00:00", "UTC", 0, "February 2028"),  # a leap year's last day of February
    ("2027-02-28T23:30:00+00:00", "UTC", 0, "February 2027"),
    ("2027-01-31T23:30:00+00:00", "Asia/Tokyo", 0, None),  # already 1 February in Tokyo
    ("2027-02-01T02:00:00+00:00", "America/New_York", 0, "January 2027"),  # still 31 January there
    ("2027-03-14T07:00:00+00:00", "America/New_York", 17, "March 2027"),  # 03:00 EDT, the hour after the switch
    ("2027-03-28T00:59:00+00:00", "Europe/London", 3, "March 2027"),  # a minute before British Summer Time
])
async def test_the_checklist_job_reads_the_day_from_the_context_clock_in_the_msp_time_zone(
        aiohttp_client, slack, tmp_path, database_url, instant, timezone, days_before, month):  # noqa: F811
    context, _ = await start_app(aiohttp_client, slack, tmp_path, database_url,
                                 clock=ManualClock(datetime.fromisoformat(instant)))
    recorder, _ = slack
    await set_settings(context, checklist_channel=CHECKLIST_CHANNEL, timezone=timezone,
                       checklist_days_before_month_end=days_before)

    await run_scheduled_job(context, JobId.MONTH_END_CHECKLIST)

    checklists = posted(recorder, CHECKLIST_CHANNEL)
    assert [c["text"].split(":")[0] for c in checklists] == ([f"Month-end checklist ({month})"] if month else [])
