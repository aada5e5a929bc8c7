"""Each tenant's jobs run when its own settings say (poll interval, digest hour, time zone), on the in-process
scheduler (SQLite: `bot.jobs.TenantMinutes`, once a minute) and on the job queue (PostgreSQL: the tick's
`due_jobs`), both from `bot.sync.schedule.due_tenant_jobs`. Time is the injected clock, moved minute by minute."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.app_factory import create_context
from bot.config import Settings
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.tenancy import DEFAULT_TENANT_ID, current_tenant_id, ensure_tenant, tenant_scope
from bot.job_queue import due_jobs
from bot.jobs import BODIES, TENANT_MINUTES, scheduled_jobs
from bot.sync.schedule import INSTALL_WIDE, JobId
from tests.conftest import TEST_SECRET_KEY

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


def minutes(count: int, start: datetime = START) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(count)]


async def test_the_scheduler_runs_each_tenants_jobs_by_its_own_settings(two_tenants, ran, clock):
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    assert job.on_takeover
    clock.set(START)
    for minute in minutes(60):
        clock.set(minute)
        await job.run()

    polls = Counter(tenant for tenant, job_id, _ in ran if job_id is JobId.SYNC_POLL)
    assert (polls[a], polls[b]) == (12, 3)
    outbox = Counter(tenant for tenant, job_id, _ in ran if job_id is JobId.OUTBOX_RETRY)
    assert outbox[a] == outbox[b] == outbox[DEFAULT_TENANT_ID] == 60
    assert not [run for run in ran if run[1] in INSTALL_WIDE]  # the purge keeps its own hourly trigger

    ran.clear()  # a day, fired every half hour (each run takes the minutes since the last): A's digest at 08:00
    for minute in minutes(24 * 60, datetime(2026, 11, 17, 0, 0, tzinfo=UTC))[::30]:  # UTC, B's at 08:00 in Denver
        clock.set(minute)
        await job.run()
    digests = sorted((tenant, at.hour) for tenant, job_id, at in ran
                     if job_id is JobId.DAILY_DIGEST and tenant in (a, b))
    assert digests == [(a, 8), (b, 15)]


async def test_a_run_that_took_minutes_misses_no_tenants_due_job_and_runs_none_twice(two_tenants, ran, clock):
    context, (a, b) = two_tenants
    job = next(job for job in scheduled_jobs(context, AppSettings()) if job.id == TENANT_MINUTES)
    clock.set(datetime(2026, 11, 17, 7, 58, tzinfo=UTC))
    await job.run()
    clock.set(datetime(2026, 11, 17, 8, 3, tzinfo=UTC))  # the 08:00 digest's minute went by during a long run
    await job.run()
    await job.run()  # fired again in the same minute (a takeover): nothing more
    digests = [tenant for tenant, job_id, _ in ran if job_id is JobId.DAILY_DIGEST]
    assert sorted(digests) == sorted([DEFAULT_TENANT_ID, a])
    # a job due in several of the minutes passed runs once for them all: one outbox pass covers 07:59 to 08:03
    assert Counter(t for t, job_id, _ in ran if job_id is JobId.OUTBOX_RETRY)[a] == 2


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
