"""Three `seatsync serve` on one PostgreSQL database, each a worker of the job queue, serving three tenants: each
tenant's cycles run on whichever instance is free, one at a time per tenant; SIGKILL the instance running one while
it posts, and another picks the job up after the dead worker's heartbeat lapses (one lease), takes its claims over
and finishes the cycle. Every tenant synced, nothing lost, nothing posted twice (counted in the PSA simulator), no
tenant's read paths showed another's rows, and no instance held more PostgreSQL connections than it states.
PostgreSQL only: the test creates its own database at 127.0.0.1:5432 and drops it; it skips, saying why, when
nothing answers there. `bench/tenants_scale.py` runs the same with many tenants."""

from __future__ import annotations

import pytest

from tests.e2e.queue_harness import QueueOptions, run_queue_failover
from tests.fresh_postgres import fresh_postgres_database


@pytest.fixture
async def postgres_database():
    async for url in fresh_postgres_database("three instances on one job queue"):
        yield url


async def test_a_killed_instances_cycle_is_picked_up_by_another_and_nothing_is_lost_or_doubled(
        postgres_database, tmp_path):
    options = QueueOptions()
    run = await run_queue_failover(options, database_url=postgres_database, workdir=tmp_path)

    figures = run.figures()
    verdict = run.verdict
    assert verdict is not None and set(run.settle_codes.values()) == {0}, figures
    assert verdict.clean, "\n".join([str(figures), *verdict.problems()])
    assert verdict.repeated_intent == [] and verdict.writes > 0, figures
    assert run.claims_at_kill >= 1 and run.killed_tenants, figures  # killed while it posted
    assert run.tenants_synced == options.tenants, figures
    assert run.picked_up_by and run.picked_up_by != run.killed, figures
    assert run.synced_s is not None and run.claims_taken_over_s is not None, figures
    assert run.overlapping_cycles == 0, figures
    assert run.cross_tenant_reads == 0, figures
    # every instance was seen (its connections carry its name) and held no more than it states at start
    assert all(0 < held <= options.connection_budget for held in run.peak_connections.values()), figures
