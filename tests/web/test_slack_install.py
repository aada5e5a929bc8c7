"""Multi-workspace mode end to end: workspaces install SeatSync through the Slack simulator's OAuth screen, over HTTP,
and are then served each with its own token; rotation, uninstall and the retention purge.

No browser: the test plays it (GET /slack/install, the consent screen's form, the redirect back with the state
cookie). Slack's signatures, Bolt's OAuth state and the token expiry are on the machine's clock, which the test
moves with time-machine, from a fixed instant; SeatSync's own clock is the pinned `clock` fixture.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp
import pytest
import time_machine
from aiohttp import web
from sqlalchemy import select

from bot.app_factory import create_context
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.models import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES
from bot.db.tenancy import active_tenant_ids, tenant_by_install, tenant_scope
from bot.job_queue import APP_CONTEXT, tenant_job
from bot.jobs import BODIES, for_each_tenant, purge_tenants
from bot.log_redaction import RedactingFilter
from bot.sandbox.slack import SlackRecorder, create_slack_app
from bot.sandbox.slack_oauth import SlackDistribution
from bot.sandbox.slack_requests import SlackRequestSender
from bot.sandbox.slack_workspace import SlackMethodError
from bot.slack.token_rotation import workspace_client
from bot.sync.schedule import JobId
from tests.bolt_listeners import listeners_done
from tests.conftest import PINNED_NOW, make_env
from web.app import create_app

SECRET = "seatsync-signing-secret"
DANA, BILLING_CHANNEL = "U0DANA0001", "C0BILLING01"
FIRST, SECOND = "T0SEATSYNC", "T0SECOND01"
STATE_COOKIE = "slack-app-oauth-state"

pytestmark = pytest.mark.db


@pytest.fixture
def machine_time():
    with time_machine.travel(PINNED_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
async def slack(aiohttp_server, machine_time):
    primary = SlackRecorder(bot_token="", signing_secret=SECRET)
    distribution = SlackDistribution(primary)
    distribution.add_team(SECOND, "Second MSP")
    app = web.Application()
    app.add_subapp("/slack", create_slack_app(primary, distribution))
    server = await aiohttp_server(app, host="127.0.0.1")
    for recorder in distribution.teams.values():
        recorder.base_url = str(server.make_url("/slack"))
    return distribution, server


@pytest.fixture
async def seatsync(aiohttp_client, slack, tmp_path, database_url):
    distribution, server = slack
    settings = load_settings(make_env(
        tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET=SECRET, SLACK_CLIENT_ID=distribution.client_id,
        SLACK_CLIENT_SECRET=distribution.client_secret, SEATSYNC_PUBLIC_URL="http://seatsync.test",
        SEATSYNC_SLACK_API_URL=str(server.make_url("/slack/api/")),
        SEATSYNC_SLACK_AUTHORIZE_URL=str(server.make_url("/slack/oauth/v2/authorize")),
        SEATSYNC_TENANT_RETENTION_DAYS="30"), dotenv_path=None)
    assert settings.multi_workspace
    context = create_context(settings, clock=ManualClock(PINNED_NOW))
    client = await aiohttp_client(create_app(context, run_scheduler=False))
    return context, client


async def install(client, team_id: str) -> aiohttp.ClientResponse:
    """A person installs SeatSync into `team_id`: the install page, Slack's consent screen, Allow, back."""
    page = await client.get("/slack/install")
    assert page.status == 200
    state_cookie = page.cookies[STATE_COOKIE].value
    authorize_url = html.unescape(re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', await page.text()).group(1))
    async with aiohttp.ClientSession() as browser:
        async with browser.get(authorize_url) as consent:
            assert consent.status == 200
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', await consent.text()))
        form = {name: html.unescape(value) for name, value in form.items()}
        async with browser.post(authorize_url.split("?")[0], data={**form, "team": team_id, "decision": "allow"},
                                allow_redirects=False) as allowed:
            assert allowed.status == 302, await allowed.text()
            back = urlsplit(allowed.headers["Location"])
    assert back.netloc == "seatsync.test" and back.path == "/slack/oauth_redirect"
    return await client.get(f"{back.path}?{back.query}", headers={"Cookie": f"{STATE_COOKIE}={state_cookie}"})


def sender_for(distribution: SlackDistribution, team_id: str, client) -> SlackRequestSender:
    return SlackRequestSender(signing_secret=SECRET, events_url="/slack/events", recorder=distribution.team(team_id),
                              client=client, default_user_id=DANA, default_channel_id=BILLING_CHANNEL)


def web_api_calls(recorder: SlackRecorder) -> list:
    return [call for call in recorder.calls() if call.method not in ("response_url", "oauth.v2.access")]


async def stored_bots(context) -> list:
    async with context.engine.connect() as connection:
        return list((await connection.execute(select(SLACK_BOTS))).mappings())


async def test_a_workspace_installs_over_http_and_its_command_is_answered_with_its_own_token(slack, seatsync):
    distribution, _ = slack
    context, client = seatsync

    done = await install(client, SECOND)

    assert done.status == 200
    installed = distribution.installed[SECOND]
    [bot] = await stored_bots(context)
    assert bot["team_id"] == SECOND and bot["bot_token_expires_at"] is not None
    for column in ("bot_token", "bot_refresh_token"):  # encrypted at rest
        assert bot[column].startswith("sealed:")
        assert installed.bot_token not in bot[column] and installed.refresh_token not in bot[column]
    async with context.sessions() as session:
        tenant = await tenant_by_install(session, team_id=SECOND, enterprise_id=None, is_enterprise_install=False)
        assert tenant is not None and tenant.id in await active_tenant_ids(session)

    reply = await sender_for(distribution, SECOND, client).slash_command("help")
    assert reply.status == 200
    await listeners_done()
    second = distribution.team(SECOND)
    assert second.ephemeral_messages(DANA), "the help reply reached the installing workspace"
    calls = web_api_calls(second)
    assert calls and all(call.ok for call in calls)  # only the second workspace's own token opens it
    assert web_api_calls(distribution.primary) == []


async def test_a_reinstall_keeps_one_set_of_tokens_and_the_same_tenant(slack, seatsync, machine_time):
    distribution, _ = slack
    context, client = seatsync
    await install(client, SECOND)
    async with context.sessions() as session:
        first = (await tenant_by_install(session, team_id=SECOND, enterprise_id=None, is_enterprise_install=False)).id

    machine_time.shift(timedelta(minutes=5))
    assert (await install(client, SECOND)).status == 200

    [bot] = await stored_bots(context)
    async with context.engine.connect() as connection:
        assert len((await connection.execute(select(SLACK_INSTALLATIONS))).all()) == 1
    assert bot["bot_token"].startswith("sealed:")
    async with context.sessions() as session:
        assert (await tenant_by_install(session, team_id=SECOND, enterprise_id=None,
                                        is_enterprise_install=False)).id == first


async def test_two_workspaces_side_by_side_each_with_its_own_token_and_tenant(slack, seatsync):
    distribution, _ = slack
    context, client = seatsync

    assert (await install(client, FIRST)).status == 200
    assert (await install(client, SECOND)).status == 200

    for team_id in (FIRST, SECOND):
        await sender_for(distribution, team_id, client).slash_command("help")
    await listeners_done()
    for team_id in (FIRST, SECOND):
        recorder = distribution.team(team_id)
        assert recorder.ephemeral_messages(DANA)
        assert web_api_calls(recorder) and all(call.ok for call in web_api_calls(recorder))
    async with context.sessions() as session:
        tenants = {team_id: (await tenant_by_install(session, team_id=team_id, enterprise_id=None,
                                                     is_enterprise_install=False)).id for team_id in (FIRST, SECOND)}
        assert tenants[FIRST] != tenants[SECOND]
        assert set(tenants.values()) <= set(await active_tenant_ids(session))


async def test_an_expiring_token_is_rotated_once_before_use_and_the_new_one_is_stored(slack, seatsync, machine_time,
                                                                                      caplog):
    distribution, _ = slack
    context, client = seatsync
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())
    await install(client, SECOND)
    first_token = distribution.installed[SECOND].bot_token
    [before] = await stored_bots(context)

    machine_time.shift(timedelta(hours=12, minutes=1))  # Slack's 12 hours are over: the token is expired there
    with pytest.raises(SlackMethodError, match="token_expired"):
        distribution.recorder_for(first_token)
    sender = sender_for(distribution, SECOND, client)
    await asyncio.gather(sender.slash_command("help"), sender.slash_command("help"))  # both find it expired
    await listeners_done()

    refreshes = [call for call in distribution.primary.calls("oauth.v2.access")
                 if call.args.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0].ok
    assert distribution.installed[SECOND].bot_token != first_token
    second = distribution.team(SECOND)
    assert len(second.ephemeral_messages(DANA)) == 2
    assert all(call.ok for call in web_api_calls(second))  # answered with the rotated token
    bots = await stored_bots(context)
    latest = max(bots, key=lambda row: row["installed_at"])
    assert latest["bot_token"] != before["bot_token"] and latest["bot_token"].startswith("sealed:")
    assert latest["bot_refresh_token"] != before["bot_refresh_token"]
    for token in distribution.tokens:  # bot and refresh tokens, old and new: in no log line
        assert token not in caplog.text


