"""Retries that survive a queue: a request's retry budget counts from its first send, not from when it
joined the client's limiter; reads under a cycle's deadline are retried until it; large reads fan out
through a bounded pool of workers; a waiter cancelled in the limiter gives its place back.

The limiter windows and retry budgets are shrunk (fractions of a second instead of a minute) so that a
queue longer than the budget builds up in a couple of seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from bot.connectors.errors import DeadlinePassedError, RateLimitedError
from bot.connectors.fanout import fan_out
from bot.connectors.http import RequestLimiter, RetryPolicy, read_deadline
from bot.connectors.marketplace.ingram.client import IngramClient
from bot.sandbox.app import INGRAM_PATH, Sandbox
from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.ingram import GatewayQuota, ingram_error
from tests.connectors.marketplace.ingram.test_ingram import expected_subscriptions, ingram_app, ingram_connection
from tests.connectors.psa.connectwise.test_connectwise import client_for
from tests.connectors.psa.connectwise.test_connectwise_faults import assert_whole, read_everything

TODAY = date(2026, 11, 16)
# a budget far shorter than the queue ahead of most requests
SHORT_BUDGET = RetryPolicy(max_attempts=8, base_delay_s=0.001, max_delay_s=0.01, max_total_s=0.5)


@pytest.fixture
async def small() -> AsyncIterator[Sandbox]:
    running = await Sandbox.generate(seed=3, scale="small", today=TODAY).start()
    yield running
    await running.stop()


class TaskPeak:
    """The most asyncio tasks alive at once while it samples."""

    def __init__(self) -> None:
        self.peak = 0

    async def sample(self) -> None:
        while True:
            self.peak = max(self.peak, len(asyncio.all_tasks()))
            await asyncio.sleep(0.005)


async def test_a_connectwise_read_meeting_429s_after_a_long_queue_completes(small: Sandbox) -> None:
    connector = client_for(small, retry=SHORT_BUDGET)
    await connector.test_connection()  # the codebase lookup, before the queue and the faults
    # 40 requests a second: the additions of the world's agreements queue for well over the 0.5 s budget
    connector.api.http.limiter = RequestLimiter(max_concurrent=6, per_window=10, window_s=0.25)
    small.faults["connectwise"].update({"rate_429": 0.2, "retry_after_s": 0.01, "seed": 7})
    assert len(small.world.connectwise_agreements) > 40
    peak = TaskPeak()
    sampler = asyncio.create_task(peak.sample())
    started = time.monotonic()
    try:
        everything = await read_everything(connector)
    finally:
        sampler.cancel()
        await connector.aclose()
    assert time.monotonic() - started > 1.0  # the queue was longer than the budget
    assert_whole(small, everything)
    assert connector.stats.by_status["429"] > 10
    assert peak.peak < 20  # a pool of 6 workers, not a task per agreement


async def test_a_large_ingram_read_with_a_few_503s_completes(aiohttp_server) -> None:
    world = Sandbox.generate(seed=5, scale="large", today=TODAY).world
    faults = FaultKnobs(error_rates={503: 0.001}, seed=11)
    # the gateway's quota and the client's, both 1,000 calls a second instead of a minute
    server = await aiohttp_server(ingram_app(world, fault_middleware(faults, ingram_error),
                                             quota=GatewayQuota(calls=1000, renewal_period_s=1.0)))
    client = IngramClient.from_connection(ingram_connection(str(server.make_url(INGRAM_PATH)), world),
                                          retry=RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05,
                                                            max_total_s=1.0),
                                          quota_calls=1000, quota_window_s=1.0)
    try:
        started = time.monotonic()
        subscriptions = await client.list_subscriptions()
        assert time.monotonic() - started > 2.0  # ~3,800 calls at 1,000 a second: most queue past the budget
    finally:
        await client.aclose()
    assert client.stats.by_status["503"] >= 2
    assert {s.external_id for s in subscriptions} == set(expected_subscriptions(world))


async def test_under_a_read_deadline_a_read_is_retried_past_the_attempt_limit(small: Sandbox) -> None:
    connector = client_for(small, retry=RetryPolicy(max_attempts=2, base_delay_s=0.001, max_total_s=10))
    await connector.test_connection()
    try:
        small.faults["connectwise"].update({"burst_429": 4, "retry_after_s": 0.01})
        with pytest.raises(RateLimitedError):  # no deadline: the policy's two attempts
            await connector.list_companies()
        small.faults["connectwise"].update({"burst_429": 4})
        with read_deadline(10):  # a cycle's deadline: retried until it comes through
            companies = await connector.list_companies()
        assert len(companies) == len(small.world.connectwise_companies)
    finally:
        await connector.aclose()


async def test_a_503_is_retried_until_the_deadline_and_no_longer(small: Sandbox) -> None:
    connector = client_for(small, retry=RetryPolicy(max_attempts=2, base_delay_s=0.05, max_delay_s=0.1))
    await connector.test_connection()
    small.faults["connectwise"].update({"error_rates": {503: 1.0}})
    started = time.monotonic()
    try:
        with read_deadline(0.6), pytest.raises(Exception) as failed:
            await connector.list_companies()
    finally:
        await connector.aclose()
    assert 0.4 < time.monotonic() - started < 5.0  # not before the deadline, nor for ever
    assert getattr(failed.value, "status", None) == 503
    assert connector.stats.retries > 2  # more than the policy's attempts, within the deadline


async def test_a_read_queued_past_its_deadline_fails_saying_so(small: Sandbox) -> None:
    connector = client_for(small)
    await connector.test_connection()
    connector.api.http.limiter.hold(30)  # a Retry-After longer than the deadline
    started = time.monotonic()
    try:
        with read_deadline(0.3), pytest.raises(DeadlinePassedError) as failed:
            await connector.list_companies()
    finally:
        await connector.aclose()
    assert time.monotonic() - started < 5.0  # not the 30 s hold
    assert "deadline" in str(failed.value)


async def test_a_write_is_never_held_to_a_read_deadline() -> None:
    """Writes keep their own rule: a 5xx is an unknown outcome, raised at once, never retried."""
    calls = []

    async def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503, json={"message": "busy"})

    from bot.connectors.http import VendorHttp

    http = VendorHttp(system="test", client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
                      error_message=lambda r: "busy", limiter=RequestLimiter(max_concurrent=2))
    with read_deadline(5), pytest.raises(Exception) as failed:
        await http.request("PATCH", "http://vendor.test/x", operation="patch", idempotent=False)
    assert getattr(failed.value, "outcome_unknown", False) and calls == ["PATCH"]
    await http.client.aclose()


async def test_a_waiter_cancelled_in_a_full_window_gives_its_place_back() -> None:
    """The demo hang: cancelled waiters kept their places and every later request waited for ever."""
    limiter = RequestLimiter(max_concurrent=1, per_window=1, window_s=0.2)
    async with limiter:
        pass
    waiter = asyncio.create_task(limiter.acquire())  # the window is full: it waits
    await asyncio.sleep(0.05)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    await asyncio.wait_for(limiter.acquire(), 2.0)
    limiter.release()


async def test_a_client_at_the_vendors_budget_never_exceeds_it() -> None:
    """Places are held until `window_s` after each reply, so the server's window never sees more, even
    when the first requests took long to arrive and the next ones arrive at once."""
    limiter = RequestLimiter(max_concurrent=5, per_window=5, window_s=0.2)
    arrivals: list[float] = []

    async def request(number: int) -> None:
        async with limiter:
            await asyncio.sleep(0.05 if number < 5 else 0)  # on the wire
            arrivals.append(time.monotonic())  # the server counts it now
            await asyncio.sleep(0.01)

    await asyncio.gather(*(request(number) for number in range(15)))
    for first in arrivals:
        assert sum(first <= t < first + 0.2 for t in arrivals) <= 5


async def test_fan_out_keeps_to_its_workers_and_the_items_order() -> None:
    running = peak = 0

    async def call(item: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (item % 3))
        running -= 1
        return item * 2

    tasks_before = len(asyncio.all_tasks())
    assert await fan_out(range(500), call, workers=4) == [i * 2 for i in range(500)]
    assert peak == 4 and len(asyncio.all_tasks()) == tasks_before


async def test_fan_out_raises_the_first_failure_itself() -> None:
    async def call(item: int) -> int:
        if item == 7:
            raise RateLimitedError("test", "slow down")
        await asyncio.sleep(0.01)
        return item

    with pytest.raises(RateLimitedError):
        await fan_out(range(100), call, workers=3)


def test_backoff_stays_bounded_however_many_attempts_a_deadline_allows() -> None:
    policy = RetryPolicy(base_delay_s=0.25, max_delay_s=15.0)
    assert all(0 <= policy.backoff(attempt) <= 15.0 for attempt in (1, 2, 64, 5_000))
