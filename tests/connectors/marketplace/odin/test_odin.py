"""OdinClient against the Odin BA simulator over real HTTP: full reads, faults, errors, connection tests.

Small apps built around `create_odin_app` (with extra aiohttp middlewares) stand in for what sits in
front of BA in real installations: an authenticating proxy, an IP allow-list, a concurrency probe.
"""

from __future__ import annotations

import asyncio
import socket
import xmlrpc.client
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from aiohttp import web

from bot.clock import ManualClock
from bot.connectors.connection import Connection
from bot.connectors.errors import (
    NotFoundError,
    RejectedError,
    UnreachableError,
)
from bot.connectors.http import RetryPolicy
from bot.connectors.marketplace.odin.client import NAMES_REFRESH, OdinClient
from bot.domain.enums import SubscriptionStatus, Term
from bot.domain.records import MarketResource, MarketSubscription
from bot.sandbox.app import Sandbox
from bot.sandbox.odin import create_odin_app
from bot.sandbox.odin_accounts import reseller_account_id
from bot.sandbox.world import Credentials, SandboxWorld

TODAY = date(2026, 11, 16)
FAST_RETRY = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, max_total_s=10)
STATUS = {"active": SubscriptionStatus.active, "suspended": SubscriptionStatus.suspended,
          "expired": SubscriptionStatus.expired, "cancelled": SubscriptionStatus.cancelled}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = await Sandbox.generate(seed=1, scale="small", today=TODAY).start()
    yield sandbox
    await sandbox.stop()


CREDENTIALS = Credentials.for_seed(1)  # every world here is seed 1's
SECRETS = {"username": CREDENTIALS.odin_username, "password": CREDENTIALS.odin_password}


def connect(url: str, *, options: dict | None = None, secrets: dict | None = None, **kwargs) -> OdinClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return OdinClient.from_connection(Connection("odin", url, options or {}, SECRETS if secrets is None else secrets),
                                      **kwargs)


@pytest.fixture
async def odin(sandbox: Sandbox) -> AsyncIterator[OdinClient]:
    client = connect(sandbox.config()["odin"]["url"])
    yield client
    await client.aclose()


def expected_subscriptions(world: SandboxWorld) -> list[MarketSubscription]:
    """What BA shows of the world, in SeatSync's words (BA reports no cost)."""
    subscriptions = []
    for sub in sorted(world.subscriptions.values(), key=lambda s: (s.account_id, s.subscription_id)):
        resources = tuple(
            MarketResource(external_id=str(line.resource_id), name=world.products[line.resource_id].name,
                           included=line.included, additional=line.additional,
                           unit=world.products[line.resource_id].unit,
                           unit_price=line.unit_price.quantize(Decimal("0.01")), unit_cost=None, currency="USD")
            for line in sorted(sub.lines, key=lambda ln: ln.resource_id))
        subscriptions.append(MarketSubscription(
            external_id=str(sub.subscription_id), company_external_id=str(sub.account_id), name=sub.name,
            term=Term(sub.term), status=STATUS[sub.status], start_date=sub.start_date,
            end_date=sub.expiration_date, modified_at=None, resources=resources))
    return subscriptions


def by_id(subscriptions: list[MarketSubscription]) -> dict[str, MarketSubscription]:
    return {s.external_id: s for s in subscriptions}


