"""`create_context`: the application context built from settings (the database engine, the secret box, the sync
engines, the lease-gated scheduler and the Bolt app with every listener), with no import-time state."""

from __future__ import annotations

from datetime import timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app_context import AppContext
from bot.clock import SYSTEM_CLOCK, Clock
from bot.commands.listeners import register_commands
from bot.config import Settings
from bot.db.connection_budget import ConnectionBudget, application_name
from bot.db.engine import create_engine, session_factory
from bot.keys import SecretBox
from bot.log_redaction import register_secret
from bot.services.installs import record_install
from bot.slack.bolt_app import create_bolt_app, create_slack_client
from bot.slack.oauth import oauth_settings
from bot.sync.claims import claim_ttl_within, process_instance_id
from bot.sync.scheduler import LeaderScheduler
from bot.sync.wiring import EngineHolder


def create_context(settings: Settings, *, engine: AsyncEngine | None = None, clock: Clock = SYSTEM_CLOCK) -> AppContext:
    for secret in (settings.secret_key, settings.slack_bot_token, settings.slack_signing_secret,
                   settings.slack_app_token, settings.slack_client_secret, settings.operator_token):
        register_secret(secret)
    engine = engine or create_engine(
        settings.database_url, pool_size=ConnectionBudget.for_settings(settings, queue=False).sessions,
        application_name=application_name(process_instance_id()))
    sessions = session_factory(engine)
    box = SecretBox(settings.secret_key)
    lease = timedelta(seconds=settings.lease_seconds)
    context = AppContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        box=box,
        engines=EngineHolder(sessions=sessions, box=box, clock=clock, claim_ttl=claim_ttl_within(lease)),
        bolt=_bolt_app(settings, engine, sessions, box) if settings.slack_enabled else None,
        scheduler=LeaderScheduler(engine, timezone=settings.timezone, clock=clock, ttl=lease, renew_every=lease / 4,
                                  holder=process_instance_id()),
        clock=clock,
        tenant_per_workspace=settings.multi_workspace,  # each installed workspace its own tenant
    )
    if context.bolt is not None:
        register_commands(context.bolt, context)
    return context


def _bolt_app(settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], box: SecretBox
              ) -> AsyncApp:
    """Bolt with the one bot token of SLACK_BOT_TOKEN, or, in multi-workspace mode, installed through OAuth."""
    client = create_slack_client(settings)
    if not settings.multi_workspace:
        return create_bolt_app(settings, client)

    async def installed(installation: Installation) -> None:
        await record_install(sessions=sessions, team_id=installation.team_id, enterprise_id=installation.enterprise_id,
                             is_enterprise_install=bool(installation.is_enterprise_install))

    return create_bolt_app(settings, client,
                           oauth_settings(settings, engine=engine, box=box, client=client, on_installed=installed))
