"""Bolt middleware: every listener runs for the tenant of the workspace (or Grid enterprise) that sent the request.

A single-workspace install (`AppContext.tenant_per_workspace` false: one bot token from the environment) serves
one tenant, the default one, whatever team Slack names, exactly as before tenants. When each workspace installs
SeatSync through OAuth, the request's team id, or its enterprise id for an org-wide Grid install, names the
tenant (`bot.db.tenancy.tenant_by_install`); a workspace that never installed SeatSync, or uninstalled it, gets a
plain refusal and nothing runs. The listener, and every task it starts after its ack, run as that tenant, so
their sessions see its rows only. Bolt runs listeners after its middleware returned, so the middleware enters the
tenant for the rest of the request, and the Slack endpoint (`web/slack_endpoint.py`) opens the scope that ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.db.tenancy import DEFAULT_TENANT_ID, enter_tenant, tenant_by_install
from bot.domain.enums import TenantStatus

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

TENANT_ID = "tenant_id"  # the key in Bolt's context
NOT_INSTALLED = "SeatSync is not installed in this workspace. Ask a workspace admin to install it first."

Next = Callable[[], Awaitable[None]]


def in_request_tenant(app_context: AppContext):
    """Global middleware, right after the application context's."""

    async def run_as_tenant(body: dict, context: AsyncBoltContext,
                            next: Next) -> BoltResponse | None:  # noqa: A002 - Bolt's
        tenant_id = await request_tenant(app_context, context)
        if tenant_id is None and _about_the_install(body):
            await next()  # Slack tells twice (tokens_revoked, then app_uninstalled): the second must still reach
            return None   # Bolt's revocation listeners, which delete the install's rows (global, no tenant's)
        if tenant_id is None:
            log.warning("a request from team %s (enterprise %s) was refused: no installed tenant",
                        context.team_id, context.enterprise_id)
            return BoltResponse(status=200, body=NOT_INSTALLED)
        context[TENANT_ID] = tenant_id
        enter_tenant(tenant_id)  # Bolt runs the listener after the middleware returned, in this same task
        await next()
        return None

    return run_as_tenant


INSTALL_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})


def _about_the_install(body: dict) -> bool:
    """An event about the install itself, which an uninstalled workspace still sends."""
    event = body.get("event") if isinstance(body, dict) else None
    return isinstance(event, dict) and event.get("type") in INSTALL_EVENTS


async def request_tenant(app_context: AppContext, context: AsyncBoltContext) -> int | None:
    """The tenant a request acts for, or None when its workspace has no installed tenant."""
    if not app_context.tenant_per_workspace:
        return DEFAULT_TENANT_ID
    is_enterprise_install = bool(context.is_enterprise_install)
    if not (context.enterprise_id if is_enterprise_install else context.team_id):
        return None
    async with app_context.sessions() as session:
        tenant = await tenant_by_install(session, team_id=context.team_id, enterprise_id=context.enterprise_id,
                                         is_enterprise_install=is_enterprise_install)
    if tenant is None or tenant.status is not TenantStatus.active:
        return None
    return tenant.id
