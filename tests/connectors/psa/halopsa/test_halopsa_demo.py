"""The scripted demo with HaloPSA as the PSA, from each marketplace, under heavy faults: every linked resource ends
billed at its count in the Halo simulator, no write repeated (the verdict is read from the simulator's write log)."""

from __future__ import annotations

import pytest

from bot.demo.scripted import DemoOptions, run_once
from tests.conftest import TEST_SECRET_KEY


@pytest.mark.parametrize("marketplace", ["ingram", "odin"])
async def test_the_demo_settles_in_halo_under_heavy_faults(marketplace: str) -> None:
    said: list[str] = []
    result = await run_once(DemoOptions(psa="halopsa", marketplace=marketplace, days=1, faults="heavy", seed=3,
                                        secret_key=TEST_SECRET_KEY), say=said.append)
    assert (result["in_sync"], result["duplicate_writes"], result["failed"]) == (True, 0, 0), said[-12:]
    assert result["linked"] > 10 and result["adjustments_posted"] > 5
    assert result["psa_writes"] == result["adjustments_posted"]  # one Halo write per change, each keyed
    assert said[0].startswith(f"SeatSync demo: {marketplace} -> halopsa, small MSP")
