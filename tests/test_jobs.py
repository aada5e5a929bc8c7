"""Every scheduled job is built in one place (bot.jobs), each with its trigger from one table (bot.sync.schedule)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.db.app_settings import AppSettings
from bot.jobs import BODIES, INSTALL_WIDE, NEEDS_SLACK, for_each_tenant, scheduled_jobs
from bot.sync.schedule import SCHEDULE, JobId, settings_triggers

SETTINGS = AppSettings(poll_minutes=17, digest_hour=7, timezone="America/Denver")
WITH_SLACK = SimpleNamespace(bolt=SimpleNamespace(client=object()), tenant_per_workspace=False)
WITHOUT_SLACK = SimpleNamespace(bolt=None, tenant_per_workspace=False)


def test_every_job_has_one_timing_and_one_body():
    assert set(SCHEDULE) == set(BODIES) == set(JobId)
    assert len(JobId) == 10


def test_the_install_s_own_jobs_run_once_and_every_other_once_per_tenant():
    for job in scheduled_jobs(WITH_SLACK, SETTINGS):
        if job.id in INSTALL_WIDE:
            assert job.run.func is BODIES[job.id], job.id  # not wrapped: once for the install
        else:
            assert job.run.func is for_each_tenant and job.run.args[1] is BODIES[job.id], job.id
    assert {JobId.TENANT_PURGE} == INSTALL_WIDE


def test_with_slack_every_job_is_scheduled_in_the_tables_order():
    jobs = scheduled_jobs(WITH_SLACK, SETTINGS)
    assert [job.id for job in jobs] == list(SCHEDULE)


def test_without_slack_the_jobs_that_only_tell_slack_are_left_out():
    jobs = scheduled_jobs(WITHOUT_SLACK, SETTINGS)
    assert {job.id for job in jobs} == set(JobId) - NEEDS_SLACK
    assert {JobId.APPROVAL_MESSAGES, JobId.MARGIN_GUARD, JobId.HEALTH_ALERTS} == NEEDS_SLACK


def interval(trigger) -> timedelta:
    assert isinstance(trigger, IntervalTrigger)
    return trigger.interval


def cron(trigger) -> dict[str, str]:
    assert isinstance(trigger, CronTrigger)
    return {field.name: str(field) for field in trigger.fields if field.name in ("hour", "minute")} | {
        "timezone": str(trigger.timezone)}


@pytest.mark.parametrize(("job_id", "expected"), [
    pytest.param(JobId.SYNC_POLL, timedelta(minutes=17), id="sync poll at the poll interval"),
    pytest.param(JobId.MARGIN_GUARD, timedelta(minutes=17), id="margin guard at the poll interval"),
    pytest.param(JobId.OUTBOX_RETRY, timedelta(minutes=1), id="outbox every minute"),
    pytest.param(JobId.FAILURE_ALERTS, timedelta(minutes=1), id="failure alerts every minute"),
    pytest.param(JobId.APPROVAL_MESSAGES, timedelta(minutes=1), id="approvals every minute"),
    pytest.param(JobId.HEALTH_ALERTS, timedelta(minutes=1), id="health every minute"),
])
def test_interval_jobs(job_id, expected):
    job = next(job for job in scheduled_jobs(WITH_SLACK, SETTINGS) if job.id == job_id)
    assert interval(job.trigger) == expected


@pytest.mark.parametrize(("job_id", "minute"), [
    pytest.param(JobId.DAILY_DIGEST, "0", id="digest on the hour"),
    pytest.param(JobId.MONTH_END_CHECKLIST, "5", id="checklist five minutes later"),
    pytest.param(JobId.INVOICE_ROUNDS, "10", id="invoice rounds after the checklist"),
])
def test_daily_jobs_at_the_digest_hour_in_the_msps_time_zone(job_id, minute):
    job = next(job for job in scheduled_jobs(WITHOUT_SLACK, SETTINGS) if job.id == job_id)
    assert cron(job.trigger) == {"hour": "7", "minute": minute, "timezone": "America/Denver"}


def test_only_the_outbox_pass_runs_at_once_on_takeover():
    assert [job.id for job in scheduled_jobs(WITH_SLACK, SETTINGS) if job.on_takeover] == [JobId.OUTBOX_RETRY]


def test_a_config_save_reschedules_the_jobs_whose_timing_follows_the_settings():
    triggers = settings_triggers(SETTINGS)
    assert set(triggers) == {JobId.SYNC_POLL, JobId.MARGIN_GUARD, JobId.MONTH_END_CHECKLIST, JobId.DAILY_DIGEST,
                             JobId.INVOICE_ROUNDS}
    assert interval(triggers[JobId.MARGIN_GUARD]) == interval(triggers[JobId.SYNC_POLL]) == timedelta(minutes=17)
