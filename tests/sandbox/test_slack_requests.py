"""The signed-request client, played into a real Bolt AsyncApp whose Web API client points at the simulator."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack import SlackRecorder, create_slack_app
from bot.sandbox.slack_requests import Delivery, SlackRequestSender, slack_signature
from tests.bolt_listeners import listeners_done, pending_listeners

TOKEN = "xoxb-1-sandbox-test"
SECRET = "sandbox-signing-secret"

MODAL = {
    "type": "modal", "callback_id": "link_modal", "private_metadata": '{"step": 1}',
    "title": {"type": "plain_text", "text": "Link a subscription"},
    "submit": {"type": "plain_text", "text": "Link"},
    "blocks": [
        {"type": "input", "block_id": "company", "label": {"type": "plain_text", "text": "Company"},
         "element": {"type": "external_select", "action_id": "company_picker", "min_query_length": 2}},
        {"type": "input", "block_id": "term", "label": {"type": "plain_text", "text": "Term"},
         "element": {"type": "static_select", "action_id": "term_choice", "options": [
             {"text": {"type": "plain_text", "text": "Monthly"}, "value": "monthly"},
             {"text": {"type": "plain_text", "text": "Annual"}, "value": "annual"}]}},
        {"type": "input", "block_id": "note", "optional": True, "label": {"type": "plain_text", "text": "Note"},
         "element": {"type": "plain_text_input", "action_id": "note_text"}},
        {"type": "actions", "block_id": "more", "elements": [
            {"type": "button", "action_id": "show_contracts", "value": "contracts",
             "text": {"type": "plain_text", "text": "Show contracts"}}]},
    ],
}


class Seen:
    """What the Bolt listeners received."""

    def __init__(self) -> None:
        self.commands: list[dict] = []
        self.actions: list[dict] = []
        self.bodies: list[dict] = []
        self.views: list[dict] = []
        self.options: list[dict] = []
        self.events: list[dict] = []
        self.headers: list[dict] = []
        self.release = asyncio.Event()  # lets the "wait" command's work after its ack finish
        self.finished: list[str] = []


def build_bolt(api_url: str, seen: Seen) -> AsyncApp:
    bolt = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url), signing_secret=SECRET)

    async def seats(ack, command, client):
        seen.commands.append(command)
        await ack(f"Working on `{command['text']}`…")
        if command["text"] == "link":
            await client.views_open(trigger_id=command["trigger_id"], view=MODAL)
        if command["text"] == "wait":
            await seen.release.wait()
        seen.finished.append(command["text"])

    async def approve(ack, action, body, respond):
        seen.actions.append(action)
        seen.bodies.append(body)
        await ack()
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    async def show_contracts(ack, body, client):
        await ack()
        seen.bodies.append(body)
        await client.views_push(trigger_id=body["trigger_id"], view={
            "type": "modal", "title": {"type": "plain_text", "text": "Contracts"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "No contracts yet."}}]})

    async def link_submitted(ack, view, body):
        seen.views.append(view)
        note = view["state"]["values"]["note"]["note_text"]["value"]
        if note == "bad":
            await ack(response_action="errors", errors={"note": "Notes cannot be 'bad'"})
        elif note == "next":
            await ack(response_action="update", view={**MODAL, "title": {"type": "plain_text", "text": "Step 2"}})
        else:
            await ack()

    async def company_options(ack, options):
        seen.options.append(options)
        if options["value"] == "long":
            await ack(options=[{"text": {"type": "plain_text", "text": "L" * 80}, "value": "l"}])
        else:
            await ack(options=[{"text": {"type": "plain_text", "text": "Acme Mfg. Inc."}, "value": "acme-1"}])

    async def home_opened(event, client, request):
        seen.events.append(event)
        seen.headers.append(dict(request.headers))
        await client.views_publish(user_id=event["user"], view={
            "type": "home", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "SeatSync"}}]})

    bolt.command("/seats")(seats)
    bolt.action("approve")(approve)
    bolt.action("show_contracts")(show_contracts)
    bolt.view("link_modal")(link_submitted)
    bolt.options("company_picker")(company_options)
    bolt.event("app_home_opened")(home_opened)
    return bolt


@pytest.fixture
async def simulator(aiohttp_server):
    recorder = SlackRecorder(bot_token=TOKEN, signing_secret=SECRET)
    app = web.Application()
    app.add_subapp("/slack", create_slack_app(recorder))
    server = await aiohttp_server(app)
    return recorder, server


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
async def sender(simulator, seen, aiohttp_client):
    recorder, server = simulator
    bolt = build_bolt(str(server.make_url("/slack/api/")), seen)

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", slack_events)
    client = await aiohttp_client(app)
    return SlackRequestSender(signing_secret=SECRET, events_url="/slack/events", recorder=recorder, client=client,
                              slack_base_url=str(server.make_url("/slack")), default_user_id="U0DANA0001",
                              default_channel_id="C0BILLING01")


# --- signatures --------------------------------------------------------------------------------

def test_signatures_verify_with_slack_sdk():
    verifier = SignatureVerifier(SECRET)
    recorder = SlackRecorder(bot_token=TOKEN, signing_secret=SECRET, base_url="http://127.0.0.1:1/slack")
    sender = SlackRequestSender(signing_secret=SECRET, events_url="/x", recorder=recorder)
    body = "payload=" + json.dumps({"type": "block_actions"})
    good = sender.headers_for(body, "application/x-www-form-urlencoded")
    assert verifier.is_valid(body, good["X-Slack-Request-Timestamp"], good["X-Slack-Signature"])
    assert good["X-Slack-Signature"] == verifier.generate_signature(
        timestamp=good["X-Slack-Request-Timestamp"], body=body)
    forged = sender.headers_for(body, "application/x-www-form-urlencoded", Delivery(forge_signature=True))
    assert not verifier.is_valid(body, forged["X-Slack-Request-Timestamp"], forged["X-Slack-Signature"])
    stale = sender.headers_for(body, "application/x-www-form-urlencoded", Delivery(timestamp_skew_s=-301))
    assert stale["X-Slack-Signature"] == slack_signature(SECRET, stale["X-Slack-Request-Timestamp"], body)
    assert not verifier.is_valid(body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"])
    retried = sender.headers_for(body, "application/json", Delivery(retry_num=2, retry_reason="http_error"))
    assert (retried["X-Slack-Retry-Num"], retried["X-Slack-Retry-Reason"]) == ("2", "http_error")


async def test_bolt_refuses_forged_and_stale_requests(sender, seen):
    assert (await sender.slash_command("help", delivery=Delivery(forge_signature=True))).status == 401
    stale = await sender.slash_command("help", delivery=Delivery(timestamp_skew_s=-600))
    assert stale.status == 401 and stale.json == {"error": "invalid request"}
    assert seen.commands == []


# --- slash commands and modals -----------------------------------------------------------------

async def test_slash_command_fields_and_ack(sender, seen, simulator):
    recorder, _ = simulator
    reply = await sender.slash_command("report unlinked")
    assert reply.status == 200 and reply.body == "Working on `report unlinked`…"  # Bolt acks text as text/plain
    sent = dict(reply.payload)
    assert parse_qs(reply.raw_body)["command"] == ["/seats"]
    [command] = seen.commands
    assert command["text"] == "report unlinked" and command["user_id"] == "U0DANA0001"
    assert command["user_name"] == "dana" and command["channel_id"] == "C0BILLING01"
    assert command["channel_name"] == "billing-alerts" and command["team_id"] == recorder.team_id
    assert command["api_app_id"] == recorder.app_id and command["token"] == recorder.verification_token
    assert command["trigger_id"] == sent["trigger_id"] and sent["trigger_id"] in recorder.triggers
    assert command["response_url"].startswith(recorder.base_url + "/response/commands-")


async def test_command_opens_a_modal_with_the_senders_trigger(sender, seen, simulator):
    recorder, _ = simulator
    reply = await sender.slash_command("link")
    await listeners_done()
    assert recorder.calls("views.open")
    [call] = recorder.calls("views.open")
    assert call.ok and call.args["trigger_id"] == dict(reply.payload)["trigger_id"]
    assert recorder.triggers[call.args["trigger_id"]].used
    [view] = recorder.open_views("U0DANA0001")
    assert view["callback_id"] == "link_modal" and view["private_metadata"] == '{"step": 1}'
    assert recorder.calls("auth.test")  # Bolt's single-workspace authorization ran against the simulator


async def test_the_work_a_listener_does_after_its_ack_is_awaited_not_polled(sender, seen):
    reply = await sender.slash_command("wait")
    assert reply.status == 200 and seen.finished == []  # acked; its work goes on in Bolt's task
    [work] = pending_listeners()
    asyncio.get_running_loop().call_soon(seen.release.set)
    await listeners_done()
    assert work.done() and seen.finished == ["wait"]


async def open_link_modal(sender, recorder) -> dict:
    await sender.slash_command("link")
    await listeners_done()
    assert recorder.open_views("U0DANA0001")
    return recorder.open_views("U0DANA0001")[-1]


async def test_block_suggestion_loads_options(sender, seen, simulator):
    recorder, _ = simulator
    view = await open_link_modal(sender, recorder)
    reply = await sender.block_suggestion("company_picker", "ac", view=view["id"])
    assert reply.status == 200 and reply.problems == []
    assert reply.json == {"options": [{"text": {"type": "plain_text", "text": "Acme Mfg. Inc."}, "value": "acme-1"}]}
    [options] = seen.options
    assert options["value"] == "ac" and options["block_id"] == "company" and options["action_id"] == "company_picker"
    assert options["container"] == {"type": "view", "view_id": view["id"]}
    assert options["view"]["id"] == view["id"] and options["view"]["hash"] == view["hash"]
    too_long = await sender.block_suggestion("company_picker", "long", view=view["id"])
    assert too_long.problems == ["option text '" + "L" * 80 + "' must be 1..75 characters"]


async def test_view_submission_values_and_acks(sender, seen, simulator):
    recorder, _ = simulator
    view = await open_link_modal(sender, recorder)
    with pytest.raises(ValueError, match="required"):
        await sender.view_submission(view["id"], {"term": "annual"})
    with pytest.raises(ValueError, match="no input block"):
        await sender.view_submission(view["id"], {"nope": "x"})

    refused = await sender.view_submission(view["id"], {
        "company": {"company_picker": {"text": {"type": "plain_text", "text": "Acme"}, "value": "acme-1"}},
        "term": "annual", "note": "bad"})
    assert refused.json == {"response_action": "errors", "errors": {"note": "Notes cannot be 'bad'"}}
    assert refused.problems == [] and recorder.views[view["id"]].open
    values = seen.views[-1]["state"]["values"]
    assert values["company"]["company_picker"]["selected_option"]["value"] == "acme-1"
    assert values["term"]["term_choice"] == {"type": "static_select", "selected_option": {
        "text": {"type": "plain_text", "text": "Annual"}, "value": "annual"}}
    assert seen.views[-1]["private_metadata"] == '{"step": 1}' and seen.views[-1]["id"] == view["id"]

    updated = await sender.view_submission(view["id"], {"company": "acme-1", "term": "monthly", "note": "next"})
    assert updated.problems == [] and recorder.views[view["id"]].body["title"]["text"] == "Step 2"

    done = await sender.view_submission(view["id"], {"company": "acme-1", "term": "monthly"})
    assert done.status == 200 and done.problems == []
    assert seen.views[-1]["state"]["values"]["note"]["note_text"] == {"type": "plain_text_input", "value": None}
    assert not recorder.views[view["id"]].open and recorder.open_views("U0DANA0001") == []
    with pytest.raises(ValueError, match="not open"):
        await sender.view_submission(view["id"], {})


async def test_button_in_a_modal_pushes_a_view(sender, seen, simulator):
    recorder, _ = simulator
    view = await open_link_modal(sender, recorder)
    reply = await sender.block_actions("show_contracts", view=view["id"])
    assert reply.status == 200
    await listeners_done()
    assert len(recorder.open_views("U0DANA0001")) == 2
    body = seen.bodies[-1]
    assert body["container"] == {"type": "view", "view_id": view["id"]} and body["view"]["id"] == view["id"]
    assert body["actions"][0]["value"] == "contracts" and body["actions"][0]["block_id"] == "more"
    pushed = recorder.open_views("U0DANA0001")[-1]
    assert pushed["previous_view_id"] == view["id"] and pushed["title"]["text"] == "Contracts"


async def test_button_on_a_message_and_respond(sender, seen, simulator):
    recorder, server = simulator
    api = AsyncWebClient(token=TOKEN, base_url=str(server.make_url("/slack/api/")))
    posted = await api.chat_postMessage(channel="C0BILLING01", text="Sync failed for Acme", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "Sync failed for *Acme*"},
         "accessory": {"type": "button", "action_id": "approve", "value": "retry-42",
                       "text": {"type": "plain_text", "text": "Retry"}, "style": "primary"}}])
    reply = await sender.block_actions("approve", message=posted["message"], user_id="U0SAM00002")
    assert reply.status == 200
    [action] = seen.actions
    assert action["value"] == "retry-42" and action["type"] == "button" and action["style"] == "primary"
    body = seen.bodies[-1]
    assert body["container"]["message_ts"] == posted["ts"] and body["channel"]["id"] == "C0BILLING01"
    assert body["message"]["ts"] == posted["ts"] and body["user"]["id"] == "U0SAM00002"
    await listeners_done()
    assert recorder.calls("response_url")
    assert recorder.messages[("C0BILLING01", posted["ts"])].message["text"] == "Approved by <@U0SAM00002>"


async def test_select_action_payload(simulator, sender):
    recorder, _ = simulator
    view = await open_link_modal(sender, recorder)
    reply = await sender.block_actions("term_choice", view=view["id"], selected_option="monthly")
    assert reply.status == 404  # no listener for it: Bolt says so
    action = reply.payload["actions"][0]
    assert action["selected_option"] == {"text": {"type": "plain_text", "text": "Monthly"}, "value": "monthly"}
    assert action["type"] == "static_select" and action["block_id"] == "term"


# --- Events API ----------------------------------------------------------------------------------

async def test_app_home_opened_and_redelivery(sender, seen, simulator):
    recorder, _ = simulator
    reply = await sender.app_home_opened("U0SAM00002")
    assert reply.status == 200
    await listeners_done()
    assert recorder.home_view("U0SAM00002") is not None
    [event] = seen.events
    assert event["type"] == "app_home_opened" and event["user"] == "U0SAM00002" and event["tab"] == "home"
    envelope = reply.payload
    assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == recorder.bot_user.id

    again = await sender.redeliver(reply, retry_num=1, retry_reason="http_timeout")
    assert again.status == 200 and again.payload["event_id"] == envelope["event_id"]
    await listeners_done()
    assert len(seen.events) == 2
    assert seen.headers[-1]["x-slack-retry-num"] == ["1"]  # Bolt lower-cases header names and lists values
    assert seen.headers[-1]["x-slack-retry-reason"] == ["http_timeout"]

    reopened = await sender.app_home_opened("U0SAM00002")
    assert reopened.payload["event"]["view"]["id"] == recorder.home_view("U0SAM00002")["id"]


async def test_url_verification(sender):
    reply = await sender.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert reply.status == 200
    assert reply.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_sender_with_its_own_session(simulator, seen, aiohttp_server):
    recorder, server = simulator
    bolt = build_bolt(str(server.make_url("/slack/api/")), seen)

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", slack_events)
    bolt_server = await aiohttp_server(app)
    async with SlackRequestSender(signing_secret=SECRET, events_url=str(bolt_server.make_url("/slack/events")),
                                  recorder=recorder, slack_base_url=str(server.make_url("/slack"))) as sender:
        reply = await sender.slash_command("status", channel_id="general")
    assert reply.status == 200 and seen.commands[0]["channel_id"] == "C0GENERAL01"
