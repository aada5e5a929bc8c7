"""POST /webhooks/marketplace: signature, malformed bodies, duplicates, and end to end from the marketplace
simulator (a count changes -> signed notification -> sync of that subscription -> the PSA simulator)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app_factory import create_context
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connections import load_connection, save_connection
from bot.db.models import Adjustment, AppSetting
from bot.demo.workspace import open_workspace
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines, unthrottled_odin
from web.app import create_app
from web.webhooks import ROUTE, WEBHOOK_TASKS

SECRET = "whsec-test-0123456789abcdef"


def signed(event: dict | bytes, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Sandbox-Signature": signature}


def event(delivery: str = "d-1", subscription: str = "S-404", **extra) -> dict:
    return {"deliveryId": delivery, "eventType": "subscription.changed", "subscriptionId": subscription, **extra}


async def configure(session, *, secret: str | None = SECRET, marketplace: str = "odin") -> None:
    secrets = {"webhook_secret": secret} if secret else {}
    await save_connection(session=session, box=SecretBox(TEST_SECRET_KEY), system=marketplace,
                          base_url="http://127.0.0.1:9/odin/RPC2", options={}, secrets=secrets, actor="test")
    await save_app_settings(session=session, settings=AppSettings(marketplace=marketplace, psa="autotask"),
                            actor="test")
    await session.commit()


@pytest.fixture
async def client(aiohttp_client, settings, session, clock):
    await configure(session)
    return await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))


async def deliveries(session) -> int:
    return await session.scalar(select(func.count()).select_from(AppSetting).where(AppSetting.key.like("webhook:%")))


@pytest.mark.parametrize("headers", [
    pytest.param(lambda body: {"Content-Type": "application/json"}, id="missing"),
    pytest.param(lambda body: signed(body, secret="another-secret")[1], id="wrong-key"),
    pytest.param(lambda body: {"X-Sandbox-Signature": "sha256=" + "0" * 64}, id="zeros"),
    pytest.param(lambda body: {"X-Sandbox-Signature": signed(body)[1]["X-Sandbox-Signature"][7:]}, id="no-prefix"),
    pytest.param(lambda body: signed(body + b" ")[1], id="tampered-body"),
])
async def test_a_bad_or_missing_signature_is_401_and_remembers_nothing(client, session, headers):
    body = json.dumps(event()).encode()
    response = await client.post(ROUTE, data=body, headers=headers(body))
    assert response.status == 401
    assert "X-Sandbox-Signature" in (await response.json())["error"]
    assert await deliveries(session) == 0


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"subscriptionId": "S-1"}).encode(), "deliveryId"),
    (json.dumps({"deliveryId": "d", "subscriptionId": ""}).encode(), "subscriptionId"),
    (json.dumps({"deliveryId": "d", "subscriptionId": "S-1", "marketplace": "amazon"}).encode(), "marketplace"),
    (json.dumps({"deliveryId": "x" * 201, "subscriptionId": "S-1"}).encode(), "at most 200"),
    (json.dumps({"deliveryId": "d", "subscriptionId": "S-1\u0000"}).encode(), "control character"),
    (json.dumps({"deliveryId": "d\u0000x", "subscriptionId": "S-1"}).encode(), "control character"),
])
async def test_a_malformed_signed_body_is_400(client, session, body, message):
    data, headers = signed(body)
    response = await client.post(ROUTE, data=data, headers=headers)
    assert response.status == 400
    assert message in (await response.json())["error"]
    assert await deliveries(session) == 0


async def test_an_oversized_body_is_413(client):
    data, headers = signed(b"{" + b" " * 70_000 + b"}")
    response = await client.post(ROUTE, data=data, headers=headers)
    assert response.status == 413


async def test_without_a_webhook_secret_the_route_is_503(aiohttp_client, settings, session, clock):
    await configure(session, secret=None)
    client = await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))
    data, headers = signed(event())
    response = await client.post(ROUTE, data=data, headers=headers)
    assert response.status == 503 and "webhook_secret" in (await response.json())["error"]


async def test_an_unknown_subscription_is_accepted_with_a_note_and_a_repeat_is_200(client, session):
    data, headers = signed(event(delivery="d-7", subscription="S-unknown"))
    first = await client.post(ROUTE, data=data, headers=headers)
    assert first.status == 202
    body = await first.json()
    assert body["sync"] is False and "not read this subscription yet" in body["note"]
    again = await client.post(ROUTE, data=data, headers=headers)
    assert again.status == 200 and (await again.json())["duplicate"] is True
    assert await deliveries(session) == 1


async def test_a_notification_for_another_marketplace_syncs_nothing(client):
    data, headers = signed(event(delivery="d-8", marketplace="ingram"))
    response = await client.post(ROUTE, data=data, headers=headers)
    assert response.status == 202
    assert "SeatSync reads odin, not ingram" in (await response.json())["note"]


# ---- end to end with the simulators -------------------------------------------------------------------

PAIRS = [("odin", "autotask"), ("ingram", "connectwise"), ("odin", "halopsa")]


@pytest.fixture(params=PAIRS, ids=["odin-autotask", "ingram-connectwise", "odin-halopsa"])
async def live(request, database_url, settings, aiohttp_server, clock, today):
    """The sandbox, a workspace over it, and SeatSync's app on a real port with the sandbox's webhook
    pointed at it."""
    marketplace, psa = request.param
    sandbox = Sandbox.generate(seed=9, scale="small", today=today)
    vendor_options = unthrottled_odin(sandbox)
    await sandbox.start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace=marketplace, psa=psa, clock=clock, vendor_options=vendor_options)
    box = SecretBox(TEST_SECRET_KEY)
    async with workspace.sessions() as session:  # the marketplace's webhook secret, stored with its connection
        connection = await load_connection(session=session, box=box, system=marketplace)
        secret = sandbox.config()[marketplace]["webhook_secret"]
        await save_connection(session=session, box=box, system=marketplace, base_url=connection.base_url,
                              options=connection.options, secrets={**connection.secrets, "webhook_secret": secret},
                              actor="test")
        await session.commit()
    context = create_context(settings, clock=workspace.clock)

    async def engine():
        return workspace.engine

    context.engine_source = engine
    server = await aiohttp_server(create_app(context, run_scheduler=False))
    workspace.webhook_syncs = server.app[WEBHOOK_TASKS]
    admin = sandbox.config()["admin"]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin['token']}"}) as http:
        async with http.put(admin["url"] + "/webhook",
                            json={"url": str(server.make_url(ROUTE)), "marketplace": marketplace}) as response:
            assert response.status == 200
        workspace.names = (marketplace, psa)
        workspace.admin = (http, admin["url"])
        yield workspace
    await workspace.close()


async def webhook_syncs_done(workspace) -> None:
    """The syncs SeatSync's webhook started in the background, finished. It keeps them (web/webhooks.py, for its
    shutdown) from before it answers, and the sandbox's count route returns after its delivery is answered."""
    await asyncio.gather(*list(workspace.webhook_syncs))


