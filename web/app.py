"""The one aiohttp application: Slack endpoint, health, signed report files, and the scheduler's lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.db.app_settings import AppSettings, load_app_settings
from bot.sync.checklist import checklist_due, daily_digest, month_end_checklist
from bot.sync.jobs import sync_jobs
from bot.sync.proration import business_date
from web.context import CONTEXT, AppContext
from web.health import healthz
from web.reports import ROUTE as REPORT_ROUTE
from web.reports import report_file
from web.slack_endpoint import slack_events

log = logging.getLogger(__name__)


def create_app(context: AppContext, *, run_scheduler: bool = True) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[CONTEXT] = context
    app.router.add_get("/healthz", healthz)
    app.router.add_get(REPORT_ROUTE, report_file)
    if not context.settings.socket_mode:
        app.router.add_post("/slack/events", slack_events)
    app.cleanup_ctx.append(_engine_lifecycle)
    if run_scheduler:
        app.cleanup_ctx.append(_scheduler_lifecycle)
    if context.settings.socket_mode and context.bolt is not None:
        app.cleanup_ctx.append(_socket_mode_lifecycle)
    return app


async def _engine_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CONTEXT].engine.dispose()


async def _scheduler_lifecycle(app: web.Application) -> AsyncIterator[None]:
    context = app[CONTEXT]
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
    for job in sync_jobs(settings, context.engine_source or context.engines.get,
                         on_checklist=_checklist_job(context, settings), on_digest=_digest_job(context)):
        context.scheduler.add_job(job)
    context.scheduler.start()
    yield
    await context.scheduler.shutdown()
    await context.engines.close()


def _checklist_job(context: AppContext, settings: AppSettings):
    async def run() -> None:
        today = business_date(datetime.now(UTC), settings.timezone)
        if not checklist_due(today, settings.checklist_days_before_month_end):
            return
        async with context.sessions() as session:
            checklist = await month_end_checklist(session=session, today=today)
        # Slack renders and posts it (the Slack issue); until then the data goes to the log
        log.info("month-end checklist: %s", checklist)

    return run


def _digest_job(context: AppContext):
    async def run() -> None:
        async with context.sessions() as session:
            digest = await daily_digest(session=session, since=datetime.now(UTC) - timedelta(days=1))
        log.info("daily digest: %s", digest)

    return run


async def _socket_mode_lifecycle(app: web.Application) -> AsyncIterator[None]:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    context = app[CONTEXT]
    handler = AsyncSocketModeHandler(context.bolt, app_token=context.settings.slack_app_token)
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
    yield
    await handler.close_async()
