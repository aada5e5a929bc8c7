"""AutotaskClient reads over real HTTP against the sandbox: records, paging, batching, zones, connection checks.

The builders here (start_sandbox, client_for, RecordingTransport) are shared by the other
test_autotask_* modules.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from bot.connectors.connection import Connection
from bot.connectors.errors import AuthenticationError
from bot.connectors.http import RetryPolicy
from bot.connectors.interfaces import Psa
from bot.connectors.psa.autotask.client import AutotaskClient
from bot.domain.enums import ContractStatus
from bot.sandbox.app import Sandbox
from bot.sandbox.autotask import move_zone
from bot.sandbox.invoice_plants import second_service

SANDBOX_TODAY = date(2026, 11, 16)
FAST_RETRY = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, max_total_s=5.0)

Forward = Callable[[httpx.Request], Awaitable[httpx.Response]]
Intercept = Callable[[httpx.Request, Forward], Awaitable[httpx.Response]]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Records every request; `intercept(request, forward)` may answer instead of the sandbox."""

    def __init__(self, intercept: Intercept | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []
        self.intercept = intercept

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.intercept is not None:
            return await self.intercept(request, self.inner.handle_async_request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def bodies(self, fragment: str) -> list[dict]:
        return [json.loads(r.content) for r in self.requests if fragment in r.url.path and r.content]


async def start_sandbox(seed: int = 1) -> Sandbox:
    return await Sandbox.generate(seed=seed, scale="small", today=SANDBOX_TODAY).start()


def connection_for(sandbox: Sandbox, **changes: str) -> Connection:
    cfg = sandbox.config()["autotask"]
    values = {"url": cfg["url"], "username": cfg["username"], "integration_code": cfg["integration_code"],
              "secret": cfg["secret"], **changes}
    return Connection("autotask", values["url"], {"username": values["username"]},
                      {"integration_code": values["integration_code"], "secret": values["secret"]})


def client_for(sandbox: Sandbox, *, transport: httpx.AsyncBaseTransport | None = None,
               timeout: httpx.Timeout | float = 5.0, retry: RetryPolicy = FAST_RETRY,
               connection: Connection | None = None, **sizes: int) -> AutotaskClient:
    return AutotaskClient.from_connection(connection or connection_for(sandbox), timeout=timeout, retry=retry,
                                          today=lambda: sandbox.world.today, transport=transport, **sizes)


@pytest.fixture
async def sandbox():
    started = await start_sandbox()
    yield started
    await started.stop()


@pytest.fixture
async def client(sandbox):
    connector = client_for(sandbox)
    yield connector
    await connector.aclose()


def recurring_contracts(world) -> dict[int, object]:
    return {c.id: c for c in world.autotask_contracts.values() if c.contract_type == 7}


# --- reads ---------------------------------------------------------------------------------------
async def test_it_is_a_psa(client):
    assert isinstance(client, Psa)
    assert (client.system, client.supports_future_dates) == ("autotask", True)


async def test_companies_and_contracts_match_the_world(client, sandbox):
    world = sandbox.world
    companies = await client.list_companies()
    assert {c.external_id: (c.name, c.is_active) for c in companies} == {
        str(c.id): (c.name, c.is_active) for c in world.autotask_companies.values()}
    contracts = await client.list_contracts()
    wanted = recurring_contracts(world)
    assert {c.external_id for c in contracts} == {str(i) for i in wanted}
    assert len(wanted) < len(world.autotask_contracts)  # other contract types are left out
    for record in contracts:
        source = wanted[int(record.external_id)]
        assert (record.company_external_id, record.name) == (str(source.company_id), source.name)
        assert (record.start_date, record.end_date) == (source.start_date, source.end_date)
        expected = (ContractStatus.expired if source.end_date < world.today
                    else ContractStatus.inactive if source.status == 0 else ContractStatus.active)
        assert record.status is expected
    assert {c.status for c in contracts} >= {ContractStatus.active, ContractStatus.expired}


async def test_services_carry_todays_units_names_and_prices(client, sandbox):
    """Contract services and the generated world's service bundles ("bundle-<id>") alike."""
    world = sandbox.world
    services = await client.list_services()
    bundles = [r for r in services if r.external_id.startswith("bundle-")]
    assert len(services) == len(world.autotask_contract_services) + len(world.autotask_contract_service_bundles)
    assert len(bundles) == len(world.autotask_contract_service_bundles) > 0
    for record in services:
        if record in bundles:
            source = world.autotask_contract_service_bundles[int(record.external_id.removeprefix("bundle-"))]
            catalogue, prefix, suffix = world.autotask_service_bundles, "bundle-", " (service bundle)"
        else:
            source = world.autotask_contract_services[int(record.external_id)]
            catalogue, prefix, suffix = world.autotask_services, "", ""
        contract = world.autotask_contracts[source.contract_id]
        running = contract.start_date <= world.today <= contract.end_date
        assert record.units == (source.units if running else 0), record
        assert record.contract_external_id == str(source.contract_id)
        assert record.catalog_id == f"{prefix}{source.service_id}"
        assert record.name == catalogue[source.service_id].name + suffix
        if running:
            assert record.unit_price == source.unit_price
    assert sum(r.units for r in services) > 0 and sum(r.units for r in bundles) > 0


async def test_reads_ask_only_for_needed_fields_in_pages_of_500(sandbox):
    transport = RecordingTransport()
    async with client_for(sandbox, transport=transport) as connector:
        await connector.list_companies()
        await connector.list_contracts()
        await connector.list_services()
    for entity, fields in (("Companies", {"id", "companyName", "isActive"}),
                           ("ContractServiceUnits", {"id", "contractServiceID", "units", "startDate", "endDate"})):
        (body,) = transport.bodies(f"/{entity}/query")
        assert body["MaxRecords"] == 500
        assert {"id"} <= set(body["IncludeFields"]) and fields <= set(body["IncludeFields"])
        assert len(body["IncludeFields"]) <= 7
    (contracts,) = transport.bodies("/Contracts/query")
    assert {"op": "eq", "field": "contractType", "value": 7} in contracts["filter"][0]["items"]


@pytest.mark.parametrize("page_size", [1, 17, 51, 52, 500])
async def test_paging_reads_everything_once(sandbox, page_size):
    """51 companies: one per page, an uneven split, an exact fit, one short of a second page, one page."""
    total = len(sandbox.world.autotask_companies)
    assert total == 51
    async with client_for(sandbox, page_size=page_size) as connector:
        companies = await connector.list_companies()
        assert sorted(c.external_id for c in companies) == sorted(str(i) for i in sandbox.world.autotask_companies)
        assert connector.stats.by_operation["Companies.query"] == math.ceil(total / page_size)


async def test_unit_look_ups_are_batched_by_contract_service(sandbox):
    transport = RecordingTransport()
    async with client_for(sandbox, transport=transport, batch_size=100, page_size=60) as connector:
        services = await connector.list_services()
        scan = transport.bodies("/ContractServiceUnits/query")
        units = await connector.read_units([s.external_id for s in services])
    assert units == {s.external_id: s.units for s in services}
    # reading every service: one date-filtered scan of the unit rows, its pages sent with the same body
    assert len(scan) > 1 and all(body == scan[0] for body in scan)
    assert [i["op"] for i in scan[0]["filter"][0]["items"]] == ["lte", "gte"]
    look_ups = transport.bodies("/ContractServiceUnits/query")[len(scan):]
    batches = {tuple(next(i for i in b["filter"][0]["items"] if i["op"] == "in")["value"]) for b in look_ups}
    plain = [s for s in services if not s.external_id.startswith("bundle-")]  # bundles have their own unit rows
    assert sorted(len(batch) for batch in batches) == [len(plain) - 200, 100, 100]  # pages repeat a body


async def test_read_units_leaves_out_unknown_services(client, sandbox):
    world = sandbox.world
    known = sorted(world.autotask_contract_services)[:3]
    ended = next(s.id for s in world.autotask_contract_services.values()
                 if world.autotask_contracts[s.contract_id].end_date < world.today)
    units = await client.read_units([str(i) for i in known] + [str(ended), "999999999", "not-a-number"])
    assert units == {**{str(i): world.autotask_contract_services[i].units for i in known}, str(ended): 0}
    assert await client.read_units([]) == {}


async def test_modified_since_reads_only_changed_companies(sandbox):
    world = sandbox.world
    since = datetime(2026, 11, 1, tzinfo=UTC)
    for company in world.autotask_companies.values():
        company.create_date = company.last_modified = since - timedelta(days=30)
    changed = sorted(world.autotask_companies)[:4]
    for number in changed:
        world.autotask_companies[number].last_modified = since + timedelta(hours=number % 5)
    transport = RecordingTransport()
    async with client_for(sandbox, transport=transport) as connector:
        recent = await connector.list_companies(modified_since=since)
        contracts = await connector.list_contracts(modified_since=since)  # no such date: all of them
        services = await connector.list_services(modified_since=since)
    assert sorted(c.external_id for c in recent) == [str(i) for i in changed]
    (body,) = transport.bodies("/Companies/query")
    (group,) = body["filter"][0]["items"]
    assert group["op"] == "or"
    assert {i["field"] for i in group["items"]} >= {"lastTrackedModifiedDateTime", "lastActivityDate"}
    assert len(contracts) == len(recurring_contracts(world))
    assert len(services) == len(world.autotask_contract_services) + len(world.autotask_contract_service_bundles)


async def test_an_incremental_read_probes_for_new_records_and_reads_only_the_units(sandbox):
    """After a complete read, an incremental one asks Contracts, ContractServices and bundles only for ids above the
    greatest it holds (one call each), the unit rows covering today in full (a hand adjustment is seen), and the
    catalogue only for a service it has not seen."""
    world = sandbox.world
    since = datetime(2026, 11, 1, tzinfo=UTC)
    async with client_for(sandbox) as connector:
        await connector.list_contracts()
        before = await connector.list_services()
        edited = sorted(world.autotask_contract_services)[0]
        world.autotask_contract_services[edited].units += 4  # a hand edit
        new_id = second_service(world, "autotask", sorted(world.autotask_contract_services)[1], units=3)
        connector.stats.reset()
        contracts = await connector.list_contracts(modified_since=since)
        services = {s.external_id: s for s in await connector.list_services(modified_since=since)}
        assert connector.stats.by_operation == {
            "Contracts.query": 1, "ContractServices.query": 1, "ContractServiceUnits.query": 1,
            "ContractServiceBundles.query": 1, "ContractServiceBundleUnits.query": 1}
        assert len(contracts) == len(recurring_contracts(world))
        assert len(services) == len(before) + 1
        assert services[str(edited)].units == world.autotask_contract_services[edited].units
        assert services[str(new_id)].units == 3
        # nothing new: the same five calls, nothing else
        connector.stats.reset()
        await connector.list_contracts(modified_since=since)
        await connector.list_services(modified_since=since)
        assert connector.stats.total == 5


# --- zones ---------------------------------------------------------------------------------------
async def test_zone_is_discovered_once_and_followed_when_it_moves(client, sandbox):
    first = await client.list_companies()
    assert client.stats.by_operation["zoneInformation"] == 1
    move_zone(sandbox.world, "webservices5")
    assert await client.list_companies() == first
    assert client.stats.by_operation["zoneInformation"] == 2
    assert (await client.session.zone()).url.endswith("/autotask/webservices5/ATServicesRest")
    await client.list_contracts()
    assert client.stats.by_operation["zoneInformation"] == 2


async def test_a_zone_move_between_pages_restarts_the_query_at_the_new_zone(sandbox):
    pages = 0

    async def move_after_first_page(request: httpx.Request, forward: Forward) -> httpx.Response:
        nonlocal pages
        response = await forward(request)
        if "/Companies/query" in request.url.path:
            pages += 1
            if pages == 1:
                move_zone(sandbox.world, "webservices2")
        return response

    async with client_for(sandbox, transport=RecordingTransport(move_after_first_page), page_size=20) as connector:
        companies = await connector.list_companies()
        assert len(companies) == len({c.external_id for c in companies}) == 51
        assert connector.stats.by_operation["zoneInformation"] == 2


async def test_wrong_secret_is_an_authentication_error_after_one_rediscovery(sandbox):
    async with client_for(sandbox, connection=connection_for(sandbox, secret="wrong-secret-value")) as connector:
        with pytest.raises(AuthenticationError) as caught:
            await connector.list_companies()
        assert "secret" in caught.value.vendor_message
        assert "wrong-secret-value" not in str(caught.value)
        assert connector.stats.by_operation["zoneInformation"] == 2
        assert connector.stats.by_operation["Companies.query"] == 1
