"""Build the sync engine from what is stored: the app settings name the active marketplaces and PSA, their
connections hold the credentials. No engine when no marketplace or no PSA is configured yet; a marketplace
listed without a connection, or with a disabled one, is left out (and said so in the log), the others run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.connectors.factory import build_marketplace, build_psa
from bot.db.app_settings import SETTINGS_KEY, load_app_settings
from bot.db.connections import load_connection
from bot.db.models import AppSetting, ConnectionSetting
from bot.domain.proration import business_date
from bot.keys import SecretBox
from bot.sync.claims import DEFAULT_CLAIM_TTL
from bot.sync.engine import SyncEngine, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotConfigured:
    reason: str


async def build_engine(
    *, sessions: async_sessionmaker[AsyncSession], box: SecretBox, clock: Callable[[], datetime] = utcnow,
    claim_ttl: timedelta = DEFAULT_CLAIM_TTL, **connector_options,
) -> SyncEngine | NotConfigured:
    async with sessions() as session:
        settings = await load_app_settings(session=session)
        if not settings.marketplaces or not settings.psa:
            return NotConfigured("no marketplace and PSA chosen yet (set them with /seats config)")
        marketplaces = [(system, await load_connection(session=session, box=box, system=system))
                        for system in settings.marketplaces]
        psa = await load_connection(session=session, box=box, system=settings.psa)
    if psa is None:
        return NotConfigured(f"no connection settings for {settings.psa} yet (add them with /seats config)")
    usable = [connection for _, connection in marketplaces if connection is not None and connection.enabled]
    if not usable:
        missing = next((system for system, connection in marketplaces if connection is None), None)
        if missing is not None:
            return NotConfigured(f"no connection settings for {missing} yet (add them with /seats config)")
        return NotConfigured("a connection is disabled")
    if not psa.enabled:
        return NotConfigured("a connection is disabled")
    for system, connection in marketplaces:
        if connection is None or not connection.enabled:
            log.warning("marketplace %s is listed but has no enabled connection: it is not read", system)
    timezone = settings.timezone
    return SyncEngine(sessions=sessions,
                      marketplaces=[build_marketplace(connection, now=clock, **connector_options)
                                    for connection in usable],
                      psa=build_psa(psa, today=lambda: business_date(clock(), timezone), **connector_options),
                      clock=clock, timezone=timezone, claim_ttl=claim_ttl)


class EngineHolder:
    """One engine per process, rebuilt when the stored settings or connections change."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], box: SecretBox,
                 clock: Callable[[], datetime] = utcnow, claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
                 **connector_options) -> None:
        self.sessions, self.box, self.clock, self.claim_ttl = sessions, box, clock, claim_ttl
        self.connector_options = connector_options
        self._engine: SyncEngine | NotConfigured | None = None
        self._version: tuple | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    async def get(self) -> SyncEngine | NotConfigured:
        version = await self._settings_version()
        if self._engine is None or version != self._version:
            self._retire()
            self._engine = await build_engine(sessions=self.sessions, box=self.box, clock=self.clock,
                                              claim_ttl=self.claim_ttl, **self.connector_options)
            self._version = version
        return self._engine

    @property
    def current(self) -> SyncEngine | NotConfigured | None:
        """The engine built last, without checking the settings or building one (for /metrics)."""
        return self._engine

    def invalidate(self) -> None:
        """Rebuild the engine on the next `get` (the config modal calls this after saving)."""
        self._version = None

    def _retire(self) -> None:
        """Replace without cutting off a cycle the old engine is running: it closes when that ends."""
        if isinstance(self._engine, SyncEngine):
            task = asyncio.create_task(self._engine.aclose_when_idle())
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        self._engine = None

    async def close(self) -> None:
        self._retire()
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _settings_version(self) -> tuple:
        async with self.sessions() as session:
            connections = await session.scalar(select(func.max(ConnectionSetting.updated_at)))
            app = await session.scalar(select(AppSetting.updated_at).where(AppSetting.key == SETTINGS_KEY))
        return (connections, app)
