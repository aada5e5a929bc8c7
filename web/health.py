"""GET /healthz: database reachable, version, last sync."""

from __future__ import annotations

import time

from aiohttp import web
from sqlalchemy import func, select, text

from bot import __version__
from bot.db.models import SyncRun, SyncRunStatus
from web.context import CONTEXT


async def healthz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    body: dict = {"version": __version__, "uptime_s": round(time.monotonic() - context.started_monotonic, 1)}
    try:
        async with context.sessions() as session:
            await session.execute(text("SELECT 1"))
            last = await session.scalar(
                select(func.max(SyncRun.finished_at)).where(
                    SyncRun.status.in_([SyncRunStatus.succeeded, SyncRunStatus.partial])
                )
            )
    except Exception as exc:  # the point of this route is to say so, not to crash
        body.update(status="unhealthy", database="unreachable", error=type(exc).__name__)
        return web.json_response(body, status=503)
    body.update(
        status="ok",
        database="ok",
        last_sync_at=last.isoformat() if last else None,
        scheduler_leader=context.scheduler.is_leader,
        slack="socket_mode" if context.settings.socket_mode else ("http" if context.bolt else "not configured"),
    )
    return web.json_response(body)