# --- full reads ----------------------------------------------------------------------------------
async def test_customers_come_from_column_0_and_names_from_account_details_cached_for_a_day(sandbox):
    """Names follow the complete-read cadence on the injected clock: an incremental read reads the list (and a
    new customer's details) only; the engine's complete read, or a day on, reads every name again."""
    world = sandbox.world
    clock = ManualClock(datetime(2026, 11, 16, 12, tzinfo=UTC))
    odin = connect(sandbox.config()["odin"]["url"], now=clock)
    since = clock() - timedelta(minutes=5)
    try:
        companies = await odin.list_companies()
        assert {(c.external_id, c.name) for c in companies} == {
            (str(c.account_id), c.name) for c in world.customers.values()}
        n = len(world.customers)
        assert odin.stats.by_operation == {"AccountGetMyCustomersList": 1, "AccountDetailsGet_API": n}
        # the next cycles read the list only, and the details of a new customer alone
        newcomer = replace(next(iter(world.customers.values())), account_id=max(world.customers) + 1,
                           name="Newcomer Ltd")
        world.customers[newcomer.account_id] = newcomer
        renamed = world.customers[min(world.customers)]
        renamed.name = "Renamed Inc"
        odin.stats.reset()
        clock.advance(NAMES_REFRESH - timedelta(seconds=1))
        names = {c.external_id: c.name for c in await odin.list_companies(modified_since=since)}
        assert odin.stats.by_operation == {"AccountGetMyCustomersList": 1, "AccountDetailsGet_API": 1}
        assert names[str(newcomer.account_id)] == "Newcomer Ltd" and names[str(renamed.account_id)] != "Renamed Inc"
        # a day on (the complete-read cadence), every name is read again
        odin.stats.reset()
        clock.advance(timedelta(seconds=1))
        names = {c.external_id: c.name for c in await odin.list_companies(modified_since=since)}
        assert odin.stats.by_operation == {"AccountGetMyCustomersList": 1, "AccountDetailsGet_API": n + 1}
        assert names[str(renamed.account_id)] == "Renamed Inc"
        # and so does the engine's complete read, whatever the clock says
        odin.stats.reset()
        await odin.list_companies()
        assert odin.stats.by_operation == {"AccountGetMyCustomersList": 1, "AccountDetailsGet_API": n + 1}
    finally:
        await odin.aclose()


async def test_a_cycle_reads_the_customer_list_once(sandbox):
    """Subscriptions then companies, as the engine asks: one AccountGetMyCustomersList, each name once."""
    odin = connect(sandbox.config()["odin"]["url"])
    try:
        await odin.list_subscriptions()
        await odin.list_companies()
        n = len(sandbox.world.customers)
        assert odin.stats.by_operation["AccountGetMyCustomersList"] == 1
        assert odin.stats.by_operation["AccountDetailsGet_API"] == n
        odin.stats.reset()
        await odin.list_subscriptions()  # the next cycle reads the list again
        assert odin.stats.by_operation["AccountGetMyCustomersList"] == 1
    finally:
        await odin.aclose()


async def test_full_read_minutes_is_a_complete_read_cadence_of_its_own(sandbox):
    """With `full_read_minutes`, an incremental read between two reads makes no call; the cadence follows the
    injected clock, and the engine's complete read (no `modified_since`) always reads."""
    clock = ManualClock(datetime(2026, 11, 16, 12, tzinfo=UTC))
    odin = connect(sandbox.config()["odin"]["url"], options={"full_read_minutes": "30"}, now=clock)
    since = clock() - timedelta(minutes=5)
    try:
        assert await odin.list_subscriptions(modified_since=since)  # nothing read yet: reads
        assert await odin.list_companies(modified_since=since)  # and so do its companies
        odin.stats.reset()
        clock.advance(timedelta(minutes=29))
        assert await odin.list_subscriptions(modified_since=since) == []
        assert await odin.list_companies(modified_since=since) == []
        assert odin.stats.total == 0
        assert await odin.list_subscriptions()  # a complete read is never skipped
        odin.stats.reset()
        clock.advance(timedelta(minutes=30))
        assert await odin.list_subscriptions(modified_since=since)
        assert odin.stats.total > 0
    finally:
        await odin.aclose()


