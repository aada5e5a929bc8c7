"""The jobs on PostgreSQL's queue (bot.job_queue): the minute tick defers each tenant's due jobs once, a tenant runs
one cycle at a time cluster-wide, a dead worker's job is queued again, and a tenant job runs with the tenant's
shared vendor budget. PostgreSQL only: skipped, saying why, without it. `tests/e2e/test_three_instances.py` runs the
queue across three `seatsync serve` processes."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from procrastinate.jobs import Status
from sqlalchemy import text

from bot import job_queue
from bot.app_factory import create_context
from bot.config import Settings
from bot.connectors.shared_budget import SHARED_BUDGET
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.migrate import upgrade
from bot.db.models import AdjustmentStatus
from bot.db.rate_budgets import TenantRateBudget
from bot.db.tenancy import DEFAULT_TENANT_ID, active_tenant_ids, current_tenant_id, ensure_tenant
from bot.demo.workspace import open_workspace
from bot.job_queue import (
    APP_CONTEXT,
    CONTROL_QUEUE,
    QUEUE,
    RETRY_STALLED,
    TENANT_JOB,
    create_queue,
    defer_tenant_job,
    due_jobs,
    job_lock,
    retry_stalled,
    tenant_job,
    tick,
)
from bot.sandbox.app import Sandbox
from bot.sync.minute_work import MinuteWork
from bot.sync.schedule import JobId
from tests.conftest import TEST_SECRET_KEY
from tests.fresh_postgres import fresh_postgres_database
from tests.sync.engine_setup import adjustments, pending_intent


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


async def test_the_tick_defers_each_due_job_of_each_tenant_once(queue_setup, monkeypatch):
    context, queue = queue_setup
    monkeypatch.setattr(job_queue, "minute_work", every_tenant_has_minute_work)
    at = await first_minute_with_the_poll_due(context)
    due = await due_jobs(context, DEFAULT_TENANT_ID, at)
    assert JobId.OUTBOX_RETRY in due and JobId.DAILY_DIGEST not in due  # the digest is due at 08:00 only
    assert await tick(job_context(context, queue), int(at.timestamp())) == len(due)
    # the tick of another instance, or the next minute's while these still wait: nothing more is queued
    assert await tick(job_context(context, queue), int(at.timestamp()) + 60) == 0
    waiting = await jobs(queue, task=TENANT_JOB, status="todo")
    assert sorted(job.task_kwargs["job_id"] for job in waiting) == sorted(due)
    assert {job.lock for job in waiting} == {job_lock(DEFAULT_TENANT_ID, job_id) for job_id in due}


async def every_tenant_has_minute_work(session, *, at) -> MinuteWork:
    tenants = frozenset(await active_tenant_ids(session))
    return MinuteWork(outbox=tenants, failure_alerts=tenants)


async def minute_without_the_poll(context, after: datetime) -> datetime:
    at = after + timedelta(minutes=1)
    while JobId.SYNC_POLL in await due_jobs(context, DEFAULT_TENANT_ID, at):
        at += timedelta(minutes=1)
    return at


async def waiting_job_ids(queue) -> list[str]:
    return sorted(job.task_kwargs["job_id"] for job in await jobs(queue, task=TENANT_JOB, status="todo"))


async def test_the_tick_defers_an_outbox_pass_only_for_an_intent_due_and_the_queue_posts_it(queue_setup, clock,
                                                                                              today):
    """An idle tenant costs no outbox pass or failure-alert refresh a minute; an intent recorded between two ticks
    is posted by the next tick's pass, worked by a real worker, with the real connectors against the simulators."""
    context, queue = queue_setup
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=context.settings.database_url,
                                     secret_key=TEST_SECRET_KEY, marketplace="ingram", psa="connectwise", clock=clock)
    workspace.names = ("ingram", "connectwise")

    async def the_workspace_engine():
        return workspace.engine

    context.engine_source = the_workspace_engine
    try:
        at = await minute_without_the_poll(context, datetime(2026, 11, 16, 12, 0, tzinfo=UTC))
        assert await tick(job_context(context, queue), int(at.timestamp())) == 0
        assert await waiting_job_ids(queue) == []  # nothing due: no outbox pass, no failure alerts

        line, _ = await pending_intent(workspace, 5, 9)  # recorded, not posted (a process stopped before posting)
        at = await minute_without_the_poll(context, at)
        assert await tick(job_context(context, queue), int(at.timestamp())) == 1
        assert await waiting_job_ids(queue) == [JobId.OUTBOX_RETRY]
        await queue.run_worker_async(queues=[QUEUE], wait=False, install_signal_handlers=False,
                                     additional_context={APP_CONTEXT: context})
        assert line.psa_units == 9
        assert [(a.status, a.units_to) for a in await adjustments(workspace)][-1] == (AdjustmentStatus.posted, 9)

        at = await minute_without_the_poll(context, at)
        assert await tick(job_context(context, queue), int(at.timestamp())) == 0  # posted: idle again
    finally:
        await workspace.close()


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


async def test_a_stall_check_left_by_a_dead_worker_is_closed_by_the_next_tick_so_stall_checks_run_again(queue_setup):
    """The stall checks share one lock: one left 'doing' by a killed instance held every later one back for good."""
    context, queue = queue_setup
    manager = queue.job_manager
    dead, alive = await manager.register_worker(), await manager.register_worker()
    await queue.configure_task(RETRY_STALLED).defer_async(timestamp=0)
    left = await manager.fetch_job(queues=[CONTROL_QUEUE], worker_id=dead)
    assert left is not None and left.task_name == RETRY_STALLED
    await stall(context, dead)
    await queue.configure_task(RETRY_STALLED).defer_async(timestamp=5)
    assert await manager.fetch_job(queues=[CONTROL_QUEUE], worker_id=alive) is None  # held back by its lock

    at = await minute_without_the_poll(context, datetime(2026, 11, 16, 12, 0, tzinfo=UTC))
    await tick(job_context(context, queue), int(at.timestamp()))

    following = await manager.fetch_job(queues=[CONTROL_QUEUE], worker_id=alive)
    assert following is not None and following.task_name == RETRY_STALLED and following.id != left.id
    assert [job.id for job in await manager.list_jobs_async(task=RETRY_STALLED, status="failed")] == [left.id]
