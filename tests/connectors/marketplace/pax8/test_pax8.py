"""Pax8Client against the Pax8 simulator over real HTTP: complete reads at ceil(n/size) calls a list, the
token's life, how Pax8's records read, typed errors in Pax8's words, the Test connection diagnosis and bounded
concurrency. Every request the client sends, and every success it reads, is validated against Pax8's own
OpenAPI documents (tests/specs/pax8-*.json); every error body against the documented error shapes."""

from __future__ import annotations

import asyncio
import math
import warnings
from collections import Counter

import httpx
import jsonschema
import pytest
from aiohttp import web
from openapi_core.testing import MockRequest, MockResponse

from bot.connectors.connection import Connection
from bot.connectors.errors import NotFoundError, PermissionDeniedError
from bot.connectors.http import RetryPolicy, read_deadline
from bot.connectors.marketplace.pax8.auth import DELEGATED_GRANT_TODO
from bot.connectors.marketplace.pax8.client import Pax8Client
from bot.domain.enums import SubscriptionStatus, Term
from bot.sandbox.faults import FaultKnobs
from bot.sandbox.pax8 import Pax8Simulator
from bot.sandbox.pax8.book import BILLABLE_STATUSES
from tests.sandbox.pax8_client import (
    PARTNER,
    FakeClock,
    auth_openapi,
    partner_error_schema,
    partner_openapi,
    pax8_app,
    small_world,
)

FAST_RETRY = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05, max_total_s=10)