async def test_list_subscriptions_reads_every_subscription_and_resource(odin, sandbox):
    world = sandbox.world
    subscriptions = await odin.list_subscriptions()
    assert by_id(subscriptions) == by_id(expected_subscriptions(world))
    every_line = [line for sub in world.subscriptions.values() for line in sub.lines]
    assert sum(r.total for s in subscriptions for r in s.resources) == sum(ln.ordered for ln in every_line)
    assert {s.status for s in subscriptions} == set(SubscriptionStatus) - {SubscriptionStatus.pending}
    assert {s.term for s in subscriptions} == {Term.monthly, Term.annual}
    # one customer list, one subscription list per customer, one resource list per subscription
    assert odin.stats.by_operation == {"AccountGetMyCustomersList": 1, "AccountDetailsGet_API": len(world.customers),
                                       "GetCustomerSubscriptionList_API": len(world.customers),
                                       "SubscriptionResourcesListGet_API": len(world.subscriptions)}
    assert odin.stats.retries == 0


async def test_modified_since_cannot_filter_so_the_read_is_complete(odin, sandbox):
    subscriptions = await odin.list_subscriptions(modified_since=datetime(2099, 1, 1, tzinfo=UTC))
    assert len(subscriptions) == len(sandbox.world.subscriptions)
    assert all(s.modified_at is None for s in subscriptions)


async def test_get_subscription_reads_details_and_resources(odin, sandbox):
    listed = by_id(await odin.list_subscriptions())
    odin.stats.reset()
    some = sorted(listed)[::17]
    for external_id in some:
        assert await odin.get_subscription(external_id) == listed[external_id]
    assert odin.stats.by_operation == {"SubscriptionDetailsGetEx_API": len(some),
                                       "SubscriptionResourcesListGet_API": len(some)}


async def test_a_change_in_the_world_is_read_at_once(odin, sandbox):
    sub = next(iter(sandbox.world.subscriptions.values()))
    sub.lines[0].additional += 7
    sub.status = "suspended"
    read = await odin.get_subscription(str(sub.subscription_id))
    assert read.status is SubscriptionStatus.suspended
    assert read.resources[[r.external_id for r in read.resources].index(str(sub.lines[0].resource_id))].total \
        == sub.lines[0].ordered


async def test_an_unknown_subscription_is_not_found_with_bas_decoded_message(odin):
    with pytest.raises(NotFoundError) as caught:
        await odin.get_subscription("4242")
    assert "Subscription #4242 does not exist." in str(caught.value)
    with pytest.raises(NotFoundError, match="not a BA subscription id"):
        await odin.get_subscription("SUB-1")


async def test_bad_calls_are_rejected_with_bas_message(odin):
    with pytest.raises(RejectedError, match="Method 'NoSuchMethod_API' is not found in container 'BM'"):
        await odin.rpc.execute("NoSuchMethod_API")
    with pytest.raises(RejectedError, match=r"Parameter #1 \(SubscriptionID\).*must be int, got str"):
        await odin.rpc.execute("SubscriptionDetailsGetEx_API", "1001880")
    with pytest.raises(RejectedError, match="expects 2 parameter"):
        await odin.rpc.execute("SubscriptionResourcesListGet_API", 1001880)


async def test_plain_text_faults_of_older_versions_are_read_as_they_come(aiohttp_server):
    from bot.sandbox.generator import generate_world

    world = generate_world(seed=1, scale="small", today=TODAY)
    server = await aiohttp_server(create_odin_app(world, encode_faults=False))
    client = connect(str(server.make_url("/RPC2")))
    try:
        with pytest.raises(NotFoundError, match="Subscription #7 does not exist"):
            await client.get_subscription("7")
    finally:
        await client.aclose()


# --- reseller scope --------------------------------------------------------------------------------
async def test_reseller_account_scopes_the_customers(sandbox):
    url = sandbox.config()["odin"]["url"]
    mine = connect(url, options={"reseller_account_id": str(reseller_account_id(sandbox.world))})
    other = connect(url, options={"reseller_account_id": 1})
    try:
        assert len(await mine.list_companies()) == len(sandbox.world.customers)
        assert (await mine.test_connection()).ok
        assert await other.list_companies() == []
        check = await other.test_connection()
        assert not check.ok
        assert "none of its 50 customer accounts belongs to reseller account 1" in check.detail
        assert check.facts["resellers"] == str(reseller_account_id(sandbox.world))  # from AccountDetailsGet_API
    finally:
        await mine.aclose()
        await other.aclose()


