"""Pax8's webhooks into SeatSync, as Pax8 sends them: no signature, the Authorization value configured on the
webhook echoed (checked in constant time against the stored, encrypted value), a notification that names the
subscription (SeatSync re-reads it), late and twice. End to end: the Pax8 simulator's webhooks API is told to
deliver to SeatSync's app on a real port; a seat change in Pax8 reaches the PSA simulator once."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app_factory import create_context
from bot.db.connections import load_connection, save_connection
from bot.db.models import Adjustment, AppSetting, Invoice, MarketplaceResource, MarketplaceSubscription, ResourceLink
from bot.demo.scripted import link_high_confidence
from bot.demo.workspace import open_workspace, world_options
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY
from web.app import create_app
from web.webhooks import ROUTE, WEBHOOK_TASKS

pytestmark = pytest.mark.db

AUTHORIZATION = "Bearer pax8-hook-7c1f0e9a2b"
PAX8_ROUTE = ROUTE + "/pax8"


@pytest.fixture
async def live(database_url, settings, aiohttp_server, clock, today):
    sandbox = await Sandbox.generate(seed=4, scale="small", today=today, **world_options("pax8")).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="pax8", psa="autotask", clock=clock)
    box = SecretBox(TEST_SECRET_KEY)
    async with workspace.sessions() as session:
        connection = await load_connection(session=session, box=box, system="pax8")
        await save_connection(session=session, box=box, system="pax8", base_url=connection.base_url,
                              options=connection.options,
                              secrets={**connection.secrets, "webhook_secret": AUTHORIZATION}, actor="test")
        await session.commit()
    context = create_context(settings, clock=workspace.clock)

    async def engine():
        return workspace.engine

    context.engine_source = engine
    server = await aiohttp_server(create_app(context, run_scheduler=False))
    workspace.webhook_syncs = server.app[WEBHOOK_TASKS]
    workspace.url = str(server.make_url(PAX8_ROUTE))
    config = sandbox.config()
    async with aiohttp.ClientSession() as http:
        pax8 = config["pax8"]
        async with http.post(pax8["token_url"], json={
                "client_id": pax8["client_id"], "client_secret": pax8["client_secret"], "audience": pax8["audience"],
                "grant_type": "client_credentials"}) as response:
            token = (await response.json())["access_token"]
        async with http.post(pax8["webhooks_url"] + "/webhooks", headers={"Authorization": f"Bearer {token}"}, json={
                "displayName": "SeatSync", "url": workspace.url, "authorization": AUTHORIZATION, "active": True,
                "errorThreshold": 3, "webhookTopics": [{"topic": "SUBSCRIPTION", "filters": []}]}) as response:
            assert response.status in (200, 201), await response.text()
        workspace.http = http
        workspace.admin = config["admin"]
        yield workspace
    await workspace.close()


async def change_seats(workspace, subscription_id: str, quantity: int) -> None:
    admin = workspace.admin
    headers = {"Authorization": f"Bearer {admin['token']}"}
    async with workspace.http.put(f"{admin['url']}/pax8/subscriptions/{subscription_id}", headers=headers,
                                  json={"quantity": quantity}) as response:
        assert response.status == 200, await response.text()
    async with workspace.http.post(f"{admin['url']}/pax8/deliveries/settle", headers=headers) as response:
        assert response.status == 200
        logs = (await response.json())["logs"]
    await asyncio.gather(*list(workspace.webhook_syncs))
    return logs


async def linked_pax8_line(workspace) -> tuple[str, str]:
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_ids = await link_high_confidence(workspace, say=lambda line: None)
    await workspace.engine.reconcile_links(link_ids=link_ids, actor="test")
    book = workspace.sandbox.world.pax8
    async with workspace.sessions() as session:
        rows = (await session.execute(
            select(MarketplaceSubscription.external_id, ResourceLink.psa_service_id)
            .join(MarketplaceResource, MarketplaceResource.subscription_id == MarketplaceSubscription.id)
            .join(ResourceLink, ResourceLink.resource_id == MarketplaceResource.id))).all()
    return next((sub, service) for sub, service in rows if book.subscriptions[sub].now.status == "Active")


async def psa_units(workspace, service_id: int) -> int:
    """The units the Autotask simulator bills for a service SeatSync read (a contract service or a bundle)."""
    from bot.db.models import PsaService
    from bot.demo.verdict import psa_units as units_in_the_psa

    async with workspace.sessions() as session:
        external = await session.scalar(select(PsaService.external_id).where(PsaService.id == service_id))
    return units_in_the_psa(workspace.sandbox.world, "autotask", external)


async def test_a_seat_change_in_pax8_reaches_the_psa_once_though_delivered_twice(live):
    subscription_id, service_id = await linked_pax8_line(live)
    sub = live.sandbox.world.pax8.subscriptions[subscription_id]
    live.sandbox.pax8.knobs.update({"duplicate_rate": 1.0, "delivery_delay_s": 0.2})
    writes_before = len(live.sandbox.world.write_log)

    logs = await change_seats(live, subscription_id, sub.now.quantity + 3)

    assert logs[-1]["finalStatus"] == "SUCCESS" and len(logs[-1]["callHistory"]) == 2  # sent twice
    assert await psa_units(live, service_id) == sub.now.quantity
    writes = live.sandbox.world.write_log[writes_before:]
    assert len(writes) == 1
    async with live.sessions() as session:
        intents = list(await session.scalars(select(Adjustment).where(Adjustment.triggered_by == "webhook")))
        assert [(a.units_to, a.status.value) for a in intents] == [(sub.now.quantity, "posted")]


@pytest.mark.parametrize("authorization", [None, "", "Bearer forged", AUTHORIZATION.lower(), AUTHORIZATION[:-1],
                                           AUTHORIZATION + "0"])
async def test_a_missing_or_forged_authorization_is_401_and_syncs_nothing(live, authorization):
    body = json.dumps({"accountId": "00000000-0000-4000-8000-000000000000", "url": live.url,
                       "webhookId": "00000000-0000-4000-8000-000000000001", "sentAt": "2026-11-16T12:00:00.000Z",
                       "webhookTopic": {"id": "00000000-0000-4000-8000-000000000002", "topic": "SUBSCRIPTION",
                                        "filters": []},
                       "payloadData": {"type": "Change", "subscriptionId": next(iter(
                           live.sandbox.world.pax8.subscriptions))}}).encode()
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with live.http.post(live.url, data=body, headers=headers) as response:
        status = response.status
    assert status == 401
    async with live.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AppSetting)
                                    .where(AppSetting.key.like("webhook:%"))) == 0


async def test_an_invoice_notification_reads_the_months_invoices_and_syncs_nothing(live):
    body = json.dumps({"accountId": "00000000-0000-4000-8000-000000000000", "url": live.url,
                       "webhookId": "00000000-0000-4000-8000-000000000001", "sentAt": "2026-11-16T12:00:00.000Z",
                       "webhookTopic": {"id": "00000000-0000-4000-8000-000000000002", "topic": "INVOICE",
                                        "filters": []},
                       "payloadData": {"invoiceId": "00000000-0000-4000-8000-000000000003"}}).encode()
    async with live.http.post(live.url, data=body, headers={"Authorization": AUTHORIZATION}) as response:
        assert response.status == 202
        answer = await response.json()
        assert answer["sync"] is False and answer["invoices"] is True
    await asyncio.gather(*list(live.webhook_syncs))
    async with live.sessions() as session:
        months = (await session.scalars(select(Invoice.month).where(Invoice.source == "pax8"))).all()
    assert months == [date(2026, 11, 1)]  # the month's invoice, released on the 5th, read once
    async with live.http.post(live.url, data=body, headers={"Authorization": AUTHORIZATION}) as response:
        assert response.status == 202
    await asyncio.gather(*list(live.webhook_syncs))
    async with live.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