async def test_work_outside_a_request_gets_the_workspaces_client_rotated_first(slack, seatsync, machine_time):
    distribution, _ = slack
    context, client = seatsync
    await install(client, SECOND)
    first_token = distribution.installed[SECOND].bot_token

    machine_time.shift(timedelta(hours=11))  # within the 120 minutes before expiry
    scheduled = await workspace_client(context.bolt, enterprise_id=None, team_id=SECOND, is_enterprise_install=False)

    assert scheduled.token != first_token and scheduled.token == distribution.installed[SECOND].bot_token
    assert (await scheduled.auth_test())["team_id"] == SECOND
    assert await workspace_client(context.bolt, enterprise_id=None, team_id=FIRST, is_enterprise_install=False) is None


async def test_uninstall_deletes_the_tokens_stops_the_tenant_and_the_purge_deletes_it_after_retention(
        slack, seatsync):
    distribution, _ = slack
    context, client = seatsync
    await install(client, FIRST)
    await install(client, SECOND)
    async with context.sessions() as session:
        second_tenant = (await tenant_by_install(session, team_id=SECOND, enterprise_id=None,
                                                 is_enterprise_install=False)).id

    sender = sender_for(distribution, SECOND, client)
    for event in distribution.uninstall(SECOND):
        assert (await sender.event_callback(event)).status == 200
    await listeners_done()

    assert {bot["team_id"] for bot in await stored_bots(context)} == {FIRST}
    async with context.engine.connect() as connection:
        assert {row.team_id for row in await connection.execute(select(SLACK_INSTALLATIONS.c.team_id))} == {FIRST}
    async with context.sessions() as session:
        assert second_tenant not in await active_tenant_ids(session)
    second = distribution.team(SECOND)
    calls_before = len(second.calls())
    assert (await sender.slash_command("help")).status == 200
    await listeners_done()
    after = second.calls()[calls_before:]
    assert [call.method for call in after] == ["response_url"]  # no Web API call: nothing ran for it
    assert "reinstall" in after[0].args["text"]  # Bolt's answer when a workspace has no installation
    await sender_for(distribution, FIRST, client).slash_command("help")
    await listeners_done()
    assert distribution.team(FIRST).ephemeral_messages(DANA)  # the other workspace carries on

    context.clock.advance(timedelta(days=29))
    await purge_tenants(context)
    async with context.sessions() as session:
        assert await tenant_by_install(session, team_id=SECOND, enterprise_id=None, is_enterprise_install=False)
    context.clock.advance(timedelta(days=1, seconds=1))
    await purge_tenants(context)
    async with context.sessions() as session:
        assert await tenant_by_install(session, team_id=SECOND, enterprise_id=None, is_enterprise_install=False) is None
        assert await tenant_by_install(session, team_id=FIRST, enterprise_id=None, is_enterprise_install=False)


