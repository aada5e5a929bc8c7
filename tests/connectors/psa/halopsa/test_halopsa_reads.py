"""HaloPsaClient reads the HaloPSA simulator over real HTTP: clients, recurring invoices as contracts, their lines as
services, Halo's paging to the floor (and a list that moves while it is paged), units batched by client, the token
cached and refreshed, 429s waited out, and Halo's errors typed with its words."""

from __future__ import annotations

import asyncio
import math
import time
from decimal import Decimal

import pytest

from bot.connectors.errors import (
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from bot.connectors.http import RetryPolicy
from bot.connectors.interfaces import Psa
from bot.connectors.psa.halopsa.api import PAGE_SIZE, PacedLimiter
from bot.connectors.psa.halopsa.records import halo_date
from bot.domain.enums import ContractStatus
from bot.sandbox.halopsa.records import HaloClient
from tests.connectors.psa.halopsa.halo_server import FAST_RETRY
from tests.sandbox.halopsa_world import (
    ACME,
    ACME_INVOICE,
    ARCHIVE_LINE,
    BETA,
    BETA_INVOICE,
    BETA_LINE,
    EXO_LINE,
    GONE,
    M365,
    M365_LINE,
    OLD_INVOICE,
    OLD_LINE,
    ManualClock,
)


async def test_the_client_is_a_psa_that_posts_changes_on_their_day(halo) -> None:
    client = halo.client()
    try:
        assert isinstance(client, Psa) and client.system == "halopsa" and client.supports_future_dates is False
    finally:
        await client.aclose()


async def test_clients_contracts_and_lines_read_as_seatsync_records(halo) -> None:
    client = halo.client()
    try:
        companies = {c.external_id: c for c in await client.list_companies()}
        contracts = {c.external_id: c for c in await client.list_contracts()}
        services = {s.external_id: s for s in await client.list_services()}
    finally:
        await client.aclose()
    assert {k: (c.name, c.is_active) for k, c in companies.items()} == {
        str(ACME): ("Acme Mfg.", True), str(BETA): ("Beta LLC", True), str(GONE): ("Gone Ltd", False)}
    acme = contracts[str(ACME_INVOICE)]  # the recurring invoice, its id negative as Halo has it
    assert (acme.company_external_id, acme.name, acme.status, acme.prorates) == \
        (str(ACME), "Microsoft 365 NCE - Annual", ContractStatus.active, None)
    assert contracts[str(OLD_INVOICE)].status is ContractStatus.expired
    assert contracts[str(BETA_INVOICE)].start_date == halo_date("2024-06-01T00:00:00")
    m365 = services[str(M365_LINE)]
    assert (m365.contract_external_id, m365.name, m365.units, m365.catalog_id, m365.unit_price, m365.unit_cost) == \
        (str(ACME_INVOICE), "Microsoft 365 Business Premium", 10, str(M365), Decimal("22"), Decimal("18.5"))
    assert services[str(ARCHIVE_LINE)].catalog_id is None  # a free-text line: _itemid -1
    assert (services[str(OLD_LINE)].units, services[str(OLD_LINE)].is_active) == (0, False)  # ended: bills nothing
    # the cycle's services come from the invoices list_contracts read: no second read of them
    assert len(halo.requests("GET", "/api/RecurringInvoice")) == 1


async def test_a_complete_read_pages_to_the_floor(halo) -> None:
    client = halo.client(page_size=2)
    try:
        await client.list_companies()
        await client.list_contracts()
        await client.list_services()
    finally:
        await client.aclose()
    halo_data = halo.world.halopsa
    floor = {"/api/Client": math.ceil(len(halo_data.clients) / 2),
             "/api/ClientContract": math.ceil(len(halo_data.contracts) / 2),
             "/api/RecurringInvoice": math.ceil(len(halo_data.recurring_invoices) / 2)}
    assert {path: len(halo.requests("GET", path)) for path in floor} == floor
    pages = [dict(r.url.params) for r in halo.requests("GET", "/api/Client")]
    assert pages == [{"includeinactive": "true", "pageinate": "true", "page_size": "2", "page_no": "1"},
                     {"includeinactive": "true", "pageinate": "true", "page_size": "2", "page_no": "2"}]
    assert len(halo.requests("POST", "/auth/token")) == 1 and PAGE_SIZE == 1000


async def test_a_list_that_moves_while_it_is_paged_is_read_again_whole(halo) -> None:
    client = halo.client(page_size=2)
    added = False

    async def add_a_client_after_the_first_page(response) -> None:
        nonlocal added
        if not added and response.request.url.params.get("page_no") == "1":
            added = True
            halo.world.halopsa.clients[5] = HaloClient(5, "Aardvark Ltd")  # sorts first: page 2 shifts by one

    client.api.client.event_hooks["response"].append(add_a_client_after_the_first_page)
    try:
        companies = await client.list_companies()
    finally:
        await client.aclose()
    assert sorted(int(c.external_id) for c in companies) == [5, ACME, BETA, GONE]
    assert [r.url.params["page_no"] for r in halo.requests("GET", "/api/Client")] == ["1", "2", "1", "2"]


async def test_a_list_that_never_holds_still_is_a_malformed_reply(halo) -> None:
    client = halo.client(page_size=2)
    next_id = iter(range(100, 200))

    async def add_a_client_every_time(response) -> None:
        halo.world.halopsa.clients[next(next_id)] = HaloClient(1, "Moving Target")

    client.api.client.event_hooks["response"].append(add_a_client_every_time)
    try:
        with pytest.raises(MalformedReplyError, match="could not be read whole in 3 tries"):
            await client.list_companies()
    finally:
        await client.aclose()


async def test_units_are_read_by_client_and_a_line_not_met_is_looked_for_in_every_invoice(halo) -> None:
    client = halo.client()
    try:
        assert await client.read_units([str(M365_LINE)]) == {str(M365_LINE): 10}  # a fresh client: one full scan
        scan = halo.requests("GET", "/api/RecurringInvoice")
        assert [dict(r.url.params).get("client_ids") for r in scan] == [None]
        halo.sent.clear()
        units = await client.read_units([str(M365_LINE), str(EXO_LINE), str(BETA_LINE), str(OLD_LINE), "abc"])
        assert units == {str(M365_LINE): 10, str(EXO_LINE): 5, str(BETA_LINE): 20, str(OLD_LINE): 0}
        assert [dict(r.url.params)["client_ids"] for r in halo.requests("GET", "/api/RecurringInvoice")] == \
            [f"{ACME},{BETA}"]  # one batched read for the two clients whose invoices hold them
        halo.world.halopsa.recurring_invoices[ACME_INVOICE].lines.pop()  # the archive line is deleted in Halo
        halo.sent.clear()
        assert await client.read_units([str(ARCHIVE_LINE), "999999"]) == {}
        assert len(halo.requests("GET", "/api/RecurringInvoice")) == 2  # its client, then every invoice
        halo.sent.clear()
        assert await client.read_units(["999999"]) == {} and halo.requests("GET") == []  # remembered as gone
    finally:
        await client.aclose()


async def test_the_token_is_cached_and_fetched_again_before_it_expires(halo) -> None:
    client = halo.client()
    try:
        await client.list_companies()
        await client.list_companies()
        assert len(halo.requests("POST", "/auth/token")) == 1
        halo.clock.now += 3600 - 59  # inside the last minute of its hour: fetched again before it is used
        await client.list_companies()
        assert len(halo.requests("POST", "/auth/token")) == 2
        assert len({r.headers["Authorization"] for r in halo.requests("GET", "/api/Client")}) == 2
        token = halo.requests("POST", "/auth/token")[0]
        assert dict(token.url.params) == {"tenant": "sandboxmsp"}
        assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    finally:
        await client.aclose()


async def test_a_token_halo_refuses_is_renewed_and_the_call_sent_once_more(halo) -> None:
    client = halo.client(clock=ManualClock())  # the client's clock stands still: it believes its token is good
    try:
        await client.list_companies()
        halo.clock.now += 7200  # Halo's has moved on: the token expired there, 401 with WWW-Authenticate
        assert len(await client.list_companies()) == 3
        assert len(halo.requests("POST", "/auth/token")) == 2
        assert client.stats.by_status["401"] == 1 and len(halo.requests("GET", "/api/Client")) == 3
    finally:
        await client.aclose()


async def test_429s_are_waited_out_as_halo_asks(halo) -> None:
    halo.knobs.update({"burst_429": 3, "retry_after_s": 0.01})
    client = halo.client()
    try:
        assert len(await client.list_companies()) == 3
        assert client.stats.retries == 3 and client.stats.by_status["429"] == 3
    finally:
        await client.aclose()


async def test_429s_past_the_budget_are_rate_limited_errors(halo) -> None:
    halo.knobs.update({"rate_429": 1.0, "retry_after_s": 0.01})
    client = halo.client(retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_total_s=5.0))
    try:
        with pytest.raises(RateLimitedError) as refused:
            await client.list_companies()
        assert refused.value.retry_after == 0.01 and "Too many requests" in refused.value.vendor_message
    finally:
        await client.aclose()


