"""GET /healthz: database reachable (200, else 503), version, last sync, each connector's health, and the
failures waiting in the outbox.

A failing connector does not make the service unhealthy (it still serves Slack and reports, and the
outbox keeps the changes); it shows under `connectors` and in the alerts.

With a tenant per workspace (multi-workspace mode) the public route says the install's liveness and how many tenants
it serves, nothing of any one of them: each MSP's last sync, connectors and outbox are at
GET /healthz/tenants/{id}, for the operator's token only (web/operator.py), read in that tenant's scope. The
single-workspace install's one tenant is the install, so its /healthz keeps every detail, as before.
"""

from __future__ import annotations

import time
from datetime import datetime

from aiohttp import web

from bot import __version__
from bot.connectors.registry import VENDORS
from bot.db.models import AdjustmentStatus, Tenant
from bot.services.service_status import ServiceStatus, service_status, status_of_tenant, tenant_counts
from web import CONTEXT
from web.operator import is_operator, refuse

NO_STORE = {"Cache-Control": "no-store"}
MAX_ID = 2**31  # tenants.id is a 32-bit integer: a larger one is no tenant, not a database error


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def healthz(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    body: dict = {"version": __version__, "uptime_s": round(time.monotonic() - context.started_monotonic, 1)}
    try:
        async with context.sessions() as session:
            if context.tenant_per_workspace:
                tenants = await tenant_counts(session)
            else:
                status = await service_status(session=session, now=context.clock())
    except Exception as exc:  # the point of this route is to say so, not to crash
        return _unreachable(body, exc)
    body.update(status="ok", database="ok")
    if context.tenant_per_workspace:
        body["tenants"] = tenants
    else:
        body.update(_tenant_detail(status))
    body.update(
        scheduler_leader=context.scheduler.is_leader,
        jobs="queue" if context.settings.jobs_on_queue else "scheduler",  # PostgreSQL: every instance works the queue
        slack="socket_mode" if context.settings.socket_mode else ("http" if context.bolt else "not configured"),
    )
    return web.json_response(body, headers=NO_STORE)


async def tenant_health(request: web.Request) -> web.Response:
    """GET /healthz/tenants/{tenant_id}: one tenant's detail, for the operator."""
    if not is_operator(request):
        return refuse(request)
    context = request.app[CONTEXT]
    tenant_id = request.match_info["tenant_id"]
    if not (tenant_id.isascii() and tenant_id.isdigit()) or not 0 < int(tenant_id) < MAX_ID:
        raise web.HTTPNotFound()
    tenant_id = int(tenant_id)
    body: dict = {"version": __version__}
    try:
        async with context.sessions() as session:
            tenant = await session.get(Tenant, tenant_id)
            known = None if tenant is None else {"id": tenant.id, "install": tenant.install_key,
                                                 "status": tenant.status.value}
        status = None if tenant is None else await status_of_tenant(context.sessions, tenant_id, now=context.clock())
    except Exception as exc:
        return _unreachable(body, exc)
    if known is None:
        return web.json_response({"error": f"no tenant {tenant_id}"}, status=404, headers=NO_STORE)
    return web.json_response({**body, "status": "ok", "database": "ok", "tenant": known, **_tenant_detail(status)},
                             headers=NO_STORE)


def _unreachable(body: dict, exc: Exception) -> web.Response:
    body.update(status="unhealthy", database="unreachable", error=type(exc).__name__)
    return web.json_response(body, status=503, headers=NO_STORE)


def _tenant_detail(status: ServiceStatus) -> dict:
    """One tenant's last sync, connectors, marketplaces and outbox."""
    last = status.last_sync
    health = {c.system: c for c in status.connectors}
    return dict(
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
        outbox=status.adjustments_by_status,  # adjustments by status: its depth
    )
