"""The scripted Autotask demo with decreases dated at the next period's start (bench/next_period_demo.py), as the
product dates them by default: Autotask holds each such decrease at once and bills it from its day.

Two things left the run's PSA above or below the marketplace at its end, neither a lost change:
- a decrease on an annual term is dated at its anniversary, and when that falls after the end of the Autotask
  contract it goes on, posting holds it (Autotask refuses an adjustment dated outside its contract) until the
  contract runs past that day: the verdict names these apart (`waiting_past_contract_end`);
- seats bought back beyond a decrease already held for a later day bill from today first, and the next cycle
  cancels the decrease at its day: the run now ends with the last day's next cycle, as a day's polls would.
"""

from __future__ import annotations

import io

from bot.demo.progress import Progress
from bot.demo.scripted import DemoOptions, run_once
from tests.conftest import TEST_SECRET_KEY


async def test_decreases_at_the_next_period_end_in_sync_but_for_those_waiting_past_their_contract(
        database_url, clock) -> None:
    said: list[str] = []
    result = await run_once(DemoOptions(psa="autotask", days=5, seed=4, decreases_today=False,
                                        database_url=database_url, secret_key=TEST_SECRET_KEY),
                            say=said.append, clock=clock, progress=Progress(stream=io.StringIO()))

    assert [line for line in said if "out of sync" in line] == []
    assert result["in_sync"] is True and result["duplicate_writes"] == 0
    assert result["psa_writes"] == result["adjustments_posted"] and result["failed"] == 0
    waiting = [line for line in said if line.startswith("  waiting past its contract's end: ")]
    assert len(waiting) == result["waiting_past_contract_end"] > 0
    assert any(line.startswith("  the same day's next cycle: ") for line in said)
