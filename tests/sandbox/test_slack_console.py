"""The Slack console's server side, without a browser: what a person does in it reaches SeatSync's real
/slack/events as Slack's signed requests, and what SeatSync answers shows to that person alone.

SeatSync runs as in tests/commands (its app on the Slack simulator); the console is served over the same
simulated workspace and sends to SeatSync's port, as `seatsync demo` wires them.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from pathlib import Path

import pytest
from aiohttp import web
from slack_sdk.models.blocks import Block, BlockElement

from bot.sandbox.app import Sandbox
from bot.sandbox.slack_console import create_console_app
from bot.sandbox.slack_console.app import STATIC
from bot.sandbox.slack_requests import SlackRequestSender
from bot.slack.ids import ActionId, HomeId, LinkCallbackId, PolicyId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    LEE,
    SECRET,
    slack,
    start_app,
)

GENERAL = "C0GENERAL01"
SLACK_DIRS = [Path(__file__).resolve().parents[2] / "bot" / name for name in ("commands", "slack", "notify")]


async def console_for(aiohttp_client, recorder, request_url: str | None, **kwargs):
    return await aiohttp_client(create_console_app(recorder, lambda: request_url, **kwargs))


async def seatsync_with_console(aiohttp_client, slack, tmp_path, database_url, **env):  # noqa: F811
    """SeatSync on the Slack simulator, and the console sending to SeatSync's /slack/events."""
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, **env)
    events_url = str(sender._client.make_url("/slack/events"))
    console = await console_for(aiohttp_client, recorder, events_url)
    return events_url, console


async def post(console, route: str, **body):
    response = await console.post(f"/api/{route}", json=body)
    return response.status, await response.json()


async def state(console, user: str):
    response = await console.get("/api/state", params={"user": user})
    assert response.status == 200
    return await response.json()


def texts(seen: dict, channel: str) -> list[str]:
    return [m["text"] for m in seen["messages"][channel]]


@pytest.mark.db
async def test_a_slash_command_from_the_console_opens_seatsyncs_dialog(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                        database_url):
    recorder, _ = slack
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)

    status, answer = await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats link")

    assert (status, answer) == (200, {"ok": True})
    await listeners_done()
    assert recorder.open_views(DANA)
    opened, = recorder.calls("views.open")
    assert opened.ok, opened.error  # the trigger_id in the signed request was fresh and valid
    seen = await state(console, DANA)
    assert [v["callback_id"] for v in seen["modals"]] == [LinkCallbackId.WIZARD]
    assert (await state(console, LEE))["modals"] == []


@pytest.mark.db
async def test_the_console_signs_with_the_workspaces_signing_secret(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                    database_url):
    """A request signed with another secret is refused by SeatSync (401), and Slack says so to the person."""
    recorder, _ = slack
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)
    recorder.signing_secret = SECRET + "-not-the-apps"

    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats help")

    assert recorder.calls() == []  # SeatSync did nothing
    assert texts(await state(console, DANA), BILLING_CHANNEL) == ['/seats failed with the error "dispatch_failed"']
    assert texts(await state(console, "U0SAM00002"), BILLING_CHANNEL) == []


@pytest.mark.db
async def test_an_outsiders_refusal_shows_to_them_alone(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url,
                                             SEATSYNC_BILLING_TEAM="S0BILLING01")

    await post(console, "command", user=LEE, channel=GENERAL, text="/seats link")

    async def lee_sees() -> list[str]:
        return texts(await state(console, LEE), GENERAL)

    for _ in range(300):
        if await lee_sees():
            break
        await asyncio.sleep(0.01)
    refusal, = await lee_sees()
    assert "billing team" in refusal
    assert (await state(console, LEE))["messages"][GENERAL][0]["ephemeral"] is True
    assert texts(await state(console, DANA), GENERAL) == []


@pytest.mark.db
async def test_a_persons_dialog_is_theirs_alone(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    """The console, as Slack's client, lets nobody else act in Dana's dialog; and were such a request sent,
    SeatSync refuses it as well."""
    recorder, _ = slack
    events_url, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)
    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats policy")
    await listeners_done()
    assert recorder.open_views(DANA)
    view = recorder.open_views(DANA)[-1]
    calls_before, updates_before = len(recorder.calls()), len(recorder.calls("views.update"))

    status, answer = await post(console, "submit", user=LEE, view_id=view["id"], values={})
    assert status == 403 and "not open for U0LEE00003" in answer["error"]
    status, _ = await post(console, "action", user=LEE, where={"view_id": view["id"]},
                           action_id=PolicyId.SCOPE, choice=None, values={})
    assert status == 403
    assert len(recorder.calls()) == calls_before  # nothing reached SeatSync

    # the same click forged past the console, signed as Slack would: SeatSync refuses a dialog opened by someone else
    forger = SlackRequestSender(signing_secret=SECRET, events_url=events_url, recorder=recorder)
    async with forger:
        reply = await forger.block_actions(PolicyId.SCOPE, view=view["id"], user_id=LEE, selected_option="global")
    assert reply.status == 200
    await listeners_done()
    assert len(recorder.calls("views.update")) > updates_before
    assert "altered" in json.dumps(recorder.calls("views.update")[-1].args["view"])


