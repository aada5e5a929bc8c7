"""Pax8's webhooks API on the simulator, and its deliveries: unsigned, late, sometimes twice, retried."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import aiohttp
import jsonschema
import pytest
from aiohttp import web

from bot.sandbox.app import Sandbox
from tests.sandbox.pax8_client import TODAY, connect, small_world, token_request, webhooks_document

SECRET = "Bearer my-secret-token"


@dataclass
class Receiver:
    url: str
    calls: list[tuple[float, dict, dict]] = field(default_factory=list)  # (arrived, headers, body)
    status: int = 204
    delay: float = 0.0

    def bodies(self) -> list[dict]:
        return [body for _, _, body in self.calls]


@pytest.fixture
async def receiver(aiohttp_server) -> Receiver:
    state = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        state.calls.append((time.monotonic(), dict(request.headers), json.loads(await request.read())))
        if state.delay:
            await asyncio.sleep(state.delay)
        return web.Response(status=state.status)

    app = web.Application()
    app.router.add_post("/hooks/pax8", hook)
    server = await aiohttp_server(app)
    state.url = str(server.make_url("/hooks/pax8"))
    return state


@pytest.fixture
def world():
    return small_world(seed=4)


@pytest.fixture
async def api(aiohttp_client, world):
    return await connect(aiohttp_client, world)


def webhook_body(address: str, **changes) -> dict:
    return {"displayName": "SeatSync", "url": address, "authorization": SECRET, "active": True,
            "contactEmail": "billing@msp.example.com", "webhookTopics": [{"topic": "SUBSCRIPTION", "filters": []}],
            **changes}


async def create(api, body: dict) -> dict:
    reply = await api.call("POST", "/webhooks", api="webhooks", body=body)
    assert reply.status == 200, reply.body
    return reply.body


def payload_schema() -> dict:
    document = webhooks_document()
    return {**document["components"]["schemas"]["WebhookPayload"], "components": document["components"]}


def some_subscriptions(world, n: int) -> list:
    return [s for s in world.pax8.subscriptions.values() if s.now.status == "Active"][:n]


def announce_changes(api, subs) -> list:
    deliveries = api.simulator.deliveries
    return deliveries.announce(deliveries.subscription_events([("Change", s.id) for s in subs]))


# --- the configuration API --------------------------------------------------------------------------------
async def test_a_webhook_is_created_inactive_by_default_with_three_retries(api, receiver):
    body = await create(api, {"displayName": "SeatSync", "url": receiver.url})
    assert body["active"] is False and body["errorThreshold"] == 3 and body["webhookTopics"] == []
    assert body["accountId"] == api.world.pax8.partner_account_id and "lastDeliveryStatus" not in body
    assert (await api.call("GET", f"/webhooks/{body['id']}", api="webhooks")).body == body


@pytest.mark.parametrize("changes", [
    {"displayName": None}, {"displayName": ""}, {"errorThreshold": 21}, {"errorThreshold": "3"},
    {"webhookTopics": [{"topic": "NO_SUCH_TOPIC", "filters": []}]},
    {"webhookTopics": [{"topic": "SUBSCRIPTION", "filters": []}, {"topic": "SUBSCRIPTION", "filters": []}]},
    {"webhookTopics": [{"topic": "SUBSCRIPTION"}]},
    {"webhookTopics": [{"topic": "SUBSCRIPTION", "filters": [{"action": "Change", "conditions": [
        {"field": "companyId", "operator": "LIKE", "value": ["x"]}]}]}]},
    {"url": "https://example.com/hook"}, {"url": "http://127.0.0.1@example.com/hook"},
    {"integrationId": "not-a-uuid"}, {"active": "yes"},
])
async def test_invalid_webhooks_are_refused_in_the_webhooks_apis_shape(api, receiver, changes):
    body = {k: v for k, v in webhook_body(receiver.url, **changes).items() if v is not None}
    reply = await api.call("POST", "/webhooks", api="webhooks", body=body)
    assert reply.status == 400 and reply.body["type"] == "BAD_REQUEST"
    assert reply.body["details"][0]["type"] == "INVALID_PARAM"


async def test_list_get_configure_status_topics_and_delete(api, receiver):
    first = await create(api, webhook_body(receiver.url, displayName="Alpha"))
    second = await create(api, webhook_body(receiver.url, displayName="Beta", active=False))
    listed = await api.call("GET", "/webhooks", api="webhooks", params={"size": 1, "sort": "displayName:desc"})
    assert [w["displayName"] for w in listed.body["content"]] == ["Beta"]
    assert listed.body["page"] == {"number": 0, "size": 1, "totalElements": 2, "totalPages": 2}
    active = await api.call("GET", "/webhooks", api="webhooks", params={"active": True})
    assert [w["id"] for w in active.body["content"]] == [first["id"]]
    # the configuration is replaced as a whole: a new secret, and what is not sent is cleared
    configured = await api.call("POST", f"/webhooks/{first['id']}/configuration", api="webhooks",
                                body={"url": receiver.url, "authorization": "rotated-secret", "errorThreshold": 5})
    assert configured.body["authorization"] == "rotated-secret" and configured.body["errorThreshold"] == 5
    assert "contactEmail" not in configured.body and configured.body["displayName"] == "Alpha"
    status = await api.call("POST", f"/webhooks/{second['id']}/status", api="webhooks", body={"active": True})
    assert status.body["active"] is True
    again = await api.call("POST", f"/webhooks/{first['id']}/topics", api="webhooks",
                           body={"topic": "SUBSCRIPTION", "filters": []})
    assert again.status == 400  # only one of each topic
    added = await api.call("POST", f"/webhooks/{first['id']}/topics", api="webhooks",
                           body={"topic": "INVOICE", "filters": []})
    assert [t["topic"] for t in added.body["webhookTopics"]] == ["SUBSCRIPTION", "INVOICE"]
    invoice_topic = added.body["webhookTopics"][1]["id"]
    filtered = await api.call("POST", f"/webhooks/{first['id']}/topics/{invoice_topic}/configuration",
                              api="webhooks", body={"filters": [{"action": "CREATED", "conditions": []}]})
    assert filtered.body["webhookTopics"][1]["filters"] == [{"action": "CREATED", "conditions": []}]
    removed = await api.call("DELETE", f"/webhooks/{first['id']}/topics/{invoice_topic}", api="webhooks")
    assert removed.status == 204
    replaced = await api.call("PUT", f"/webhooks/{first['id']}/topics", api="webhooks",
                              body={"webhookTopics": [{"topic": "INVOICE", "filters": []}]})
    assert [t["topic"] for t in replaced.body["webhookTopics"]] == ["INVOICE"]
    assert (await api.call("DELETE", f"/webhooks/{second['id']}", api="webhooks")).status == 204
    assert (await api.call("GET", f"/webhooks/{second['id']}", api="webhooks")).status == 404
    assert (await api.call("GET", "/webhooks/not-a-uuid", api="webhooks")).status == 400


async def test_topic_definitions_name_the_topics_and_their_filters(api):
    reply = await api.call("GET", "/webhooks/topic-definitions", api="webhooks")
    topics = {t["topic"]: t for t in reply.body["content"]}
    assert set(topics) == {"SUBSCRIPTION", "INVOICE"} and reply.body["totalElements"] == 2
    actions = {f["action"] for f in topics["SUBSCRIPTION"]["availableFilters"]}
    assert {"New", "Change", "Renewal", "Cancel", "TrialConvert"} <= actions
    jsonschema.validate(topics["SUBSCRIPTION"]["samplePayload"], payload_schema())
    one = await api.call("GET", "/webhooks/topic-definitions", api="webhooks", params={"topic": "INVOICE"})
    assert [t["topic"] for t in one.body["content"]] == ["INVOICE"]


# --- deliveries -------------------------------------------------------------------------------------------
async def test_a_delivery_is_a_notification_with_the_configured_authorization_and_no_signature(api, receiver, world):
    webhook = await create(api, webhook_body(receiver.url))
    inactive = await create(api, webhook_body(receiver.url, active=False, authorization="other"))
    [sub] = some_subscriptions(world, 1)
    announce_changes(api, [sub])
    await api.simulator.deliveries.settled()
    [(_, headers, body)] = receiver.calls
    assert headers["Authorization"] == SECRET  # the value as configured, verbatim: the only proof of origin
    assert not any("signature" in name.lower() for name in headers)
    jsonschema.validate(body, payload_schema())
    assert body["webhookId"] == webhook["id"] and body["url"] == receiver.url
    assert body["accountId"] == world.pax8.partner_account_id and body["webhookTopic"]["topic"] == "SUBSCRIPTION"
    assert body["payloadData"] == {"type": "Change", "subscriptionId": sub.id, "companyId": sub.company_id,
                                   "productId": sub.product_id}  # no quantity: the receiver reads the subscription
    assert inactive["id"] not in {b["webhookId"] for b in receiver.bodies()}
    got = await api.call("GET", f"/webhooks/{webhook['id']}", api="webhooks")
    assert got.body["lastDeliveryStatus"] == "SUCCESS"
    logs = await api.call("GET", f"/webhooks/{webhook['id']}/logs", api="webhooks")
    [entry] = logs.body["content"]
    assert entry["finalStatus"] == "SUCCESS" and entry["callHistory"][0]["httpStatusCode"] == 204
    one = await api.call("GET", f"/webhooks/{webhook['id']}/logs/{entry['id']}", api="webhooks")
    assert one.body == entry


async def test_deliveries_arrive_late_and_out_of_order(api, receiver, world):
    await create(api, webhook_body(receiver.url))
    api.simulator.knobs.update({"delivery_delay_s": 0.6})
    subs = some_subscriptions(world, 6)
    started = time.monotonic()
    logs = announce_changes(api, subs)
    assert len(logs) == 6 and all(entry.final_status == "PENDING" for entry in logs)
    await asyncio.sleep(0)
    assert receiver.calls == []  # the call that caused them has returned; nothing has arrived
    await api.simulator.deliveries.settled()
    arrived = [body["payloadData"]["subscriptionId"] for body in receiver.bodies()]
    assert sorted(arrived) == sorted(s.id for s in subs)
    assert arrived != [s.id for s in subs]  # random delays: not in the order the events happened
    assert max(at for at, _, _ in receiver.calls) - started > 0.1


async def test_a_delivery_can_arrive_twice(api, receiver, world):
    await create(api, webhook_body(receiver.url))
    api.simulator.knobs.update({"duplicate_rate": 1.0})
    subs = some_subscriptions(world, 2)
    logs = announce_changes(api, subs)
    await api.simulator.deliveries.settled()
    data = [json.dumps(body["payloadData"], sort_keys=True) for body in receiver.bodies()]
    assert len(data) == 4 and len(set(data)) == 2
    assert all([c.status for c in entry.calls] == ["SUCCESS", "SUCCESS"] for entry in logs)


async def test_failed_deliveries_are_retried_up_to_the_error_threshold_then_alerted(api, receiver, world):
    webhook = await create(api, webhook_body(receiver.url, errorThreshold=2))
    api.simulator.knobs.update({"retry_delay_s": 0.01})
    receiver.status = 500
    [entry] = announce_changes(api, some_subscriptions(world, 1))
    await api.simulator.deliveries.settled()
    assert len(receiver.calls) == 3  # the first call and errorThreshold retries
    assert entry.final_status == "FAILED" and [c.http_status_code for c in entry.calls] == [500, 500, 500]
    [alert] = api.simulator.deliveries.alerts
    assert alert.contact_email == "billing@msp.example.com" and alert.log_id == entry.id
    failed = await api.call("GET", f"/webhooks/{webhook['id']}/logs", api="webhooks", params={"status": "FAILED"})
    assert [e["id"] for e in failed.body["content"]] == [entry.id]
    receiver.status = 200
    retried = await api.call("POST", f"/webhooks/{webhook['id']}/logs/{entry.id}/retry", api="webhooks")
    assert retried.status == 202
    await api.simulator.deliveries.settled()
    assert entry.final_status == "SUCCESS" and len(receiver.calls) == 4


async def test_a_slow_receiver_times_out_and_gets_the_event_again(api, receiver, world):
    await create(api, webhook_body(receiver.url, errorThreshold=1))
    api.simulator.knobs.update({"delivery_timeout_s": 0.1, "retry_delay_s": 0.01})
    receiver.delay = 0.3
    [entry] = announce_changes(api, some_subscriptions(world, 1))
    await api.simulator.deliveries.settled()
    assert len(receiver.calls) == 2  # it received (and may have acted on) the event both times
    assert entry.final_status == "FAILED" and all(c.error_message for c in entry.calls)


async def test_topic_filters_choose_the_events(api, receiver, world):
    first, second = some_subscriptions(world, 40)[0], next(
        s for s in some_subscriptions(world, 40) if s.company_id != some_subscriptions(world, 1)[0].company_id)
    await create(api, webhook_body(receiver.url, webhookTopics=[{"topic": "SUBSCRIPTION", "filters": [
        {"action": "Change", "conditions": [{"field": "companyId", "operator": "EQUALS", "value": [first.company_id]}]},
    ]}]))
    deliveries = api.simulator.deliveries
    deliveries.announce(deliveries.subscription_events([("Change", first.id), ("Change", second.id),
                                                        ("Renewal", first.id)]))
    await deliveries.settled()
    assert [(b["payloadData"]["type"], b["payloadData"]["subscriptionId"]) for b in receiver.bodies()] == \
        [("Change", first.id)]


async def test_the_test_call_sends_a_sample(api, receiver):
    webhook = await create(api, webhook_body(receiver.url))
    reply = await api.call("POST", f"/webhooks/{webhook['id']}/topics/SUBSCRIPTION/test", api="webhooks")
    assert reply.body["url"] == receiver.url and reply.body["webhook"]["id"] == webhook["id"]
    [(_, headers, body)] = receiver.calls
    assert headers["Authorization"] == SECRET and body == reply.body["samplePayload"]
    assert (await api.call("POST", f"/webhooks/{webhook['id']}/topics/INVOICE/test", api="webhooks")).status == 400


# --- in the whole sandbox -------------------------------------------------------------------------------------
async def test_the_sandbox_serves_pax8_and_delivers_what_its_days_and_admin_change(receiver):
    sandbox = await Sandbox.generate(seed=6, scale="small", today=TODAY).start()
    try:
        config = sandbox.config()["pax8"]
        admin = {"Authorization": f"Bearer {sandbox.world.credentials.admin_token}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(config["token_url"], json=token_request(sandbox.world)) as response:
                token = (await response.json())["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            hook = webhook_body(receiver.url, webhookTopics=[{"topic": "SUBSCRIPTION", "filters": []},
                                                             {"topic": "INVOICE", "filters": []}])
            async with http.post(config["webhooks_url"] + "/webhooks", json=hook, headers=bearer) as response:
                assert response.status == 200
            sub = next(s for s in sandbox.world.pax8.subscriptions.values() if s.now.status == "Active")
            async with http.put(f"{sandbox.base_url}/admin/pax8/subscriptions/{sub.id}",
                                json={"quantity": sub.now.quantity + 3}, headers=admin) as response:
                assert response.status == 200
            async with http.get(f"{config['url']}/subscriptions/{sub.id}", headers=bearer) as response:
                assert (await response.json())["quantity"] == sub.now.quantity
            async with http.post(f"{sandbox.base_url}/admin/advance-day", params={"days": "19"},
                                 headers=admin) as response:  # to 2026-12-05: the December invoice is out
                days = (await response.json())["days"]
            async with http.post(f"{sandbox.base_url}/admin/pax8/deliveries/settle", headers=admin) as response:
                logs = (await response.json())["logs"]
        events = [e for day in days for e in day["pax8"]["events"]]
        kinds = [body["payloadData"].get("type", body["webhookTopic"]["topic"]) for body in receiver.bodies()]
        assert kinds.count("INVOICE") == 1 and len(kinds) == len(events) + 2  # + the admin's change and the invoice
        assert {b["payloadData"]["subscriptionId"] for b in receiver.bodies() if "subscriptionId" in b["payloadData"]} \
            >= {e["subscription_id"] for e in events}
        assert all(entry["finalStatus"] == "SUCCESS" for entry in logs)
    finally:
        await sandbox.stop()


def test_print_config_names_pax8s_urls_and_credentials(capsys):
    from bot.__main__ import main

    assert main(["sandbox", "--port", "9556", "--seed", "4", "--print-config"]) == 0
    pax8 = json.loads(capsys.readouterr().out)["pax8"]
    assert pax8["url"] == "http://127.0.0.1:9556/pax8/v1"
    assert pax8["token_url"] == "http://127.0.0.1:9556/pax8/v1/token"
    assert pax8["webhooks_url"] == "http://127.0.0.1:9556/pax8/api/v2"
    assert pax8["audience"] == "https://api.pax8.com" and pax8["client_id"] and pax8["client_secret"]


async def test_pax8s_knobs_over_admin():
    sandbox = await Sandbox.generate(seed=6, scale="small", today=TODAY).start()
    try:
        admin = {"Authorization": f"Bearer {sandbox.world.credentials.admin_token}"}
        url = f"{sandbox.base_url}/admin/pax8/knobs"
        async with aiohttp.ClientSession(headers=admin) as http:
            async with http.put(url, json={"delivery_delay_s": 2, "duplicate_rate": 0.5}) as response:
                assert response.status == 200 and (await response.json())["duplicate_rate"] == 0.5
            for bad in ({"duplicate_rate": 2}, {"nonsense": 1}, {"delivery_delay_s": -1}):
                async with http.put(url, json=bad) as response:
                    assert response.status == 400
            async with http.put(url, json={"reset": True}) as response:
                assert (await response.json())["delivery_delay_s"] == 0
            async with http.put(f"{sandbox.base_url}/admin/faults/pax8", json={"burst_429": 1}) as response:
                assert response.status == 200
            async with http.post(sandbox.config()["pax8"]["token_url"], json=token_request(sandbox.world)) as response:
                assert response.status == 429 and response.headers["Retry-After"]
            async with http.put(f"{sandbox.base_url}/admin/pax8/subscriptions/nope", json={"quantity": 2}) as response:
                assert response.status == 404
            async with http.get(f"{sandbox.base_url}/admin/state") as response:
                assert (await response.json())["pax8"]["companies"] == len(sandbox.world.pax8.companies)
    finally:
        await sandbox.stop()
