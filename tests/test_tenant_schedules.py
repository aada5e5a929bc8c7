"""Each tenant's jobs run when its own settings say (poll interval, digest hour, time zone), on the in-process
scheduler (SQLite: `bot.jobs.TenantMinutes`, once a minute) and on the job queue (PostgreSQL: the tick's
`due_jobs`), both from `bot.sync.schedule.due_tenant_jobs`. Time is the injected clock, moved minute by minute."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot import jobs
from bot.app_factory import create_context
from bot.config import Settings
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.models import Adjustment, AdjustmentStatus, AdjustmentTrigger
from bot.db.tenancy import DEFAULT_TENANT_ID, active_tenant_ids, current_tenant_id, ensure_tenant, tenant_scope
from bot.job_queue import due_jobs
from bot.jobs import BODIES, TENANT_MINUTES, scheduled_jobs
from bot.sync.minute_work import MinuteWork
from bot.sync.schedule import INSTALL_WIDE, SLACK_ONLY, JobId
from tests.conftest import TEST_SECRET_KEY
from tests.db.factories import marketplace_resource, psa_service

pytestmark = pytest.mark.db

START = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
async def two_tenants(database_url, tmp_path, clock):
    """A multi-workspace install with two workspaces: A polls every 5 minutes and has its digest at 08:00 UTC, B
    every 20 minutes and at 08:00 in Denver (15:00 UTC in November)."""
    context = create_context(Settings(database_url=database_url, data_dir=tmp_path, secret_key=TEST_SECRET_KEY),
                             clock=clock)
    context.tenant_per_workspace = True
    tenants = []
    for team, settings in (("T0ALPHA001", AppSettings(poll_minutes=5, digest_hour=8)),
                           ("T0BRAVO001", AppSettings(poll_minutes=20, digest_hour=8, timezone="America/Denver"))):
        async with context.sessions() as session:
            tenant = await ensure_tenant(session, team_id=team, enterprise_id=None, is_enterprise_install=False)
            await session.commit()
        with tenant_scope(tenant):
            async with context.sessions() as session:
                await save_app_settings(session=session, settings=settings, actor="test")
                await session.commit()
        tenants.append(tenant)
    yield context, tenants
    await context.engine.dispose()


@pytest.fixture
def ran(monkeypatch) -> list[tuple[int, JobId, datetime]]:
    """Every job body run: (tenant, job, the clock's minute)."""
    runs: list[tuple[int, JobId, datetime]] = []
    for job_id in list(BODIES):
        async def body(app_context, job_id=job_id) -> None:
            runs.append((current_tenant_id(), job_id, app_context.clock()))
        monkeypatch.setitem(BODIES, job_id, body)
    return runs


@pytest.fixture
def every_tenant_has_minute_work(monkeypatch) -> None:
    """Each tenant's outbox pass and failure alerts have work every minute (the scheduling tests below count
    them); `test_an_idle_tenant_has_no_outbox_pass_or_failure_alerts` runs without."""
    async def everyone(session, *, at) -> MinuteWork:
        tenants = frozenset(await active_tenant_ids(session))
        return MinuteWork(outbox=tenants, failure_alerts=tenants)

    monkeypatch.setattr(jobs, "minute_work", everyone)


def minutes(count: int, start: datetime = START) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(count)]


@pytest.mark.usefixtures("every_tenant_has_minute_work")
async def test_the_scheduler_runs_each_tenants_jobs_by_its_own_settings(two_tenants, ran, clock):
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    assert job.on_takeover
    clock.set(START)
    for minute in minutes(60):
        clock.set(minute)
        await job.run()
        await job.run.drain()

    polls = Counter(tenant for tenant, job_id, _ in ran if job_id is JobId.SYNC_POLL)
    assert (polls[a], polls[b]) == (12, 3)
    outbox = Counter(tenant for tenant, job_id, _ in ran if job_id is JobId.OUTBOX_RETRY)
    assert outbox[a] == outbox[b] == outbox[DEFAULT_TENANT_ID] == 60
    assert not [run for run in ran if run[1] in INSTALL_WIDE]  # the purge keeps its own hourly trigger

    ran.clear()  # a day, fired every half hour (each run takes the minutes since the last): A's digest at 08:00
    for minute in minutes(24 * 60, datetime(2026, 11, 17, 0, 0, tzinfo=UTC))[::30]:  # UTC, B's at 08:00 in Denver
        clock.set(minute)
        await job.run()
        await job.run.drain()
    digests = sorted((tenant, at.hour) for tenant, job_id, at in ran
                     if job_id is JobId.DAILY_DIGEST and tenant in (a, b))
    assert digests == [(a, 8), (b, 15)]


@pytest.mark.usefixtures("every_tenant_has_minute_work")
async def test_fires_missed_for_minutes_lose_no_tenants_due_job_and_run_none_twice(two_tenants, ran, clock):
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    clock.set(datetime(2026, 11, 17, 7, 58, tzinfo=UTC))
    await job.run()
    await job.run.drain()
    clock.set(datetime(2026, 11, 17, 8, 3, tzinfo=UTC))  # the 08:00 digest's minute went by unfired
    await job.run()
    await job.run.drain()
    await job.run()  # fired again in the same minute (a takeover): nothing more
    await job.run.drain()
    digests = [tenant for tenant, job_id, _ in ran if job_id is JobId.DAILY_DIGEST]
    assert digests == [a]  # the default tenant has no workspace to post a digest to
    # a job due in several of the minutes passed runs once for them all: one outbox pass covers 07:59 to 08:03
    assert Counter(t for t, job_id, _ in ran if job_id is JobId.OUTBOX_RETRY)[a] == 2


