"""The fault knobs every simulator shares, through `fault_middleware` on a plain aiohttp app."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from bot.sandbox.faults import FaultKnobs, fault_middleware

ROW = b'{"id": 1, "name": "Contoso Pty Ltd", "quantity": 10},'


def error_body(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@pytest.fixture
def knobs() -> FaultKnobs:
    return FaultKnobs(seed=1)


@pytest.fixture
async def client(aiohttp_client, knobs):
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=ROW * int(request.query["rows"]), content_type="application/json")

    app = web.Application(middlewares=[fault_middleware(knobs, error_body)])
    app.router.add_get("/page", page)
    return await aiohttp_client(app)


def test_body_delay_grows_with_the_body() -> None:
    knobs = FaultKnobs(latency_per_kib_ms=4)
    assert knobs.body_delay_ms(0) == 0
    assert knobs.body_delay_ms(1024) == 4
    assert knobs.body_delay_ms(512 * 1024) == 2048
    assert FaultKnobs().body_delay_ms(10**6) == 0  # off unless set


def test_the_knob_is_set_and_checked_like_the_others(knobs) -> None:
    knobs.update({"latency_per_kib_ms": "2.5"})
    assert knobs.latency_per_kib_ms == 2.5 and knobs.as_dict()["latency_per_kib_ms"] == 2.5
    with pytest.raises(ValueError, match="must not be negative"):
        knobs.update({"latency_per_kib_ms": -1})
    knobs.reset()
    assert knobs.latency_per_kib_ms == 0


async def test_a_big_page_waits_for_its_size(client, knobs) -> None:
    knobs.latency_per_kib_ms = 10
    rows = 2_000  # about 100 KiB: at least 1 s of added latency at 10 ms per KiB
    started = time.perf_counter()
    response = await client.get("/page", params={"rows": rows})
    assert response.status == 200 and len(await response.read()) == len(ROW) * rows
    waited = time.perf_counter() - started
    assert waited >= knobs.body_delay_ms(len(ROW) * rows) / 1000  # a lower bound: a busy machine only adds
