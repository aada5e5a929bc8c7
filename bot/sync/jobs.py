"""The scheduled jobs, with stable ids: poll (a sync cycle), post the outbox (new intents and due
retries), the month-end checklist and the daily digest. Only the lease holder runs them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.db.app_settings import AppSettings
from bot.sync.engine import SyncEngine
from bot.sync.scheduler import Job
from bot.sync.wiring import NotConfigured

log = logging.getLogger(__name__)

EngineSource = Callable[[], Awaitable[SyncEngine | NotConfigured]]


def sync_jobs(settings: AppSettings, engine_source: EngineSource,
              on_checklist: Callable[[], Awaitable[None]] | None = None,
              on_digest: Callable[[], Awaitable[None]] | None = None) -> list[Job]:
    async def poll() -> None:
        engine = await engine_source()
        if isinstance(engine, NotConfigured):
            log.info("sync skipped: %s", engine.reason)
            return
        report = await engine.run_cycle(trigger="schedule")
        log.info("sync cycle %s: %s, %d planned, %s", report.run_id, report.status.value, len(report.planned),
                 report.posting.as_stats() if report.posting else "nothing posted")

    async def post_outbox() -> None:
        engine = await engine_source()
        if not isinstance(engine, NotConfigured):
            await engine.post_outbox()

    jobs = [
        Job(id="sync-poll", trigger=schedule_triggers(settings)["sync-poll"], run=poll),
        Job(id="outbox-retry", trigger=IntervalTrigger(minutes=1), run=post_outbox, on_takeover=True),
    ]
    if on_checklist is not None:
        # the day is checked inside the job: "N days before month end" has no cron spelling
        jobs.append(Job(id="month-end-checklist", trigger=schedule_triggers(settings)["month-end-checklist"],
                        run=on_checklist))
    if on_digest is not None:
        jobs.append(Job(id="daily-digest", trigger=schedule_triggers(settings)["daily-digest"], run=on_digest))
    return jobs


def schedule_triggers(settings: AppSettings) -> dict[str, BaseTrigger]:
    """The triggers of the jobs whose timing comes from AppSettings, by job id; `/seats config` reschedules
    them with `LeaderScheduler.reschedule` after a change, without a restart."""
    return {
        "sync-poll": IntervalTrigger(minutes=settings.poll_minutes),
        "month-end-checklist": CronTrigger(hour=settings.digest_hour, minute=5, timezone=settings.timezone),
        "daily-digest": CronTrigger(hour=settings.digest_hour, minute=0, timezone=settings.timezone),
        "margin-guard": IntervalTrigger(minutes=settings.poll_minutes),  # bot/commands/automation_jobs.py
    }
