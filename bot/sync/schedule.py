"""When each scheduled job runs: every job id and its trigger, in one table.

`bot.jobs` builds the jobs from this table and `/seats config` reschedules, without a restart, the jobs whose
timing follows the stored settings (`LeaderScheduler.reschedule(settings_triggers(settings))`). The scheduler is
lease-gated (`bot.sync.scheduler`): only the leader runs a job; `on_takeover` jobs also run at once when an
instance becomes the leader. On PostgreSQL the job queue (`bot.job_queue`) reads the same table once a minute:
`due(trigger, at, spread=...)` says whether a tenant's job is due in the minute starting at `at`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum, unique

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.app_settings import AppSettings, load_app_settings
from bot.db.tenancy import DEFAULT_TENANT_ID, tenant_scope


@unique
class JobId(StrEnum):
    """Stable ids: APScheduler replaces a job of the same id, so a restart never doubles one."""

    SYNC_POLL = "sync-poll"  # a sync cycle: read both sides, plan, post
    OUTBOX_RETRY = "outbox-retry"  # post what is due: new intents, retries, claims a dead process left
    FAILURE_ALERTS = "failure-alerts"  # one kept Slack alert per failure cause
    APPROVAL_MESSAGES = "approval-messages"  # one kept message per company per day of changes to approve
    MARGIN_GUARD = "margin-guard"  # margin alerts, after the sync cycles
    HEALTH_ALERTS = "health-alerts"  # connector health alerts
    MONTH_END_CHECKLIST = "month-end-checklist"  # the day is checked inside: "N days before month end" has no cron
    DAILY_DIGEST = "daily-digest"
    INVOICE_ROUNDS = "invoice-rounds"  # invoices from the 5th, the draft preview before month end (days checked inside)
    TENANT_PURGE = "tenant-purge"  # delete the data of workspaces uninstalled longer than the retention


@dataclass(frozen=True)
class Timing:
    trigger: Callable[[AppSettings], BaseTrigger]
    follows_settings: bool = False  # rescheduled when /seats config saves the settings
    on_takeover: bool = False  # also run at once when this instance becomes the leader


def _every_minute(_: AppSettings) -> BaseTrigger:
    return IntervalTrigger(minutes=1)


def _hourly(_: AppSettings) -> BaseTrigger:
    return IntervalTrigger(hours=1)


def _at_poll_interval(settings: AppSettings) -> BaseTrigger:
    return IntervalTrigger(minutes=settings.poll_minutes)


def _daily_at_digest_hour(settings: AppSettings) -> BaseTrigger:
    return CronTrigger(hour=settings.digest_hour, minute=0, timezone=settings.timezone)


def _daily_after_the_digest(settings: AppSettings) -> BaseTrigger:
    return CronTrigger(hour=settings.digest_hour, minute=5, timezone=settings.timezone)


def _daily_after_the_checklist(settings: AppSettings) -> BaseTrigger:
    return CronTrigger(hour=settings.digest_hour, minute=10, timezone=settings.timezone)


SCHEDULE: dict[JobId, Timing] = {  # in the order the jobs are added to the scheduler
    JobId.SYNC_POLL: Timing(_at_poll_interval, follows_settings=True),
    JobId.OUTBOX_RETRY: Timing(_every_minute, on_takeover=True),
    JobId.MONTH_END_CHECKLIST: Timing(_daily_after_the_digest, follows_settings=True),
    JobId.DAILY_DIGEST: Timing(_daily_at_digest_hour, follows_settings=True),
    JobId.INVOICE_ROUNDS: Timing(_daily_after_the_checklist, follows_settings=True),
    JobId.FAILURE_ALERTS: Timing(_every_minute),  # after the outbox passes
    JobId.APPROVAL_MESSAGES: Timing(_every_minute),
    JobId.MARGIN_GUARD: Timing(_at_poll_interval, follows_settings=True),  # after the sync cycles
    JobId.HEALTH_ALERTS: Timing(_every_minute),
    JobId.TENANT_PURGE: Timing(_hourly),
}


# the jobs that only tell Slack: none without Slack
NEEDS_SLACK = frozenset({JobId.APPROVAL_MESSAGES, JobId.MARGIN_GUARD, JobId.HEALTH_ALERTS})
# the jobs that do nothing but post to the tenant's workspace: none for a tenant without one (in multi-workspace
# mode, the default tenant, never installed through Slack). Without Slack at all, the checklist and the digest still
# run, to say in the log that they were due.
SLACK_ONLY = NEEDS_SLACK | {JobId.FAILURE_ALERTS, JobId.MONTH_END_CHECKLIST, JobId.DAILY_DIGEST}
# the install's own jobs, not a tenant's: run once, in the default tenant's scope
INSTALL_WIDE = frozenset({JobId.TENANT_PURGE})


def job_trigger(job_id: JobId, settings: AppSettings) -> BaseTrigger:
    return SCHEDULE[job_id].trigger(settings)


def settings_triggers(settings: AppSettings) -> dict[str, BaseTrigger]:
    """The triggers of the jobs whose timing comes from the settings, by job id (what a config save reschedules)."""
    return {job_id: timing.trigger(settings) for job_id, timing in SCHEDULE.items() if timing.follows_settings}


def due(trigger: BaseTrigger, at: datetime, *, spread: str = "") -> bool:
    """Whether `trigger` fires in the minute that starts at `at` (aware). An interval of N minutes fires on every
    Nth minute since the epoch, shifted by a hash of `spread` (the tenant), so tenants' polls do not all start in one
    minute; a cron trigger fires when its next fire time from the minute's start is that minute."""
    minute = at.replace(second=0, microsecond=0)
    if isinstance(trigger, IntervalTrigger):
        every = max(1, round(trigger.interval_length / 60))
        shift = zlib.crc32(spread.encode()) % every if spread else 0
        return (int(minute.timestamp()) // 60 + shift) % every == 0
    fire = trigger.get_next_fire_time(None, minute)
    return fire is not None and fire < minute.replace(second=59, microsecond=999_999)


async def due_tenant_jobs(sessions: async_sessionmaker[AsyncSession], tenant_id: int, at: datetime, *,
                          slack: bool, multi_workspace: bool = False) -> list[JobId]:
    """The tenant's jobs due in the minute starting at `at`, by its own stored settings (poll interval, digest hour,
    time zone), in the schedule's order; the install-wide ones go with the default tenant's, so they run once.
    `slack`: Slack is configured (else the jobs that only tell Slack are left out); `multi_workspace`: a tenant per
    workspace (the default tenant has none: its Slack-only jobs are left out)."""
    return due_job_ids(await tenant_settings(sessions, tenant_id), tenant_id, at, slack=slack,
                       multi_workspace=multi_workspace)


async def tenant_settings(sessions: async_sessionmaker[AsyncSession], tenant_id: int) -> AppSettings:
    with tenant_scope(tenant_id):
        async with sessions() as session:
            return await load_app_settings(session=session)


def due_job_ids(settings: AppSettings, tenant_id: int, at: datetime, *, slack: bool,
                multi_workspace: bool = False) -> list[JobId]:
    """`due_tenant_jobs` with the tenant's settings in hand."""
    no_workspace = multi_workspace and tenant_id == DEFAULT_TENANT_ID
    return [job_id for job_id, timing in SCHEDULE.items()
            if (slack or job_id not in NEEDS_SLACK)
            and not (no_workspace and job_id in SLACK_ONLY)
            and (tenant_id == DEFAULT_TENANT_ID or job_id not in INSTALL_WIDE)
            and due(timing.trigger(settings), at, spread=str(tenant_id))]
