"""A demo workspace: the sandbox, a database, stored (encrypted) connections, connectors and the engine.

Everything goes through the product's real paths: connections are saved encrypted and read back,
connectors are built from them by the factory, and the engine speaks HTTP to the simulators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.connectors.factory import build_marketplace, build_psa
from bot.connectors.http import RetryPolicy
from bot.connectors.interfaces import Marketplace, Psa
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connections import load_connection, save_connection
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import DecreaseTiming, Scope
from bot.db.policies import set_approval_policy, set_decrease_timing
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from bot.sync.engine import SyncEngine

ACTOR = "demo"


def sandbox_connection(system: str, config: dict) -> tuple[str, dict, dict]:
    """(base_url, options, secrets) for one simulator, from `Sandbox.config()`."""
    entry = config[system]
    if system == "odin":
        return entry["url"], {}, {}
    if system == "ingram":
        return (entry["url"], {"username": entry["username"], "marketplace": entry["marketplace"]},
                {"subscription_key": entry["subscription_key"], "password": entry["password"]})
    if system == "autotask":
        return (entry["url"], {"username": entry["username"]},
                {"integration_code": entry["integration_code"], "secret": entry["secret"]})
    if system == "connectwise":
        # the sandbox throttles at ConnectWise's documented 1,000 requests a minute; use all of it
        return (entry["site_url"], {"company_id": entry["company_id"], "public_key": entry["public_key"],
                                    "client_id": entry["client_id"], "requests_per_minute": 1000},
                {"private_key": entry["private_key"]})
    raise ValueError(system)


@dataclass
class DemoWorkspace:
    sandbox: Sandbox
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    marketplace: Marketplace
    psa: Psa
    engine: SyncEngine

    async def close(self) -> None:
        await self.marketplace.aclose()
        await self.psa.aclose()
        await self.db.dispose()
        await self.sandbox.stop()


class SandboxClock:
    """Real time of day on the sandbox world's business day, so a day passing moves SeatSync's day too."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __call__(self) -> datetime:
        real = datetime.now(UTC)
        offset = self.sandbox.world.today - real.date()
        return real + timedelta(days=offset.days)


async def open_workspace(
    *, sandbox: Sandbox, database_url: str, secret_key: str, marketplace: str, psa: str,
    timezone: str = "UTC", decreases_today: bool = True, fast_retries: bool = True, connector_timeout: float = 1.0,
) -> DemoWorkspace:
    db = create_engine(database_url)
    await upgrade(db)
    sessions = session_factory(db)
    box = SecretBox(secret_key)
    config = sandbox.config()
    async with sessions() as session:
        for system in (marketplace, psa):
            base_url, options, secrets = sandbox_connection(system, config)
            await save_connection(session=session, box=box, system=system, base_url=base_url, options=options,
                                  secrets=secrets, actor=ACTOR)
        await save_app_settings(session=session, settings=AppSettings(marketplace=marketplace, psa=psa,
                                                                      timezone=timezone), actor=ACTOR)
        if decreases_today:  # so every change of the scripted days shows in the PSA within the run
            await set_decrease_timing(session=session, scope=Scope.global_, timing=DecreaseTiming.today,
                                      actor=ACTOR)
            # nobody approves in the scripted run: committed-term decreases post like the others
            await set_approval_policy(session=session, scope=Scope.global_, hold_committed_decreases=False,
                                      actor=ACTOR)
        await session.commit()
        market_connection = await load_connection(session=session, box=box, system=marketplace)
        psa_connection = await load_connection(session=session, box=box, system=psa)
    retry = RetryPolicy(max_attempts=8, max_total_s=30, base_delay_s=0.05, max_delay_s=1.0) if fast_retries \
        else RetryPolicy()
    marketplace_client = build_marketplace(market_connection, retry=retry, timeout=connector_timeout)
    psa_client = build_psa(psa_connection, retry=retry, timeout=connector_timeout, today=lambda: sandbox.world.today)
    engine = SyncEngine(sessions=sessions, marketplace=marketplace_client, psa=psa_client,
                        clock=SandboxClock(sandbox), timezone=timezone)
    return DemoWorkspace(sandbox=sandbox, db=db, sessions=sessions, marketplace=marketplace_client, psa=psa_client,
                         engine=engine)
