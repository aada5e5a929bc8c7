"""AutotaskClient under the sandbox's fault knobs, its own limits, wrong credentials and garbage replies."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

import httpx
import pytest
from aiohttp import web

from bot.connectors.errors import (
    AuthenticationError,
    MalformedReplyError,
    ServerError,
    UnreachableError,
)
from bot.connectors.http import RetryPolicy
from bot.connectors.psa.autotask.client import AutotaskClient
from bot.connectors.psa.autotask.session import UnknownApiUser
from bot.domain.records import AdjustmentRequest
from tests.connectors.psa.autotask.test_autotask import (
    SANDBOX_TODAY,
    Forward,
    RecordingTransport,
    client_for,
    connection_for,
    start_sandbox,
)


@pytest.fixture
async def sandbox():
    started = await start_sandbox()
    yield started
    await started.stop()


async def read_everything(connector: AutotaskClient) -> tuple[int, int, dict[str, int]]:
    companies = await connector.list_companies()
    contracts = await connector.list_contracts()
    services = await connector.list_services()
    return len(companies), len(contracts), {s.external_id: s.units for s in services}


async def clean_read(sandbox) -> tuple[int, int, dict[str, int]]:
    async with client_for(sandbox) as connector:
        return await read_everything(connector)


# --- sandbox fault knobs -------------------------------------------------------------------------
@pytest.mark.parametrize("knobs", [
    {"latency_ms": 5, "latency_jitter_ms": 5},
    {"error_rates": {500: 0.25, 503: 0.1}},
    {"burst_429": 3, "retry_after_s": 0.01},
    {"rate_429": 0.25, "retry_after_s": 0.01},
], ids=["latency", "5xx", "burst-429", "rate-429"])
async def test_reads_come_through_faults_complete(sandbox, knobs):
    expected = await clean_read(sandbox)
    sandbox.faults["autotask"].update(knobs)
    retry = RetryPolicy(max_attempts=8, base_delay_s=0.005, max_delay_s=0.02, max_total_s=10.0)
    async with client_for(sandbox, retry=retry, page_size=40) as connector:
        assert await read_everything(connector) == expected
        if "latency_ms" not in knobs:
            assert connector.stats.retries > 0


async def test_read_timeouts_are_retried(sandbox):
    expected = await clean_read(sandbox)
    sandbox.faults["autotask"].update({"timeout_rate": 0.2, "timeout_s": 0.4})
    retry = RetryPolicy(max_attempts=8, base_delay_s=0.005, max_delay_s=0.02, max_total_s=10.0)
    async with client_for(sandbox, retry=retry, timeout=httpx.Timeout(0.1, connect=1.0)) as connector:
        assert await read_everything(connector) == expected
        assert connector.stats.by_status["no-reply"] > 0


async def test_exhausted_retries_raise_a_typed_error(sandbox):
    sandbox.faults["autotask"].update({"error_rates": {500: 1.0}})
    async with client_for(sandbox, retry=RetryPolicy(max_attempts=3, base_delay_s=0.001, max_total_s=2)) as connector:
        with pytest.raises(ServerError) as caught:
            await connector.list_companies()
    assert caught.value.retryable and not caught.value.outcome_unknown


# --- the client's own limits ---------------------------------------------------------------------
async def test_no_more_than_three_requests_in_flight_per_endpoint(sandbox):
    in_flight: Counter[str] = Counter()
    highest: Counter[str] = Counter()

    async def slow(request: httpx.Request, forward: Forward) -> httpx.Response:
        entity = request.url.path.split("/V1.0/")[-1].split("/")[0]
        in_flight[entity] += 1
        highest[entity] = max(highest[entity], in_flight[entity])
        try:
            await asyncio.sleep(0.01)
            return await forward(request)
        finally:
            in_flight[entity] -= 1

    async with client_for(sandbox, transport=RecordingTransport(slow), batch_size=20) as connector:
        ids = [str(i) for i in sandbox.world.autotask_contract_services]
        await asyncio.gather(*(connector.read_units(ids) for _ in range(4)), connector.list_companies(),
                             connector.list_companies())
        assert "429" not in connector.stats.by_status
    assert highest["ContractServiceUnits"] == 3
    assert highest["Companies"] == 2


@pytest.mark.parametrize("status", [429, 500, 403])
@pytest.mark.parametrize("message", [
    "Itgenatr005: The Autotask API thread threshold of 3 threads has been exceeded.",
    "The API request threshold of 10000 requests per 60 minutes has been exceeded for this database.",
])
async def test_throttling_refusals_are_retried_by_their_text(sandbox, status, message):
    refused = 0

    async def refuse_twice(request: httpx.Request, forward: Forward) -> httpx.Response:
        nonlocal refused
        if "/Companies/query" in request.url.path and refused < 2:
            refused += 1
            return httpx.Response(status, json={"errors": [message]})
        return await forward(request)

    async with client_for(sandbox, transport=RecordingTransport(refuse_twice)) as connector:
        assert len(await connector.list_companies()) == 51
        assert connector.stats.retries == 2


# --- credentials and reachability ----------------------------------------------------------------
async def test_an_unknown_user_fails_at_zone_discovery(sandbox):
    async with client_for(sandbox, connection=connection_for(sandbox, username="nobody@msp.example.com")) as c:
        with pytest.raises(UnknownApiUser, match="does not know the API user 'nobody@msp.example.com'"):
            await c.list_companies()
        assert set(c.stats.by_operation) == {"zoneInformation"}


async def test_a_wrong_integration_code_is_an_authentication_error(sandbox):
    async with client_for(sandbox, connection=connection_for(sandbox, integration_code="WRONGCODE")) as connector:
        with pytest.raises(AuthenticationError, match="integration code"):
            await connector.list_companies()
        assert connector.stats.retries == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_host_is_reported_as_such(sandbox):
    url = f"http://127.0.0.1:{closed_port()}/ATServicesRest"
    retry = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_total_s=1)
    async with client_for(sandbox, connection=connection_for(sandbox, url=url), retry=retry) as connector:
        with pytest.raises(UnreachableError, match="cannot connect"):
            await connector.list_companies()


# --- garbage replies -----------------------------------------------------------------------------
GARBAGE = {
    "html": (200, "text/html", "<html><body>Maintenance</body></html>"),
    "truncated": (200, "application/json", '{"items": [{"id": 1, "companyNa'),
    "no-items": (200, "application/json", '{"pageDetails": {"count": 0}}'),
    "bad-record": (200, "application/json", '{"items": [{"id": "one", "companyName": "A"}], "pageDetails": {}}'),
    "html-500": (500, "text/html", "<html><body>Server Error</body></html>"),
}


@pytest.fixture
async def garbage_server(aiohttp_server):
    async def zone(request: web.Request) -> web.Response:
        mode = request.match_info["mode"]
        if mode == "zone-html":
            return web.Response(text="<html>login</html>", content_type="text/html")
        return web.json_response({"zoneName": "Junk", "url": f"{request.url.origin()}/{mode}/ATServicesRest/"})

    async def anything(request: web.Request) -> web.Response:
        mode = request.match_info["mode"]
        if mode == "loop":
            return web.json_response({"items": [{"id": 1, "companyName": "A", "isActive": True}],
                                      "pageDetails": {"nextPageUrl": str(request.url.with_query(paging="same"))}})
        if mode == "foreign":
            return web.json_response({"items": [], "pageDetails": {"nextPageUrl": "https://elsewhere.example/x"}})
        status, content_type, text = GARBAGE[mode]
        return web.Response(status=status, text=text, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{mode}/ATServicesRest/v1.0/zoneInformation", zone)
    app.router.add_route("*", "/{mode}/ATServicesRest/V1.0/{tail:.*}", anything)
    return await aiohttp_server(app)


def junk_client(sandbox, server, mode: str, transport: httpx.AsyncBaseTransport | None = None) -> AutotaskClient:
    url = f"http://127.0.0.1:{server.port}/{mode}/ATServicesRest"
    retry = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_total_s=1)
    return client_for(sandbox, connection=connection_for(sandbox, url=url), retry=retry, transport=transport)


@pytest.mark.parametrize("mode, error", [
    ("html", MalformedReplyError), ("truncated", MalformedReplyError), ("no-items", MalformedReplyError),
    ("bad-record", MalformedReplyError), ("html-500", ServerError), ("zone-html", MalformedReplyError),
    ("loop", MalformedReplyError),
])
async def test_garbage_replies_are_typed_errors(sandbox, garbage_server, mode, error):
    async with junk_client(sandbox, garbage_server, mode) as connector:
        with pytest.raises(error) as caught:
            await connector.list_companies()
    assert "Traceback" not in str(caught.value)
    assert sandbox.config()["autotask"]["secret"] not in str(caught.value)


async def test_a_next_page_elsewhere_is_not_followed(sandbox, garbage_server):
    transport = RecordingTransport()
    async with junk_client(sandbox, garbage_server, "foreign", transport) as connector:
        with pytest.raises(MalformedReplyError, match="leaves the zone"):
            await connector.list_companies()
    assert all(r.url.host == "127.0.0.1" for r in transport.requests)


async def test_a_garbage_reply_to_a_write_is_an_unknown_outcome(sandbox, garbage_server):
    request = AdjustmentRequest(idempotency_key="ss-x", service_external_id="5", contract_external_id="7",
                                catalog_id="9", units_from=1, units_to=3, effective_date=SANDBOX_TODAY)
    async with junk_client(sandbox, garbage_server, "html") as connector:
        with pytest.raises(MalformedReplyError) as caught:
            await connector.post_adjustment(request)
        assert caught.value.outcome_unknown
        assert connector.stats.by_operation["ContractServiceAdjustments.create"] == 1
        assert "ContractNotes.create" not in connector.stats.by_operation
