"""Autotask's request threshold and thread limit, and the sandbox fault knobs, through the facade."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.sandbox.autotask import STATE
from bot.sandbox.autotask_limits import AutotaskLimits
from bot.sandbox.faults import FaultKnobs
from bot.sandbox.world import SandboxWorld
from tests.sandbox.autotask_world import BASE, EVERYTHING, auth_headers, build_world, make_app


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> SandboxWorld:
    return build_world()


async def test_threshold_information_counts_and_the_threshold_refuses_with_429(aiohttp_client, world):
    clock = FakeClock()
    app, sub = make_app(world, limits=AutotaskLimits(hourly_threshold=4, latency_factor=0, clock=clock))
    client = await aiohttp_client(app)
    info = await (await client.get(f"{BASE}/ThresholdInformation", headers=auth_headers(world))).json()
    assert info == {"externalRequestThreshold": 4, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 1}
    for _ in range(3):
        response = await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))
        assert response.status == 200
    refused = await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))
    assert refused.status == 429
    assert "threshold of 4 requests per 60 minutes" in (await refused.json())["errors"][0]
    user = world.credentials.autotask_username
    assert (await client.get(f"{BASE}/zoneInformation?user={user}")).status == 200  # exempt, not counted
    assert sub[STATE].meter.count() == 4
    clock.now += 3600.5  # the rolling window drains
    assert (await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))).status == 200


@pytest.mark.parametrize(("used", "minimum"), [(5, 0.5), (8, 1.0)])
async def test_usage_over_half_and_three_quarters_adds_latency(aiohttp_client, world, used, minimum):
    factor = 0.04  # scales the vendor's 0.5 s / 1 s down to 20 ms / 40 ms
    app, sub = make_app(world, limits=AutotaskLimits(hourly_threshold=10, latency_factor=factor))
    client = await aiohttp_client(app)
    sub[STATE].meter.record(used)
    started = time.monotonic()
    assert (await client.get(f"{BASE}/Companies/1", headers=auth_headers(world))).status == 200
    assert time.monotonic() - started >= minimum * factor


async def test_a_fourth_concurrent_call_to_one_endpoint_gets_itgenatr005(aiohttp_client, world):
    # 50% usage adds 0.5 s x 0.3 = 150 ms inside each call, so the first three hold their threads
    app, sub = make_app(world, limits=AutotaskLimits(hourly_threshold=1000, latency_factor=0.3))
    client = await aiohttp_client(app)
    sub[STATE].meter.record(500)

    async def call(path: str, **options) -> tuple[int, dict]:
        response = await client.request(options.pop("method", "POST"), path, **options)
        return response.status, await response.json()

    user = world.credentials.autotask_username
    results = await asyncio.gather(
        *[call(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world)) for _ in range(5)],
        call(f"{BASE}/Contracts/query", json=EVERYTHING, headers=auth_headers(world)),  # another endpoint
        call(f"{BASE}/zoneInformation?user={user}", method="GET"),  # exempt
    )
    companies = sorted(status for status, _ in results[:5])
    assert companies == [200, 200, 200, 429, 429]
    refusals = [body["errors"][0] for status, body in results[:5] if status == 429]
    assert all("Itgenatr005" in m and "thread threshold of 3 threads has been exceeded" in m for m in refusals)
    assert results[5][0] == 200 and results[6][0] == 200
    assert sub[STATE].meter.active(world.credentials.autotask_integration_code, "Companies") == 0


# --- the sandbox fault knobs, applied in front of the facade --------------------------------------
async def test_injected_errors_use_the_autotask_error_shape(aiohttp_client, world):
    client = await aiohttp_client(make_app(world, FaultKnobs(error_rates={503: 1.0}))[0])
    response = await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))
    assert response.status == 503 and await response.json() == {"errors": ["Service Unavailable"]}


async def test_a_429_burst_then_recovery(aiohttp_client, world):
    client = await aiohttp_client(make_app(world, FaultKnobs(burst_429=2, retry_after_s=0.5))[0])
    for _ in range(2):
        response = await client.get(f"{BASE}/Companies/1", headers=auth_headers(world))
        assert response.status == 429 and response.headers["Retry-After"] == "0.5"
        assert (await response.json())["errors"]
    assert (await client.get(f"{BASE}/Companies/1", headers=auth_headers(world))).status == 200


async def test_random_429s_latency_and_timeouts(aiohttp_client, world):
    knobs = FaultKnobs(rate_429=1.0)
    client = await aiohttp_client(make_app(world, knobs)[0])
    assert (await client.get(f"{BASE}/Companies/1", headers=auth_headers(world))).status == 429
    knobs.update({"rate_429": 0, "latency_ms": 5})
    started = time.monotonic()
    assert (await client.get(f"{BASE}/Companies/1", headers=auth_headers(world))).status == 200
    assert time.monotonic() - started >= 0.005
    knobs.update({"latency_ms": 0, "timeout_rate": 1.0, "timeout_s": 0.01})
    response = await client.get(f"{BASE}/Companies/1", headers=auth_headers(world))
    assert response.status == 504 and (await response.json())["errors"] == ["Gateway Timeout"]
