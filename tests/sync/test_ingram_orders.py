"""Ingram through the engine, whether or not a seat change moves `lastModifiedDate` (the simulator's knob): each
change is planned and posted at the next incremental cycle, a second change the same day too, and a cycle that
follows without a change fetches no subscription (counted in the simulator's own request log)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="ingram", psa="connectwise", clock=clock)
    yield workspace
    await workspace.close()


@pytest.mark.parametrize("bumped", [True, False], ids=["date-bumped", "date-not-bumped"])
async def test_two_changes_the_same_day_each_reach_the_psa_at_the_next_cycle(workspace, clock, bumped):
    world = workspace.sandbox.world
    world.seat_change_bumps_last_modified = bumped
    line, = pick_lines(world, "connectwise", 1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, "ingram")
    await workspace.engine.post_outbox(ignore_backoff=True)

    async def cycle() -> list[tuple[int, int]]:
        clock.advance(timedelta(minutes=5))  # the next poll: the engine's cursor moves on
        world.ingram_requests.clear()
        report = await workspace.engine.run_cycle(trigger="test")
        return [(change.resource_link_id, change.units_to) for change in report.planned]

    for total in (line.market.ordered + 3, line.market.ordered + 5):
        line.set_market_total(total)
        assert await cycle() == [(link_id, total)]
        assert line.psa_units == total
        assert [c for c in world.ingram_requests if c.startswith("GET /subscriptions/")] == [
            "GET /subscriptions/{id}"]
    assert await cycle() == []
    assert not [c for c in world.ingram_requests if c.startswith("GET /subscriptions/")]