async def set_count(workspace, line, total: int) -> dict:
    http, url = workspace.admin
    async with http.put(f"{url}/counts/{line.subscription_id}/{line.resource_id}", json={"total": total}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_a_count_change_in_the_marketplace_reaches_the_psa_through_the_webhook(live):
    marketplace, psa = live.names
    line, = pick_lines(live.sandbox.world, psa, 1)
    line.set_market_total(5)
    line.set_psa_units(5)
    await live.engine.run_cycle(trigger="test", force_full=True)
    await link_line(live, line, marketplace)
    calls_before = live.marketplace.stats.total

    assert (await set_count(live, line, 9))["total"] == 9

    await webhook_syncs_done(live)
    assert line.psa_units == 9
    assert [(w.before, w.after) for w in line.writes()] == [(5, 9)]
    # one subscription read, not a whole cycle
    assert live.marketplace.stats.total - calls_before <= 3
    async with live.sessions() as session:
        adjustment = await session.scalar(select(Adjustment))
        assert (adjustment.units_from, adjustment.units_to, adjustment.triggered_by) == (5, 9, "webhook")
        assert await deliveries(session) == 1


async def test_a_repeated_delivery_does_not_sync_twice(live):
    marketplace, psa = live.names
    line, = pick_lines(live.sandbox.world, psa, 1)
    line.set_market_total(3)
    line.set_psa_units(3)
    await live.engine.run_cycle(trigger="test", force_full=True)
    await link_line(live, line, marketplace)
    subscription = live.sandbox.world.subscriptions[line.subscription_id]
    external_id = str(line.subscription_id) if marketplace == "odin" else subscription.cmp_id
    data, headers = signed(event(delivery="same-delivery", subscription=external_id, marketplace=marketplace),
                           secret=live.sandbox.config()[marketplace]["webhook_secret"])
    url = live.sandbox.world.webhook_url

    line.set_market_total(4)
    async with aiohttp.ClientSession() as plain:
        async with plain.post(url, data=data, headers=headers) as response:
            assert response.status == 202 and (await response.json())["sync"] is True
        await webhook_syncs_done(live)
        assert line.psa_units == 4
        calls = live.marketplace.stats.total
        line.set_market_total(6)  # changed again, but the repeat of an old delivery must not trigger a sync
        async with plain.post(url, data=data, headers=headers) as response:
            assert response.status == 200 and (await response.json())["duplicate"] is True
    assert not live.webhook_syncs  # a sync would be kept from before the answer: none was started
    assert live.marketplace.stats.total == calls
    assert line.psa_units == 4 and [(w.before, w.after) for w in line.writes()] == [(3, 4)]


async def test_the_sandbox_count_route_checks_its_input(live):
    http, url = live.admin
    line, = pick_lines(live.sandbox.world, live.names[1], 1)
    for body in ({"total": -1}, {"total": "9"}, {"total": True}, ["9"]):
        async with http.put(f"{url}/counts/{line.subscription_id}/{line.resource_id}", json=body) as response:
            assert response.status == 400
    async with http.put(f"{url}/counts/{line.subscription_id}/999999", json={"total": 1}) as response:
        assert response.status == 404
    assert live.sandbox.world.write_log == []


async def test_a_body_sent_in_chunks_is_read_whole(client, session):
    data, headers = signed(event(delivery="d-chunked", subscription="S-unknown"))

    async def slowly():  # chunked transfer, the second chunk after a pause: the server must wait for it
        yield data[:10]
        await asyncio.sleep(0.2)
        yield data[10:]

    response = await client.post(ROUTE, data=slowly(), headers=headers)
    assert response.status == 202, await response.text()
    assert await deliveries(session) == 1


async def test_a_chunked_body_over_the_limit_is_413(client, session):
    data, headers = signed(b"{" + b" " * 70_000 + b"}")

    async def slowly():
        for start in range(0, len(data), 8_000):
            yield data[start:start + 8_000]
            await asyncio.sleep(0.01)

    response = await client.post(ROUTE, data=slowly(), headers=headers)
    assert response.status == 413
    assert await deliveries(session) == 0


async def test_a_signature_header_that_is_not_ascii_is_401(client, session):
    body = json.dumps(event()).encode()
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    # raw bytes: aiohttp reads a header's non-UTF-8 bytes as surrogates, which str.encode() refuses
    writer.write(b"POST " + ROUTE.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 b"X-Sandbox-Signature: sha256=\xff\xfe\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    await writer.drain()
    status_line = (await reader.readline()).decode()
    writer.close()
    assert status_line.split()[1] == "401", status_line
    assert await deliveries(session) == 0
