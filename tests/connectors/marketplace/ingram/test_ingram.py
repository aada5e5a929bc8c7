"""IngramClient against the Ingram CMP simulator over real HTTP: full and incremental reads, paging,
the token life cycle, and the vendor's OpenAPI document.

Every client built here sends through `RecordingTransport`; when a test ends, every request the
connector sent is validated against tests/specs/ingram-cloud-marketplace-api-1.6.yaml with
openapi-core, and so is every successful response it read (the spec declares no error responses;
error bodies are checked against the gateway's and the backend's documented shapes instead).
Failure paths live in test_ingram_failures.py, which reuses these fixtures.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import RequestValidationError

from bot.connectors.connection import Connection
from bot.connectors.errors import AuthenticationError, NotFoundError
from bot.connectors.http import RetryPolicy
from bot.connectors.marketplace.ingram.client import IngramClient
from bot.domain.enums import SubscriptionStatus, Term
from bot.domain.records import MarketResource, MarketSubscription
from bot.sandbox.app import INGRAM_PATH, Sandbox
from bot.sandbox.ingram import create_ingram_app
from bot.sandbox.ingram_orders import change_seats
from bot.sandbox.world import SandboxWorld

SPEC = Path(__file__).parents[3] / "specs" / "ingram-cloud-marketplace-api-1.6.yaml"
TODAY = date(2026, 11, 16)
FAST_RETRY = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, max_total_s=10)
STATUS = {"active": SubscriptionStatus.active, "suspended": SubscriptionStatus.suspended,
          "expired": SubscriptionStatus.expired, "cancelled": SubscriptionStatus.cancelled}
GATEWAY_ERROR = {"type": "object", "required": ["statusCode", "message"], "additionalProperties": False,
                 "properties": {"statusCode": {"type": "integer"}, "message": {"type": "string"}}}
BACKEND_ERROR = {"type": "object", "required": ["timestamp", "status", "error", "correlationId"],
                 "additionalProperties": False,
                 "properties": {"timestamp": {"type": "string"}, "status": {"type": "integer"},
                                "error": {"type": "string"}, "path": {"type": "string"},
                                "correlationId": {"type": "string"}}}


# --- recording and validation ----------------------------------------------------------------------
@dataclass
class Exchange:
    request: httpx.Request
    body: bytes
    status: int | None = None
    headers: httpx.Headers | None = None
    content: bytes = b""


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends over real HTTP and keeps each request and the raw reply it got (if any)."""

    exchanges: list[Exchange] = field(default_factory=list)
    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request=request, body=await request.aread())
        self.exchanges.append(exchange)
        response = await self.inner.handle_async_request(request)
        try:
            exchange.content = b"".join([chunk async for chunk in response.stream])
        finally:
            await response.aclose()  # gives the connection back to the pool
        exchange.status, exchange.headers = response.status_code, response.headers
        return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(exchange.content),
                              extensions=response.extensions)

    def operations(self) -> list[str]:
        return [f"{e.request.method} {e.request.url.path.removeprefix(INGRAM_PATH)}" for e in self.exchanges]

    async def aclose(self) -> None:
        await self.inner.aclose()


@functools.cache
def load_openapi() -> OpenAPI:
    spec = yaml.safe_load(SPEC.read_text())
    spec["servers"] = [{"url": "http://127.0.0.1:{port}" + INGRAM_PATH, "variables": {"port": {"default": "80"}}}]
    return OpenAPI.from_dict(spec)


def validate_exchanges(openapi: OpenAPI, exchanges: list[Exchange]) -> int:
    """Validate each request against the spec, and each reply (2xx against the spec, errors against
    the gateway/backend shapes). Returns how many successful replies were validated."""
    validated = 0
    for exchange in exchanges:
        url = exchange.request.url
        assert exchange.request.headers.get("X-Subscription-Key"), f"no subscription key on {url}"
        request = MockRequest(f"{url.scheme}://{url.host}:{url.port}", exchange.request.method, url.path,
                              args=dict(url.params), headers=dict(exchange.request.headers),
                              data=exchange.body or None)
        openapi.validate_request(request)
        if exchange.status is None:
            continue  # no reply (a timeout): nothing to check
        body = json.loads(exchange.content)
        if 200 <= exchange.status < 300:
            openapi.validate_response(request, MockResponse(
                exchange.content, exchange.status,
                headers={"X-Correlation-ID": exchange.headers.get("X-Correlation-ID", "")}))
            validated += 1
        else:
            jsonschema.validate(body, GATEWAY_ERROR if "statusCode" in body else BACKEND_ERROR)
    return validated


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return load_openapi()