class ValidatingTransport(httpx.AsyncBaseTransport):
    """Sends for real, and checks each exchange against Pax8's documents."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[httpx.Request] = []
        self.in_flight = self.most_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            response = await self.inner.handle_async_request(request)
            payload = await response.aread()
        finally:
            self.in_flight -= 1
        self.sent.append(request)
        self._validate(request, response.status_code, payload)
        return httpx.Response(response.status_code, headers=response.headers, content=payload, request=request)

    def _validate(self, request: httpx.Request, status: int, payload: bytes) -> None:
        path = request.url.path
        if not path.startswith(PARTNER):
            return  # not Pax8 (a test's wrong URL)
        token = path.endswith("/token")
        openapi = auth_openapi() if token else partner_openapi()
        mock = MockRequest(f"{request.url.scheme}://{request.url.host}:{request.url.port}", request.method.lower(),
                           path, args={k: v for k, v in request.url.params.items()},
                           headers=dict(request.headers), data=request.content or None)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Unsupported scheme type", category=UserWarning)
            if 200 <= status < 300:
                openapi.validate_request(mock)
                openapi.validate_response(mock, MockResponse(payload, status, content_type="application/json"))
            elif token and status in (400, 401):
                assert set(httpx.Response(status, content=payload).json()) == {"error", "error_description"}
            else:
                jsonschema.validate(httpx.Response(status, content=payload).json(), partner_error_schema())

    async def aclose(self) -> None:
        await self.inner.aclose()

    def calls(self) -> Counter:
        return Counter(request.url.path.rsplit("/", 1)[-1] for request in self.sent)


@pytest.fixture(scope="module")
def world():
    return small_world(seed=3)


@pytest.fixture
def sim_clock():
    return FakeClock()


@pytest.fixture
async def pax8(aiohttp_server, world, sim_clock):
    simulator = Pax8Simulator(world, clock=sim_clock)
    knobs = FaultKnobs()
    server = await aiohttp_server(pax8_app(simulator, knobs))
    return simulator, knobs, str(server.make_url(PARTNER))


@pytest.fixture
async def make(pax8, world):
    made: list[Pax8Client] = []

    def build(*, options: dict | None = None, secrets: dict | None = None, base: str | None = None,
              **kwargs) -> Pax8Client:
        creds = world.credentials
        connection = Connection("pax8", base or pax8[2],
                                {"client_id": creds.pax8_client_id, **(options or {})},
                                {"client_secret": creds.pax8_client_secret, **(secrets or {})})
        client = Pax8Client.from_connection(connection, retry=kwargs.pop("retry", FAST_RETRY),
                                            transport=ValidatingTransport(), **kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()


def transport(client: Pax8Client) -> ValidatingTransport:
    return client.http.client._transport  # type: ignore[return-value]


# --- complete reads ----------------------------------------------------------------------------------
async def test_a_read_returns_every_company_and_subscription_at_ceil_n_over_200_calls(make, world):
    client = make()
    companies = await client.list_companies()
    subscriptions = await client.list_subscriptions()
    book = world.pax8
    assert {c.external_id for c in companies} == set(book.companies)
    assert {s.external_id for s in subscriptions} == set(book.subscriptions)
    calls = transport(client).calls()
    assert calls == {"token": 1, "companies": math.ceil(len(book.companies) / 200),
                     "subscriptions": math.ceil(len(book.subscriptions) / 200)}
    assert all(r.url.params["size"] == "200" for r in transport(client).sent if r.method == "GET")
    # a second read costs the same lists and no login
    await client.list_subscriptions(modified_since=None)
    assert transport(client).calls()["token"] == 1


@pytest.mark.parametrize("size", [1, 7, 50])
async def test_paging_reads_each_page_once_and_every_record_once(make, world, size):
    client = make(page_size=size)
    subscriptions = await client.list_subscriptions()
    assert len(subscriptions) == len({s.external_id for s in subscriptions}) == len(world.pax8.subscriptions)
    pages = [int(r.url.params["page"]) for r in transport(client).sent if r.url.path.endswith("/subscriptions")]
    assert sorted(pages) == list(range(math.ceil(len(world.pax8.subscriptions) / size)))


async def test_reads_stay_within_the_bounded_concurrency(make):
    client = make(page_size=2, max_in_flight=3)
    await client.list_subscriptions()
    assert 1 < transport(client).most_in_flight <= 3


# --- how Pax8's records read ---------------------------------------------------------------------------
async def test_each_subscription_is_one_product_counted_while_pax8_bills_it(make, world):
    book = world.pax8
    subscriptions = {s.external_id: s for s in await make().list_subscriptions()}
    statuses = Counter()
    for sub_id, sub in book.subscriptions.items():
        read = subscriptions[sub_id]
        state = sub.now
        statuses[state.status] += 1
        (resource,) = read.resources
        assert resource.external_id == sub.product_id
        assert resource.total == state.billable_quantity
        assert read.company_external_id == sub.company_id
        assert resource.unit_price == state.price and resource.unit_cost == state.partner_cost
        if state.status in BILLABLE_STATUSES:
            assert read.status is SubscriptionStatus.active
        elif state.status == "Cancelled":
            assert read.status is SubscriptionStatus.cancelled
        if state.billing_term == "Annual":
            assert read.term is Term.annual
        elif sub.commitment is not None and state.commitment_end is not None:
            assert read.term is Term.other
            assert read.end_date == state.commitment_end.date()  # a committed decrease waits for it
        elif state.billing_term == "Monthly":
            assert read.term is Term.monthly
    assert statuses["Active"] and len(statuses) > 1


async def test_several_subscriptions_of_one_product_stay_apart(make, world):
    book = world.pax8
    groups = Counter((s.company_id, s.product_id) for s in book.subscriptions.values())
    (company_id, product_id), count = groups.most_common(1)[0]
    assert count > 1, "the generator makes several subscriptions of a product for a company"
    read = [s for s in await make().list_subscriptions()
            if s.company_external_id == company_id and s.resources[0].external_id == product_id]
    assert len(read) == count
    assert sorted(s.resources[0].total for s in read) == sorted(
        s.now.billable_quantity for s in book.subscriptions.values()
        if (s.company_id, s.product_id) == (company_id, product_id))


async def test_one_subscription_is_read_again_by_id(make, world):
    sub = next(iter(world.pax8.subscriptions.values()))
    read = await make().get_subscription(sub.id)
    assert read.external_id == sub.id and read.resources[0].total == sub.now.billable_quantity


# --- the token -----------------------------------------------------------------------------------------
async def test_one_login_serves_concurrent_calls_and_is_renewed_before_it_expires(make):
    clock = FakeClock()
    client = make(clock=clock)
    await asyncio.gather(*(client.list_companies() for _ in range(5)))
    assert transport(client).calls()["token"] == 1
    clock.advance(22 * 3600)
    await client.list_companies()
    assert transport(client).calls()["token"] == 1
    clock.advance(2 * 3600)  # past 23 h: a fresh token before the 24 h one expires
    await client.list_companies()
    assert transport(client).calls()["token"] == 2


async def test_a_revoked_token_is_replaced_once(make, pax8):
    simulator = pax8[0]
    client = make()
    await client.list_companies()
    simulator.tokens._tokens.clear()  # Pax8 forgot it
    await client.list_companies()
    assert transport(client).calls()["token"] == 2


# --- errors in Pax8's words ------------------------------------------------------------------------------
async def test_an_unknown_subscription_is_not_found_in_pax8s_words(make):
    with pytest.raises(NotFoundError) as caught:
        await make().get_subscription("00000000-0000-4000-8000-000000000001")
    assert caught.value.status == 404
    assert "00000000-0000-4000-8000-000000000001" in caught.value.vendor_message


async def test_429s_and_500s_are_retried_until_the_read_succeeds(make, pax8, world):
    knobs = pax8[1]
    knobs.burst_429 = 3
    knobs.error_rates = {500: 0.3}
    client = make(page_size=5)
    subscriptions = await client.list_subscriptions()
    assert len(subscriptions) == len(world.pax8.subscriptions)
    assert client.stats.retries >= 3


async def test_the_rate_limit_429_without_retry_after_backs_off(make, aiohttp_server, world):
    from bot.sandbox.pax8.limits import Budget

    simulator = Pax8Simulator(world, budget=Budget(calls=4, window_s=0.5))
    server = await aiohttp_server(pax8_app(simulator))
    client = make(base=str(server.make_url(PARTNER)), page_size=10)
    with read_deadline(30):  # as a cycle reads: retried until the deadline, not by the attempt count
        assert len(await client.list_subscriptions()) == len(world.pax8.subscriptions)
    assert client.stats.by_status["429"] >= 1


# --- Test connection ---------------------------------------------------------------------------------------
async def test_test_connection_reports_what_it_read(make, world):
    check = await make().test_connection()
    assert check.ok, check.detail
    assert check.facts["companies"] == str(len(world.pax8.companies))
    assert check.facts["subscriptions"] == str(len(world.pax8.subscriptions))


async def test_test_connection_names_the_wrong_secret(make):
    check = await make(secrets={"client_secret": "not-the-secret"}).test_connection()
    assert not check.ok
    assert "rejected the client secret" in check.detail and "access_denied" in check.detail
    assert "not-the-secret" not in check.detail


async def test_test_connection_names_a_malformed_client_id(make):
    check = await make(options={"client_id": "my-client"}).test_connection()
    assert not check.ok and "rejected the client ID 'my-client'" in check.detail


async def test_test_connection_names_the_wrong_audience_without_a_call(make):
    client = make(options={"audience": "api://usage"})
    check = await client.test_connection()
    assert not check.ok and "audience 'api://usage'" in check.detail and "https://api.pax8.com" in check.detail
    assert transport(client).sent == []


async def test_test_connection_names_a_wrong_url(make, pax8):
    check = await make(base=pax8[2].replace("/pax8/v1", "/pax9/v1")).test_connection()
    assert not check.ok and ("token endpoint" in check.detail or "Nothing answers" in check.detail)


async def test_a_connection_lacking_a_field_or_with_an_unknown_grant_is_refused():
    with pytest.raises(ValueError, match="secrets.client_secret"):
        Pax8Client.from_connection(Connection("pax8", "http://127.0.0.1:9/v1", {"client_id": "x"}, {}))
    with pytest.raises(ValueError, match="'password' grant"):
        Pax8Client.from_connection(Connection("pax8", "http://127.0.0.1:9/v1",
                                              {"client_id": "x", "grant": "password"},
                                              {"client_secret": "s"}))
    assert "refresh token" in DELEGATED_GRANT_TODO


async def test_a_forbidden_list_is_a_permission_error(make, aiohttp_server, world):
    async def forbid(request: web.Request) -> web.Response:
        return web.json_response({"type": "FORBIDDEN", "message": "Access denied", "status": 403, "details": []},
                                 status=403)

    app = web.Application()
    app.router.add_post("/pax8/v1/token", lambda r: web.json_response(
        {"access_token": "a.b.c", "expires_in": 86400, "token_type": "Bearer"}))
    app.router.add_get("/pax8/v1/companies", forbid)
    server = await aiohttp_server(app)
    client = make(base=str(server.make_url(PARTNER)))
    with pytest.raises(PermissionDeniedError, match="Access denied"):
        await client.list_companies()
    check = await client.test_connection()
    assert "may not read companies" in check.detail