@pytest.mark.db
async def test_options_and_submission_errors_come_back_to_the_page(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                   database_url):
    recorder, _ = slack
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)
    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats policy")
    await listeners_done()
    assert recorder.open_views(DANA)
    view = recorder.open_views(DANA)[-1]

    status, answer = await post(console, "suggest", user=DANA, where={"view_id": view["id"]},
                                action_id=PolicyId.COMPANY, value="")
    assert (status, answer) == (200, {"ok": True, "options": []})  # an empty database: no companies to offer

    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    values = {b["block_id"]: {b["element"]["action_id"]: b["element"].get("initial_option")
                              or b["element"].get("initial_value")} for b in inputs}
    number = next(b for b in inputs if b["element"]["type"] in ("plain_text_input", "number_input"))
    values[number["block_id"]] = {number["element"]["action_id"]: "-5"}
    status, answer = await post(console, "submit", user=DANA, view_id=view["id"], values=values)

    assert status == 200 and list(answer["errors"]) == [number["block_id"]]
    assert recorder.open_views(DANA)  # the dialog stays open, showing the error under the field

    required = {b["block_id"]: {b["element"]["action_id"]: None} for b in inputs}
    status, answer = await post(console, "submit", user=DANA, view_id=view["id"], values=required)
    assert status == 400 and "is required" in answer["error"]  # Slack's client does not send an empty required input


@pytest.mark.db
async def test_closing_a_dialog_takes_it_off_the_persons_stack(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                               database_url):
    recorder, _ = slack
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)
    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats link")
    await listeners_done()
    assert recorder.open_views(DANA)
    view = recorder.open_views(DANA)[-1]

    status, _ = await post(console, "close", user=DANA, view_id=view["id"], cleared=True)

    assert status == 200
    assert (await state(console, DANA))["modals"] == []


@pytest.mark.db
async def test_opening_the_home_tab_sends_app_home_opened(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)

    status, answer = await post(console, "home", user=DANA)

    assert (status, answer) == (200, {"ok": True})
    await listeners_done()
    assert recorder.home_view(DANA)
    home = (await state(console, DANA))["home"]
    assert home["type"] == "home" and home["blocks"]


@pytest.mark.db
async def test_buttons_in_the_home_tab_and_in_an_ephemeral_message_reach_seatsync(aiohttp_client, slack,  # noqa: F811
                                                                                   tmp_path, database_url):
    recorder, _ = slack
    _, console = await seatsync_with_console(aiohttp_client, slack, tmp_path, database_url)
    await post(console, "home", user=DANA)
    await listeners_done()
    assert recorder.home_view(DANA)
    home = recorder.home_view(DANA)

    status, answer = await post(console, "action", user=DANA, where={"view_id": home["id"]},
                                action_id=HomeId.LINK, values={})
    assert (status, answer) == (200, {"ok": True})
    await listeners_done()  # the Home tab's click carried a trigger_id views.open took
    assert recorder.open_views(DANA)
    assert recorder.open_views(DANA)[-1]["callback_id"] == LinkCallbackId.WIZARD

    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats help")
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    help_message = recorder.ephemeral_messages(DANA)[-1]
    status, answer = await post(console, "action", user=DANA, where={"channel": BILLING_CHANNEL,
                                                                     "ts": help_message.ts},
                                action_id=ActionId.HELP_SYNC_DRY_RUN)
    assert (status, answer) == (200, {"ok": True})
    await listeners_done()
    assert any(m.message["text"].startswith("Dry run") for m in recorder.ephemeral_messages(DANA))
    status, _ = await post(console, "action", user=LEE, where={"channel": BILLING_CHANNEL, "ts": help_message.ts},
                           action_id=ActionId.HELP_SYNC_DRY_RUN)
    assert status == 403  # Dana's ephemeral message is not Lee's to click


async def test_an_app_that_does_not_answer_in_time_fails_as_in_slack(aiohttp_client, slack):  # noqa: F811
    recorder, _ = slack

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response()

    app = web.Application()
    app.router.add_post("/slack/events", slow)
    seatsync = await aiohttp_client(app)
    console = await console_for(aiohttp_client, recorder, str(seatsync.make_url("/slack/events")), timeout_s=0.2)

    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/seats help")
    await post(console, "command", user=DANA, channel=BILLING_CHANNEL, text="/deploy now")

    assert texts(await state(console, DANA), BILLING_CHANNEL) == [
        '/seats failed with the error "operation_timeout"',
        '/deploy is not a valid command. In Slack, all messages that start with the "/" character are '
        "interpreted as commands."]


