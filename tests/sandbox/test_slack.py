"""The Slack Web API simulator, driven through the real slack_sdk AsyncWebClient over HTTP."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.slack import METHODS, SlackRecorder, create_slack_app, slack_error
from bot.sandbox.slack_blocks import validate_message_blocks, validate_view
from bot.sandbox.slack_files import share_file
from bot.sandbox.slack_workspace import TRIGGER_TTL_S

TOKEN = "xoxb-1-sandbox-test"
SPEC = json.loads((Path(__file__).parents[1] / "specs" / "slack-web-api-openapi-v2.json").read_text())


class FakeClock:
    def __init__(self, start: float = 1_732_262_400.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def recorder(clock: FakeClock) -> SlackRecorder:
    return SlackRecorder(bot_token=TOKEN, signing_secret="secret", clock=clock)


@pytest.fixture
def knobs() -> FaultKnobs:
    return FaultKnobs()


@pytest.fixture
async def server(aiohttp_server, recorder, knobs):
    app = web.Application()
    sub = create_slack_app(recorder)
    sub.middlewares.insert(0, fault_middleware(knobs, slack_error))
    app.add_subapp("/slack", sub)
    return await aiohttp_server(app)


@pytest.fixture
def api_url(server) -> str:
    return str(server.make_url("/slack/api/"))


@pytest.fixture
def slack(api_url) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=api_url, retry_handlers=[])


async def slack_error_of(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def error_of(call) -> str:
    return (await slack_error_of(call)).response["error"]


def modal(title: str = "Link a subscription", blocks: list | None = None, **extra) -> dict:
    return {"type": "modal", "callback_id": "link_modal", "title": {"type": "plain_text", "text": title},
            "submit": {"type": "plain_text", "text": "Link"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": blocks if blocks is not None else [
                {"type": "input", "block_id": "company", "label": {"type": "plain_text", "text": "Company"},
                 "element": {"type": "external_select", "action_id": "company_picker", "min_query_length": 2,
                             "placeholder": {"type": "plain_text", "text": "Search companies"}}},
                {"type": "input", "block_id": "note", "optional": True,
                 "label": {"type": "plain_text", "text": "Note"},
                 "element": {"type": "plain_text_input", "action_id": "note_text"}}],
            **extra}


def section(text: str = "hello") -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# --- the OpenAPI document ----------------------------------------------------------------------

# Fields real Slack returns today that the (older) OpenAPI document's closed schemas do not list.
NEWER_FIELDS = {"message": {"app_id"}}


def assert_matches_spec(method: str, body: dict) -> None:
    operation = next(iter(SPEC["paths"]["/" + method].values()))
    schema = operation["responses"]["200" if body["ok"] else "default"]["schema"]
    checked = copy.deepcopy(body)
    for key, extra in NEWER_FIELDS.items():
        if isinstance(checked.get(key), dict):
            for name in extra:
                checked[key].pop(name, None)
    if method == "chat.update":  # the document types message.blocks as an object; Slack returns an array
        checked.get("message", {}).pop("blocks", None)
    jsonschema.Draft4Validator({**schema, "definitions": SPEC["definitions"]}).validate(checked)


ARGUMENTS_WE_READ = {
    "auth.test": set(),
    "chat.postMessage": {"channel", "text", "blocks", "attachments", "thread_ts"},
    "chat.postEphemeral": {"channel", "user", "text", "blocks", "attachments", "thread_ts"},
    "chat.update": {"channel", "ts", "text", "blocks", "attachments"},
    "chat.delete": {"channel", "ts"},
    "views.open": {"trigger_id", "view"},
    "views.push": {"trigger_id", "view"},
    "views.update": {"view_id", "external_id", "view", "hash"},
    "views.publish": {"user_id", "view", "hash"},
    "users.info": {"user", "include_locale"},
    "usergroups.list": {"include_users"},
    "usergroups.users.list": {"usergroup"},
    "conversations.info": {"channel", "include_num_members", "include_locale"},
    "conversations.members": {"channel", "limit", "cursor"},
    "files.info": {"file"},
}


def test_every_method_and_argument_exists_in_the_openapi_document():
    assert set(ARGUMENTS_WE_READ) | {"api.test"} == set(METHODS)
    for method, arguments in ARGUMENTS_WE_READ.items():
        operation = next(iter(SPEC["paths"]["/" + method].values()))
        documented = {p["name"] for p in operation["parameters"]}
        assert "token" in documented
        assert arguments <= documented, (method, arguments - documented)


# --- auth, transport, malformed requests -------------------------------------------------------

async def test_auth_test_identifies_the_bot(slack, recorder):
    reply = await slack.auth_test()
    assert reply["user_id"] == recorder.bot_user.id and reply["bot_id"] == recorder.bot_id
    assert reply["team_id"] == recorder.team_id and reply["url"].startswith("https://")
    assert_matches_spec("auth.test", reply.data)


async def test_missing_and_wrong_tokens(api_url):
    assert await error_of(AsyncWebClient(base_url=api_url).auth_test()) == "not_authed"
    error = await slack_error_of(AsyncWebClient(token="xoxb-wrong", base_url=api_url).chat_postMessage(
        channel="C0GENERAL01", text="x"))
    assert error.response.status_code == 200 and error.response["error"] == "invalid_auth"
    assert_matches_spec("auth.test", {"ok": False, "error": "invalid_auth"})


async def test_token_as_form_argument_and_not_in_a_json_body(server, api_url):
    async with aiohttp.ClientSession() as http:
        async with http.post(api_url + "auth.test", data={"token": TOKEN}) as resp:
            assert (await resp.json())["ok"] is True
        async with http.post(api_url + "auth.test", json={"token": TOKEN}) as resp:
            assert (await resp.json()) == {"ok": False, "error": "not_authed"}
        async with http.get(api_url + "users.info", params={"token": TOKEN, "user": "U0DANA0001"}) as resp:
            assert (await resp.json())["user"]["name"] == "dana"


async def test_unknown_method_is_a_404(api_url):
    async with aiohttp.ClientSession() as http, http.post(
            api_url + "chat.postMessagee", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error": "unknown_method", "req_method": "chat.postMessagee"}


@pytest.mark.parametrize(("body", "content_type", "error"), [
    (b"{not json", "application/json", "invalid_json"),
    (b"[1, 2]", "application/json", "json_not_object"),
    (b"<xml/>", "text/xml", "invalid_post_type"),
    (b"channel=C1", None, "missing_post_type"),
])
async def test_malformed_bodies(api_url, body, content_type, error):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type:
        headers["Content-Type"] = content_type
    async with aiohttp.ClientSession() as http, http.post(
            api_url + "chat.postMessage", data=body, headers=headers, skip_auto_headers=["Content-Type"]) as resp:
        assert resp.status == 200
        assert (await resp.json())["error"] == error


@pytest.mark.parametrize("odd", [[1, "x"], {"a": 1}, 7, True, None, "", "[{", "{}"])
async def test_oddly_typed_arguments_never_break_a_method(api_url, recorder, odd):
    recorder.limits.tiers_enabled = False
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for method, arguments in ARGUMENTS_WE_READ.items():
            body = {name: odd for name in arguments}
            async with http.post(api_url + method, json=body) as resp:
                assert resp.status in (200, 429), (method, odd)
                reply = await resp.json()
                assert isinstance(reply["ok"], bool) and (reply["ok"] or isinstance(reply["error"], str))


# --- chat.* ------------------------------------------------------------------------------------

async def test_post_message_by_id_name_and_dm(slack, recorder):
    first = await slack.chat_postMessage(channel="C0BILLING01", text="Seats synced", blocks=[section("*3* changes")])
    by_name = await slack.chat_postMessage(channel="#billing-alerts", text="again")
    bare_name = await slack.chat_postMessage(channel="general", text="hi all")
    dm = await slack.chat_postMessage(channel="U0DANA0001", text="just you")
    assert first["channel"] == by_name["channel"] == "C0BILLING01"
    assert bare_name["channel"] == "C0GENERAL01" and dm["channel"] == recorder.users["U0DANA0001"].dm_channel
    assert first["ts"] < by_name["ts"] < bare_name["ts"] < dm["ts"]  # unique and increasing, same clock second
    assert first["ts"].startswith("1732262400.")
    message = first["message"]
    assert message["bot_id"] == recorder.bot_id and message["text"] == "Seats synced"
    assert message["blocks"][0]["block_id"]  # Slack fills in block ids
    assert [m["text"] for m in recorder.channel_messages("C0BILLING01")] == ["Seats synced", "again"]
    assert_matches_spec("chat.postMessage", first.data)


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(("kwargs", "error"), [
    ({"channel": "C0NOPE00001", "text": "x"}, "channel_not_found"),
    ({"channel": "G0FINANCE01", "text": "x"}, "channel_not_found"),  # private, bot not in it
    ({"channel": "C0RANDOM001", "text": "x"}, "not_in_channel"),
    ({"channel": "C0GENERAL01"}, "no_text"),
    ({"channel": "C0GENERAL01", "blocks": []}, "no_text"),
])
async def test_post_message_errors(slack, kwargs, error):
    assert await error_of(slack.chat_postMessage(**kwargs)) == error
    assert_matches_spec("chat.postMessage", {"ok": False, "error": error})


async def test_post_message_archived_and_missing_channel(slack, recorder):
    recorder.add_channel("old-alerts", channel_id="C0ARCHIVED1", is_archived=True)
    assert await error_of(slack.chat_postMessage(channel="C0ARCHIVED1", text="x")) == "is_archived"
    error = await slack_error_of(slack.api_call("chat.postMessage", json={"text": "x"}))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_form_encoded_blocks_and_bad_blocks_format(slack, recorder):
    reply = await slack.api_call("chat.postMessage", data={"channel": "C0GENERAL01", "text": "form",
                                                           "blocks": json.dumps([section("from a form")])})
    assert reply["message"]["blocks"][0]["text"]["text"] == "from a form"
    call = recorder.calls("chat.postMessage")[-1]
    assert call.args["blocks"] == [section("from a form")]  # recorded decoded
    assert await error_of(slack.api_call("chat.postMessage", data={"channel": "C0GENERAL01",
                                                                   "blocks": "[{oops"})) == "invalid_blocks_format"
    assert await error_of(slack.chat_postMessage(channel="C0GENERAL01", blocks={"type": "divider"})) \
        == "invalid_blocks_format"


@pytest.mark.parametrize(("blocks", "pointer", "message"), [
    ([{"type": "carousel"}], "/blocks/0", "failed to match all allowed schemas"),
    ([section("x" * 3001)], "/blocks/0/text/text", "must be less than 3001 characters"),
    ([section()] * 51, "/blocks", "no more than 50 items allowed"),
    ([section(""), ], "/blocks/0/text/text", "must be more than 0 characters"),
    ([{"type": "actions", "elements": [{"type": "static_select", "action_id": "pick", "options": [
        {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v"}]}]}],
     "/blocks/0/elements/0/options/0/text/text", "must be less than 76 characters"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*bold*"}}], "/blocks/0/text/type",
     "must be one of the allowed types: plain_text"),
    ([{"type": "actions", "block_id": "a", "elements": [{"type": "button", "action_id": "b",
                                                         "text": {"type": "plain_text", "text": "B"}}]},
      {"type": "divider", "block_id": "a"}], "/blocks/1/block_id", "duplicate block_id: a"),
])
async def test_invalid_blocks_name_the_problem(slack, blocks, pointer, message):
    error = await slack_error_of(slack.chat_postMessage(channel="C0GENERAL01", text="x", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert f"[ERROR] {message} [json-pointer:{pointer}]" in error.response["response_metadata"]["messages"]


async def test_slack_sdk_validators_are_a_backstop(slack):
    # Our own walk does not check dates or image URLs; slack_sdk's models do, at the block's pointer.
    blocks = [section(), {"type": "section", "text": {"type": "mrkdwn", "text": "When?"},
                          "accessory": {"type": "datepicker", "action_id": "d", "initial_date": "next tuesday"}}]
    error = await slack_error_of(slack.chat_postMessage(channel="C0GENERAL01", text="x", blocks=blocks))
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] initial_date attribute must be in format 'YYYY-MM-DD' [json-pointer:/blocks/1]"]


BLOCK_WORDS = st.sampled_from(["type", "text", "section", "actions", "input", "header", "button", "static_select",
                                "options", "value", "elements", "element", "label", "plain_text", "mrkdwn",
                                "block_id", "action_id", "fields", "accessory", "modal", "home", "title", "blocks"])
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | BLOCK_WORDS | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(BLOCK_WORDS, inner, max_size=5),
                       max_leaves=25)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_validation_never_crashes_on_arbitrary_json(value):
    for problems in (validate_message_blocks(value), validate_view(value)):
        assert all(p.startswith("[ERROR] ") and "[json-pointer:/" in p for p in problems)
    if not isinstance(value, list):
        assert validate_message_blocks(value) == ["[ERROR] must provide an array [json-pointer:/blocks]"]


async def test_long_text_is_truncated_at_40000(slack, recorder):
    reply = await slack.chat_postMessage(channel="C0GENERAL01", text="y" * 40_050)
    assert len(reply["message"]["text"]) == 40_000


async def test_post_ephemeral(slack, recorder):
    reply = await slack.chat_postEphemeral(channel="C0BILLING01", user="U0SAM00002", text="only you")
    assert reply.data.keys() == {"ok", "message_ts"}
    assert_matches_spec("chat.postEphemeral", reply.data)
    [note] = recorder.ephemeral_messages("U0SAM00002")
    assert note.channel == "C0BILLING01" and note.message["text"] == "only you"
    assert await error_of(slack.chat_postEphemeral(channel="C0BILLING01", user="U0LEE00003", text="x")) \
        == "user_not_in_channel"
    assert await error_of(slack.chat_postEphemeral(channel="C0BILLING01", user="U0NOBODY01", text="x")) \
        == "user_not_found"


async def test_update_and_delete(slack, recorder):
    posted = await slack.chat_postMessage(channel="C0BILLING01", text="Syncing…", blocks=[section("Syncing…")])
    updated = await slack.chat_update(channel="C0BILLING01", ts=posted["ts"], text="Done")
    assert updated["ts"] == posted["ts"] and updated["text"] == "Done"
    assert updated["message"]["blocks"][0]["text"]["text"] == "Syncing…"  # blocks kept when not given
    assert_matches_spec("chat.update", updated.data)
    stored = recorder.messages[("C0BILLING01", posted["ts"])].message
    assert stored["text"] == "Done" and "edited" in stored
    deleted = await slack.chat_delete(channel="C0BILLING01", ts=posted["ts"])
    assert_matches_spec("chat.delete", deleted.data)
    assert await error_of(slack.chat_update(channel="C0BILLING01", ts=posted["ts"], text="x")) == "message_not_found"
    assert await error_of(slack.chat_delete(channel="C0BILLING01", ts=posted["ts"])) == "message_not_found"
    someone_elses = recorder.add_user_message("C0BILLING01", "U0DANA0001", "my own words")
    assert await error_of(slack.chat_update(channel="C0BILLING01", ts=someone_elses, text="x")) \
        == "cant_update_message"
    assert await error_of(slack.chat_delete(channel="C0BILLING01", ts=someone_elses)) == "cant_delete_message"
    assert await error_of(slack.chat_update(channel="C0NOPE00001", ts=someone_elses, text="x")) \
        == "channel_not_found"


# --- views.* -----------------------------------------------------------------------------------

async def test_views_open_exchanges_a_trigger_once(slack, recorder):
    trigger = recorder.issue_trigger_id("U0DANA0001")
    reply = await slack.views_open(trigger_id=trigger, view=modal(private_metadata='{"company": 7}'))
    view = reply["view"]
    assert view["id"].startswith("V") and view["hash"] and view["root_view_id"] == view["id"]
    assert view["private_metadata"] == '{"company": 7}' and view["state"] == {"values": {}}
    assert view["app_id"] == recorder.app_id and view["team_id"] == recorder.team_id
    assert recorder.open_views("U0DANA0001") == [view]
    assert await error_of(slack.views_open(trigger_id=trigger, view=modal())) == "exchanged_trigger_id"
    assert await error_of(slack.views_open(trigger_id="123.456.abcdef", view=modal())) == "invalid_trigger_id"


async def test_trigger_expires_after_three_seconds(slack, recorder, clock):
    recorder.trigger_ttl_s = TRIGGER_TTL_S  # Slack's own, which the other tests widen (tests/conftest.py)
    trigger = recorder.issue_trigger_id("U0DANA0001")
    clock.advance(2.9)
    fresh = recorder.issue_trigger_id("U0DANA0001")
    clock.advance(0.2)
    assert await error_of(slack.views_open(trigger_id=trigger, view=modal())) == "expired_trigger_id"
    assert (await slack.views_open(trigger_id=fresh, view=modal()))["ok"]


async def test_views_open_argument_errors(slack, recorder):
    error = await slack_error_of(slack.api_call("views.open", json={"view": modal()}))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] missing required field: trigger_id"]
    home = {"type": "home", "blocks": [section()]}
    assert await error_of(slack.views_open(trigger_id=recorder.issue_trigger_id("U0DANA0001"), view=home)) \
        == "invalid_arguments"


@pytest.mark.parametrize(("view", "pointer", "message"), [
    (modal(title="A title far too long to fit"), "/view/title/text", "must be less than 25 characters"),
    (modal(blocks=[section()] * 101), "/view/blocks", "no more than 100 items allowed"),
    (modal(blocks=[{"type": "input", "label": {"type": "plain_text", "text": "Pick"}, "element": {
        "type": "static_select", "action_id": "p", "options": [
            {"text": {"type": "plain_text", "text": "x" * 76}, "value": "x"}]}}]),
     "/view/blocks/0/element/options/0/text/text", "must be less than 76 characters"),
    (modal(blocks=[{"type": "poll"}]), "/view/blocks/0", "failed to match all allowed schemas"),
    (modal(private_metadata="m" * 3001), "/view/private_metadata", "must be less than 3001 characters"),
    (modal(submit=None), "/view/submit", "must provide submit when the view has input blocks"),
])
async def test_invalid_views_are_refused_without_burning_the_trigger(slack, recorder, view, pointer, message):
    trigger = recorder.issue_trigger_id("U0DANA0001")
    error = await slack_error_of(slack.views_open(trigger_id=trigger, view=view))
    assert error.response["error"] == "invalid_arguments"
    assert f"[ERROR] {message} [json-pointer:{pointer}]" in error.response["response_metadata"]["messages"]
    assert (await slack.views_open(trigger_id=trigger, view=modal()))["ok"]


async def test_a_valid_modal_passes_slack_sdk_models_too(slack, recorder):
    from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
    from slack_sdk.models.views import View
    view = View(type="modal", callback_id="cfg", title="Config", submit="Save", blocks=[
        SectionBlock(text="Only admins may change config."),
        InputBlock(block_id="channel", label="Alert channel",
                   element=PlainTextInputElement(action_id="channel_name"))])
    reply = await slack.views_open(trigger_id=recorder.issue_trigger_id("U0MORGAN04"), view=view)
    assert reply["view"]["callback_id"] == "cfg"


async def test_view_too_large(slack, recorder):
    huge = modal(blocks=[section("z" * 2900) for _ in range(95)])
    assert await error_of(slack.views_open(trigger_id=recorder.issue_trigger_id("U0DANA0001"), view=huge)) \
        == "view_too_large"


async def test_views_update_with_hash(slack, recorder):
    view = (await slack.views_open(trigger_id=recorder.issue_trigger_id("U0DANA0001"),
                                   view=modal(external_id="link-1")))["view"]
    updated = (await slack.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Step 2")))["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert updated["title"]["text"] == "Step 2"
    assert await error_of(slack.views_update(view_id=view["id"], hash=view["hash"], view=modal())) == "hash_conflict"
    assert await error_of(slack.views_update(view_id="V0NOTAVIEW", view=modal())) == "not_found"
    by_external = await slack.views_update(external_id="link-1", view=modal(title="Step 3", external_id="link-1"))
    assert by_external["view"]["id"] == view["id"]
    error = await slack_error_of(slack.api_call("views.update", json={"view": modal()}))
    assert error.response["error"] == "invalid_arguments"
    other = recorder.issue_trigger_id("U0SAM00002")
    assert await error_of(slack.views_open(trigger_id=other, view=modal(external_id="link-1"))) \
        == "duplicate_external_id"


async def test_views_push_stops_at_three_deep(slack, recorder):
    root = (await slack.views_open(trigger_id=recorder.issue_trigger_id("U0DANA0001"), view=modal()))["view"]
    second = (await slack.views_push(trigger_id=recorder.issue_trigger_id("U0DANA0001", view_id=root["id"]),
                                     view=modal(title="Pick a contract")))["view"]
    third = (await slack.views_push(trigger_id=recorder.issue_trigger_id("U0DANA0001", view_id=second["id"]),
                                    view=modal(title="Confirm")))["view"]
    assert second["previous_view_id"] == root["id"] and third["root_view_id"] == root["id"]
    assert [v["id"] for v in recorder.open_views("U0DANA0001")] == [root["id"], second["id"], third["id"]]
    assert await error_of(slack.views_push(trigger_id=recorder.issue_trigger_id("U0DANA0001", view_id=third["id"]),
                                           view=modal())) == "push_limit_reached"


async def test_views_publish_home(slack, recorder):
    home = {"type": "home", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "SeatSync"}}]}
    first = (await slack.views_publish(user_id="U0DANA0001", view=home))["view"]
    second = (await slack.views_publish(user_id="U0DANA0001", view=home, hash=first["hash"]))["view"]
    assert first["id"] == second["id"] and first["type"] == "home" and recorder.home_view("U0DANA0001") == second
    assert await error_of(slack.views_publish(user_id="U0DANA0001", view=home, hash=first["hash"])) == "hash_conflict"
    assert await error_of(slack.views_publish(user_id="U0NOBODY01", view=home)) == "user_not_found"
    with_submit = {**home, "submit": {"type": "plain_text", "text": "Go"}}
    error = await slack_error_of(slack.views_publish(user_id="U0DANA0001", view=with_submit))
    assert "[ERROR] failed to match all allowed schemas [json-pointer:/view/submit]" \
        in error.response["response_metadata"]["messages"]


# --- users, groups, conversations --------------------------------------------------------------

async def test_users_info(slack, recorder):
    reply = await slack.users_info(user="U0DANA0001", include_locale=True)
    user = reply["user"]
    assert user["real_name"] == "Dana Whitfield" and user["is_admin"] is True and user["locale"] == "en-US"
    assert user["profile"]["email"] == "dana@example-msp.com"
    assert_matches_spec("users.info", reply.data)
    added = recorder.add_user("casey", "Casey Nguyen")
    assert (await slack.users_info(user=added.id))["user"]["name"] == "casey"
    assert await error_of(slack.users_info(user="U0NOBODY01")) == "user_not_found"


async def test_usergroups(slack, recorder):
    reply = await slack.usergroups_users_list(usergroup="S0BILLING01")
    assert reply["users"] == ["U0DANA0001", "U0SAM00002"]
    assert_matches_spec("usergroups.users.list", reply.data)
    group = recorder.add_usergroup("admins", ["U0MORGAN04"])
    assert (await slack.usergroups_users_list(usergroup=group.id))["users"] == ["U0MORGAN04"]
    assert await error_of(slack.usergroups_users_list(usergroup="S0NOPE0001")) == "no_such_subteam"
    listed = await slack.usergroups_list(include_users=True)
    assert_matches_spec("usergroups.list", listed.data)
    assert {g["handle"]: g["users"] for g in listed["usergroups"]}["billing-team"] == ["U0DANA0001", "U0SAM00002"]


async def test_conversations_info(slack):
    reply = await slack.conversations_info(channel="C0BILLING01", include_num_members=True)
    channel = reply["channel"]
    assert channel["name"] == "billing-alerts" and channel["is_member"] is True and channel["num_members"] == 3
    assert_matches_spec("conversations.info", reply.data)
    assert (await slack.conversations_info(channel="C0RANDOM001"))["channel"]["is_member"] is False
    assert await error_of(slack.conversations_info(channel="G0FINANCE01")) == "channel_not_found"
    assert await error_of(slack.conversations_info(channel="C0NOPE00001")) == "channel_not_found"


async def test_conversations_members_paging(slack):
    pages, cursor = [], None
    while True:
        reply = await slack.conversations_members(channel="C0GENERAL01", limit=2, cursor=cursor)
        assert_matches_spec("conversations.members", reply.data)
        pages.append(reply["members"])
        cursor = reply["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    whole = await slack.conversations_members(channel="C0GENERAL01")
    assert whole["members"] == [m for page in pages for m in page]
    assert whole["response_metadata"]["next_cursor"] == ""
    exact = await slack.conversations_members(channel="C0BILLING01", limit=3)  # exactly one full page
    assert len(exact["members"]) == 3 and exact["response_metadata"]["next_cursor"] == ""
    assert await error_of(slack.conversations_members(channel="C0GENERAL01", limit=0)) == "invalid_limit"
    assert await error_of(slack.conversations_members(channel="C0GENERAL01", limit=1001)) == "invalid_limit"
    assert await error_of(slack.conversations_members(channel="C0GENERAL01", cursor="bm9wZQ==")) == "invalid_cursor"


# --- rate limits -------------------------------------------------------------------------------

async def test_post_message_is_limited_per_channel(slack, recorder, clock):
    for n in range(recorder.limits.post_message_burst):
        await slack.chat_postMessage(channel="C0BILLING01", text=f"burst {n}")
    error = await slack_error_of(slack.chat_postMessage(channel="C0BILLING01", text="one too many"))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"
    assert (await slack.chat_postMessage(channel="C0GENERAL01", text="other channel"))["ok"]
    clock.advance(1.0)
    assert (await slack.chat_postMessage(channel="C0BILLING01", text="after a second"))["ok"]
    assert await error_of(slack.chat_postMessage(channel="C0BILLING01", text="x")) == "ratelimited"
    assert len(recorder.channel_messages("C0BILLING01")) == 4


async def test_tier_limits_per_method(slack, recorder, clock):
    recorder.limits.per_minute["users.info"] = 2
    await slack.users_info(user="U0DANA0001")
    clock.advance(10)
    await slack.users_info(user="U0DANA0001")
    error = await slack_error_of(slack.users_info(user="U0DANA0001"))
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "50"
    clock.advance(50)
    assert (await slack.users_info(user="U0DANA0001"))["ok"]
    recorder.limits.tiers_enabled = False
    for _ in range(5):
        await slack.users_info(user="U0DANA0001")


async def test_rate_limit_retry_handler_recovers(api_url, recorder, clock, monkeypatch):
    slept: list[float] = []

    async def sleep_on_the_simulator_clock(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    monkeypatch.setattr(builtin_async_handlers, "asyncio", SimpleNamespace(sleep=sleep_on_the_simulator_clock))
    monkeypatch.setattr(builtin_async_handlers, "random", SimpleNamespace(random=lambda: 0.0))
    client = AsyncWebClient(token=TOKEN, base_url=api_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    for n in range(recorder.limits.post_message_burst + 1):
        assert (await client.chat_postMessage(channel="C0BILLING01", text=f"digest {n}"))["ok"]
    assert slept == [1]
    assert [c.status for c in recorder.calls("chat.postMessage")] == [200, 200, 200, 429, 200]


# --- recording and response_urls ---------------------------------------------------------------

async def test_every_call_is_recorded(slack, recorder, clock):
    await slack.chat_postMessage(channel="C0BILLING01", text="hello", blocks=[section("hello")])
    clock.advance(5)
    await error_of(slack.users_info(user="U0NOBODY01"))
    post, lookup = recorder.calls()
    assert post.method == "chat.postMessage" and post.ok and post.args["blocks"] == [section("hello")]
    assert post.at == 1_732_262_400.0 and lookup.at == 1_732_262_405.0
    assert lookup.error == "user_not_found" and lookup.status == 200 and lookup.http_method == "GET"
    assert recorder.calls("users.info") == [lookup]
    dumped = json.loads(json.dumps(recorder.calls_as_json()))
    assert dumped[0]["response"]["message"]["text"] == "hello" and dumped[1]["args"] == {"user": "U0NOBODY01"}
    recorder.reset()
    assert recorder.calls() == [] and recorder.channel_messages("C0BILLING01") == []
    assert "U0DANA0001" in recorder.users


async def test_response_url_posts(server, slack, recorder, clock):
    recorder.base_url = str(server.make_url("/slack"))
    command_url = recorder.new_response_url(kind="commands", channel_id="C0BILLING01", user_id="U0DANA0001")
    assert command_url.startswith(str(server.make_url("/slack/response/")))
    async with aiohttp.ClientSession() as http:
        async def post(url, body):
            async with http.post(url, json=body) as resp:
                return resp.status, await resp.json()

        assert await post(command_url, {"text": "Working on it"}) == (200, {"ok": True})
        assert await post(command_url, {"text": "Done", "response_type": "in_channel"}) == (200, {"ok": True})
        assert [m.message["text"] for m in recorder.ephemeral_messages("U0DANA0001")] == ["Working on it"]
        assert recorder.channel_messages("C0BILLING01")[-1]["text"] == "Done"
        status, reply = await post(command_url, {"blocks": [{"type": "nope"}]})
        assert (status, reply["error"]) == (400, "invalid_blocks")
        assert await post(command_url, {"response_type": "ephemeral"}) == (400, {"ok": False, "error": "no_text"})
        assert await post(command_url, {"text": "fifth"}) == (200, {"ok": True})
        assert await post(command_url, {"text": "sixth"}) == (404, {"ok": False, "error": "used_url"})

        posted = await slack.chat_postMessage(channel="C0BILLING01", text="Retry?", blocks=[section("Retry?")])
        action_url = recorder.new_response_url(kind="actions", channel_id="C0BILLING01", user_id="U0DANA0001",
                                               message_ts=posted["ts"])
        assert await post(action_url, {"replace_original": True, "text": "Retried"}) == (200, {"ok": True})
        assert recorder.messages[("C0BILLING01", posted["ts"])].message["text"] == "Retried"
        assert await post(action_url, {"delete_original": True}) == (200, {"ok": True})
        assert recorder.messages[("C0BILLING01", posted["ts"])].deleted
        clock.advance(30 * 60 + 1)
        assert await post(action_url, {"text": "late"}) == (404, {"ok": False, "error": "expired_url"})
        assert await post(str(server.make_url("/slack/response/nope")), {"text": "x"}) \
            == (404, {"ok": False, "error": "no_service"})
    calls = recorder.calls("response_url")
    assert calls[0].args["text"] == "Working on it" and calls[0].status == 200
    assert [c.status for c in calls].count(404) == 3


def test_response_url_needs_a_base_url():
    with pytest.raises(RuntimeError, match="base_url"):
        SlackRecorder(bot_token=TOKEN, signing_secret="s").new_response_url()


# --- faults through the middleware -------------------------------------------------------------

async def test_fault_latency(slack, knobs):
    knobs.update({"latency_ms": 30, "latency_jitter_ms": 5})
    started = time.monotonic()
    await slack.auth_test()
    assert time.monotonic() - started >= 0.03


@pytest.mark.parametrize(("status", "error"), [(500, "internal_error"), (503, "service_unavailable")])
async def test_fault_error_rates(slack, knobs, recorder, status, error):
    knobs.update({"error_rates": {status: 1.0}})
    failure = await slack_error_of(slack.chat_postMessage(channel="C0BILLING01", text="x"))
    assert failure.response.status_code == status and failure.response["error"] == error
    [call] = recorder.calls("chat.postMessage")
    assert call.fault_injected and call.args is None and call.status == status
    assert recorder.channel_messages("C0BILLING01") == []


async def test_fault_429_burst_has_whole_second_retry_after(slack, knobs, recorder):
    knobs.update({"burst_429": 1, "retry_after_s": 0.2})
    failure = await slack_error_of(slack.chat_postMessage(channel="C0BILLING01", text="x"))
    assert failure.response.status_code == 429 and failure.response["error"] == "ratelimited"
    assert failure.response.headers["Retry-After"] == "1"
    assert (await slack.chat_postMessage(channel="C0BILLING01", text="x"))["ok"]


async def test_fault_rate_429(slack, knobs):
    knobs.update({"rate_429": 1.0, "retry_after_s": 2})
    failure = await slack_error_of(slack.auth_test())
    assert failure.response.status_code == 429 and failure.response.headers["Retry-After"] == "2"


async def test_fault_timeout(slack, knobs):
    knobs.update({"timeout_rate": 1.0, "timeout_s": 0.01})
    failure = await slack_error_of(slack.auth_test())
    assert failure.response.status_code == 504 and failure.response["error"] == "request_timeout"


async def test_fault_drop_reply_applies_the_write(slack, knobs, recorder):
    knobs.update({"drop_reply_rate": 1.0})
    with pytest.raises(aiohttp.ClientError):
        await slack.chat_postMessage(channel="C0BILLING01", text="did it post?")
    assert [m["text"] for m in recorder.channel_messages("C0BILLING01")] == ["did it post?"]
    assert (await slack.auth_test())["ok"]  # reads are never dropped


async def test_fault_knobs_reset(slack, knobs):
    knobs.update({"error_rates": {500: 1.0}})
    await slack_error_of(slack.auth_test())
    knobs.reset()
    assert (await slack.auth_test())["ok"]
    await asyncio.sleep(0)


# --- files shared in the workspace -----------------------------------------------------------------


async def test_a_shared_file_is_described_and_downloaded_with_the_bot_token_only(slack, recorder, server):
    shared = share_file(recorder, user_id="U0DANA0001", channel_id="D0DANA0001", name="nov.csv",
                        content=b"a,b\r\n1,2\r\n")
    reply = await slack.files_info(file=shared.id)
    assert_matches_spec("files.info", reply.data)
    url = reply["file"]["url_private_download"]
    assert reply["file"]["size"] == 10 and reply["file"]["filetype"] == "csv"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert await response.read() == b"a,b\r\n1,2\r\n"
        async with http.get(url) as response:  # Slack's sign-in page, status 200, never the file
            assert response.status == 200 and response.content_type == "text/html"
    hidden = share_file(recorder, user_id="U0DANA0001", channel_id="C0RANDOM001", name="x.csv", content=b"x")
    assert await error_of(slack.files_info(file=hidden.id)) == "file_not_found"  # not where the bot is
    assert_matches_spec("files.info", {"ok": False, "error": "file_not_found"})
