"""The jobs on PostgreSQL's queue (bot.job_queue): the minute tick defers each tenant's due jobs once, a tenant runs
one cycle at a time cluster-wide, a dead worker's job is queued again, and a tenant job runs with the tenant's
shared vendor budget. PostgreSQL only: skipped, saying why, without it. `tests/e2e/test_three_instances.py` runs the
queue across three `seatsync serve` processes."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from procrastinate.jobs import Status
from sqlalchemy import text

from bot.app_factory import create_context
from bot.config import Settings
from bot.connectors.shared_budget import SHARED_BUDGET
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.migrate import upgrade
from bot.db.rate_budgets import TenantRateBudget
from bot.db.tenancy import DEFAULT_TENANT_ID, current_tenant_id, ensure_tenant
from bot.job_queue import (
    APP_CONTEXT,
    QUEUE,
    TENANT_JOB,
        create_queue,
    defer_tenant_job,
    due_jobs,
    job_lock,
    retry_stalled,
    tenant_job,
    tick,
)
from bot.sync.schedule import JobId
from tests.conftest import TEST_SECRET_KEY
from tests.fresh_postgres import fresh_postgres_database


@pytest.fixture
async def queue_setup(tmp_path, clock):
    async for url in fresh_postgres_database("the job queue"):
        settings = Settings(database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET_KEY, lease_seconds=4.0)
        context = create_context(settings, clock=clock)
        await upgrade(context.engine)
        queue = create_queue(settings)
        async with queue.open_async():
            yield context, queue
        await context.engine.dispose()


def job_context(context, queue) -> SimpleNamespace:
    return SimpleNamespace(app=queue, additional_context={APP_CONTEXT: context})


async def jobs(queue, **filters) -> list:
    return list(await queue.job_manager.list_jobs_async(queue=QUEUE, **filters))


async def first_minute_with_the_poll_due(context) -> datetime:
    at = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    while JobId.SYNC_POLL not in await due_jobs(context, DEFAULT_TENANT_ID, at):
        at += timedelta(minutes=1)
    return at


async def test_the_tick_defers_each_due_job_of_each_tenant_once(queue_setup):
    context, queue = queue_setup
    at = await first_minute_with_the_poll_due(context)
    due = await due_jobs(context, DEFAULT_TENANT_ID, at)
    assert JobId.OUTBOX_RETRY in due and JobId.DAILY_DIGEST not in due  # the digest is due at 08:00 only
    assert await tick(job_context(context, queue), int(at.timestamp())) == len(due)
    # the tick of another instance, or the next minute's while these still wait: nothing more is queued
    assert await tick(job_context(context, queue), int(at.timestamp()) + 60) == 0
    waiting = await jobs(queue, task=TENANT_JOB, status="todo")
    assert sorted(job.task_kwargs["job_id"] for job in waiting) == sorted(due)
    assert {job.lock for job in waiting} == {job_lock(DEFAULT_TENANT_ID, job_id) for job_id in due}


async def test_the_tick_follows_the_settings_saved_since_the_last_minute(queue_setup):
    context, _ = queue_setup
    at = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    polls = [at + timedelta(minutes=m) for m in range(60)
             if JobId.SYNC_POLL in await due_jobs(context, DEFAULT_TENANT_ID, at + timedelta(minutes=m))]
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(poll_minutes=20), actor="test")
        await session.commit()
    later = [at + timedelta(minutes=m) for m in range(60)
             if JobId.SYNC_POLL in await due_jobs(context, DEFAULT_TENANT_ID, at + timedelta(minutes=m))]
    assert (len(polls), len(later)) == (12, 3)


async def test_a_tenant_runs_one_cycle_at_a_time_across_workers(queue_setup):
    _, queue = queue_setup
    manager = queue.job_manager
    workers = [await manager.register_worker() for _ in range(2)]
    assert await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)
    running = await manager.fetch_job(queues=[QUEUE], worker_id=workers[0])
    assert running is not None
    assert await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)  # the next one may wait meanwhile
    assert not await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)  # but only one
    assert await manager.fetch_job(queues=[QUEUE], worker_id=workers[1]) is None  # the tenant's lock is held
    await manager.finish_job(running, status=Status.SUCCEEDED, delete_job=False)
    assert (await manager.fetch_job(queues=[QUEUE], worker_id=workers[1])) is not None


async def stall(context, worker_id: int) -> None:
    async with context.engine.begin() as connection:
        await connection.execute(text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
                                      "WHERE id = :id"), {"id": worker_id})


async def test_a_dead_workers_job_is_queued_again_for_another(queue_setup):
    context, queue = queue_setup
    manager = queue.job_manager
    dead, alive = await manager.register_worker(), await manager.register_worker()
    await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)
    left = await manager.fetch_job(queues=[QUEUE], worker_id=dead)
    assert await retry_stalled(job_context(context, queue), 0) == 0  # its worker is alive: not stalled
    await stall(context, dead)
    assert await retry_stalled(job_context(context, queue), 0) == 1
    again = await manager.fetch_job(queues=[QUEUE], worker_id=alive)
    assert again is not None and again.id == left.id and again.attempts == 1


async def test_a_dead_workers_job_goes_ahead_of_the_queue_in_place_of_its_waiting_successor(queue_setup):
    context, queue = queue_setup
    manager = queue.job_manager
    dead, alive = await manager.register_worker(), await manager.register_worker()
    await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)
    left = await manager.fetch_job(queues=[QUEUE], worker_id=dead)
    await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)  # the next poll, queued behind its lock
    await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.OUTBOX_RETRY)  # and other work queued meanwhile
    await stall(context, dead)
    assert await retry_stalled(job_context(context, queue), 0) == 1
    first = await manager.fetch_job(queues=[QUEUE], worker_id=alive)
    assert first is not None and first.id == left.id  # ahead of the outbox pass queued before it
    assert [job.status for job in await jobs(queue, task=TENANT_JOB, status="cancelled")] == ["cancelled"]


async def test_a_tenant_job_runs_its_body_in_the_tenants_scope_with_its_shared_budget(queue_setup, monkeypatch):
    context, queue = queue_setup
    seen = []

    async def body(app_context) -> None:
        seen.append((app_context, SHARED_BUDGET.get(), current_tenant_id()))

    monkeypatch.setitem(__import__("bot.job_queue").job_queue.BODIES, JobId.OUTBOX_RETRY, body)
    async with context.sessions() as session:
        other = await ensure_tenant(session, team_id="T0OTHER", enterprise_id=None, is_enterprise_install=False)
        await session.commit()
    await tenant_job(job_context(context, queue), other, JobId.OUTBOX_RETRY.value)
    [(app_context, budget, tenant)] = seen
    assert app_context is context and isinstance(budget, TenantRateBudget) and budget.tenant_id == tenant == other
    assert SHARED_BUDGET.get() is None  # only while the job runs
