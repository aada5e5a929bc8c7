"""The one aiohttp application: Slack endpoint, health, signed report files, and the lifecycle of the scheduler
(SQLite) or of this instance's job-queue worker (PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.app_context import AppContext
from bot.db.app_settings import load_app_settings
from bot.job_queue import run_worker
from bot.jobs import scheduled_jobs
from web import CONTEXT
from web.health import healthz, tenant_health
from web.metrics import metrics
from web.reports import ROUTE as REPORT_ROUTE
from web.reports import report_file
from web.slack_endpoint import slack_events
from web.slack_oauth import register_slack_oauth
from web.webhooks import register_webhooks

log = logging.getLogger(__name__)


def create_app(context: AppContext, *, run_scheduler: bool = True) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[CONTEXT] = context
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/healthz/tenants/{tenant_id}", tenant_health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get(REPORT_ROUTE, report_file)
    if not context.settings.socket_mode:
        app.router.add_post("/slack/events", slack_events)
    if context.bolt is not None and context.bolt.oauth_flow is not None:
        register_slack_oauth(app)
    app.cleanup_ctx.append(_engine_lifecycle)
    if context.bolt is not None:
        app.cleanup_ctx.append(_slack_http_lifecycle)
    if run_scheduler:
        app.cleanup_ctx.append(_queue_lifecycle if context.settings.jobs_on_queue else _scheduler_lifecycle)
    register_webhooks(app)  # after the lifecycles above: its cleanup (a sync still running) runs before theirs
    if context.settings.socket_mode and context.bolt is not None:
        app.cleanup_ctx.append(_socket_mode_lifecycle)
    return app


async def _engine_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[CONTEXT].engine.dispose()


async def _slack_http_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session for every Web API call, so connections to Slack are reused (slack_sdk otherwise
    opens, and TLS-handshakes, a new one per call)."""
    client = app[CONTEXT].bolt.client
    session = client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
    yield
    if client.session is session:
        client.session = None
    await session.close()


async def _scheduler_lifecycle(app: web.Application) -> AsyncIterator[None]:
    context = app[CONTEXT]
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
    for job in scheduled_jobs(context, settings):
        context.scheduler.add_job(job)
    context.scheduler.start()
    yield
    await context.scheduler.shutdown()
    await context.engines.close()


async def _queue_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """PostgreSQL: this instance is one worker of the job queue (bot.job_queue) instead of running the scheduler."""
    context = app[CONTEXT]
    async with run_worker(context):
        yield
    await context.engines.close()


async def _socket_mode_lifecycle(app: web.Application) -> AsyncIterator[None]:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    context = app[CONTEXT]
    handler = AsyncSocketModeHandler(context.bolt, app_token=context.settings.slack_app_token)
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
    yield
    await handler.close_async()
