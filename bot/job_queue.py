"""The scheduled jobs on PostgreSQL: procrastinate's queue, worked by every running instance.

With SQLite, one instance runs the jobs of `bot.jobs` on the in-process, lease-gated scheduler (bot.sync.scheduler).
With PostgreSQL, each `seatsync serve` is also one procrastinate worker (`run_worker`), and the same jobs are queue
jobs, one per tenant and job id:
- `seatsync.tick` (on a queue of its own with `retry_stalled`, worked by a second worker of each instance, so neither
  waits behind the tenants' cycles), a periodic task deferred once a minute for the whole cluster (procrastinate's
  periodic defers are unique per task and minute), reads each active tenant's settings and defers the tenant jobs
  due in that minute by its own settings (`bot.sync.schedule.due_tenant_jobs`, as the in-process scheduler's
  `bot.jobs.TenantMinutes`), the outbox pass and the failure alerts only for the tenants with work for them
  (`bot.sync.minute_work`, one statement for all: an idle tenant costs no job a minute);
- `seatsync.tenant_job(tenant_id, job_id)` runs one body of `bot.jobs.BODIES` for the tenant. Its `lock` and
  `queueing_lock` are "<tenant>:<job id>": one cycle per tenant at a time, cluster-wide, and at most one waiting;
- `seatsync.retry_stalled`, periodic every quarter lease, gives back to the queue the jobs of a worker whose
  heartbeat stopped (an instance killed mid-cycle), ahead of the jobs waiting (a higher priority, in place of the
  same job already waiting): another instance picks them up next. If the same job is queued again meanwhile, the
  stalled one is closed as failed instead, so its lock does not hold that one back. The stall checks share one
  `lock`: one left by an instance killed while checking would hold every later one back, so the tick closes it
  (`release_a_dead_stall_check`).
Worker heartbeats every quarter lease; a worker is stalled after one lease (`SEATSYNC_LEASE_SECONDS`), by when the
claims its posts held have expired (three quarters of a lease, bot.sync.claims) and the retried job takes them over.
A tenant job runs its body inside `tenant_scope(tenant)` (bot.db.tenancy), as `bot.jobs.for_each_tenant` does on
SQLite (sessions, the tenant's engine and secrets follow the scope), with the tenant's vendor request budgets
shared through the database (bot.db.rate_budgets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import procrastinate
from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.connectors.shared_budget import SHARED_BUDGET
from bot.db.connection_budget import QUEUE_POOL, ConnectionBudget, application_name
from bot.db.rate_budgets import TenantRateBudget
from bot.db.tenancy import active_tenant_ids, tenant_scope
from bot.jobs import BODIES
from bot.sync.claims import process_instance_id
from bot.sync.minute_work import minute_work
from bot.sync.schedule import JobId, due_tenant_jobs

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

QUEUE = "seatsync"  # the tenants' jobs
CONTROL_QUEUE = "seatsync-control"  # the tick and the stall check: a worker of their own, never behind a cycle
TENANT_JOB = "seatsync.tenant_job"
TICK = "seatsync.tick"
RETRY_STALLED = "seatsync.retry_stalled"
APP_CONTEXT = "app_context"  # the worker's additional context: the process's AppContext
PICKED_UP_FIRST = 10  # priority added to a stalled job queued again


def libpq_url(database_url: str) -> str:
    """SeatSync's SQLAlchemy URL (postgresql+asyncpg://...) as the libpq URL psycopg takes."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class QueueTiming:
    heartbeat_s: float
    stalled_after_s: float
    stall_check_every_s: int

    @classmethod
    def from_lease(cls, lease_seconds: float) -> QueueTiming:
        return cls(heartbeat_s=lease_seconds / 4, stalled_after_s=lease_seconds,
                   stall_check_every_s=min(59, max(1, round(lease_seconds / 4))))


def create_queue(settings: Settings) -> procrastinate.App:
    """The queue and its tasks (no connection is opened until `open_async`)."""
    timing = QueueTiming.from_lease(settings.lease_seconds)
    # the worker's jobs use SeatSync's own engine; the queue's pool serves fetching, heartbeats, defers and LISTEN
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(settings.database_url), min_size=1, max_size=QUEUE_POOL,
        kwargs={"application_name": application_name(process_instance_id())})  # the LISTEN connections' too
    queue = procrastinate.App(connector=connector)
    queue.task(name=TENANT_JOB, queue=QUEUE, pass_context=True)(tenant_job)
    queue.periodic(cron="* * * * *", periodic_id="minute")(
        queue.task(name=TICK, queue=CONTROL_QUEUE, pass_context=True, queueing_lock=TICK)(tick))
    # croniter reads a sixth field as the seconds: every N seconds is "* * * * * */N"
    queue.periodic(cron=f"* * * * * */{timing.stall_check_every_s}", periodic_id="stalls")(
        queue.task(name=RETRY_STALLED, queue=CONTROL_QUEUE, pass_context=True, lock=RETRY_STALLED,
                   queueing_lock=RETRY_STALLED)(retry_stalled))
    return queue


