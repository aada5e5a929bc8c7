"""The scripted demo with Autotask as the PSA under heavy faults, from Odin and from Pax8: the generated world bills
some Microsoft 365 seats as service bundles, the demo links them by name like any service, and every linked
resource ends billed at its count, bundles included, with no write repeated (read from the simulator's write log,
where a bundle's writes are told apart from a contract service's)."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.demo.scripted import DemoOptions, run_once
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY


@pytest.mark.parametrize("marketplace", ["odin", "pax8"])
async def test_the_demo_settles_autotask_bundles_under_heavy_faults(marketplace: str) -> None:
    said: list[str] = []
    result = await run_once(DemoOptions(psa="autotask", marketplace=marketplace, days=1, faults="heavy", seed=1,
                                        secret_key=TEST_SECRET_KEY), say=said.append,
                            clock=ManualClock(PINNED_NOW))
    assert (result["in_sync"], result["duplicate_writes"], result["failed"]) == (True, 0, 0), said[-12:]
    assert result["bundle_writes"] > 0 and result["psa_writes"] > result["bundle_writes"]