async def test_the_console_answers_only_json_and_serves_its_page_under_a_strict_policy(aiohttp_client, slack):  # noqa: F811
    recorder, _ = slack
    console = await console_for(aiohttp_client, recorder, None)

    page = await console.get("/")
    form = await console.post("/api/command", data={"user": DANA, "channel": BILLING_CHANNEL, "text": "/seats help"})
    unconnected = await console.post("/api/command", json={"user": DANA, "channel": BILLING_CHANNEL,
                                                           "text": "/seats help"})
    stranger = await console.post("/api/command", json={"user": "U0NOBODY", "channel": BILLING_CHANNEL, "text": "x"})

    assert page.status == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script type="module" src="static/console.js">' in await page.text()
    assert form.status == 415
    assert unconnected.status == 409 and "no app is connected" in (await unconnected.json())["error"]
    assert stranger.status == 404


async def test_the_sandbox_serves_the_console_and_takes_the_apps_request_url(aiohttp_client, today):
    sandbox = Sandbox.generate(seed=3, scale="small", today=today)
    client = await aiohttp_client(create_sandbox_app_for(sandbox))
    admin = {"Authorization": f"Bearer {sandbox.world.credentials.admin_token}"}

    page = await client.get("/console/")
    bare = await client.get("/console", allow_redirects=False)
    elsewhere = await client.put("/admin/slack/request-url", json={"url": "http://example.com/slack/events"},
                                 headers=admin)
    local = await client.put("/admin/slack/request-url", json={"url": "http://127.0.0.1:3000/slack/events"},
                             headers=admin)

    assert page.status == 200 and bare.status == 302 and bare.headers["Location"] == "/console/"
    assert elsewhere.status == 400
    assert local.status == 200 and sandbox.slack_request_url == "http://127.0.0.1:3000/slack/events"


def create_sandbox_app_for(sandbox: Sandbox) -> web.Application:
    from bot.sandbox.app import create_sandbox_app

    return create_sandbox_app(sandbox)


# --- every block and element SeatSync builds, the console renders ---------------------------------------------

def registry(name: str) -> set[str]:
    """The keys of `export const NAME = { ... };` in blockkit.js: the types the console renders."""
    source = (STATIC / "blockkit.js").read_text(encoding="utf-8")
    body = re.search(rf"export const {name} = \{{(.*?)\n\}};", source, re.S)
    assert body, f"no {name} registry in blockkit.js"
    return set(re.findall(r"^\s{2}(\w+):", body.group(1), re.M))


def slack_sdk_types_used_by_seatsync() -> tuple[set[str], set[str]]:
    """(block types, element types) of every slack_sdk Block / BlockElement class named in SeatSync's Slack code
    (bot/commands, bot/slack, bot/notify)."""
    import slack_sdk.models.blocks as sdk

    blocks: set[str] = set()
    elements: set[str] = set()
    for path in (path for directory in SLACK_DIRS for path in directory.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name) and isinstance(getattr(sdk, node.id, None), type):
                model = getattr(sdk, node.id)
                kind = getattr(model, "type", None)
                if not isinstance(kind, str):
                    continue
                if issubclass(model, Block):
                    blocks.add(kind)
                elif issubclass(model, BlockElement) and kind not in ("plain_text", "mrkdwn"):
                    elements.add(kind)
    return blocks, elements


def test_the_console_renders_every_block_and_element_type_seatsync_builds():
    blocks, elements = slack_sdk_types_used_by_seatsync()

    assert {"section", "input", "actions"} <= blocks and {"button", "external_select"} <= elements  # found them
    assert blocks - registry("BLOCKS") == set()
    assert elements - registry("ELEMENTS") == set()


def test_raw_block_dicts_in_seatsync_name_only_types_the_console_renders():
    """Blocks written as dicts rather than slack_sdk models: every `"type": "..."` literal in SeatSync's Slack code."""
    rendered = registry("BLOCKS") | registry("ELEMENTS") | {"plain_text", "mrkdwn", "modal", "home", "message",
                                                            "view", "input", "option"}
    found = set()
    for path in (path for directory in SLACK_DIRS for path in directory.rglob("*.py")):
        found |= set(re.findall(r"""["']type["']\s*:\s*["'](\w+)["']""", path.read_text(encoding="utf-8")))
    assert found - rendered == set()


def test_the_page_loads_only_its_own_files():
    """No CDN (the sandbox runs offline): the page and its scripts load files of the console alone."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    for script in STATIC.glob("*.js"):
        loaded += re.findall(r'^import .* from "([^"]+)";', script.read_text(encoding="utf-8"), re.M)
    assert loaded
    for name in loaded:
        assert not re.match(r"\w+:|//", name), name
        assert (STATIC / name.removeprefix("static/").removeprefix("./")).is_file(), name


def test_seatsync_sandbox_sends_slacks_requests_only_to_localhost(capsys):
    from bot.__main__ import main

    assert main(["sandbox", "--port", "0", "--slack-request-url", "https://example.com/slack/events"]) == 2
    assert "must be an http URL on localhost" in capsys.readouterr().err
