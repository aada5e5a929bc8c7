"""App Home end to end: an `app_home_opened` event, signed, to the real app; the Home tab published through
the Slack simulator, with numbers counted from rows written to the database here."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    ConnectorHealth,
    ConnectorState,
    MarketplaceCompany,
    MarketplaceSubscription,
    ResourceLink,
    SlackMessage,
    SubscriptionStatus,
    SyncRun,
    SyncRunStatus,
    Term,
)
from bot.sandbox.slack import SlackRecorder
from bot.slack.ids import HomeId, LinkCallbackId
from tests.bolt_listeners import listeners_done
from tests.commands import test_seats_command as seats_harness
from tests.commands.test_seats_command import DANA, start_app
from tests.db.factories import marketplace_resource, psa_service

slack = seats_harness.slack  # the Slack simulator fixture
DANA_DM = "D0DANA0001"


async def company(session, name: str, *, status: SubscriptionStatus = SubscriptionStatus.active):
    row = MarketplaceCompany(marketplace="ingram", external_id=f"C-{name}", name=name)
    subscription = MarketplaceSubscription(company=row, marketplace="ingram", external_id=f"S-{name}",
                                           name=f"Microsoft 365 for {name}", term=Term.monthly, status=status)
    session.add_all([row, subscription])
    return row, subscription


async def adjustment(session, resource_id: int, service_id: int, n: int, status: AdjustmentStatus, *,
                     needs_action: bool = False) -> None:
    session.add(Adjustment(idempotency_key=f"key-{n}", resource_id=resource_id, psa_service_id=service_id,
                           psa="autotask", units_from=1, units_to=2, delta=1, effective_date=date(2026, 11, 2),
                           trigger=AdjustmentTrigger.sync, status=status, needs_action=needs_action))


async def build_dashboard_data(context) -> datetime:
    now = context.clock()
    async with context.sessions() as session:
        acme, acme_sub = await company(session, "Acme Co.")
        linked = await marketplace_resource(session, subscription=acme_sub, total=40)
        acme_annual = MarketplaceSubscription(company=acme, marketplace="ingram", external_id="S-annual",
                                              name="Microsoft 365 (annual)", term=Term.annual,
                                              status=SubscriptionStatus.active)
        await marketplace_resource(session, subscription=acme_annual, total=10)
        _, bolt_sub = await company(session, "Bolt & <Sons>")
        await marketplace_resource(session, subscription=bolt_sub, total=30)
        _, cancelled = await company(session, "Zeta Gone", status=SubscriptionStatus.cancelled)
        await marketplace_resource(session, subscription=cancelled, total=500)
        removed = await marketplace_resource(session, subscription=acme_sub, total=999, name="Removed add-on")
        removed.removed_at = now
        for n in range(1, 13):
            _, small = await company(session, f"Customer {n:02d}")
            await marketplace_resource(session, subscription=small, total=n)
        service = await psa_service(session)
        session.add(ResourceLink(resource_id=linked.id, psa_service_id=service.id, created_by=DANA))
        await adjustment(session, linked.id, service.id, 1, AdjustmentStatus.failed)
        await adjustment(session, linked.id, service.id, 2, AdjustmentStatus.failed, needs_action=True)
        await adjustment(session, linked.id, service.id, 3, AdjustmentStatus.awaiting_approval)
        await adjustment(session, linked.id, service.id, 4, AdjustmentStatus.posted)
        session.add_all([
            SyncRun(trigger="schedule", status=SyncRunStatus.partial, started_at=now - timedelta(minutes=11),
                    finished_at=now - timedelta(minutes=10), error="1 post failed"),
            SyncRun(trigger="slack", triggered_by=DANA, status=SyncRunStatus.succeeded, dry_run=True,
                    started_at=now - timedelta(minutes=2), finished_at=now - timedelta(minutes=1)),
            ConnectorHealth(system="autotask", state=ConnectorState.ok, last_success_at=now - timedelta(minutes=10),
                            consecutive_failures=0, alerted=False),
            ConnectorHealth(system="ingram", state=ConnectorState.failing, last_success_at=now - timedelta(days=2),
                            last_error="Ingram refused the subscription key", consecutive_failures=4, alerted=True),
            SlackMessage(key="failure:autotask:units", channel="C0RANDOM001", last_error="not_in_channel"),
        ])
        await session.commit()
    return now


def published(recorder: SlackRecorder, user_id: str = DANA) -> list[dict]:
    return [c.args["view"] for c in recorder.calls("views.publish") if c.ok and c.args["user_id"] == user_id]


def texts(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_app_home_shows_the_dashboard_with_the_right_numbers(aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await build_dashboard_data(context)

    reply = await sender.app_home_opened(DANA)

    assert reply.status == 200
    await listeners_done()
    assert published(recorder)
    assert [c.ok for c in recorder.calls("views.publish")] == [True]  # the simulator validated the view
    view = published(recorder)[0]
    counts = next(b for b in view["blocks"] if b.get("block_id") == HomeId.COUNTS_BLOCK)
    assert [f["text"] for f in counts["fields"]] == [
        "*Linked resources*\n1",
        "*Unlinked resources*\n14 in 14 subscriptions",  # Acme's annual, Bolt, 12 customers; not cancelled/removed
        "*Pending failures*\n2 (1 need action)",
        "*Held for approval*\n1",
    ]
    body = texts(view)
    assert "#1 partial 10 min ago" in body and "1 post failed" in body  # the dry run after it does not count
    assert ":large_green_circle: *Autotask*: ok, last success 10 min ago" in body
    assert ":red_circle: *Ingram Micro Cloud Marketplace*: failing, last success 2 days ago: " \
           "Ingram refused the subscription key" in body
    top = next(b["text"]["text"] for b in view["blocks"]
               if "Seats per customer" in b.get("text", {}).get("text", ""))
    lines = top.split("\n")[1:]
    assert lines[:3] == ["1. Acme Co.: *50* seats (40 linked)",
                         "2. Bolt &amp; &lt;Sons&gt;: *30* seats (0 linked)",  # escaped for mrkdwn
                         "3. Customer 12: *12* seats (0 linked)"]
    assert len(lines) == 10 and lines[-1] == "10. Customer 05: *5* seats (0 linked)"
    assert "I could not post in <#C0RANDOM001>: `not_in_channel` (failure alert" in body
    shortcuts = next(b for b in view["blocks"] if b.get("block_id") == HomeId.SHORTCUTS_BLOCK)
    assert [e["action_id"] for e in shortcuts["elements"]] == [
        HomeId.SYNC, HomeId.DRY_RUN, HomeId.CHECKLIST, HomeId.REPORTS, HomeId.LINK, HomeId.CONFIG]
    assert len(view["blocks"]) <= 100


async def test_the_messages_tab_publishes_nothing_and_an_empty_workspace_says_so(aiohttp_client, slack, tmp_path,
                                                                                database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    await sender.event_callback({"type": "app_home_opened", "user": DANA, "channel": DANA_DM, "tab": "messages",
                                 "event_ts": recorder.next_ts()})
    await sender.app_home_opened(DANA)

    await listeners_done()
    assert published(recorder)
    assert len(recorder.calls("views.publish")) == 1
    body = texts(published(recorder)[0])
    assert "*Last sync*: none yet (not chosen → not chosen)" in body and "Seats per customer" not in body


async def test_shortcuts_run_the_command_in_the_dm_and_a_sync_refreshes_the_home_tab(aiohttp_client, slack, tmp_path,
                                                                                     database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await sender.app_home_opened(DANA)
    await listeners_done()
    assert published(recorder)
    home_id = recorder.home_views[DANA]

    dry_run = await sender.block_actions(HomeId.DRY_RUN, view=home_id)
    assert dry_run.status == 200
    await listeners_done()
    assert len(recorder.channel_messages(DANA_DM)) == 2
    dm = [m["text"] for m in recorder.channel_messages(DANA_DM)]
    assert dm == ["Dry run… (nothing will be written to the PSA)",
                  "Sync cannot run yet: no marketplace and PSA chosen yet (set them with /seats config)."]
    assert len(published(recorder)) == 1  # a dry run changes nothing the dashboard shows

    await sender.block_actions(HomeId.SYNC, view=home_id)
    await listeners_done()
    assert len(published(recorder)) == 2
    assert recorder.channel_messages(DANA_DM)[2]["text"] == "Syncing…"

    config = await sender.block_actions(HomeId.CONFIG, view=home_id)
    assert config.status == 200
    await listeners_done()
    assert recorder.open_views(DANA) and "Save" in json.dumps(recorder.open_views(DANA)[-1])
    assert [c.ok for c in recorder.calls("views.open")] == [True]


async def test_the_other_shortcuts_reach_their_commands(aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await sender.app_home_opened(DANA)
    await listeners_done()
    assert published(recorder)
    home_id = recorder.home_views[DANA]

    for action_id in (HomeId.CHECKLIST, HomeId.REPORTS):
        before = len(recorder.channel_messages(DANA_DM))
        assert (await sender.block_actions(action_id, view=home_id)).status == 200
        await listeners_done()
        assert len(recorder.channel_messages(DANA_DM)) > before
    dm = recorder.channel_messages(DANA_DM)
    assert dm[0]["text"].startswith("Month-end checklist")
    assert "unlinked" in json.dumps(dm[-1])  # `/seats report` with no name: the usage, naming the reports
    assert (await sender.block_actions(HomeId.LINK, view=home_id)).status == 200
    await listeners_done()
    assert recorder.calls("views.open")
    assert recorder.calls("views.open")[0].ok
    assert recorder.calls("views.open")[0].args["view"]["callback_id"] == LinkCallbackId.WIZARD  # the link wizard
    assert all(c.ok for c in recorder.calls() if c.method != "response_url")