@pytest.mark.usefixtures("every_tenant_has_minute_work")
async def test_after_a_lease_won_again_the_minutes_another_instance_ran_are_not_run_again(two_tenants, ran, clock):
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    clock.set(datetime(2026, 11, 17, 7, 55, tzinfo=UTC))
    await job.run()
    job.on_lead()  # the lease went to another instance at 07:56 and came back at 08:05: 08:00 was its to run
    clock.set(datetime(2026, 11, 17, 8, 5, tzinfo=UTC))
    await job.run()
    await job.run.drain()
    assert [tenant for tenant, job_id, _ in ran if job_id is JobId.DAILY_DIGEST] == []
    assert Counter(t for t, job_id, _ in ran if job_id is JobId.OUTBOX_RETRY)[a] == 2  # 07:55, then 08:05


@pytest.mark.usefixtures("every_tenant_has_minute_work")
async def test_a_long_sync_cycle_holds_up_no_other_job_and_its_next_turn_runs_once(two_tenants, ran, clock,
                                                                                  monkeypatch):
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    release = asyncio.Event()
    recorded = BODIES[JobId.SYNC_POLL]

    async def polls_long_for_a(app_context) -> None:
        await recorded(app_context)
        if current_tenant_id() == a:
            await release.wait()

    monkeypatch.setitem(BODIES, JobId.SYNC_POLL, polls_long_for_a)
    due_for_a = [minute for minute in minutes(20) if JobId.SYNC_POLL in await due_jobs(context, a, minute)]
    run = minutes(int((due_for_a[2] - START) / timedelta(minutes=1)) + 1)  # until A's third poll falls due
    for minute in run:
        clock.set(minute)
        await job.run()
        await job.run.drain([JobId.OUTBOX_RETRY])
    assert len([1 for tenant, job_id, _ in ran if job_id is JobId.OUTBOX_RETRY and tenant == a]) == len(run)
    assert len([1 for tenant, job_id, _ in ran if job_id is JobId.SYNC_POLL and tenant == a]) == 1  # still on

    release.set()
    await job.run.drain()
    # its second and third polls fell due while the first ran: one more, not two
    assert len([1 for tenant, job_id, _ in ran if job_id is JobId.SYNC_POLL and tenant == a]) == 2


async def test_the_queue_defers_each_tenants_jobs_by_its_own_settings(two_tenants):
    context, (a, b) = two_tenants
    polls = Counter()
    digests = []
    day = datetime(2026, 11, 17, 0, 0, tzinfo=UTC)
    for minute in minutes(60, day) + minutes(120, day.replace(hour=7)) + minutes(120, day.replace(hour=14)):
        for tenant in (a, b):
            due = await due_jobs(context, tenant, minute)
            polls[tenant] += JobId.SYNC_POLL in due and minute.hour == 0
            if JobId.DAILY_DIGEST in due:
                digests.append((tenant, minute.hour))
    assert (polls[a], polls[b]) == (12, 3)
    assert digests == [(a, 8), (b, 15)]


async def test_an_idle_tenant_has_no_outbox_pass_or_failure_alerts(two_tenants, ran, clock):
    """Nothing due in any outbox and no failure to show: the minutes run no outbox pass and no alert refresh; an
    intent recorded for B is posted by B's pass in the next minute, and A still runs none."""
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    for minute in minutes(3):
        clock.set(minute)
        await job.run()
        await job.run.drain()
    assert [run for run in ran if run[1] in (JobId.OUTBOX_RETRY, JobId.FAILURE_ALERTS)] == []

    await an_intent_due(context, b)
    clock.set(START + timedelta(minutes=3))
    await job.run()
    await job.run.drain()
    assert [(tenant, job_id) for tenant, job_id, _ in ran if job_id in (JobId.OUTBOX_RETRY, JobId.FAILURE_ALERTS)] \
        == [(b, JobId.OUTBOX_RETRY)]


async def an_intent_due(context, tenant: int) -> None:
    with tenant_scope(tenant):
        async with context.sessions() as session:
            resource = await marketplace_resource(session, total=8)
            service = await psa_service(session, units=5)
            session.add(Adjustment(
                idempotency_key=f"k-{tenant}", resource_id=resource.id, psa_service_id=service.id, psa=service.psa,
                units_from=5, units_to=8, delta=3, effective_date=START.date(), prorated_amount=Decimal("1.00"),
                trigger=AdjustmentTrigger.sync, status=AdjustmentStatus.pending))
            await session.commit()


async def test_the_default_tenant_of_a_multi_workspace_install_queues_no_slack_only_job(two_tenants):
    """It was never installed through Slack: no token to post a checklist, digest or alert with."""
    context, (a, _) = two_tenants
    day = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # the digest, checklist and alerts all fall due this day
    due = {tenant: set() for tenant in (DEFAULT_TENANT_ID, a)}
    for minute in minutes(24 * 60, day):
        for tenant in due:
            due[tenant] |= set(await due_jobs(context, tenant, minute))
    assert due[DEFAULT_TENANT_ID] & SLACK_ONLY == set()
    assert {JobId.SYNC_POLL, JobId.OUTBOX_RETRY, JobId.INVOICE_ROUNDS} <= due[DEFAULT_TENANT_ID]
    assert {JobId.DAILY_DIGEST, JobId.MONTH_END_CHECKLIST, JobId.FAILURE_ALERTS} <= due[a]
    context.tenant_per_workspace = False  # the single-workspace install's one tenant keeps them all
    assert {JobId.DAILY_DIGEST, JobId.MONTH_END_CHECKLIST, JobId.FAILURE_ALERTS} <= {
        job_id for minute in minutes(24 * 60, day) for job_id in await due_jobs(context, DEFAULT_TENANT_ID, minute)}
