"""`app_uninstalled` and `tokens_revoked`: the workspace's tokens deleted from the installation store (Bolt's own
listeners' work), then its tenant marked uninstalled (`bot.services.installs`). Registered only in multi-workspace
mode, where Bolt has an installation store. A revoked user token alone leaves the tenant installed: the bot still
works; a revoked bot token does not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners

from bot.services.installs import record_uninstall

if TYPE_CHECKING:
    from bot.app_context import AppContext


async def app_uninstalled(context: AsyncBoltContext, app_context: AppContext) -> None:
    await _revocations(app_context).handle_app_uninstalled_events(context)
    await _tenant_left(context, app_context)


async def tokens_revoked(event: dict[str, Any], context: AsyncBoltContext, app_context: AppContext) -> None:
    await _revocations(app_context).handle_tokens_revoked_events(event, context)
    if (event.get("tokens") or {}).get("bot"):
        await _tenant_left(context, app_context)


def register_installs(app: AsyncApp) -> None:
    if app.installation_store is None:
        return
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


def _revocations(app_context: AppContext) -> AsyncTokenRevocationListeners:
    return AsyncTokenRevocationListeners(app_context.bolt.installation_store)


async def _tenant_left(context: AsyncBoltContext, app_context: AppContext) -> None:
    tenant_id = await record_uninstall(sessions=app_context.sessions, team_id=context.team_id,
                                       enterprise_id=context.enterprise_id,
                                       is_enterprise_install=bool(context.is_enterprise_install),
                                       at=app_context.clock(),
                                       retention_days=app_context.settings.tenant_retention_days)
    if tenant_id is not None:
        app_context.engines.drop(tenant_id)  # its connectors closed once idle; no job of it starts again
