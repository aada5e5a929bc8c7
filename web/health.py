"""GET /healthz: database reachable (200, else 503), version, last sync, each connector's health, and the
failures waiting in the outbox.

A failing connector does not make the service unhealthy (it still serves Slack and reports, and the
outbox keeps the changes); it shows under `connectors` and in the alerts."""

from __future__ import annotations

import time
from datetime import datetime

from aiohttp import web

from bot import __version__
from bot.connectors.registry import VENDORS
from bot.db.models import AdjustmentStatus
from bot.job_queue import queue_enabled
from bot.services.service_status import service_status
from web import CONTEXT


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def healthz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    body: dict = {"version": __version__, "uptime_s": round(time.monotonic() - context.started_monotonic, 1)}
    try:
        async with context.sessions() as session:
            status = await service_status(session=session, now=context.clock())
    except Exception as exc:  # the point of this route is to say so, not to crash
        body.update(status="unhealthy", database="unreachable", error=type(exc).__name__)
        return web.json_response(body, status=503, headers={"Cache-Control": "no-store"})
    last = status.last_sync
    health = {c.system: c for c in status.connectors}
    body.update(
        status="ok",
        database="ok",
        last_sync_at=_iso(last.finished_at) if last else None,
        last_sync=None if last is None else {"run_id": last.run_id, "finished_at": _iso(last.finished_at),
                                             "trigger": last.trigger, "status": last.status.value},
        connectors={c.system: {"state": c.state.value, "last_success_at": _iso(c.last_success_at),
                               "last_failure_at": _iso(c.last_failure_at),
                               "consecutive_failures": c.consecutive_failures}
                    for c in status.connectors},
        # each active marketplace with its label and health: several may feed the PSA, one may be down
        marketplaces=[{"key": key, "label": VENDORS.label(key),
                       "state": health[key].state.value if key in health else "unknown"}
                      for key in status.marketplaces],
        pending_failures=status.pending_failures,
        needs_action=status.needs_action,
        awaiting_approval=status.adjustments_by_status.get(AdjustmentStatus.awaiting_approval.value, 0),
        scheduler_leader=context.scheduler.is_leader,
        jobs="queue" if queue_enabled(context.settings) else "scheduler",  # PostgreSQL: every instance works the queue
        slack="socket_mode" if context.settings.socket_mode else ("http" if context.bolt else "not configured"),
    )
    return web.json_response(body, headers={"Cache-Control": "no-store"})
