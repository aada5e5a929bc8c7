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
from bot.connectors.shared_budget import SharedBudget
from bot.db.app_settings import SETTINGS_KEY, load_app_settings
from bot.db.connections import load_connection
from bot.db.models import AppSetting, ConnectionSetting
from bot.db.rate_budgets import tenant_budget
from bot.db.tenancy import current_tenant_id, sessions_for_tenant, tenant_scope
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
    claim_ttl: timedelta = DEFAULT_CLAIM_TTL, budget: SharedBudget | None = None, **connector_options,
) -> SyncEngine | NotConfigured:
    """`budget`: the tenant's vendor budgets shared across instances (`bot.db.rate_budgets.tenant_budget`)."""
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
                      clock=clock, timezone=timezone, claim_ttl=claim_ttl, budget=budget)


class EngineHolder:
    """The engine of each tenant this process serves (`engine_for_tenant`), built from that tenant's stored
    settings and connections, cached, and rebuilt when they change; one process runs any tenant's jobs.

    A tenant's engine works on sessions bound to it (`bot.db.tenancy.sessions_for_tenant`): call it inside
    `tenant_scope(tenant_id)`, where it reads and writes that tenant's rows only; anywhere else its first
    transaction raises `TenantMismatch` instead of touching another tenant's rows.
    """

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], box: SecretBox,
                 clock: Callable[[], datetime] = utcnow, claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
                 **connector_options) -> None:
        self.sessions, self.box, self.clock, self.claim_ttl = sessions, box, clock, claim_ttl
        self.connector_options = connector_options
        self._engines: dict[int, tuple[SyncEngine | NotConfigured, tuple | None]] = {}
        self._last: SyncEngine | NotConfigured | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    async def get(self) -> SyncEngine | NotConfigured:
        """The engine of the tenant the code runs for (`current_tenant_id()`)."""
        return await self.engine_for_tenant(current_tenant_id())

    async def engine_for_tenant(self, tenant_id: int) -> SyncEngine | NotConfigured:
        """Tenant `tenant_id`'s engine (or why it has none), built from its connections; cached until they or
        its settings change (or `invalidate`)."""
        with tenant_scope(tenant_id):
            sessions = sessions_for_tenant(self.sessions, tenant_id)
            version = await self._settings_version(sessions)
            cached = self._engines.get(tenant_id)
            if cached is None or cached[1] != version:
                self._retire(tenant_id)
                engine = await build_engine(sessions=sessions, box=self.box, clock=self.clock,
                                            claim_ttl=self.claim_ttl, budget=tenant_budget(self.sessions, tenant_id),
                                            **self.connector_options)
                self._engines[tenant_id] = (engine, version)
            self._last = self._engines[tenant_id][0]
            return self._last

    @property
    def current(self) -> SyncEngine | NotConfigured | None:
        """The engine built or handed out last, without checking the settings or building one (for /metrics)."""
        return self._last

    def cached(self, tenant_id: int) -> SyncEngine | NotConfigured | None:
        """Tenant `tenant_id`'s engine if one was built, without checking its settings or building one (for
        /metrics, which counts each tenant's API calls)."""
        cached = self._engines.get(tenant_id)
        return None if cached is None else cached[0]

    def invalidate(self, tenant_id: int | None = None) -> None:
        """Rebuild the engine of `tenant_id` (default: the current tenant's) on its next use (the config modal
        calls this after saving)."""
        tenant_id = current_tenant_id() if tenant_id is None else tenant_id
        if tenant_id in self._engines:
            self._engines[tenant_id] = (self._engines[tenant_id][0], None)

    def drop(self, tenant_id: int) -> None:
        """Forget `tenant_id`'s engine (closed once idle): its app was uninstalled."""
        self._retire(tenant_id)

    def _retire(self, tenant_id: int) -> None:
        """Replace without cutting off a cycle the old engine is running: it closes when that ends."""
        engine, _ = self._engines.pop(tenant_id, (None, None))
        if isinstance(engine, SyncEngine):
            task = asyncio.create_task(engine.aclose_when_idle())
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        for tenant_id in list(self._engines):
            self._retire(tenant_id)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    @staticmethod
    async def _settings_version(sessions: async_sessionmaker[AsyncSession]) -> tuple:
        async with sessions() as session:
            connections = await session.scalar(select(func.max(ConnectionSetting.updated_at)))
            app = await session.scalar(select(AppSetting.updated_at).where(AppSetting.key == SETTINGS_KEY))
        return (connections, app)

