"""The HaloPSA simulator served on a real port for the connector's tests (see halo_server.py)."""

from __future__ import annotations

import pytest

from bot.sandbox.faults import FaultKnobs
from tests.connectors.psa.halopsa.halo_server import HaloServer
from tests.sandbox.halopsa_world import ManualClock, build_app, build_world


@pytest.fixture
async def halo(aiohttp_server) -> HaloServer:
    world, knobs, clock = build_world(), FaultKnobs(seed=3), ManualClock()
    server = await aiohttp_server(build_app(world, knobs, clock), host="127.0.0.1")
    return HaloServer(world=world, knobs=knobs, clock=clock, base_url=str(server.make_url("/halopsa")))