# --- connection test ---------------------------------------------------------------------------------
async def test_connection_ok_reports_what_it_read(odin, sandbox):
    check = await odin.test_connection()
    assert check.ok, check.detail
    assert check.system == "odin"
    assert check.facts["customers"] == str(len(sandbox.world.customers))
    # each method a read uses was tried once
    assert set(odin.stats.by_operation) == {"AccountGetMyCustomersList", "AccountDetailsGet_API",
                                            "GetCustomerSubscriptionList_API", "SubscriptionResourcesListGet_API",
                                            "SubscriptionDetailsGetEx_API"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_to_nothing_says_where_it_looked():
    client = connect(f"http://127.0.0.1:{free_port()}/RPC2", retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    try:
        check = await client.test_connection()
        assert not check.ok
        assert check.detail.startswith("Cannot reach BA at http://127.0.0.1:")
        assert "5224" in check.detail and "IP address" in check.detail
        with pytest.raises(UnreachableError):
            await client.list_companies()
    finally:
        await client.aclose()


async def test_connection_to_a_wrong_path_says_the_url_is_wrong(sandbox):
    client = connect(sandbox.base_url + "/odin/XMLRPC")
    try:
        check = await client.test_connection()
        assert not check.ok
        assert "no BA XML-RPC endpoint at" in check.detail and "/RPC2" in check.detail
        with pytest.raises(RejectedError) as caught:
            await client.list_companies()
        assert caught.value.status == 404
    finally:
        await client.aclose()


# --- the envelope, and the limiter ------------------------------------------------------------------
def fronted_odin(world: SandboxWorld, *middlewares) -> web.Application:
    app = web.Application(middlewares=list(middlewares))
    app.add_subapp("/odin", create_odin_app(world))
    return app

async def test_the_envelope_is_execute_with_positional_params_and_at_most_8_in_flight(aiohttp_server, sandbox):
    seen: list[tuple] = []
    in_flight = peak = 0

    @web.middleware
    async def probe(request, handler):
        nonlocal in_flight, peak
        params, method = xmlrpc.client.loads(await request.read())
        seen.append((method, params))
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            return await handler(request)
        finally:
            in_flight -= 1

    server = await aiohttp_server(fronted_odin(sandbox.world, probe))
    client = connect(str(server.make_url("/odin/RPC2")))
    try:
        await client.list_subscriptions()
    finally:
        await client.aclose()
    assert 4 <= peak <= 8  # concurrent, and never more than the limiter allows
    assert {method for method, _ in seen} == {"Execute"}
    envelopes = [params[0] for _, params in seen]
    assert all(set(e) == {"Server", "Method", "Params", "Username", "Password"} and e["Server"] == "BM"
               and (e["Username"], e["Password"]) == (CREDENTIALS.odin_username, CREDENTIALS.odin_password)
               for e in envelopes)
    resources = [e["Params"] for e in envelopes if e["Method"] == "SubscriptionResourcesListGet_API"]
    assert all(len(p) == 2 and all(type(v) is int for v in p) for p in resources)


async def test_a_subscription_removed_while_the_read_runs_is_left_out(aiohttp_server, sandbox):
    world = sandbox.world
    doomed = max(world.subscriptions)
    owner = world.subscriptions[doomed].account_id

    @web.middleware
    async def remove_after_listing(request, handler):
        response = await handler(request)
        (envelope,), _ = xmlrpc.client.loads(await request.read())
        if envelope["Method"] == "GetCustomerSubscriptionList_API" and envelope["Params"][0] == owner:
            world.subscriptions.pop(doomed)  # gone between the list and its resources
        return response

    server = await aiohttp_server(fronted_odin(world, remove_after_listing))
    client = connect(str(server.make_url("/odin/RPC2")))
    try:
        subscriptions = await client.list_subscriptions()
    finally:
        await client.aclose()
    assert doomed not in world.subscriptions
    assert str(doomed) not in by_id(subscriptions)
    assert len(subscriptions) == len(world.subscriptions)
