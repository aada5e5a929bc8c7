"""ConnectWiseClient under the simulator's fault knobs and its own per-minute budget: latency, 5xx,
429 bursts and rates with Retry-After, timeouts. Reads must come out whole; nothing is written twice."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.connectors.errors import UnreachableError
from bot.connectors.http import RetryPolicy
from bot.connectors.psa.connectwise.client import ConnectWiseClient
from bot.sandbox.app import Sandbox
from bot.sandbox.connectwise import CONNECTWISE_BUDGET, connectwise_error, create_connectwise_app
from bot.sandbox.faults import FaultKnobs, fault_middleware
from tests.connectors.psa.connectwise.test_connectwise import TODAY, client_for


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    running = await Sandbox.generate(seed=3, scale="small", today=TODAY).start()
    yield running
    await running.stop()


async def read_everything(connector: ConnectWiseClient) -> tuple:
    companies = await connector.list_companies()
    contracts = await connector.list_contracts()
    services = await connector.list_services()
    units = await connector.read_units([s.external_id for s in services])
    return companies, contracts, services, units


def assert_whole(sandbox: Sandbox, everything: tuple) -> None:
    """Every record the world holds was read, once, with the units it bills today."""
    world = sandbox.world
    companies, contracts, services, units = everything
    assert sorted(int(c.external_id) for c in companies) == sorted(world.connectwise_companies)
    assert sorted(int(c.external_id) for c in contracts) == sorted(world.connectwise_agreements)
    assert sorted(int(s.external_id) for s in services) == sorted(world.connectwise_additions)
    assert units == {str(a.id): 0 if a.cancelled_date and a.cancelled_date <= world.today else a.quantity
                     for a in world.connectwise_additions.values()}
    assert {s.external_id: s.units for s in services} == units


async def test_latency_slows_but_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.faults["connectwise"].update({"latency_ms": 3, "latency_jitter_ms": 4})
    connector = client_for(sandbox)
    assert_whole(sandbox, await read_everything(connector))
    assert connector.stats.retries == 0
    await connector.aclose()


async def test_server_errors_on_reads_are_retried_to_a_complete_read(sandbox: Sandbox) -> None:
    sandbox.faults["connectwise"].update({"error_rates": {500: 0.15, 502: 0.05, 503: 0.05}})
    connector = client_for(sandbox, retry=RetryPolicy(max_attempts=8, base_delay_s=0.001, max_delay_s=0.01,
                                                      max_total_s=10))
    assert_whole(sandbox, await read_everything(connector))
    assert connector.stats.retries > 0
    assert {"500", "502", "503"} & set(connector.stats.by_status)
    await connector.aclose()


async def test_a_burst_of_429_is_waited_out_per_retry_after(sandbox: Sandbox) -> None:
    connector = client_for(sandbox)
    await connector.test_connection()
    sandbox.faults["connectwise"].update({"burst_429": 3, "retry_after_s": 0.2})
    started = time.monotonic()
    companies = await connector.list_companies()
    assert len(companies) == len(sandbox.world.connectwise_companies)
    assert time.monotonic() - started >= 0.6  # three waits of the 0.2 s the server asked for
    assert connector.stats.by_status["429"] == 3 and connector.stats.retries == 3
    await connector.aclose()


async def test_random_429s_still_give_a_complete_read(sandbox: Sandbox) -> None:
    sandbox.faults["connectwise"].update({"rate_429": 0.2, "retry_after_s": 0.001})
    connector = client_for(sandbox, retry=RetryPolicy(max_attempts=8, base_delay_s=0.001, max_total_s=10))
    assert_whole(sandbox, await read_everything(connector))
    assert connector.stats.by_status["429"] > 0
    await connector.aclose()


async def test_timeouts_on_reads_are_retried(sandbox: Sandbox) -> None:
    connector = client_for(sandbox, timeout=httpx.Timeout(0.15, connect=1.0),
                           retry=RetryPolicy(max_attempts=8, base_delay_s=0.001, max_delay_s=0.01, max_total_s=20))
    await connector.list_companies()  # the codebase lookup, before the faults
    sandbox.faults["connectwise"].update({"timeout_rate": 0.05, "timeout_s": 0.4})
    assert_whole(sandbox, await read_everything(connector))
    await connector.aclose()


async def test_a_site_that_never_answers_in_time_is_unreachable(sandbox: Sandbox) -> None:
    sandbox.faults["connectwise"].update({"timeout_rate": 1.0, "timeout_s": 0.5})
    connector = client_for(sandbox, timeout=httpx.Timeout(0.1, connect=1.0),
                           retry=RetryPolicy(max_attempts=2, base_delay_s=0.001, max_total_s=5))
    with pytest.raises(UnreachableError) as failed:
        await connector.list_companies()
    assert failed.value.retryable and not failed.value.outcome_unknown
    assert "no reply (ReadTimeout)" in str(failed.value)
    assert connector.stats.retries == 1
    await connector.aclose()


async def test_the_simulators_own_per_minute_budget_is_honoured() -> None:
    """ConnectWise's throttle (429 + Retry-After in whole seconds), from a standalone simulator whose
    budget is 3 requests a second instead of 1,000 a minute."""
    sandbox = Sandbox.generate(seed=4, scale="small", today=TODAY)
    sub = create_connectwise_app(sandbox.world, requests_per_minute=3)
    sub[CONNECTWISE_BUDGET].window_s = 1.0
    sub.middlewares.insert(0, fault_middleware(FaultKnobs(), connectwise_error))
    app = web.Application()
    app.add_subapp("/connectwise", sub)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sandbox.port = port  # so the sandbox's config names this standalone server
    try:
        connector = client_for(sandbox, retry=RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=3.0,
                                                          max_total_s=10))
        started = time.monotonic()
        for _ in range(2):
            await connector.list_companies()
            await connector.list_contracts()
        assert connector.stats.by_status["429"] >= 1
        assert time.monotonic() - started >= 0.9  # waited the whole second the server asked for
        assert connector.stats.by_status["200"] == 5  # companyinfo + four reads
        await connector.aclose()
    finally:
        await runner.cleanup()