# --- sandbox and clients ----------------------------------------------------------------------------
@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = await Sandbox.generate(seed=1, scale="small", today=TODAY).start()
    yield sandbox
    await sandbox.stop()


def ingram_connection(url: str, world: SandboxWorld, **changes: str) -> Connection:
    creds = world.credentials
    options = {"username": creds.ingram_username, "marketplace": creds.ingram_marketplace}
    secrets = {"subscription_key": creds.ingram_subscription_key, "password": creds.ingram_password}
    for name, value in changes.items():
        (options if name in options else secrets)[name] = value
    return Connection("ingram", url, options, secrets)


@dataclass
class Clients:
    """Builds recorded clients; at the end of a test validates all their traffic and closes them."""

    openapi: OpenAPI
    built: list[tuple[IngramClient, RecordingTransport, bool]] = field(default_factory=list)

    def connect(self, url: str, world: SandboxWorld, *, changes: dict[str, str] | None = None,
                validate: bool = True, **kwargs: Any) -> IngramClient:
        """`validate=False` for tests that only repeat validated calls under faults (it saves time)."""
        recorder = RecordingTransport()
        kwargs.setdefault("retry", FAST_RETRY)
        client = IngramClient.from_connection(ingram_connection(url, world, **(changes or {})), transport=recorder,
                                              **kwargs)
        client.recorder = recorder  # type: ignore[attr-defined]
        self.built.append((client, recorder, validate))
        return client

    async def close_and_validate(self) -> None:
        for client, recorder, validate in self.built:
            await client.aclose()
            if validate:
                validate_exchanges(self.openapi, recorder.exchanges)


@pytest.fixture
async def clients(openapi) -> AsyncIterator[Clients]:
    made = Clients(openapi)
    yield made
    await made.close_and_validate()


@pytest.fixture
def ingram(clients, sandbox) -> IngramClient:
    return clients.connect(sandbox.config()["ingram"]["url"], sandbox.world)


def ingram_app(world: SandboxWorld, *middlewares: Callable, **settings: Any) -> web.Application:
    """The CMP simulator alone (with a fake clock, a quota...), mounted where the sandbox mounts it."""
    app = web.Application(middlewares=list(middlewares))
    app.add_subapp("/ingram", create_ingram_app(world, **settings))
    return app


def expected_subscriptions(world: SandboxWorld) -> dict[str, MarketSubscription]:
    """What CMP shows of the world, in SeatSync's words."""
    cents = Decimal("0.01")
    expected = {}
    for sub in world.subscriptions.values():
        resources = tuple(
            MarketResource(external_id=world.products[ln.resource_id].mpn, name=world.products[ln.resource_id].name,
                           included=0, additional=ln.ordered, unit_price=ln.unit_price.quantize(cents),
                           unit_cost=ln.unit_cost.quantize(cents), currency="USD")
            for ln in sorted(sub.lines, key=lambda ln: ln.resource_id))
        expected[sub.cmp_id] = MarketSubscription(
            external_id=sub.cmp_id, company_external_id=world.customers[sub.account_id].cmp_id, name=sub.name,
            term=Term(sub.term), status=STATUS[sub.status], start_date=sub.created.date(),
            end_date=sub.expiration_date, modified_at=datetime.combine(sub.last_modified.date(), time.min, UTC),
            resources=resources)
    return expected


def by_id(subscriptions: list[MarketSubscription]) -> dict[str, MarketSubscription]:
    return {s.external_id: s for s in subscriptions}


# --- full reads and paging ---------------------------------------------------------------------------
async def test_list_companies_reads_every_customer_in_one_large_page(ingram, sandbox):
    companies = await ingram.list_companies()
    assert {(c.external_id, c.name) for c in companies} == {
        (c.cmp_id, c.name) for c in sandbox.world.customers.values()}
    assert ingram.recorder.operations() == ["POST /token", "GET /customers"]
    assert ingram.recorder.exchanges[1].request.url.params["limit"] == "1000"


@pytest.mark.parametrize("page_size", [1, 7, 49, 50, 51])
async def test_paging_reads_to_the_end_whatever_the_page_size(clients, sandbox, page_size):
    client = clients.connect(sandbox.config()["ingram"]["url"], sandbox.world, page_size=page_size)
    companies = await client.list_companies()
    customers = len(sandbox.world.customers)
    assert len(companies) == len({c.external_id for c in companies}) == customers
    assert client.stats.by_operation["customers"] == math.ceil(customers / page_size)
    offsets = [int(e.request.url.params["offset"]) for e in client.recorder.exchanges[1:]]
    assert offsets == list(range(0, customers, page_size))


