"""`/seats` end to end: signed requests to the real app's /slack/events, Slack played by the simulator."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from bot.app_factory import create_context
from bot.clock import Clock, ManualClock
from bot.commands.router import ROUTE_BY_NAME, ROUTES
from bot.config import load_settings
from bot.db.app_settings import AppSettings, load_app_settings, save_app_settings
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from bot.sandbox.slack import SlackRecorder, create_slack_app
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.sandbox.slack_requests import SlackRequestSender
from bot.slack.ids import ActionId, BlockId
from tests.bolt_listeners import listeners_done
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY, make_env
from tests.sync.engine_setup import link_line, pick_lines
from web.app import create_app

TOKEN = "xoxb-seatsync-test"
SECRET = "seatsync-signing-secret"
DANA, SAM, LEE = "U0DANA0001", "U0SAM00002", "U0LEE00003"
BILLING_CHANNEL = "C0BILLING01"


@pytest.fixture
async def slack(aiohttp_server):
    recorder = SlackRecorder(bot_token=TOKEN, signing_secret=SECRET)
    app = web.Application()
    app.add_subapp("/slack", create_slack_app(recorder))
    server = await aiohttp_server(app, host="127.0.0.1")
    recorder.base_url = str(server.make_url("/slack"))
    return recorder, server


async def start_app(aiohttp_client, slack, tmp_path, database_url, *, clock: Clock | None = None, **env):
    """SeatSync's app on the Slack simulator; its clock is `clock`, else one pinned to PINNED_NOW
    (`context.clock`). Slack's request signatures stay on real time: Bolt checks them on the machine's clock."""
    recorder, server = slack
    settings = load_settings(make_env(tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET=SECRET,
                                      SLACK_BOT_TOKEN=TOKEN, SEATSYNC_SLACK_API_URL=str(server.make_url("/slack/api/")),
                                      **env), dotenv_path=None)
    context = create_context(settings, clock=clock or ManualClock(PINNED_NOW))
    client = await aiohttp_client(create_app(context, run_scheduler=False))
    sender = SlackRequestSender(signing_secret=SECRET, events_url="/slack/events", recorder=recorder, client=client,
                                default_user_id=DANA, default_channel_id=BILLING_CHANNEL)
    return context, sender


def replies_to(recorder: SlackRecorder, user_id: str) -> list[str]:
    return [m.message.get("text", "") for m in recorder.ephemeral_messages(user_id)]


def assert_all_calls_ok(recorder: SlackRecorder) -> None:
    assert recorder.calls(), "expected Web API calls"
    assert [(c.method, c.error) for c in recorder.calls() if not c.ok] == []


async def test_help_lists_the_commands_with_buttons(aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    reply = await sender.slash_command("help")

    assert reply.status == 200
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    message = recorder.ephemeral_messages(DANA)[0].message
    assert "/seats sync" in message["text"]
    action_ids = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert action_ids == [ActionId.HELP_SYNC_DRY_RUN, ActionId.HELP_SYNC]
    assert validate_message_blocks(message["blocks"]) == []
    assert_all_calls_ok(recorder)


async def test_help_is_the_routers_table_and_every_line_routes(aiohttp_client, slack, tmp_path, database_url):
    """`/seats help` is written from the router's table: every routed subcommand is in it, in the table's order,
    and every line in it routes (its subcommand typed bare is never answered with the usage)."""
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    await sender.slash_command("help")
    await listeners_done()
    message = recorder.ephemeral_messages(DANA)[0].message
    commands = next(b for b in message["blocks"] if b.get("block_id") == BlockId.HELP_COMMANDS)
    lines = re.findall(r"^• `/seats ([^`]+)` - (.+)$", commands["text"]["text"], re.M)

    assert [(usage, what) for usage, what in lines] == [(route.usage, route.what) for route in ROUTES]
    assert [usage.split()[0] for usage, _ in lines] == list(ROUTE_BY_NAME)
    assert all(f"/seats {usage} - {what}" in message["text"] for usage, what in lines)
    for usage, _ in lines:
        reply = await sender.slash_command(usage.split()[0])
        assert reply.status == 200
        assert "I don't know" not in reply.body, usage
    await listeners_done()
    assert "I don't know" in (await sender.slash_command("frobnicate")).body  # the check above can fail


async def test_empty_text_is_help_and_unknown_subcommand_gets_usage(aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    unknown = await sender.slash_command("frobnicate now")
    assert unknown.status == 200
    assert unknown.json["response_type"] == "ephemeral"
    assert "I don't know `/seats frobnicate now`" in unknown.json["text"] and "Usage:" in unknown.json["text"]
    bad_flag = await sender.slash_command("sync --force")
    assert "Usage:" in bad_flag.json["text"]

    await sender.slash_command("")
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    assert recorder.calls("chat.postMessage") == []


async def test_someone_outside_the_billing_team_is_refused_with_who_can(aiohttp_client, slack, tmp_path,
                                                                         database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url,
                                      SEATSYNC_BILLING_TEAM="S0BILLING01")
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=["U0MORGAN04"]), actor="test")
        await session.commit()
    ran: list[str] = []

    async def engine_source():
        ran.append("engine asked for")
        raise AssertionError("a refused user must not reach the engine")

    context.engine_source = engine_source

    reply = await sender.slash_command("sync", user_id=LEE, channel_id="C0GENERAL01")

    assert reply.status == 200
    await listeners_done()
    assert replies_to(recorder, LEE)
    refusal = replies_to(recorder, LEE)[0]
    assert refusal.startswith("Only the billing team can do that")
    assert "<@U0MORGAN04>" in refusal and "<!subteam^S0BILLING01>" in refusal
    assert ran == [] and recorder.calls("chat.postMessage") == []
    assert [c.args["usergroup"] for c in recorder.calls("usergroups.users.list")] == ["S0BILLING01"]
    assert_all_calls_ok(recorder)


async def test_group_members_may_sync_but_an_unconfigured_engine_says_why(aiohttp_client, slack, tmp_path,
                                                                          database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_BILLING_TEAM="S0BILLING01")

    await sender.slash_command("sync", user_id=SAM)

    await listeners_done()
    assert len(replies_to(recorder, SAM)) == 2
    assert replies_to(recorder, SAM)[0] == "Syncing…"
    assert replies_to(recorder, SAM)[1].startswith("Sync cannot run yet: no marketplace and PSA chosen yet")
    assert_all_calls_ok(recorder)


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    line, = pick_lines(sandbox.world, "autotask", 1)
    line.set_market_total(8)
    line.set_psa_units(1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, "odin")
    workspace.line = line
    yield workspace
    await workspace.close()


async def start_demo_app(aiohttp_client, slack, tmp_path, database_url, workspace):
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    return context, sender


def summaries(recorder: SlackRecorder) -> list[dict]:
    return [c.args for c in recorder.calls("chat.postMessage") if c.ok]


async def test_dry_run_shows_the_change_and_writes_nothing(aiohttp_client, slack, tmp_path, database_url, workspace):
    recorder, _ = slack
    _, sender = await start_demo_app(aiohttp_client, slack, tmp_path, database_url, workspace)
    writes_before = len(workspace.sandbox.world.write_log)

    reply = await sender.slash_command("sync --dry-run")

    assert reply.status == 200
    await listeners_done()
    assert summaries(recorder)
    posted = summaries(recorder)[0]
    assert posted["channel"] == BILLING_CHANNEL
    assert "Dry run" in posted["text"] and "1 change" in posted["text"]
    body = "\n".join(b["text"]["text"] for b in posted["blocks"] if b["type"] == "section")
    assert "1 -> 8 (+7)" in body and "Nothing was written to the PSA." in body
    assert validate_message_blocks(posted["blocks"]) == []
    assert len(workspace.sandbox.world.write_log) == writes_before
    assert workspace.line.psa_units == 1
    assert_all_calls_ok(recorder)


async def test_sync_posts_the_change_once_even_when_slack_retries(aiohttp_client, slack, tmp_path, database_url,
                                                                  workspace):
    recorder, _ = slack
    _, sender = await start_demo_app(aiohttp_client, slack, tmp_path, database_url, workspace)

    first = await sender.slash_command("sync", user_id=SAM)
    retried = await sender.redeliver(first, retry_num=1, retry_reason="http_timeout")

    assert (first.status, retried.status) == (200, 200)
    await listeners_done()
    assert summaries(recorder)
    await sender.slash_command("help", user_id=SAM)  # a later request: the retry's work would have shown by then
    await listeners_done()
    assert any("SeatSync commands" in text for text in replies_to(recorder, SAM))
    assert len(summaries(recorder)) == 1
    assert "Sync #" in summaries(recorder)[0]["text"]
    assert workspace.line.psa_units == 8
    assert [(w.before, w.after) for w in workspace.line.writes()] == [(1, 8)]
    assert replies_to(recorder, SAM).count("Syncing…") == 1
    async with workspace.sessions() as session:
        assert (await load_app_settings(session=session)).billing_team == []
    assert_all_calls_ok(recorder)


async def test_the_help_buttons_run_a_dry_run(aiohttp_client, slack, tmp_path, database_url, workspace):
    recorder, _ = slack
    _, sender = await start_demo_app(aiohttp_client, slack, tmp_path, database_url, workspace)
    await sender.slash_command("help")
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    help_message = recorder.ephemeral_messages(DANA)[0].message

    reply = await sender.block_actions(ActionId.HELP_SYNC_DRY_RUN, message=help_message["ts"])

    assert reply.status == 200
    await listeners_done()
    assert summaries(recorder)
    assert "Dry run" in summaries(recorder)[0]["text"]
    assert workspace.line.psa_units == 1
    assert_all_calls_ok(recorder)


async def test_a_rate_limited_group_lookup_uses_the_members_last_read_and_still_acks_fast(
        aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_BILLING_TEAM="S0BILLING01")
    await sender.slash_command("sync", user_id=SAM)
    await listeners_done()
    assert len(replies_to(recorder, SAM)) == 2
    recorder.limiter.limits.per_minute["usergroups.users.list"] = 1  # the next lookup gets 429, Retry-After ~60 s

    await sender.slash_command("sync", user_id=SAM)
    await listeners_done()
    assert len(replies_to(recorder, SAM)) == 4

    assert replies_to(recorder, SAM)[2] == "Syncing…"  # still a member, from the members read a moment ago
    # no second lookup: nothing waited out the Retry-After (a modal submission checking the team must ack in 3 s)
    assert [c.status for c in recorder.calls("usergroups.users.list")] == [200, 429]
