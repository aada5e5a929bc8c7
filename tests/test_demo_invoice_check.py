"""`seatsync demo --once --invoice-check`: the simulators plant one of each discrepancy in an invoice month and
SeatSync's check finds every one and nothing else, read from the simulators (Pax8's invoice API, Ingram's rated-data
report)."""

from __future__ import annotations

import io

import pytest

from bot.clock import ManualClock
from bot.demo.progress import Progress
from bot.demo.scripted import DemoOptions, run_once
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY


@pytest.mark.parametrize("marketplace", ["pax8", "ingram"])
async def test_every_planted_discrepancy_is_found_and_nothing_else(marketplace) -> None:
    said: list[str] = []
    result = await run_once(DemoOptions(psa="autotask", marketplace=marketplace, days=1, seed=11, invoice_check=True,
                                        secret_key=TEST_SECRET_KEY), say=said.append,
                            clock=ManualClock(PINNED_NOW), progress=Progress(stream=io.StringIO()))
    assert result["invoice_month"] == "2027-01"  # the month after the one the world moves into
    assert result["checked"] is True and result["invoice_lines"] > 0
    assert (result["planted"], result["found_planted"], result["false_findings"]) == (6, 6, 0), said[-12:]
    # the generated world's own true discrepancies, from the simulators' books, counted apart: each one found, and
    # each excusing one finding only
    assert result["known"] > 0 and result["found_known"] == result["known"]
    assert float(result["under_billed"]) > 0 and float(result["billing_for_nothing"]) > 0
