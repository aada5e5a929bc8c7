"""ConnectWiseClient reads against the ConnectWise simulator over real HTTP: companies, agreements,
additions, units, changes since a time, paging to the end, and every conditions builder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest

from bot.connectors.connection import Connection
from bot.connectors.http import RetryPolicy
from bot.connectors.interfaces import Psa
from bot.connectors.psa.connectwise.api import ACCEPT
from bot.connectors.psa.connectwise.client import ConnectWiseClient
from bot.connectors.psa.connectwise.conditions import (
    all_of,
    changed_since,
    datetime_literal,
    id_batches,
    ids_in,
    one_of,
    quote,
)
from bot.domain.enums import ContractStatus
from bot.sandbox.app import Sandbox
from bot.sandbox.world import ConnectWiseCompany

TODAY = date(2026, 11, 16)
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=2.0, max_total_s=10.0)


def connection_for(sandbox: Sandbox, **overrides: str) -> Connection:
    cfg = sandbox.config()["connectwise"]
    options = {"company_id": cfg["company_id"], "public_key": cfg["public_key"], "client_id": cfg["client_id"]}
    secrets = {"private_key": cfg["private_key"]}
    for name, value in overrides.items():
        (secrets if name == "private_key" else options)[name] = value
    return Connection("connectwise", cfg["site_url"], options, secrets)


def client_for(sandbox: Sandbox, *, requests: list[httpx.Request] | None = None, **kwargs) -> ConnectWiseClient:
    """A client on the sandbox's ConnectWise, its clock on the world's today; `requests` collects
    every request it sends. Keyword arguments go to from_connection (overrides prefixed `option_`)."""
    overrides = {k.removeprefix("option_"): kwargs.pop(k) for k in list(kwargs) if k.startswith("option_")}

    async def capture(request: httpx.Request) -> None:
        if requests is not None:
            requests.append(request)

    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", httpx.Timeout(5.0, connect=2.0))
    return ConnectWiseClient.from_connection(connection_for(sandbox, **overrides), today=lambda: sandbox.world.today,
                                             event_hooks={"request": [capture]}, **kwargs)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    running = await Sandbox.generate(seed=1, scale="small", today=TODAY).start()
    yield running
    await running.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[ConnectWiseClient]:
    connector = client_for(sandbox)
    yield connector
    await connector.aclose()


# --- records ---------------------------------------------------------------------------------------
async def test_the_client_is_a_psa_that_cannot_post_ahead(client: ConnectWiseClient) -> None:
    assert isinstance(client, Psa)
    assert client.system == "connectwise" and client.supports_future_dates is False


async def test_companies_are_read_completely_with_their_state(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    inactive, deleted = list(world.connectwise_companies.values())[:2]
    inactive.status, deleted.deleted = "Inactive", True
    companies = {c.external_id: c for c in await client.list_companies()}
    assert set(companies) == {str(i) for i in world.connectwise_companies}
    assert companies[str(inactive.id)].is_active is False
    assert companies[str(deleted.id)].is_active is False
    assert sum(c.is_active for c in companies.values()) == len(companies) - 2
    some = next(iter(world.connectwise_companies.values()))
    assert companies[str(some.id)].name == some.name
    assert client.stats.by_operation["companies.list"] == 1


async def test_agreements_map_status_dates_and_proration(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    lapsed = next(a for a in world.connectwise_agreements.values() if a.status == "Active")
    lapsed.end_date = TODAY - timedelta(days=1)  # ConnectWise has not flipped it to Expired yet
    contracts = {c.external_id: c for c in await client.list_contracts()}
    assert set(contracts) == {str(i) for i in world.connectwise_agreements}
    for agreement in world.connectwise_agreements.values():
        record = contracts[str(agreement.id)]
        expected = {"Active": ContractStatus.active, "Cancelled": ContractStatus.cancelled,
                    "Expired": ContractStatus.expired}[agreement.status]
        if agreement is lapsed:
            expected = ContractStatus.expired
        assert record.status is expected
        assert record.company_external_id == str(agreement.company_id)
        assert record.prorates is agreement.prorate
        assert (record.start_date, record.end_date) == (agreement.start_date, agreement.end_date)
    assert {c.status for c in contracts.values()} >= {ContractStatus.cancelled, ContractStatus.expired}


async def test_services_carry_units_names_prices_and_cancellation(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    additions = list(world.connectwise_additions.values())
    later = additions[0]
    later.cancelled_date = TODAY + timedelta(days=10)  # still bills until then
    services = {s.external_id: s for s in await client.list_services()}
    assert set(services) == {str(i) for i in world.connectwise_additions}
    for addition in additions:
        service = services[str(addition.id)]
        product = world.connectwise_products[addition.product_id]
        cancelled = addition.cancelled_date is not None and addition.cancelled_date <= TODAY
        assert service.contract_external_id == str(addition.agreement_id)
        assert service.name == product.description
        assert service.catalog_id == str(product.id)
        assert service.units == (0 if cancelled else addition.quantity)
        assert service.is_active is not cancelled
        # the simulator sends money rounded to cents
        assert service.unit_price == addition.unit_price.quantize(Decimal("0.01"))
        assert service.unit_cost == addition.unit_cost.quantize(Decimal("0.01"))
    assert services[str(later.id)].is_active and services[str(later.id)].units == later.quantity
    assert any(not s.is_active for s in services.values())
    assert client.stats.by_operation["catalog.list"] == 1
    assert client.stats.by_operation["additions.list"] == len(world.connectwise_agreements)


async def test_read_units_batches_by_agreement_from_the_cache(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    services = await client.list_services()
    client.stats.reset()
    wanted = [s.external_id for s in services[:12]]
    units = await client.read_units([*wanted, "not-an-id"])
    assert units == {i: world.connectwise_additions[int(i)].quantity for i in wanted}
    agreements = {world.connectwise_additions[int(i)].agreement_id for i in wanted}
    assert client.stats.total == len(agreements)
    assert await client.read_units([]) == {}
    del world.connectwise_additions[int(wanted[0])]
    assert wanted[0] not in await client.read_units(wanted[:1])
    client.stats.reset()
    assert await client.read_units(wanted[:1]) == {}
    assert client.stats.total == 0  # known to be gone: not asked again


async def test_read_units_of_an_id_nobody_has_scans_once(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    assert await client.read_units(["999999999"]) == {}
    assert client.stats.by_operation["additions.units"] == len(sandbox.world.connectwise_agreements)
    client.stats.reset()
    assert await client.read_units(["999999999"]) == {}
    assert client.stats.total == 0


async def test_read_units_finds_an_unknown_addition_lazily(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    target = max(world.connectwise_additions.values(), key=lambda a: a.agreement_id)
    world.connectwise_additions[target.id].quantity = 77
    assert await client.read_units([str(target.id)]) == {str(target.id): 77}
    first = client.stats.total
    assert await client.read_units([str(target.id)]) == {str(target.id): 77}
    assert client.stats.total == first + 1  # now known: one call to its agreement


async def test_read_units_reports_a_cancelled_addition_as_billing_nothing(sandbox: Sandbox,
                                                                          client: ConnectWiseClient) -> None:
    addition = next(a for a in sandbox.world.connectwise_additions.values() if a.cancelled_date is None)
    addition.cancelled_date = TODAY
    assert await client.read_units([str(addition.id)]) == {str(addition.id): 0}


# --- changes since a time --------------------------------------------------------------------------
async def test_modified_since_reads_only_what_changed(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    since = datetime(2026, 11, 16, 0, 0, tzinfo=UTC) + timedelta(days=30)  # after every seeded timestamp
    later = since + timedelta(minutes=5)
    company = next(iter(world.connectwise_companies.values()))
    open_agreement = next(a for a in world.connectwise_agreements.values() if a.status == "Active")
    closed = next(a for a in world.connectwise_agreements.values() if a.status == "Cancelled")
    addition_open = next(a for a in world.connectwise_additions.values() if a.agreement_id == open_agreement.id)
    addition_closed = next(a for a in world.connectwise_additions.values() if a.agreement_id == closed.id)
    company.last_updated = open_agreement.last_updated = addition_open.last_updated = later
    addition_closed.last_updated = later
    assert [c.external_id for c in await client.list_companies(modified_since=since)] == [str(company.id)]
    assert [c.external_id for c in await client.list_contracts(modified_since=since)] == [str(open_agreement.id)]
    client.stats.reset()
    assert [s.external_id for s in await client.list_services(modified_since=since)] == [str(addition_open.id)]
    # only the agreement that changed is asked for its additions: one call, not one per open agreement
    assert client.stats.by_operation["additions.list"] == 1
    closed.last_updated = later  # a closed agreement that changed is read too
    found = {s.external_id for s in await client.list_services(modified_since=since)}
    assert found == {str(addition_open.id), str(addition_closed.id)}
    assert await client.list_companies(modified_since=later + timedelta(seconds=1)) == []


async def test_linked_additions_are_re_read_in_two_turns_whatever_their_dates(sandbox: Sandbox,
                                                                            client: ConnectWiseClient) -> None:
    world = sandbox.world
    since = datetime(2026, 11, 16, 0, 0, tzinfo=UTC) + timedelta(days=30)  # after every seeded timestamp
    watched = sorted(world.connectwise_additions.values(), key=lambda a: a.id)[:12]
    client.watch_services({str(a.id): str(a.agreement_id) for a in watched})
    agreements = {a.agreement_id for a in watched}
    assert {a % 2 for a in agreements} == {0, 1}  # both turns have work in this world
    for addition in watched:
        addition.quantity += 2  # edited by hand: neither the addition's date nor its agreement's is trusted here
    seen: dict[str, int] = {}
    calls = []
    for _ in range(2):
        client.stats.reset()
        for record in await client.list_services(modified_since=since):
            seen[record.external_id] = record.units
        calls.append(client.stats.by_operation.get("additions.recheck", 0))
    assert seen == {str(a.id): a.quantity for a in watched}
    assert sorted(calls) == sorted([sum(1 for a in agreements if a % 2 == 0), sum(1 for a in agreements if a % 2)])
    # an agreement read because it changed is not read a second time for its linked additions
    client.stats.reset()
    changed = world.connectwise_agreements[watched[0].agreement_id]
    changed.last_updated = since + timedelta(minutes=1)
    for _ in range(2):
        await client.list_services(modified_since=since)
    assert client.stats.by_operation["additions.recheck"] == len(agreements) - 1
    # a complete read needs no recheck
    client.stats.reset()
    await client.list_services()
    assert "additions.recheck" not in client.stats.by_operation


async def test_a_cycle_scans_the_agreements_once(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    """list_contracts then list_services (as the engine asks) make one pass over the agreement list, complete or
    incremental; list_services alone still scans."""
    since = datetime(2026, 11, 16, 0, 0, tzinfo=UTC) + timedelta(days=30)
    for modified_since in (None, since):
        client.stats.reset()
        await client.list_contracts(modified_since=modified_since)
        await client.list_services(modified_since=modified_since)
        assert client.stats.by_operation["agreements.list"] == 1  # one page at this scale
    client.stats.reset()
    await client.list_services(modified_since=since)
    assert client.stats.by_operation["agreements.list"] == 1


async def test_the_linked_additions_of_a_closed_agreement_are_not_rechecked(sandbox: Sandbox,
                                                                          client: ConnectWiseClient) -> None:
    """A cancelled or expired agreement invoices nothing: its linked additions wait for the complete read."""
    world = sandbox.world
    since = datetime(2026, 11, 16, 0, 0, tzinfo=UTC) + timedelta(days=30)
    closed = next(a for a in world.connectwise_agreements.values() if a.status == "Cancelled"
                  and any(x.agreement_id == a.id for x in world.connectwise_additions.values()))
    addition = next(x for x in world.connectwise_additions.values() if x.agreement_id == closed.id)
    client.watch_services({str(addition.id): str(closed.id)})
    await client.list_contracts()  # the complete read learns which agreements are closed
    await client.list_services()
    client.stats.reset()
    for _ in range(client.recheck_turns):
        await client.list_services(modified_since=since)
    assert "additions.recheck" not in client.stats.by_operation
    reopened = ConnectWiseClient(client.api, today=client.today)  # a client that has not read it closed
    reopened.watch_services({str(addition.id): str(closed.id)})
    for _ in range(reopened.recheck_turns):
        await reopened.list_services(modified_since=since)
    assert reopened.stats.by_operation["additions.recheck"] == 1


# --- paging ----------------------------------------------------------------------------------------
async def test_paging_reads_past_a_thousand_companies_once_each() -> None:
    running = await Sandbox.generate(seed=2, scale="large", today=TODAY).start()
    try:
        world = running.world
        ids = sorted(world.connectwise_companies)
        assert 2000 < len(ids) < 3000
        requests: list[httpx.Request] = []
        connector = client_for(running, requests=requests)
        companies = await connector.list_companies()
        assert sorted(int(c.external_id) for c in companies) == ids
        assert connector.stats.by_operation["companies.list"] == 3  # 1000 + 1000 + a short page ends it
        pages = [r for r in requests if r.url.path.endswith("/company/companies")]
        assert [r.url.params.get("pageId") for r in pages] == [None, str(ids[999]), str(ids[1999])]
        assert all(r.headers["pagination-type"] == "forward-only" for r in pages)
        for company_id in ids[2000:]:
            del world.connectwise_companies[company_id]
        connector.stats.reset()
        assert len(await connector.list_companies()) == 2000
        assert connector.stats.by_operation["companies.list"] == 3  # an exact multiple costs one empty page
        await connector.aclose()
    finally:
        await running.stop()


async def test_id_lists_longer_than_a_url_are_split(sandbox: Sandbox) -> None:
    world = sandbox.world
    for n in range(1, 1201):
        world.connectwise_companies[100_000 + n] = ConnectWiseCompany(100_000 + n, f"Bulk{n}", f"Bulk {n} Ltd")
    requests: list[httpx.Request] = []
    connector = client_for(sandbox, requests=requests)
    wanted = sorted(world.connectwise_companies)
    rows = await connector.api.list_by_ids("company/companies", wanted, operation="companies.by_id", fields="id")
    assert sorted(row["id"] for row in rows) == wanted
    assert connector.stats.by_operation["companies.by_id"] > 3
    assert all(len(str(r.url)) < 2000 for r in requests)
    await connector.aclose()


async def test_every_request_is_authenticated_pinned_and_short(sandbox: Sandbox) -> None:
    requests: list[httpx.Request] = []
    connector = client_for(sandbox, requests=requests)
    services = await connector.list_services()
    await connector.read_units([s.external_id for s in services])
    await connector.list_companies(modified_since=datetime(2026, 1, 1, tzinfo=UTC))
    api_requests = [r for r in requests if "/apis/3.0/" in r.url.path]
    assert [urlsplit(str(r.url)).path for r in requests if r not in api_requests] == [
        "/connectwise/login/companyinfo/sandboxmsp"]
    assert "Authorization" not in requests[0].headers  # the public lookup gets no credentials
    for request in api_requests:
        assert request.headers["Authorization"].startswith("Basic ")
        assert request.headers["clientId"] == sandbox.world.credentials.connectwise_client_id
        assert request.headers["Accept"] == ACCEPT
        assert request.url.params["pageSize"] == "1000"
        assert "id" in request.url.params["fields"].split(",")
        assert len(str(request.url)) < 2000
    await connector.aclose()


# --- conditions builders, each against the simulator ------------------------------------------------
async def test_quoted_names_survive_the_conditions_grammar(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    tricky = ['Smith "Quoted" LLC', "Back\\slash & Sons", "Plain [Labs] 100%"]
    for n, name in enumerate(tricky):
        world.connectwise_companies[90_000 + n] = ConnectWiseCompany(90_000 + n, f"T{n}", name)
    for n, name in enumerate(tricky):
        rows = await client.api.list_all("company/companies", operation="t", fields="id,name",
                                         conditions=f"name = {quote(name)}")
        assert rows == [{"id": 90_000 + n, "name": name}]
    rows = await client.api.list_all("company/companies", operation="t", fields="id",
                                     conditions=one_of("name", tricky))
    assert sorted(r["id"] for r in rows) == [90_000, 90_001, 90_002]


async def test_date_id_and_status_conditions_against_the_simulator(sandbox: Sandbox,
                                                                   client: ConnectWiseClient) -> None:
    world = sandbox.world
    company = next(iter(world.connectwise_companies.values()))
    company.last_updated = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    for moment in (datetime(2031, 5, 6, 7, 8, 8), datetime(2031, 5, 6, 9, 8, 8, tzinfo=UTC) - timedelta(hours=2)):
        rows = await client.api.list_all("company/companies", operation="t", fields="id",
                                          conditions=changed_since(moment))
        assert rows == [{"id": company.id}]
    assert datetime_literal(datetime(2031, 5, 6, 9, 8, 9, tzinfo=UTC)) == "[2031-05-06T09:08:09Z]"
    ids = sorted(world.connectwise_companies)[:5]
    rows = await client.api.list_all("company/companies", operation="t", fields="id", conditions=ids_in(ids))
    assert [r["id"] for r in rows] == ids
    closed = one_of("agreementStatus", ("Cancelled", "Expired"))
    both = all_of(closed, "cancelledFlag = True", None)
    rows = await client.api.list_all("finance/agreements", operation="t", fields="id", conditions=both)
    assert {r["id"] for r in rows} == {a.id for a in world.connectwise_agreements.values() if a.cancelled}
    rows = await client.api.list_all("finance/agreements", operation="t", fields="id",
                                     conditions=one_of("agreementStatus", ("Cancelled", "Expired"), negate=True))
    assert len(rows) == sum(1 for a in world.connectwise_agreements.values() if a.status == "Active")
    assert all_of() is None and all_of("a = 1") == "a = 1"


def test_id_batches_respect_the_budget() -> None:
    batches = id_batches([5, 3, 3, 12345, 7, 100], budget=20)
    assert [i for batch in batches for i in batch] == [3, 5, 7, 100, 12345]
    for batch in batches:
        assert sum(len(str(i)) for i in batch) + 3 * (len(batch) - 1) <= 20
    with pytest.raises(ValueError, match="no room"):
        id_batches([1], budget=3)


def test_quote_escapes_quotes_and_backslashes() -> None:
    assert quote('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