async def test_a_server_that_caps_pages_silently_loses_nothing(clients, sandbox, aiohttp_server):
    @web.middleware
    async def cap_at_seven(request, handler):
        if "limit" in request.query:
            request = request.clone(rel_url=request.rel_url.update_query(limit=min(int(request.query["limit"]), 7)))
        return await handler(request)

    server = await aiohttp_server(ingram_app(sandbox.world, cap_at_seven))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world)
    assert len(await client.list_companies()) == len(sandbox.world.customers)
    assert client.stats.by_operation["customers"] == math.ceil(len(sandbox.world.customers) / 7)


async def test_a_refused_large_page_falls_back_to_pages_of_100(clients, sandbox, aiohttp_server):
    from bot.sandbox.ingram_errors import cmp_error

    @web.middleware
    async def at_most_100(request, handler):
        if int(request.query.get("limit", "10")) > 100:
            return cmp_error(400, "Parameter 'limit' must be less than or equal to 100", request.path)
        return await handler(request)

    server = await aiohttp_server(ingram_app(sandbox.world, at_most_100))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world)
    assert len(await client.list_companies()) == len(sandbox.world.customers)
    assert len(await client.list_subscriptions()) == len(sandbox.world.subscriptions)
    assert client.page_size == 100
    assert [e.status for e in client.recorder.exchanges if e.request.url.path.endswith("/customers")] == [400, 200]


async def test_list_subscriptions_reads_every_subscription_with_its_products(ingram, sandbox):
    subscriptions = await ingram.list_subscriptions()
    assert by_id(subscriptions) == expected_subscriptions(sandbox.world)
    assert {s.status for s in subscriptions} == set(SubscriptionStatus) - {SubscriptionStatus.pending}
    # the orders page learns where the next incremental read asks the order list from
    assert ingram.stats.by_operation == {"token": 1, "subscriptions": 1, "orders": 1,
                                         "subscription": len(sandbox.world.subscriptions)}


async def test_get_subscription_matches_the_listing(ingram, sandbox):
    listed = by_id(await ingram.list_subscriptions())
    for external_id in sorted(listed)[::13]:
        assert await ingram.get_subscription(external_id) == listed[external_id]


async def test_an_unknown_subscription_is_not_found_with_the_correlation_id(ingram):
    with pytest.raises(NotFoundError) as caught:
        await ingram.get_subscription("424242")
    assert "Subscription with id '424242' is not found (correlation id " in caught.value.vendor_message


async def test_a_subscription_removed_while_the_read_runs_is_left_out(clients, sandbox, aiohttp_server):
    world = sandbox.world
    doomed = max(world.subscriptions)

    @web.middleware
    async def remove_after_listing(request, handler):
        response = await handler(request)
        if request.path.endswith("/subscriptions"):
            world.subscriptions.pop(doomed, None)  # gone between the list and its details
        return response

    server = await aiohttp_server(ingram_app(world, remove_after_listing))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), world)
    read = by_id(await client.list_subscriptions())
    assert str(doomed) not in read and len(read) == len(world.subscriptions)
    assert client.stats.by_status["404"] == 1


# --- modified_since -----------------------------------------------------------------------------------
async def test_a_fresh_process_fetches_the_subscriptions_changed_that_day_or_later_once(ingram, sandbox):
    """Remembering nothing yet, an incremental read falls back to the day rule; the next read compares dates."""
    world = sandbox.world
    changed = sorted(world.subscriptions)[:3]
    for sid in world.subscriptions:
        world.subscriptions[sid].last_modified = datetime.combine(TODAY - timedelta(days=30), time(12), UTC)
    for sid in changed:  # changed this morning: before the time asked for, but on the same day
        world.subscriptions[sid].last_modified = datetime.combine(TODAY, time(8), UTC)
    world.subscriptions[changed[0]].last_modified = datetime.combine(TODAY + timedelta(days=1), time(1), UTC)

    read = await ingram.list_subscriptions(modified_since=datetime.combine(TODAY, time(15), UTC))
    assert sorted(int(s.external_id) for s in read) == changed
    assert ingram.stats.by_operation["subscription"] == 3
    assert read[1].modified_at == datetime.combine(TODAY, time.min, UTC)

    ingram.stats.reset()
    naive_tomorrow = datetime.combine(TODAY + timedelta(days=2), time(0))
    assert await ingram.list_subscriptions(modified_since=naive_tomorrow) == []
    assert ingram.stats.by_operation == {"subscriptions": 1, "orders": 1}


