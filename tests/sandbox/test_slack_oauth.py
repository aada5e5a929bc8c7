"""The Slack simulator's many workspaces: consent screen, oauth.v2.access (codes, refresh tokens), per-workspace bot
tokens, expiry and revocation, uninstall events, and the admin routes; over HTTP with slack_sdk's own client."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.app import Sandbox, create_sandbox_app
from bot.sandbox.slack import SlackRecorder, create_slack_app
from bot.sandbox.slack_oauth import CODE_TTL_S, TOKEN_LIFETIME_S, SlackDistribution
from tests.conftest import PINNED_NOW

REDIRECT = "https://seatsync.test/slack/oauth_redirect"
SECOND = "T0SECOND01"


class Seconds:
    def __init__(self) -> None:
        self.now = PINNED_NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def slack(aiohttp_server):
    seconds = Seconds()
    primary = SlackRecorder(bot_token="xoxb-fixed-primary", signing_secret="secret", clock=seconds)
    distribution = SlackDistribution(primary, redirect_uri=REDIRECT)
    distribution.add_team(SECOND, "Second MSP")
    app = web.Application()
    app.add_subapp("/slack", create_slack_app(primary, distribution))
    server = await aiohttp_server(app, host="127.0.0.1")
    return distribution, server, seconds


def api(server, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=str(server.make_url("/slack/api/")))


async def code_for(client, distribution: SlackDistribution, team_id: str, **extra: str) -> str:
    query = {"client_id": distribution.client_id, "scope": "commands,chat:write", "state": "s-1", **extra}
    page = await client.get("/slack/oauth/v2/authorize?" + urlencode(query))
    assert page.status == 200
    text = await page.text()
    assert "Allow" in text and "Second MSP" in text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    answer = await client.post("/slack/oauth/v2/authorize", data={**query, "team": team_id, "decision": "allow"},
                               allow_redirects=False)
    assert answer.status == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = parse_qs(location.query)
    assert params["state"] == ["s-1"]
    return params["code"][0]


async def test_a_code_is_exchanged_once_for_the_workspaces_rotating_tokens(aiohttp_client, slack):
    distribution, server, _ = slack
    browser = await aiohttp_client(server)
    code = await code_for(browser, distribution, SECOND)
    app_client = api(server)

    reply = await app_client.oauth_v2_access(client_id=distribution.client_id,
                                             client_secret=distribution.client_secret, code=code)

    assert reply["team"] == {"id": SECOND, "name": "Second MSP"} and reply["token_type"] == "bot"
    assert reply["access_token"].startswith("xoxe.xoxb-") and reply["refresh_token"].startswith("xoxe-")
    assert reply["expires_in"] == TOKEN_LIFETIME_S and reply["is_enterprise_install"] is False
    assert reply["bot_user_id"] and reply["app_id"] and reply["authed_user"]["id"]
    with pytest.raises(SlackApiError, match="code_already_used"):
        await app_client.oauth_v2_access(client_id=distribution.client_id,
                                         client_secret=distribution.client_secret, code=code)
    [logged, _] = distribution.primary.calls("oauth.v2.access")
    assert logged.args["code"] == "***" and logged.response["access_token"] == "***"

    identity = await api(server, reply["access_token"]).auth_test()
    assert identity["team_id"] == SECOND
    assert (await api(server, "xoxb-fixed-primary").auth_test())["team_id"] == "T0SEATSYNC"


@pytest.mark.parametrize(("change", "error"), [
    ({"client_id": "9.9"}, "invalid_client_id"),
    ({"client_secret": "wrong"}, "bad_client_secret"),
    ({"code": "nope"}, "invalid_code"),
    ({"redirect_uri": "https://elsewhere.test/cb"}, "bad_redirect_uri"),
    ({"grant_type": "password"}, "invalid_grant_type"),
])
async def test_oauth_v2_access_refuses_as_slack_does(aiohttp_client, slack, change, error):
    distribution, server, _ = slack
    code = await code_for(await aiohttp_client(server), distribution, SECOND, redirect_uri=REDIRECT)
    arguments = {"client_id": distribution.client_id, "client_secret": distribution.client_secret, "code": code,
                 "redirect_uri": REDIRECT, **change}
    grant_type = arguments.pop("grant_type", None)
    with pytest.raises(SlackApiError, match=error):
        await api(server).oauth_v2_access(**arguments, grant_type=grant_type)


async def test_a_code_expires_after_ten_minutes(aiohttp_client, slack):
    distribution, server, seconds = slack
    code = await code_for(await aiohttp_client(server), distribution, SECOND)
    seconds.now += CODE_TTL_S + 1
    with pytest.raises(SlackApiError, match="invalid_code"):
        await api(server).oauth_v2_access(client_id=distribution.client_id,
                                          client_secret=distribution.client_secret, code=code)


async def test_tokens_expire_and_a_refresh_token_rotates_them_once(aiohttp_client, slack):
    distribution, server, seconds = slack
    code = await code_for(await aiohttp_client(server), distribution, SECOND)
    first = await api(server).oauth_v2_access(client_id=distribution.client_id,
                                              client_secret=distribution.client_secret, code=code)
    seconds.now += TOKEN_LIFETIME_S
    with pytest.raises(SlackApiError, match="token_expired"):
        await api(server, first["access_token"]).auth_test()

    second = await api(server).oauth_v2_access(client_id=distribution.client_id,
                                               client_secret=distribution.client_secret,
                                               grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert (await api(server, second["access_token"]).auth_test())["team_id"] == SECOND
    with pytest.raises(SlackApiError, match="invalid_refresh_token"):  # refresh tokens are single use
        await api(server).oauth_v2_access(client_id=distribution.client_id, client_secret=distribution.client_secret,
                                          grant_type="refresh_token", refresh_token=first["refresh_token"])


async def test_without_rotation_the_token_does_not_expire(aiohttp_client, slack):
    distribution, server, seconds = slack
    distribution.token_rotation = False
    code = await code_for(await aiohttp_client(server), distribution, SECOND)
    reply = await api(server).oauth_v2_access(client_id=distribution.client_id,
                                              client_secret=distribution.client_secret, code=code)
    assert reply["access_token"].startswith("xoxb-") and "refresh_token" not in reply
    seconds.now += 10 * TOKEN_LIFETIME_S
    assert (await api(server, reply["access_token"]).auth_test())["ok"]


async def test_uninstall_revokes_the_tokens_and_says_so_in_slacks_two_events(aiohttp_client, slack):
    distribution, server, _ = slack
    code = await code_for(await aiohttp_client(server), distribution, SECOND)
    reply = await api(server).oauth_v2_access(client_id=distribution.client_id,
                                              client_secret=distribution.client_secret, code=code)

    events = distribution.uninstall(SECOND)

    assert [event["type"] for event in events] == ["tokens_revoked", "app_uninstalled"]
    assert events[0]["tokens"]["bot"] == [distribution.team(SECOND).bot_user.id]
    with pytest.raises(SlackApiError, match="token_revoked"):
        await api(server, reply["access_token"]).auth_test()
    with pytest.raises(SlackApiError, match="invalid_refresh_token"):
        await api(server).oauth_v2_access(client_id=distribution.client_id, client_secret=distribution.client_secret,
                                          grant_type="refresh_token", refresh_token=reply["refresh_token"])
    assert distribution.uninstall(SECOND) == []  # nothing left to tell


async def test_the_consent_screen_escapes_what_it_shows_and_cancel_says_access_denied(aiohttp_client, slack):
    distribution, server, _ = slack
    distribution.add_team("T0HOSTILE1", '<script>alert("x")</script>')
    browser = await aiohttp_client(server)
    query = {"client_id": distribution.client_id, "scope": "commands", "state": '"><b>'}
    page = await (await browser.get("/slack/oauth/v2/authorize?" + urlencode(query))).text()
    assert "<script>" not in page and "<b>" not in page

    cancel = await browser.post("/slack/oauth/v2/authorize", data={**query, "decision": "cancel"},
                                allow_redirects=False)
    assert parse_qs(urlsplit(cancel.headers["Location"]).query) == {"error": ["access_denied"], "state": ['"><b>']}
    wrong = await browser.get("/slack/oauth/v2/authorize?" + urlencode({**query, "client_id": "0.0"}))
    assert wrong.status == 400


async def test_the_sandbox_serves_the_teams_admin_routes_and_prints_the_apps_credentials(aiohttp_client, today):
    sandbox = Sandbox.generate(seed=3, today=today)
    client = await aiohttp_client(create_sandbox_app(sandbox))
    auth = {"Authorization": f"Bearer {sandbox.world.credentials.admin_token}"}
    added = await client.post("/admin/slack/teams", json={"team_id": "T0THIRD001", "name": "Third MSP"},
                              headers=auth)
    assert added.status == 201
    listed = await (await client.get("/admin/slack/teams", headers=auth)).json()
    assert [team["team_id"] for team in listed["teams"]] == ["T0SEATSYNC", "T0THIRD001"]
    assert re.fullmatch(r"\d+\.\d+", sandbox.config()["slack"]["client_id"])
    assert sandbox.config()["slack"]["authorize_url"].endswith("/slack/oauth/v2/authorize")
    uninstalled = await client.post("/admin/slack/teams/T0THIRD001/uninstall", headers=auth)
    assert (await uninstalled.json())["events"] == []  # it was never installed


async def test_each_workspace_has_a_console_that_links_the_others_and_offers_the_apps_install(aiohttp_client, today):
    sandbox = Sandbox.generate(seed=3, today=today)
    sandbox.slack_teams.add_team(SECOND, "Second MSP")
    sandbox.slack_request_url = "http://127.0.0.1:3000/slack/events"
    client = await aiohttp_client(create_sandbox_app(sandbox))

    second = await (await client.get(f"/console/{SECOND}/api/state?user=U0DANA0001")).json()
    first = await (await client.get("/console/api/state?user=U0DANA0001")).json()

    assert second["team"]["id"] == SECOND and first["team"]["id"] == "T0SEATSYNC"
    assert [(w["path"], w["current"]) for w in second["workspaces"]] == [("/console/", False),
                                                                         (f"/console/{SECOND}/", True)]
    assert second["install_url"] == f"http://127.0.0.1:3000/slack/install?team={SECOND}"
    assert first["install_url"] is None  # the default workspace has its fixed bot token: installed already
    assert (await client.get(f"/console/{SECOND}/")).status == 200


async def test_a_workspace_is_told_when_the_app_arrives_and_leaves(aiohttp_client, slack):
    """Its console redraws then (its install link goes, or comes back), even when nothing else happens in it."""
    distribution, server, _ = slack
    told: list[bool] = []
    second = distribution.team(SECOND)
    second.listeners.append(lambda: told.append(SECOND in distribution.installed))
    code = await code_for(await aiohttp_client(server), distribution, SECOND)

    await api(server).oauth_v2_access(client_id=distribution.client_id, client_secret=distribution.client_secret,
                                      code=code)
    assert told == [True]
    distribution.uninstall(SECOND)
    assert told == [True, False]
