"""Every connector built by the factory runs its calls on the vendor loop (bot.connectors.vendor_loop), off the loop
that serves Slack: a connector's CPU-bound work no longer holds that loop; a typed error crosses back as itself;
cancellation crosses both ways; what a connector reaches back for (the shared budget) is taken on the caller's loop.

Real HTTP: the fake vendor's API is an aiohttp server on the test's loop, called by a `VendorHttp` client on the
vendor loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.connectors.connection import Connection
from bot.connectors.errors import AuthenticationError
from bot.connectors.factory import build_marketplace
from bot.connectors.fields import ConnectionFields
from bot.connectors.http import (
    CallStats,
    RequestLimiter,
    VendorHttp,
    current_read_deadline,
    read_deadline,
    vendor_client,
)
from bot.connectors.registry import VENDORS
from bot.connectors.shared_budget import SHARED_BUDGET
from bot.connectors.vendor import Vendor
from bot.connectors.vendor_loop import VendorLoop

SYSTEM = "busy"
TICKS_WANTED = 5
STARVED_AFTER_S = 5.0  # a bound on a failing run only: a passing run ends as soon as the ticker has ticked


class BusyApi:
    """The fake vendor: pages of subscriptions, companies it refuses (401), and a subscription that answers only
    when released."""

    def __init__(self) -> None:
        self.hanging = asyncio.Event()
        self.release = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/subscriptions", self.subscriptions)
        app.router.add_get("/companies", self.companies)
        app.router.add_get("/subscriptions/{id}", self.subscription)
        return app

    async def subscriptions(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": str(i)} for i in range(3)])

    async def companies(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "token expired"}, status=401)

    async def subscription(self, request: web.Request) -> web.Response:
        self.hanging.set()
        await self.release.wait()
        return web.json_response({"id": request.match_info["id"]})


class BusyMarketplace:
    """A connector whose reply parsing burns CPU until `ticked` is set (or a bound passes), as a large XML-RPC reply
    does; it notes where each call ran."""

    def __init__(self, base_url: str, ticked: threading.Event) -> None:
        self.system = SYSTEM
        self.stats = CallStats()
        self.ticked = ticked
        self.seen: list[tuple[str, Any]] = []
        self.http = VendorHttp(system=SYSTEM, client=vendor_client(base_url=base_url),
                               error_message=lambda response: response.json()["message"],
                               limiter=RequestLimiter(max_concurrent=2, per_window=100, window_s=60.0),
                               stats=self.stats)

    async def list_subscriptions(self, *, modified_since=None) -> list[dict]:
        self.seen.append(("thread", threading.current_thread().name))
        self.seen.append(("read deadline", current_read_deadline()))
        response = await self.http.request("GET", "/subscriptions", operation="list", idempotent=True)
        return self._parse(response.json())

    async def list_companies(self, *, modified_since=None) -> list[dict]:
        await self.http.request("GET", "/companies", operation="companies", idempotent=True)
        return []

    async def get_subscription(self, external_id: str) -> dict:
        try:
            response = await self.http.request("GET", f"/subscriptions/{external_id}", operation="get",
                                               idempotent=True)
            return response.json()
        except asyncio.CancelledError:
            self.seen.append(("cancelled on", threading.current_thread().name))
            raise

    async def aclose(self) -> None:
        await self.http.client.aclose()

    def _parse(self, rows: list[dict]) -> list[dict]:
        give_up = time.monotonic() + STARVED_AFTER_S
        while not self.ticked.is_set() and time.monotonic() < give_up:
            sum(i * i for i in range(2_000))  # parsing, without a single await
        self.seen.append(("the caller's loop ticked meanwhile", self.ticked.is_set()))
        return rows


@pytest.fixture
async def api() -> AsyncIterator[tuple[BusyApi, str]]:
    busy = BusyApi()
    runner = web.AppRunner(busy.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield busy, f"http://127.0.0.1:{port}"
    busy.release.set()
    await runner.cleanup()


@pytest.fixture
async def connector(api) -> AsyncIterator[tuple[Any, BusyMarketplace, threading.Event]]:
    """The fake marketplace as the factory hands it out, and the client behind it."""
    _, base_url = api
    ticked = threading.Event()
    built: list[BusyMarketplace] = []

    def build(connection: Connection, **options: Any) -> BusyMarketplace:
        built.append(BusyMarketplace(connection.base_url, ticked))
        return built[0]

    vendor = Vendor(key=SYSTEM, kind="marketplace", label="Busy", connection=ConnectionFields("URL", "", ()),
                    build=build)
    with VENDORS.registered(vendor):
        client = build_marketplace(Connection(system=SYSTEM, base_url=base_url))
        yield client, built[0], ticked
        await client.aclose()


async def test_a_connectors_cpu_bound_parsing_does_not_hold_the_callers_loop(connector):
    client, inner, ticked = connector
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks >= TICKS_WANTED:
                ticked.set()
            await asyncio.sleep(0.001)

    ticking = asyncio.create_task(ticker())
    try:
        with read_deadline(600) as deadline:
            rows = await client.list_subscriptions()
    finally:
        ticking.cancel()
    assert rows == [{"id": "0"}, {"id": "1"}, {"id": "2"}]
    assert ("the caller's loop ticked meanwhile", True) in inner.seen
    assert ("thread", "seatsync-vendors") in inner.seen
    assert ("read deadline", deadline) in inner.seen  # the caller's context travels with the call
    assert client.stats.by_operation == {"list": 1}  # the connector's own counters, read through


async def test_a_typed_connector_error_crosses_back_as_itself(connector):
    client, _, _ = connector
    with pytest.raises(AuthenticationError) as raised:
        await client.list_companies()
    assert raised.value.system == SYSTEM and raised.value.status == 401
    assert "token expired" in raised.value.vendor_message


async def test_cancelling_the_caller_cancels_the_vendor_call_and_waits_for_its_end(api, connector):
    busy, _ = api
    client, inner, _ = connector
    call = asyncio.create_task(client.get_subscription("7"))
    await busy.hanging.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert ("cancelled on", "seatsync-vendors") in inner.seen  # ended before the caller went on


async def test_a_call_cancelled_on_the_vendor_loop_cancels_its_caller():
    vendor_loop = VendorLoop(name="seatsync-vendors-test")
    started, ended = asyncio.Event(), []
    caller_loop = asyncio.get_running_loop()

    async def forever() -> None:
        caller_loop.call_soon_threadsafe(started.set)
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(threading.current_thread().name)

    call = asyncio.create_task(vendor_loop.run(forever))
    await started.wait()
    await vendor_loop.stop()  # the server's shutdown: what still runs there is cancelled
    with pytest.raises(asyncio.CancelledError):
        await call
    assert ended == ["seatsync-vendors-test"]
    assert await vendor_loop.run(asyncio.sleep, 0, "a new thread") == "a new thread"  # started again on demand
    await vendor_loop.stop()


class RecordingBudget:
    def __init__(self) -> None:
        self.takes: list[tuple[str, str, bool]] = []

    async def take(self, *, system: str, per_window: int, window_s: float) -> None:
        on_callers_loop = asyncio.get_running_loop() is self.loop
        self.takes.append((system, threading.current_thread().name, on_callers_loop))


async def test_the_shared_budget_is_taken_on_the_callers_loop(connector):
    client, _, ticked = connector
    ticked.set()  # no need to wait for a ticker here
    budget = RecordingBudget()
    budget.loop = asyncio.get_running_loop()
    token = SHARED_BUDGET.set(budget)
    try:
        await client.list_subscriptions()
    finally:
        SHARED_BUDGET.reset(token)
    assert budget.takes == [(SYSTEM, threading.current_thread().name, True)]
