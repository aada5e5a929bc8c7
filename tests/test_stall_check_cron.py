"""When the job queue's stall check runs (bot.job_queue): every quarter lease, in seconds, as croniter (procrastinate's
cron reader) reads the cron it is registered with; a killed instance's jobs wait for it after the lease. No database:
the queue opens no connection until used."""

from datetime import UTC, datetime

import pytest
from croniter import croniter

from bot.config import Settings
from bot.job_queue import RETRY_STALLED, QueueTiming, create_queue
from tests.e2e.bench_serve import every_n_seconds

START = datetime(2026, 12, 7, 8, 26, 59, tzinfo=UTC)  # a second before a minute that is not a multiple of N


def fire_gaps(cron: str) -> tuple[float, set[float]]:
    """Seconds from START to the first firing, and the gaps between the next firings."""
    fires = croniter(cron, START)
    times = [fires.get_next(datetime) for _ in range(5)]
    return (times[0] - START).total_seconds(), {(b - a).total_seconds() for a, b in zip(times, times[1:])}


def stall_cron(lease_seconds: float) -> str:
    queue = create_queue(Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/unused",
                                  lease_seconds=lease_seconds))
    return queue.periodic_registry.periodic_tasks[(RETRY_STALLED, "stalls")].cron


@pytest.mark.parametrize("lease", [6.0, 20.0, 60.0])
def test_the_stall_check_runs_every_quarter_lease(lease):
    every = QueueTiming.from_lease(lease).stall_check_every_s
    first, gaps = fire_gaps(stall_cron(lease))
    assert first <= every and gaps == {every}


@pytest.mark.parametrize("lease", [6.0, 20.0, 60.0])
def test_the_benchs_stand_in_runs_it_every_quarter_lease(lease):
    every = QueueTiming.from_lease(lease).stall_check_every_s
    first, gaps = fire_gaps(every_n_seconds(stall_cron(lease)))
    assert first <= every and gaps == {every}
    assert every_n_seconds("* * * * *") == "* * * * *"