async def installed_tenant(context, team_id: str) -> int:
    async with context.sessions() as session:
        return (await tenant_by_install(session, team_id=team_id, enterprise_id=None, is_enterprise_install=False)).id


async def set_channels(context, tenant_id: int) -> None:
    with tenant_scope(tenant_id):
        async with context.sessions() as session:
            await save_app_settings(session=session, actor="test", settings=AppSettings(
                alerts_channel=BILLING_CHANNEL, checklist_channel=BILLING_CHANNEL))
            await session.commit()


def posts(recorder: SlackRecorder) -> list:
    return [call for call in recorder.calls() if call.method.startswith("chat.")]


def queue_job(context) -> SimpleNamespace:
    return SimpleNamespace(additional_context={APP_CONTEXT: context})


async def test_each_installed_workspaces_scheduled_posts_land_in_it_with_its_own_token(slack, seatsync, caplog):
    distribution, _ = slack
    context, client = seatsync
    caplog.set_level(logging.INFO, logger="bot.slack.scheduled_client")
    await install(client, FIRST)
    await install(client, SECOND)
    tenants = {team: await installed_tenant(context, team) for team in (FIRST, SECOND)}
    for tenant_id in tenants.values():
        await set_channels(context, tenant_id)
    context.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))  # three days before month end: the checklist's day

    await for_each_tenant(context, BODIES[JobId.DAILY_DIGEST])  # the in-process scheduler's way (SQLite)
    for tenant_id in tenants.values():  # the job queue's way (PostgreSQL)
        await tenant_job(queue_job(context), tenant_id, JobId.MONTH_END_CHECKLIST.value)

    for team in (FIRST, SECOND):
        recorder = distribution.team(team)
        # the simulator files a call under the workspace whose token it carried: each its own, both accepted
        assert [(call.method, call.args["channel"], call.ok) for call in posts(recorder)] == [
            ("chat.postMessage", BILLING_CHANNEL, True)] * 2, team
        texts = [message["text"] for message in recorder.channel_messages(BILLING_CHANNEL)]
        assert any(text.startswith("Daily digest") for text in texts), texts
    # the default tenant, never installed through Slack, posted nothing and said so once
    assert caplog.text.count("has no Slack installation") == 1