async def test_errors_are_typed_with_halos_words(halo) -> None:
    narrow, client = halo.client(scope="read:customers"), halo.client()
    try:
        with pytest.raises(PermissionDeniedError, match="needs the scope read:invoices"):  # 403 has no body
            await narrow.list_services()
        with pytest.raises(NotFoundError, match="The recurringinvoice with id -5 was not found"):
            await client.api.get_record("RecurringInvoice", -5, operation="test")
        halo.knobs.update({"error_rates": {503: 1.0}})
        with pytest.raises(ServerError, match="Service Unavailable") as failed:
            await client.list_companies()
        assert failed.value.status == 503 and client.stats.by_status["503"] == FAST_RETRY.max_attempts
    finally:
        await narrow.aclose()
        await client.aclose()


async def test_requests_are_paced_so_a_burst_never_spends_the_whole_window() -> None:
    """A tenth of the budget may start at once, the rest at an even pace: in any stretch of time, no more starts
    than the bucket plus the pace allow (a machine slower than the pace only starts fewer)."""
    limiter = PacedLimiter(max_concurrent=8, per_window=40, window_s=0.5)  # a burst of 4, then 72 a second
    starts: list[float] = []

    async def one() -> None:
        async with limiter:
            starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(30)))
    assert (limiter.burst, limiter.rate) == (4, 72.0) and len(starts) == 30
    starts.sort()
    for first in range(len(starts)):
        for last in range(first, len(starts)):
            allowed = limiter.burst + limiter.rate * (starts[last] - starts[first]) + 1
            assert last - first + 1 <= allowed
