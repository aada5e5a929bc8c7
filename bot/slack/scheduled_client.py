"""The Web API client a tenant's scheduled work posts with (alerts, approvals, the checklist, the digest...).

With one SLACK_BOT_TOKEN the app's own client serves the one tenant. In multi-workspace mode there is no app-wide
token: each tenant posts with its own installation's bot token (`bot.slack.token_rotation.workspace_client`,
rotated first when about to expire), found from how Slack named its install (the `tenants` row). A tenant with no
installation left (uninstalled or revoked meanwhile, or the default tenant, which is never installed through
Slack) gets None: its jobs post nothing, and the log says so once per tenant and process, not every minute.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.db.models import Tenant
from bot.db.tenancy import current_tenant_id
from bot.slack.token_rotation import workspace_client

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)


async def scheduled_slack_client(app_context: AppContext) -> AsyncWebClient | None:
    """The current tenant's client for work outside a Slack request; None when Slack is not configured or the
    tenant has no installation."""
    bolt = app_context.bolt
    if bolt is None:
        return None
    if bolt.oauth_flow is None:
        return bolt.client
    tenant_id = current_tenant_id()
    async with app_context.sessions() as session:
        tenant = await session.get(Tenant, tenant_id)
        install = None if tenant is None or tenant.install_key is None else (
            tenant.enterprise_id, tenant.team_id, tenant.is_enterprise_install)
    client = None
    if install is not None:
        enterprise_id, team_id, is_enterprise_install = install
        client = await workspace_client(bolt, enterprise_id=enterprise_id,
                                        team_id=None if is_enterprise_install else team_id,
                                        is_enterprise_install=is_enterprise_install)
    told = app_context.slack_unreachable_tenants
    if client is None and tenant_id not in told:
        told.add(tenant_id)
        # expected for a tenant never installed through Slack (the default one); a warning for an install gone
        log.log(logging.INFO if install is None else logging.WARNING,
                "tenant %s has no Slack installation: its scheduled Slack posts are skipped until it installs "
                "SeatSync again", tenant_id)
    elif client is not None:
        told.discard(tenant_id)
    return client
