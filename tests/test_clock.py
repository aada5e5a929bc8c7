"""The one clock (bot/clock.py) and the demo's clock, which moves a day when the simulated world does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import ManualClock, OffsetClock
from bot.demo.workspace import demo_clock, open_workspace
from bot.domain.proration import business_date
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY


def test_a_manual_clock_stands_still_until_moved_and_reads_utc():
    clock = ManualClock(datetime.fromisoformat("2027-03-14T01:59:00-05:00"))
    assert clock() == clock() == datetime(2027, 3, 14, 6, 59, tzinfo=UTC)
    clock.advance(timedelta(minutes=2))
    assert clock() == datetime(2027, 3, 14, 7, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2027, 3, 14))


def test_an_offset_clock_follows_its_base_shifted():
    base = ManualClock(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    clock = OffsetClock(base, offset=timedelta(days=59))
    assert clock() == datetime(2027, 2, 28, 23, 59, tzinfo=UTC)
    base.advance(timedelta(minutes=2))
    clock.advance(timedelta(days=1))
    assert clock() == datetime(2027, 3, 2, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(("timezone", "first_day"), [
    ("America/New_York", date(2027, 3, 12)),  # clocks go forward on Sunday 14 March
    ("Europe/London", date(2027, 3, 26)),  # and on Sunday 28 March
    ("America/New_York", date(2026, 10, 30)),  # back on Sunday 1 November
    ("Pacific/Auckland", date(2028, 2, 27)),  # a leap day, far from UTC
    ("UTC", date(2026, 12, 30)),
])
def test_the_demo_clock_starts_at_noon_of_the_world_s_day_and_keeps_its_date_across_dst(timezone, first_day):
    base = ManualClock(datetime(2031, 7, 9, 3, 17, tzinfo=UTC))  # the machine's clock: any time at all
    clock = demo_clock(first_day, timezone, base)
    assert business_date(clock(), timezone) == first_day
    for passed in range(1, 5):
        clock.advance(timedelta(days=1))
        base.advance(timedelta(minutes=1))  # a minute of real time between simulated days
        assert business_date(clock(), timezone) == first_day + timedelta(days=passed)


async def test_a_day_passing_in_the_demo_moves_the_world_and_seatsync_s_clock_together(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=2, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    try:
        assert workspace.clock() == clock() and workspace.engine.today() == today
        report = workspace.pass_day()
        assert report.day == sandbox.world.today == workspace.engine.today() == today + timedelta(days=1)
        assert workspace.clock() == clock() + timedelta(days=1)

        workspace.jump_to(today + timedelta(days=40))  # a test skipping ahead
        assert workspace.engine.today() == today + timedelta(days=40)
        with pytest.raises(ValueError, match="only moves forward"):
            workspace.jump_to(today)
        sandbox.world.today += timedelta(days=2)  # a day passed through the sandbox's own admin route
        workspace.follow_world()
        assert workspace.engine.today() == today + timedelta(days=42)
    finally:
        await workspace.close()