async def test_an_incremental_read_lists_no_customers_but_fetches_a_new_one(ingram, sandbox):
    """Customers are listed on a complete read; an incremental one fetches only a customer its subscriptions
    name that the client has not read (one GET each), and no call at all when there is none."""
    world = sandbox.world
    companies = await ingram.list_companies()
    assert len(companies) == len(world.customers)
    since = datetime.combine(TODAY, time(0), UTC)
    await ingram.list_subscriptions(modified_since=since)
    ingram.stats.reset()
    assert await ingram.list_companies(modified_since=since) == []
    assert ingram.stats.total == 0
    gone = companies[0].external_id
    ingram._customers.pop(gone)  # as if the customer had appeared since the complete read
    ingram.stats.reset()
    assert [c.external_id for c in await ingram.list_companies(modified_since=since)] == [gone]
    assert ingram.stats.by_operation == {"customer": 1}


# --- token life cycle ----------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_one_login_serves_many_reads(ingram):
    await ingram.list_companies()
    await ingram.list_subscriptions()
    assert ingram.stats.by_operation["token"] == ingram.tokens.logins == 1


async def test_the_token_is_renewed_before_it_expires(clients, sandbox, aiohttp_server):
    server_clock, client_clock = FakeClock(), FakeClock()
    server = await aiohttp_server(ingram_app(sandbox.world, clock=server_clock, token_lifetime_s=100))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world, clock=client_clock)
    await client.list_companies()
    for clock in (server_clock, client_clock):
        clock.now += 85  # 15 s of life left: less than a fifth of 100 s
    await client.list_companies()
    assert client.tokens.logins == 2
    assert client.recorder.operations() == ["POST /token", "GET /customers"] * 2
    assert "401" not in client.stats.by_status


async def test_a_token_the_api_stops_accepting_is_replaced_once(clients, sandbox, aiohttp_server):
    server_clock = FakeClock()
    server = await aiohttp_server(ingram_app(sandbox.world, clock=server_clock, token_lifetime_s=100))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world, clock=FakeClock())
    await client.list_companies()
    server_clock.now += 200  # the client's clock says the token is still fresh
    assert len(await client.list_companies()) == len(sandbox.world.customers)
    assert client.recorder.operations() == ["POST /token", "GET /customers", "GET /customers", "POST /token",
                                            "GET /customers"]
    assert client.stats.by_status["401"] == 1


async def test_a_token_refused_again_after_a_fresh_login_is_an_authentication_error(clients, sandbox,
                                                                                   aiohttp_server):
    server = await aiohttp_server(ingram_app(sandbox.world, token_lifetime_s=0))
    client = clients.connect(str(server.make_url(INGRAM_PATH)), sandbox.world)
    with pytest.raises(AuthenticationError, match="Token has expired"):
        await client.list_companies()
    assert client.stats.by_operation == {"token": 2, "customers": 2}


# --- the vendor's OpenAPI document ---------------------------------------------------------------------
async def test_every_request_and_response_of_a_full_read_matches_the_openapi_document(ingram, openapi, sandbox):
    sub = next(s for s in sandbox.world.subscriptions.values() if s.lines)
    change_seats(sandbox.world, sub.subscription_id, sub.lines[0].resource_id, sub.lines[0].ordered + 1)
    await ingram.test_connection()
    await ingram.list_companies()
    await ingram.list_subscriptions(modified_since=datetime(2026, 1, 1, tzinfo=UTC))
    await ingram.get_subscription(next(iter(sandbox.world.subscriptions.values())).cmp_id)
    exchanges = ingram.recorder.exchanges
    operations = ingram.recorder.operations()
    assert {op for op in operations if not op.startswith(("GET /subscriptions/", "GET /orders/"))} == {
        "POST /token", "GET /customers", "GET /subscriptions", "GET /orders"}
    assert f"GET /orders/{sandbox.world.ingram_orders[0].id}" in operations
    assert validate_exchanges(openapi, exchanges) == len(exchanges)
    token_call = exchanges[0]
    assert json.loads(token_call.body) == {"marketplace": "us"}
    assert token_call.request.headers["Authorization"].startswith("Basic ")
    assert all(e.request.headers["Authorization"].startswith("Bearer ") for e in exchanges[1:])


def test_a_request_the_document_does_not_allow_is_caught(openapi):
    """The validation in these tests has teeth: a wrong parameter fails it."""
    bad = MockRequest("http://127.0.0.1:80", "get", INGRAM_PATH + "/customers", args={"limit": "0"},
                      headers={"X-Subscription-Key": "k", "Authorization": "Bearer t"})
    with pytest.raises(RequestValidationError, match="Invalid query parameter: limit"):
        openapi.validate_request(bad)
    keyless = MockRequest("http://127.0.0.1:80", "get", INGRAM_PATH + "/subscriptions/1",
                          headers={"Authorization": "Bearer t"})
    with pytest.raises(RequestValidationError, match="X-Subscription-Key"):
        openapi.validate_request(keyless)
