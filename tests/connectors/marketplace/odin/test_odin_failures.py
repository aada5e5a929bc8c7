"""OdinClient when things go wrong: what stands in front of BA (auth proxy, IP allow-list), every
fault knob of the sandbox, and replies that are not XML-RPC at all."""

from __future__ import annotations

import base64
import xmlrpc.client

import httpx
import pytest
from aiohttp import web

from bot.connectors.errors import (
    AuthenticationError,
    MalformedReplyError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from bot.connectors.http import RetryPolicy
from bot.connectors.marketplace.odin.vendor import VENDOR
from bot.sandbox.ingram_gateway import GatewayQuota
from bot.sandbox.odin import create_odin_app, odin_error
from bot.sandbox.odin_gateway import OdinGateway
from bot.sandbox.odin_methods import METHODS
from tests.connectors.marketplace.odin import test_odin as reads
from tests.connectors.marketplace.odin.test_odin import (
    FAST_RETRY,
    SECRETS,
    by_id,
    connect,
    expected_subscriptions,
    fronted_odin,
)

sandbox = reads.sandbox  # the same sandbox fixture


# --- what stands in front of BA: auth proxy, IP allow-list ------------------------------------------
def basic_auth_proxy(username: str, password: str):
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    @web.middleware
    async def middleware(request, handler):
        if request.headers.get("Authorization") != expected:
            return odin_error(401, "Authorization Required")
        return await handler(request)

    return middleware


def gateway_odin(world, gateway: OdinGateway) -> web.Application:
    app = web.Application()
    app.add_subapp("/odin", create_odin_app(world, gateway=gateway))
    return app


async def test_http_basic_credentials_are_sent_where_the_gateway_wants_them(aiohttp_server, sandbox):
    server = await aiohttp_server(gateway_odin(sandbox.world, OdinGateway(basic_auth=True)))
    url = str(server.make_url("/odin/RPC2"))
    right = connect(url, options={"basic_auth": "yes"})
    not_told = connect(url)
    wrong = connect(url, options={"basic_auth": "yes"}, secrets={**SECRETS, "password": "wrong-pass"})
    try:
        assert len(await right.list_companies()) == len(sandbox.world.customers)
        for client in (not_told, wrong):
            check = await client.test_connection()
            assert not check.ok
            assert "user id or password" in check.detail and "401" in check.detail
            assert "wrong-pass" not in check.detail
            with pytest.raises(AuthenticationError):
                await client.list_subscriptions()
    finally:
        for client in (right, not_told, wrong):
            await client.aclose()


async def test_connection_tells_a_wrong_password_from_a_refused_method_from_no_host(aiohttp_server, sandbox):
    wrong = connect(sandbox.config()["odin"]["url"], secrets={**SECRETS, "password": "not-it"})
    allowed = frozenset(METHODS) - {"SubscriptionResourcesListGet_API"}
    server = await aiohttp_server(gateway_odin(sandbox.world, OdinGateway(allowed_methods=allowed)))
    limited = connect(str(server.make_url("/odin/RPC2")))
    nowhere = connect(f"http://127.0.0.1:{reads.free_port()}/RPC2", retry=RetryPolicy(max_attempts=2,
                                                                                          base_delay_s=0.01))
    try:
        password = await wrong.test_connection()
        assert not password.ok and password.detail.startswith("The user id or password for")
        assert "not-it" not in password.detail
        with pytest.raises(AuthenticationError, match="Access denied"):
            await wrong.list_companies()
        method = await limited.test_connection()
        assert not method.ok
        assert method.detail.startswith("The gateway does not let this user call SubscriptionResourcesListGet_API")
        with pytest.raises(PermissionDeniedError):
            await limited.list_subscriptions()
        host = await nowhere.test_connection()
        assert not host.ok and host.detail.startswith("Cannot reach BA at")
    finally:
        for client in (wrong, limited, nowhere):
            await client.aclose()


def test_the_gateway_credentials_are_required_and_declared_secret():
    fields = {f.name: f for f in VENDOR.connection.fields}
    assert fields["username"].secret and fields["password"].secret
    assert fields["username"].required and fields["password"].required
    with pytest.raises(ValueError, match="secrets.password"):
        connect("http://127.0.0.1:1/RPC2", secrets={"username": "reseller"})


async def test_the_client_keeps_under_the_gateways_call_rate(aiohttp_server, sandbox):
    gateway = OdinGateway(quota=GatewayQuota(calls=30, renewal_period_s=1.0))
    server = await aiohttp_server(gateway_odin(sandbox.world, gateway))
    client = connect(str(server.make_url("/odin/RPC2")), options={"requests_per_second": "25"})
    try:
        await client.list_companies()  # 1 + 50 calls: two windows' worth
    finally:
        await client.aclose()
    assert "429" not in client.stats.by_status and client.stats.total == 1 + len(sandbox.world.customers)


async def test_a_machine_not_on_the_allow_list_is_told_so(aiohttp_server, sandbox):
    @web.middleware
    async def allow_list(request, handler):
        return odin_error(403, "Access from your IP address is not allowed")

    server = await aiohttp_server(fronted_odin(sandbox.world, allow_list))
    client = connect(str(server.make_url("/odin/RPC2")))
    try:
        check = await client.test_connection()
        assert not check.ok and "allowed IP addresses" in check.detail
        with pytest.raises(PermissionDeniedError, match="not allowed"):
            await client.list_companies()
    finally:
        await client.aclose()

# --- fault knobs -------------------------------------------------------------------------------------
@pytest.mark.parametrize("knobs", [
    {"error_rates": {500: 0.25}},
    {"error_rates": {502: 0.15, 503: 0.15}},
    {"burst_429": 5, "retry_after_s": 0.01},
    {"rate_429": 0.2, "retry_after_s": 0.01},
    {"latency_ms": 3, "latency_jitter_ms": 4},
], ids=["500", "502-503", "burst-429", "rate-429", "latency"])
async def test_faults_are_retried_and_the_read_is_the_same(sandbox, knobs):
    sandbox.faults["odin"].update(knobs)
    client = connect(sandbox.config()["odin"]["url"],
                     retry=RetryPolicy(max_attempts=8, base_delay_s=0.005, max_delay_s=0.02, max_total_s=10))
    try:
        assert by_id(await client.list_subscriptions()) == by_id(expected_subscriptions(sandbox.world))
    finally:
        await client.aclose()
    if "latency_ms" not in knobs:
        assert client.stats.retries > 0


async def test_timeouts_are_retried(sandbox):
    sandbox.faults["odin"].update({"timeout_rate": 0.1, "timeout_s": 0.5})
    client = connect(sandbox.config()["odin"]["url"], timeout=httpx.Timeout(0.15, connect=1.0),
                     retry=RetryPolicy(max_attempts=8, base_delay_s=0.005, max_delay_s=0.02, max_total_s=10))
    try:
        subscriptions = await client.list_subscriptions()
    finally:
        await client.aclose()
    assert len(subscriptions) == len(sandbox.world.subscriptions)
    assert client.stats.by_status["no-reply"] > 0
    assert client.stats.retries >= client.stats.by_status["no-reply"]


async def test_a_server_that_keeps_failing_gives_a_typed_error_with_its_page_text(sandbox):
    sandbox.faults["odin"].update({"error_rates": {503: 1.0}})
    client = connect(sandbox.config()["odin"]["url"])
    try:
        with pytest.raises(ServerError) as caught:
            await client.list_subscriptions()
        check = await client.test_connection()
    finally:
        await client.aclose()
    assert caught.value.status == 503 and caught.value.retryable
    assert "Service Unavailable" in caught.value.vendor_message
    assert "<html>" not in caught.value.vendor_message
    assert client.stats.retries == 2 * (FAST_RETRY.max_attempts - 1)
    assert not check.ok and "failing right now" in check.detail


async def test_endless_429_becomes_rate_limited(sandbox):
    sandbox.faults["odin"].update({"rate_429": 1.0, "retry_after_s": 0.01})
    client = connect(sandbox.config()["odin"]["url"])
    try:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_companies()
    finally:
        await client.aclose()
    assert caught.value.retry_after == pytest.approx(0.01)


# --- malformed replies -------------------------------------------------------------------------------
def reply(result: object) -> bytes:
    return xmlrpc.client.dumps(({"Result": result},), methodresponse=True).encode()


MALFORMED = {
    "html": (b"<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"),
    "truncated": (reply([[[1000027, "Acme", 1000001, "C", 0, 0, "a@b.c"]]])[:-60], "text/xml"),
    "no-result": (xmlrpc.client.dumps(({"Status": "ok"},), methodresponse=True).encode(), "text/xml"),
    "not-rows": (reply(["Acme"]), "text/xml"),
    "short-rows": (reply([[[1001880, "Sub", 5001]]]), "text/xml"),
    "garbage": (b"\x00\x01not xml at all", "application/octet-stream"),
}


@pytest.fixture
async def malformed_ba(aiohttp_server):
    async def answer(request: web.Request) -> web.Response:
        body, content_type = MALFORMED[request.match_info["kind"]]
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/{kind}/RPC2", answer)
    return await aiohttp_server(app)


@pytest.mark.parametrize("kind", sorted(MALFORMED))
async def test_malformed_replies_are_typed_errors_that_say_what_came(malformed_ba, kind):
    client = connect(str(malformed_ba.make_url(f"/{kind}/RPC2")))
    try:
        with pytest.raises(MalformedReplyError) as caught:
            if kind == "short-rows":
                await client._subscription_rows(1000027)
            else:
                await client.list_companies()
        check = await client.test_connection()
    finally:
        await client.aclose()
    assert caught.value.retryable
    assert "Traceback" not in str(caught.value)
    if kind == "html":
        assert "text/html" in caught.value.vendor_message and "nginx" in caught.value.vendor_message
        assert not check.ok and "but not BA's XML-RPC API" in check.detail
    if kind == "short-rows":
        assert "a row has 3 fields, expected 12" in caught.value.vendor_message
    if kind != "short-rows":
        assert not check.ok