async def test_a_workspace_uninstalled_posts_nothing_and_says_so_once(slack, seatsync, caplog):
    distribution, _ = slack
    context, client = seatsync
    await install(client, FIRST)
    await install(client, SECOND)
    first, second = await installed_tenant(context, FIRST), await installed_tenant(context, SECOND)
    for tenant_id in (first, second):
        await set_channels(context, tenant_id)
    for event in distribution.uninstall(SECOND):  # its tokens go; its tenant is kept, marked uninstalled
        assert (await sender_for(distribution, SECOND, client).event_callback(event)).status == 200
    await listeners_done()
    calls_before = len(distribution.team(SECOND).calls())

    with caplog.at_level(logging.WARNING, logger="bot.slack.scheduled_client"):
        for day in (16, 17):  # a job already queued for it, twice: a day's digest each
            context.clock.set(datetime(2026, 11, day, 8, 0, tzinfo=UTC))
            await tenant_job(queue_job(context), second, JobId.DAILY_DIGEST.value)
            await tenant_job(queue_job(context), first, JobId.DAILY_DIGEST.value)

    assert distribution.team(SECOND).calls()[calls_before:] == []
    assert [call.method for call in posts(distribution.team(FIRST))] == ["chat.postMessage"] * 2
    told = [record for record in caplog.records if "has no Slack installation" in record.getMessage()]
    assert [record.getMessage().split()[1] for record in told] == [str(second)]


async def oauth_states(context) -> int:
    async with context.engine.connect() as connection:
        return len(list(await connection.execute(select(SLACK_OAUTH_STATES.c.id))))


async def test_the_hourly_purge_deletes_the_oauth_states_of_installs_never_followed_through(slack, seatsync):
    context, client = seatsync
    await install(client, SECOND)  # its state is consumed
    for _ in range(3):  # install pages opened and left
        assert (await client.get("/slack/install")).status == 200
    assert await oauth_states(context) == 3

    context.clock.advance(timedelta(minutes=9))  # still within their ten minutes
    await purge_tenants(context)
    assert await oauth_states(context) == 3
    context.clock.advance(timedelta(minutes=2))
    await purge_tenants(context)
    assert await oauth_states(context) == 0


async def test_an_org_wide_grid_install_is_one_tenant_for_the_enterprise(slack, seatsync):
    distribution, _ = slack
    context, client = seatsync
    distribution.add_team("T0GRIDWS01", "Grid workspace", enterprise_id="E0GRID0001", enterprise_name="Grid Org",
                          is_enterprise_install=True)

    assert (await install(client, "T0GRIDWS01")).status == 200

    [bot] = await stored_bots(context)
    assert (bot["enterprise_id"], bot["team_id"], bot["is_enterprise_install"]) == ("E0GRID0001", None, True)
    async with context.sessions() as session:
        tenant = await tenant_by_install(session, team_id=None, enterprise_id="E0GRID0001", is_enterprise_install=True)
        assert tenant is not None and tenant.install_key == "enterprise:E0GRID0001"
    await sender_for(distribution, "T0GRIDWS01", client).slash_command("help")
    await listeners_done()
    grid = distribution.team("T0GRIDWS01")
    assert grid.ephemeral_messages(DANA) and all(call.ok for call in web_api_calls(grid))


async def test_with_a_bot_token_seatsync_serves_one_workspace_and_offers_no_install(aiohttp_client, tmp_path,
                                                                                    database_url):
    settings = load_settings(make_env(tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET=SECRET,
                                      SLACK_BOT_TOKEN="xoxb-single", SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="x"),
                             dotenv_path=None)
    context = create_context(settings, clock=ManualClock(PINNED_NOW))
    client = await aiohttp_client(create_app(context, run_scheduler=False))

    assert not settings.multi_workspace and context.bolt.installation_store is None
    assert (await client.get("/slack/install")).status == 404
    assert (await client.get("/slack/oauth_redirect?code=x&state=y")).status == 404
