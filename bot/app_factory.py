"""`create_context`: the application context built from settings (the database engine, the secret box, the sync
engines, the lease-gated scheduler and the Bolt app with every listener), with no import-time state."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_context import AppContext
from bot.clock import SYSTEM_CLOCK, Clock
from bot.commands.listeners import register_commands
from bot.config import Settings
from bot.db.engine import create_engine, session_factory
from bot.keys import SecretBox
from bot.log_redaction import register_secret
from bot.slack.bolt_app import create_bolt_app
from bot.sync.claims import claim_ttl_within, process_instance_id
from bot.sync.scheduler import LeaderScheduler
from bot.sync.wiring import EngineHolder


def create_context(settings: Settings, *, engine: AsyncEngine | None = None, clock: Clock = SYSTEM_CLOCK) -> AppContext:
    for secret in (settings.secret_key, settings.slack_bot_token, settings.slack_signing_secret,
                   settings.slack_app_token):
        register_secret(secret)
    engine = engine or create_engine(settings.database_url)
    sessions = session_factory(engine)
    box = SecretBox(settings.secret_key)
    lease = timedelta(seconds=settings.lease_seconds)
    context = AppContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        box=box,
        engines=EngineHolder(sessions=sessions, box=box, clock=clock, claim_ttl=claim_ttl_within(lease)),
        bolt=create_bolt_app(settings) if settings.slack_enabled else None,
        scheduler=LeaderScheduler(engine, timezone=settings.timezone, clock=clock, ttl=lease, renew_every=lease / 4,
                                  holder=process_instance_id()),
        clock=clock,
    )
    if context.bolt is not None:
        register_commands(context.bolt, context)
    return context
