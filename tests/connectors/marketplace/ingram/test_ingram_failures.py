"""IngramClient when things go wrong: refused logins, fault knobs, the gateway quota, garbage replies.

Clients come from test_ingram's `clients` fixture, so their traffic is validated against the
vendor's OpenAPI document too.
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from aiohttp import web

from bot.connectors.errors import (
    AuthenticationError,
    MalformedReplyError,
    RateLimitedError,
    RejectedError,
    ServerError,
    UnreachableError,
)
from bot.connectors.http import RetryPolicy
from bot.connectors.marketplace.ingram.auth import MarketplaceRejectedError, SubscriptionKeyRejectedError
from bot.connectors.marketplace.ingram.client import IngramClient
from bot.sandbox.app import INGRAM_PATH
from bot.sandbox.ingram import GatewayQuota
from bot.sandbox.world import Credentials, SandboxWorld
from tests.connectors.marketplace.ingram import test_ingram as recorded
from tests.connectors.marketplace.ingram.test_ingram import by_id, expected_subscriptions, ingram_app, ingram_connection

# the recorded, spec-validated clients and the sandbox of test_ingram, as fixtures of this module too
openapi, sandbox, clients, ingram = recorded.openapi, recorded.sandbox, recorded.clients, recorded.ingram

PATIENT_RETRY = RetryPolicy(max_attempts=8, base_delay_s=0.005, max_delay_s=0.02, max_total_s=10)


# --- refused logins and connection tests ---------------------------------------------------------
async def test_connection_ok_reports_counts(ingram, sandbox):
    check = await ingram.test_connection()
    assert check.ok, check.detail
    assert check.facts["customers"] == str(len(sandbox.world.customers))
    assert check.facts["subscriptions"] == str(len(sandbox.world.subscriptions))
    assert check.facts["marketplace"] == "us"


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"subscription_key": "0" * 32}, SubscriptionKeyRejectedError, "API gateway rejected the subscription key"),
    ({"password": "not-the-password"}, AuthenticationError, "user name or password was rejected"),
    ({"username": "someone@msp.example.com"}, AuthenticationError, "user name or password was rejected"),
    ({"marketplace": "eu"}, MarketplaceRejectedError, "marketplace code 'eu' was rejected"),
], ids=["key", "password", "username", "marketplace"])
async def test_each_refused_login_is_reported_in_its_own_words(clients, sandbox, change, error, words):
    client = clients.connect(sandbox.config()["ingram"]["url"], sandbox.world, changes=change)
    check = await client.test_connection()
    assert not check.ok
    assert words in check.detail
    for secret in change.values():
        assert secret not in check.detail or secret == "eu"
    with pytest.raises(error) as caught:
        await client.list_companies()
    assert type(caught.value) is error
    assert client.stats.by_operation == {"token": 2}  # one per attempt above, never retried


async def test_a_key_revoked_mid_run_is_not_mistaken_for_an_expired_token(ingram, sandbox):
    await ingram.list_companies()
    sandbox.world.credentials.ingram_subscription_key = "revoked-key-0000"
    with pytest.raises(SubscriptionKeyRejectedError, match="invalid subscription key"):
        await ingram.list_companies()
    assert ingram.stats.by_operation["token"] == 1


async def test_a_wrong_region_path_says_the_url_is_wrong(sandbox):
    # not a recorded client: a path outside the API cannot be validated against its document
    client = IngramClient.from_connection(ingram_connection(sandbox.base_url + "/ingram/marketplace/eu",
                                                            sandbox.world))
    try:
        check = await client.test_connection()
        assert not check.ok
        assert "Nothing answers as the Marketplace API at" in check.detail and "Resource not found" in check.detail
        with pytest.raises(RejectedError) as caught:
            await client.list_subscriptions()
        assert caught.value.status == 404
    finally:
        await client.aclose()


async def test_nothing_listening_is_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    world = SandboxWorld(seed=1, today=recorded.TODAY, credentials=Credentials.for_seed(1))
    client = IngramClient.from_connection(ingram_connection(f"http://127.0.0.1:{port}{INGRAM_PATH}", world),
                                          retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    try:
        check = await client.test_connection()
        assert not check.ok and check.detail.startswith(f"Cannot reach http://127.0.0.1:{port}")
        with pytest.raises(UnreachableError):
            await client.list_companies()
    finally:
        await client.aclose()


def test_a_connection_missing_settings_is_refused_up_front(sandbox):
    connection = ingram_connection("http://127.0.0.1:1" + INGRAM_PATH, sandbox.world, password="", marketplace="")
    with pytest.raises(ValueError, match=r"missing options.marketplace, secrets.password"):
        IngramClient.from_connection(connection)


# --- fault knobs -------------------------------------------------------------------------------------
@pytest.mark.parametrize("knobs", [
    {"error_rates": {500: 0.25}},
    {"error_rates": {502: 0.15, 503: 0.15}},
    {"burst_429": 5, "retry_after_s": 0.01},
    {"rate_429": 0.2, "retry_after_s": 0.01},
    {"latency_ms": 3, "latency_jitter_ms": 4},
], ids=["500", "502-503", "burst-429", "rate-429", "latency"])
async def test_faults_are_retried_and_the_read_is_the_same(clients, sandbox, knobs):
    sandbox.faults["ingram"].update(knobs)
    client = clients.connect(sandbox.config()["ingram"]["url"], sandbox.world, retry=PATIENT_RETRY, validate=False)
    assert by_id(await client.list_subscriptions()) == expected_subscriptions(sandbox.world)
    if "latency_ms" not in knobs:
        assert client.stats.retries > 0


async def test_timeouts_are_retried(clients, sandbox):
    sandbox.faults["ingram"].update({"timeout_rate": 0.1, "timeout_s": 0.5})
    client = clients.connect(sandbox.config()["ingram"]["url"], sandbox.world, retry=PATIENT_RETRY,
                             timeout=httpx.Timeout(0.15, connect=1.0), validate=False)
    assert len(await client.list_subscriptions()) == len(sandbox.world.subscriptions)
    assert client.stats.by_status["no-reply"] > 0


async def test_a_backend_that_keeps_failing_gives_its_message_and_correlation_id(clients, sandbox):
    sandbox.faults["ingram"].update({"error_rates": {500: 1.0}})
    client = clients.connect(sandbox.config()["ingram"]["url"], sandbox.world)
    with pytest.raises(ServerError) as caught:
        await client.list_companies()
    assert caught.value.status == 500
    assert caught.value.vendor_message.startswith("Internal Server Error (correlation id ")
    check = await client.test_connection()
    assert not check.ok and "failing right now" in check.detail


async def test_endless_429_becomes_rate_limited_with_the_gateways_words(clients, sandbox):
    sandbox.faults["ingram"].update({"rate_429": 1.0, "retry_after_s": 0.01})
    client = clients.connect(sandbox.config()["ingram"]["url"], sandbox.world)
    with pytest.raises(RateLimitedError) as caught:
        await client.list_companies()
    assert caught.value.vendor_message == "API gateway: Too many requests"


# --- the gateway's call-rate quota ---------------------------------------------------------------------
async def test_the_client_keeps_under_the_gateway_quota(clients, sandbox, aiohttp_server):
    server = await aiohttp_server(ingram_app(sandbox.world, quota=GatewayQuota(calls=8, renewal_period_s=0.5)))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world, page_size=5,
                             quota_calls=8, quota_window_s=0.55)
    assert len(await client.list_companies()) == len(sandbox.world.customers)  # 11 calls: over one window
    assert "429" not in client.stats.by_status


async def test_over_the_quota_the_client_waits_for_retry_after(clients, sandbox, aiohttp_server):
    server = await aiohttp_server(ingram_app(sandbox.world, quota=GatewayQuota(calls=4, renewal_period_s=0.5)))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world, page_size=10,
                             retry=RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=2, max_total_s=10))
    assert len(await client.list_companies()) == len(sandbox.world.customers)
    assert client.stats.by_status["429"] >= 1
    assert client.stats.retries == client.stats.by_status["429"]


# --- malformed replies ---------------------------------------------------------------------------------
REPLIES = {
    "html": (b"<html><body><h1>Maintenance</h1><p>Back soon</p></body></html>", "text/html"),
    "truncated": (b'{"data": [{"id": "1000027", "name": "Acme"}], "pagination": {"offset": 0, "li', "application/json"),
    "array": (b'[{"id": "1000027"}]', "application/json"),
    "no-pagination": (b'{"data": [{"id": "1000027", "name": "Acme"}]}', "application/json"),
    "items-without-id": (b'{"data": [{"name": "Acme"}], "pagination": {"offset": 0, "limit": 1, "total": 1}}',
                         "application/json"),
    "bad-quantity": (b'{"id": "7", "status": "active", "products": [{"mpn": "X", "quantity": "lots"}]}',
                     "application/json"),
    "bad-token": (b'{"access": "nope"}', "application/json"),
}


@pytest.fixture
async def garbage_api(aiohttp_server):
    async def token(request: web.Request) -> web.Response:
        if request.match_info["kind"] == "bad-token":
            body, content_type = REPLIES["bad-token"]
            return web.Response(body=body, content_type=content_type)
        return web.json_response({"token": "abc.def.ghi", "expiresInSeconds": 1500})

    async def anything(request: web.Request) -> web.Response:
        body, content_type = REPLIES[request.match_info["kind"]]
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/{kind}/token", token)
    app.router.add_get("/{kind}/{tail:.*}", anything)
    return await aiohttp_server(app)


@pytest.mark.parametrize("kind", sorted(REPLIES))
async def test_garbage_replies_are_typed_errors_that_say_what_came(garbage_api, sandbox, kind):
    client = IngramClient.from_connection(ingram_connection(str(garbage_api.make_url(f"/{kind}")), sandbox.world),
                                          retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    try:
        with pytest.raises(MalformedReplyError) as caught:
            if kind == "bad-quantity":
                await client.get_subscription("7")
            else:
                await client.list_companies()
        if kind != "bad-quantity":
            check = await client.test_connection()
            assert not check.ok and "but not the Marketplace API" in check.detail
    finally:
        await client.aclose()
    assert caught.value.retryable and "Traceback" not in str(caught.value)
    if kind == "html":
        assert "text/html" in caught.value.vendor_message and "Maintenance" in caught.value.vendor_message
    if kind == "bad-quantity":
        assert "product 'X': quantity is 'lots', not a number" in caught.value.vendor_message


async def test_concurrent_reads_share_one_login(ingram, sandbox):
    ids = [s.cmp_id for s in sandbox.world.subscriptions.values()][:20]
    await asyncio.gather(*(ingram.get_subscription(i) for i in ids))
    assert ingram.stats.by_operation["token"] == 1
