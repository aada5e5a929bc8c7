"""Every scheduled job, built from the application context; when each runs comes from `bot.sync.schedule`.

Each job runs once per active tenant, in its scope (`for_each_tenant`; a single-workspace install has one), but
the install's own (`INSTALL_WIDE`: the purge of uninstalled workspaces), which run once.
The web app registers these with the lease-gated scheduler (`bot.sync.scheduler.LeaderScheduler`) at start; with a
tenant per workspace, as one job a minute that runs each tenant's jobs when its own settings say (`TenantMinutes`).
Each job reads "now" from the context's clock (or hands the clock on); APScheduler only decides when it fires.
The Slack jobs (approvals, margin and health alerts) exist only when Slack is configured: nobody to tell
otherwise; with a tenant per workspace, the default tenant (no workspace) runs none of the Slack-only ones, and a
tenant's outbox pass and failure alerts run only when `bot.sync.minute_work` finds work for them. The checklist
and the digest say in the log that they were due. Every job that tells Slack posts with
the tenant's own client (`bot.slack.scheduled_client`: in multi-workspace mode its installation's bot token); a
tenant with no installation left posts nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from bot.commands.checklist.handlers import post_daily_digest, post_scheduled_checklist
from bot.db.app_settings import AppSettings, load_app_settings
from bot.db.oauth_states import delete_expired_oauth_states
from bot.db.tenancy import active_tenant_ids, purge_expired_tenants, tenant_scope
from bot.domain.proration import business_date
from bot.notify.approval_messages import refresh_approval_messages
from bot.notify.failure_alerts import refresh_failure_alerts
from bot.notify.health_alerts import post_health_alerts
from bot.notify.invoice_rounds import preview_drafts, take_in_invoices
from bot.notify.margin_alerts import post_margin_alerts
from bot.slack.scheduled_client import scheduled_slack_client
from bot.sync.checklist import checklist_due
from bot.sync.minute_work import minute_work
from bot.sync.schedule import INSTALL_WIDE, NEEDS_SLACK, SCHEDULE, JobId, due_job_ids, tenant_settings
from bot.sync.scheduler import Job
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

JobBody = Callable[["AppContext"], Awaitable[None]]


async def poll(app_context: AppContext) -> None:
    engine = await _engine(app_context)
    if isinstance(engine, NotConfigured):
        log.info("sync skipped: %s", engine.reason)
        return
    report = await engine.run_cycle(trigger="schedule")
    log.info("sync cycle %s: %s, %d planned, %s", report.run_id, report.status.value, len(report.planned),
             report.posting.as_stats() if report.posting else "nothing posted")


async def post_outbox(app_context: AppContext) -> None:
    engine = await _engine(app_context)
    if not isinstance(engine, NotConfigured):
        await engine.post_outbox()


async def failure_alerts(app_context: AppContext) -> None:
    if (client := await scheduled_slack_client(app_context)) is not None:
        await refresh_failure_alerts(app_context=app_context, client=client)


async def approval_messages(app_context: AppContext) -> None:
    if (client := await scheduled_slack_client(app_context)) is None:
        return
    async with app_context.sessions() as session:
        channel = (await load_app_settings(session=session)).alerts_channel
    await refresh_approval_messages(sessions=app_context.sessions, client=client, channel=channel)


async def margin_guard(app_context: AppContext) -> None:
    if (client := await scheduled_slack_client(app_context)) is not None:
        await post_margin_alerts(sessions=app_context.sessions, client=client)


async def health_alerts(app_context: AppContext) -> None:
    if (client := await scheduled_slack_client(app_context)) is not None:
        await post_health_alerts(sessions=app_context.sessions, client=client, now=app_context.clock())


async def month_end_checklist(app_context: AppContext) -> None:
    async with app_context.sessions() as session:
        current = await load_app_settings(session=session)  # /seats config may have changed it since start
    today = business_date(app_context.clock(), current.timezone)
    if not checklist_due(today, current.checklist_days_before_month_end):
        return
    if app_context.bolt is None:
        log.info("the month-end checklist is due, but Slack is not configured")
        return
    if (client := await scheduled_slack_client(app_context)) is not None:
        await post_scheduled_checklist(app_context=app_context, client=client)


async def daily_digest(app_context: AppContext) -> None:
    if app_context.bolt is None:
        log.info("the daily digest is due, but Slack is not configured")
        return
    if (client := await scheduled_slack_client(app_context)) is not None:
        await post_daily_digest(app_context=app_context, client=client)


async def invoice_rounds(app_context: AppContext, *, released: bool = False) -> None:
    """From the 5th, the month's invoices read, stored once and shown; before month end, the draft preview.
    `released`: a marketplace said an invoice is ready (its webhook): read at once, whatever the day."""
    engine = await _engine(app_context)
    if isinstance(engine, NotConfigured):
        log.info("invoices not read: %s", engine.reason)
        return
    async with app_context.sessions() as session:
        current = await load_app_settings(session=session)
    today = business_date(app_context.clock(), current.timezone)
    client = await scheduled_slack_client(app_context)
    stored = await take_in_invoices(app_context=app_context, engine=engine, client=client, today=today,
                                    force=released)
    log.info("invoice round: %d new invoice(s) stored", len(stored))
    if client is not None and not released and checklist_due(today, current.checklist_days_before_month_end):
        await preview_drafts(app_context=app_context, engine=engine, client=client, today=today)


async def purge_tenants(app_context: AppContext) -> None:
    """Delete every workspace uninstalled longer than its retention (`SEATSYNC_TENANT_RETENTION_DAYS`), and the
    OAuth states of install pages never followed through, once expired."""
    now = app_context.clock()
    async with app_context.sessions() as session, session.begin():
        purged = await purge_expired_tenants(session, now=now)
        states = await delete_expired_oauth_states(session, now=now)
    if purged:
        log.info("purged the data of %d uninstalled tenant(s): %s", len(purged), purged)
    if states:
        log.info("deleted %d expired Slack OAuth state(s)", states)


BODIES: dict[JobId, JobBody] = {
    JobId.SYNC_POLL: poll,
    JobId.OUTBOX_RETRY: post_outbox,
    JobId.FAILURE_ALERTS: failure_alerts,
    JobId.APPROVAL_MESSAGES: approval_messages,
    JobId.MARGIN_GUARD: margin_guard,
    JobId.HEALTH_ALERTS: health_alerts,
    JobId.MONTH_END_CHECKLIST: month_end_checklist,
    JobId.DAILY_DIGEST: daily_digest,
    JobId.INVOICE_ROUNDS: invoice_rounds,
    JobId.TENANT_PURGE: purge_tenants,
}
TENANT_MINUTES = "tenant-minutes"  # the scheduler's job in multi-workspace mode (TenantMinutes)
CATCH_UP = timedelta(hours=1)  # at most this far back, after a pause (a long job, a lease won)


def scheduled_jobs(app_context: AppContext, settings: AppSettings) -> list[Job]:
    """The jobs this process schedules, each with its trigger from the stored settings (the default tenant's: the
    single-workspace install's one tenant). With a tenant per workspace, one job a minute runs each tenant's jobs
    due by its own settings (`TenantMinutes`), and the install-wide ones keep their triggers."""
    if app_context.tenant_per_workspace:
        minutes = TenantMinutes(app_context)
        return [Job(id=TENANT_MINUTES, trigger=IntervalTrigger(minutes=1), run=minutes, on_takeover=True,
                    on_lead=minutes.forget),
                *(Job(id=job_id, trigger=SCHEDULE[job_id].trigger(settings), run=partial(BODIES[job_id], app_context))
                  for job_id in INSTALL_WIDE)]
    return [Job(id=job_id, trigger=timing.trigger(settings),
                run=(partial(BODIES[job_id], app_context) if job_id in INSTALL_WIDE
                     else partial(for_each_tenant, app_context, BODIES[job_id])),
                on_takeover=timing.on_takeover)
            for job_id, timing in SCHEDULE.items()
            if app_context.bolt is not None or job_id not in NEEDS_SLACK]


class TenantMinutes:
    """Each tenant's jobs, when its own settings say (poll interval, digest hour, time zone), on the in-process
    scheduler: the same `bot.sync.schedule.due_tenant_jobs` the job queue's tick defers from on PostgreSQL.

    Fired every minute; each run takes every minute since the last one it handled (up to CATCH_UP: a fire that
    APScheduler missed or coalesced loses no digest hour; from the current minute after a lease won, since another
    instance ran the minutes before: `forget`), by the context's clock, and hands each due job's
    tenants to that job's lane (the outbox pass and failure alerts only to the tenants with work for them,
    `bot.sync.minute_work`). A lane runs one job id for its tenants, one tenant after another, each in its
    scope, and takes the tenants that fell due meanwhile when done: one job at a time per job id, the job ids side
    by side, as the single-workspace install's one APScheduler job per id runs (a long sync cycle holds up no
    outbox pass). A job due again while it waits runs once. One tenant's failure is logged and the others run."""

    def __init__(self, app_context: AppContext) -> None:
        self.app_context = app_context
        self.handled_until: datetime | None = None  # the last minute whose due jobs were handed out
        self._waiting: dict[JobId, dict[int, None]] = {}  # by job: its tenants due, in order
        self._lanes: dict[JobId, asyncio.Task[None]] = {}

    async def __call__(self) -> None:
        now = self.app_context.clock().replace(second=0, microsecond=0)
        first = now if self.handled_until is None else max(self.handled_until + timedelta(minutes=1), now - CATCH_UP)
        minutes = [first + timedelta(minutes=m) for m in range(int((now - first) / timedelta(minutes=1)) + 1)]
        self.handled_until = max(now, self.handled_until or now)
        async with self.app_context.sessions() as session:
            tenants = await active_tenant_ids(session)
            work = await minute_work(session, at=self.app_context.clock())
        slack = self.app_context.bolt is not None
        for tenant_id in tenants:
            settings = await tenant_settings(self.app_context.sessions, tenant_id)  # as saved by now
            for minute in minutes:
                for job_id in due_job_ids(settings, tenant_id, minute, slack=slack, multi_workspace=True):
                    if job_id not in INSTALL_WIDE and work.wanted(tenant_id, job_id):  # install-wide: own trigger
                        self._waiting.setdefault(job_id, {})[tenant_id] = None
        for job_id in self._waiting:
            if job_id not in self._lanes:
                self._lanes[job_id] = asyncio.create_task(self._lane(job_id), name=f"{TENANT_MINUTES}:{job_id}")

    def forget(self) -> None:
        """This instance leads again: the minutes since it last ran were another instance's to run."""
        self.handled_until = None

    async def drain(self, job_ids: Collection[JobId] | None = None) -> None:
        """Return when every job handed out (of `job_ids`: all by default) has run (tests; the lanes run on by
        themselves)."""
        while lanes := [lane for job_id, lane in self._lanes.items() if job_ids is None or job_id in job_ids]:
            await asyncio.gather(*lanes, return_exceptions=True)

    async def _lane(self, job_id: JobId) -> None:
        try:
            while tenants := self._waiting.pop(job_id, None):
                for tenant_id in tenants:
                    with tenant_scope(tenant_id):
                        try:
                            await BODIES[job_id](self.app_context)
                        except Exception:
                            log.exception("scheduled job %s failed for tenant %s", job_id, tenant_id)
        finally:
            self._lanes.pop(job_id, None)


async def for_each_tenant(app_context: AppContext, body: JobBody) -> None:
    """Run a job's body once per active tenant, each in its tenant's scope (a single-workspace install: once, for
    the default tenant). One tenant's failure does not stop the others'; the first is raised after all ran."""
    async with app_context.sessions() as session:
        tenants = await active_tenant_ids(session)
    failure: BaseException | None = None
    for tenant_id in tenants:
        with tenant_scope(tenant_id):
            try:
                await body(app_context)
            except Exception as exc:
                if len(tenants) > 1:
                    log.exception("a scheduled job failed for tenant %s", tenant_id)
                failure = failure or exc
    if failure is not None:
        raise failure


async def _engine(app_context: AppContext):
    source = app_context.engine_source or app_context.engines.get
    return await source()