@contextlib.asynccontextmanager
async def run_worker(app_context: AppContext, *, queue: procrastinate.App | None = None) -> AsyncIterator[None]:
    """This process works the queue (and defers the periodic jobs with the others) until the block ends."""
    settings = app_context.settings
    timing = QueueTiming.from_lease(settings.lease_seconds)
    queue = queue or create_queue(settings)
    async with queue.open_async():
        workers = [asyncio.create_task(queue.run_worker_async(
            queues=[queue_name], name=f"{process_instance_id()}:{queue_name}", concurrency=concurrency,
            install_signal_handlers=False, additional_context={APP_CONTEXT: app_context},
            update_heartbeat_interval=timing.heartbeat_s, stalled_worker_timeout=timing.stalled_after_s,
            shutdown_graceful_timeout=10.0, delete_jobs="successful"))
            for queue_name, concurrency in ((QUEUE, settings.worker_concurrency), (CONTROL_QUEUE, 1))]
        log.info("this instance works the job queue (%d at a time); it holds %s", settings.worker_concurrency,
                 ConnectionBudget.for_settings(settings, queue=True).describe())
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker


@contextlib.contextmanager
def tenant_context(app_context: AppContext, tenant_id: int) -> Iterator[None]:
    """Act for the tenant (as `bot.jobs.for_each_tenant` does: sessions, engines and secrets follow the scope), its
    vendors' budgets shared with every instance."""
    with tenant_scope(tenant_id):
        budget = SHARED_BUDGET.set(TenantRateBudget(app_context.sessions, tenant_id))
        try:
            yield
        finally:
            SHARED_BUDGET.reset(budget)


async def due_jobs(app_context: AppContext, tenant_id: int, at: datetime) -> list[JobId]:
    """The tenant's jobs due in the minute starting at `at`, by its own settings (`bot.sync.schedule`)."""
    return await due_tenant_jobs(app_context.sessions, tenant_id, at, slack=app_context.bolt is not None,
                                 multi_workspace=app_context.tenant_per_workspace)


def job_lock(tenant_id: int, job_id: JobId) -> str:
    return f"tenant-{tenant_id}:{job_id}"


async def defer_tenant_job(queue: procrastinate.App, tenant_id: int, job_id: JobId) -> bool:
    """Queue one tenant job; False when the same one is already waiting."""
    key = job_lock(tenant_id, job_id)
    try:
        await queue.configure_task(TENANT_JOB, queue=QUEUE, lock=key, queueing_lock=key).defer_async(
            tenant_id=tenant_id, job_id=job_id.value)
    except AlreadyEnqueued:
        return False
    return True


async def tick(context: JobContext, timestamp: int) -> int:
    app_context: AppContext = context.additional_context[APP_CONTEXT]
    await release_a_dead_stall_check(context.app, QueueTiming.from_lease(app_context.settings.lease_seconds))
    at = datetime.fromtimestamp(timestamp, UTC)
    async with app_context.sessions() as session:
        tenants = await active_tenant_ids(session)
        work = await minute_work(session, at=app_context.clock())
    deferred = 0
    for tenant_id in tenants:
        for job_id in await due_jobs(app_context, tenant_id, at):
            if work.wanted(tenant_id, job_id):
                deferred += await defer_tenant_job(context.app, tenant_id, job_id)
    return deferred


async def tenant_job(context: JobContext, tenant_id: int, job_id: str) -> None:
    app_context: AppContext = context.additional_context[APP_CONTEXT]
    with tenant_context(app_context, tenant_id):
        await BODIES[JobId(job_id)](app_context)


async def release_a_dead_stall_check(queue: procrastinate.App, timing: QueueTiming) -> int:
    """A stall check left by a worker that stopped (an instance killed while checking) holds the checks' `lock`: no
    later one would run, and only a stall check queues a stalled job again. The tick (no lock) closes it as failed,
    so the next one runs. Returns how many it closed."""
    manager = queue.job_manager
    closed = 0
    for job in await manager.get_stalled_jobs(task_name=RETRY_STALLED, seconds_since_heartbeat=timing.stalled_after_s):
        try:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        except ConnectorException:  # another instance's tick closed it first
            continue
        closed += 1
        log.warning("the stall check %s was left by a stopped worker: closed, so the next one runs", job.id)
    return closed


async def retry_stalled(context: JobContext, timestamp: int) -> int:
    app_context: AppContext = context.additional_context[APP_CONTEXT]
    timing = QueueTiming.from_lease(app_context.settings.lease_seconds)
    manager = context.app.job_manager
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=timing.stalled_after_s):
        # ahead of the queue: a killed instance's tenants carry on before the jobs queued behind them
        if not await _retry_first(manager, job):
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            log.warning("job %s was left by a stopped worker; the next one is queued already", job.call_string)
            continue
        retried += 1
        log.warning("job %s was left by a stopped worker: queued again, first", job.call_string)
    return retried


async def _retry_first(manager, job) -> bool:
    """Queue the stalled job again with a higher priority, in place of the same job already waiting (cancelled: the
    queueing lock allows one). False when a new one was queued meanwhile."""
    if job.queueing_lock is not None:
        for waiting in await manager.list_jobs_async(queueing_lock=job.queueing_lock, status="todo"):
            await manager.cancel_job_by_id_async(waiting.id)
    try:
        await manager.retry_job(job, priority=job.priority + PICKED_UP_FIRST)
    except UniqueViolation:
        return False
    return True
