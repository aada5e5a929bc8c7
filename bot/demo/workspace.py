"""A demo workspace: the sandbox, a database, stored (encrypted) connections, connectors and the engine.

Everything goes through the product's real paths: connections are saved encrypted and read back,
connectors are built from them by the factory, and the engine speaks HTTP to the simulators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import SYSTEM_CLOCK, Clock, OffsetClock
from bot.connectors.factory import build_marketplace, build_psa
from bot.connectors.http import RetryPolicy
from bot.connectors.interfaces import Marketplace, Psa
from bot.connectors.registry import VENDORS
from bot.connectors.vendor import DemoSupport
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connections import load_connection, save_connection
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import DecreaseTiming, Scope
from bot.db.policies import set_approval_policy, set_decrease_timing
from bot.db.tenancy import DEFAULT_TENANT_ID, sessions_for_tenant
from bot.domain.approval_policy import NO_AMOUNT_LIMIT
from bot.domain.proration import business_date
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from bot.sandbox.day_passes import DayReport, advance_day
from bot.sync.engine import SyncEngine

ACTOR = "demo"


def sandbox_connection(system: str, config: dict) -> tuple[str, dict, dict]:
    """(base_url, options, secrets) for one vendor's simulator, from `Sandbox.config()` (its `DemoSupport`)."""
    return demo_support(system).connection(config)


def demo_support(system: str) -> DemoSupport:
    support = VENDORS.get(system).demo
    if support is None:
        raise ValueError(f"{VENDORS.label(system)} has no simulator the demo can run against")
    return support


def marketplace_keys(marketplace: str | Sequence[str]) -> tuple[str, ...]:
    """"ingram,pax8" (or a list) as the keys, in order, each once."""
    items = marketplace.split(",") if isinstance(marketplace, str) else list(marketplace)
    keys = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not keys:
        raise ValueError("name at least one marketplace")
    return keys


def world_options(*systems: str) -> dict:
    """How the demo's world is generated so that every vendor in it has something to show."""
    options: dict = {}
    for system in systems:
        options.update(demo_support(system).world_options)
    return options


@dataclass
class DemoWorkspace:
    sandbox: Sandbox
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    marketplaces: tuple[Marketplace, ...]
    psa: Psa
    engine: SyncEngine
    clock: OffsetClock  # SeatSync's "now" in the demo: the engine's, and the live demo's web context's
    box: SecretBox  # what the connections' secrets are encrypted with
    timezone: str = "UTC"

    @property
    def marketplace_keys(self) -> tuple[str, ...]:
        return tuple(marketplace.system for marketplace in self.marketplaces)

    @property
    def marketplace(self) -> Marketplace:
        """The first marketplace (the only one of a single-marketplace run)."""
        return self.marketplaces[0]

    def pass_day(self) -> DayReport:
        """A marketplace day passes: the simulators' world moves on, and SeatSync's clock with it."""
        report = advance_day(self.sandbox.world)
        self.follow_world()
        return report

    def jump_to(self, day: date) -> None:
        """The world's calendar jumps ahead to `day` (a test skipping to an anniversary); the clock follows."""
        if day < self.sandbox.world.today:
            raise ValueError(f"the demo's time only moves forward: {day} is before {self.sandbox.world.today}")
        self.sandbox.world.today = day
        self.follow_world()

    def follow_world(self) -> None:
        """Move the clock on to the world's day if the world got ahead (a day passed through the sandbox's own
        /_sandbox/advance); never back, so SeatSync's time only moves forward."""
        behind = (self.sandbox.world.today - business_date(self.clock(), self.timezone)).days
        if behind > 0:
            self.clock.advance(timedelta(days=behind))

    async def close(self) -> None:
        for marketplace in self.marketplaces:
            await marketplace.aclose()
        await self.psa.aclose()
        await self.db.dispose()
        await self.sandbox.stop()


def demo_clock(today: date, timezone: str, base: Clock = SYSTEM_CLOCK) -> OffsetClock:
    """`base` shifted so that it reads noon of `today` (the world's day) in the MSP's time zone now, and runs
    on from there: half a day of `base` passes before SeatSync's date would move on by itself."""
    noon = datetime.combine(today, time(12), tzinfo=ZoneInfo(timezone))
    return OffsetClock(base, offset=noon - base())


async def open_workspace(
    *, sandbox: Sandbox, database_url: str, secret_key: str, marketplace: str | Sequence[str], psa: str,
    timezone: str = "UTC", decreases_today: bool = True, fast_retries: bool = True, connector_timeout: float = 1.0,
    clock: Clock = SYSTEM_CLOCK, approvals: bool = False, tenant_id: int = DEFAULT_TENANT_ID,
    vendor_options: Mapping[str, Mapping[str, object]] | None = None,
) -> DemoWorkspace:
    """`marketplace`: one vendor key, or several (a list, or keys separated by commas), each read side by side.
    `clock`: the base of the workspace's clock (`demo_clock`): the machine's, or a test's pinned one.
    `approvals`: the default approval policy holds changes for a person (the live demo); without it nothing is
    held (a scripted run, where nobody approves).
    `tenant_id`: the MSP the workspace acts for (call it inside its `tenant_scope`): its sessions are bound to it
    and its connections are stored under its own data key (`save_connection` opens it with the master `box`).
    `vendor_options`: options set on a vendor's connection beside the simulator's, by vendor key (a test raising
    the Odin connector's `requests_per_second` with the simulator's quota, say)."""
    db = create_engine(database_url)
    await upgrade(db)
    sessions = session_factory(db)
    box = SecretBox(secret_key)
    if tenant_id != DEFAULT_TENANT_ID:
        sessions = sessions_for_tenant(sessions, tenant_id)
    config = sandbox.config()
    marketplaces = marketplace_keys(marketplace)
    async with sessions() as session:
        for system in (*marketplaces, psa):
            base_url, options, secrets = sandbox_connection(system, config)
            options = {**options, **(vendor_options or {}).get(system, {})}
            await save_connection(session=session, box=box, system=system, base_url=base_url, options=options,
                                  secrets=secrets, actor=ACTOR)
        await save_app_settings(session=session, settings=AppSettings(marketplaces=list(marketplaces), psa=psa,
                                                                      timezone=timezone), actor=ACTOR)
        if decreases_today:  # so every change of the scripted days shows in the PSA within the run
            await set_decrease_timing(session=session, scope=Scope.global_, timing=DecreaseTiming.today,
                                      actor=ACTOR)
        if not approvals:  # nobody approves in the scripted run: committed decreases and large changes post
            await set_approval_policy(session=session, scope=Scope.global_, hold_committed_decreases=False,
                                      max_amount=NO_AMOUNT_LIMIT, actor=ACTOR)
        await session.commit()
        market_connections = [await load_connection(session=session, box=box, system=system)
                              for system in marketplaces]
        psa_connection = await load_connection(session=session, box=box, system=psa)
    retry = RetryPolicy(max_attempts=8, max_total_s=30, base_delay_s=0.05, max_delay_s=1.0) if fast_retries \
        else RetryPolicy()
    marketplace_clients = tuple(build_marketplace(connection, retry=retry, timeout=connector_timeout)
                                for connection in market_connections)
    workspace_clock = demo_clock(sandbox.world.today, timezone, clock)
    # as bot/sync/wiring.py builds it: the PSA's "today" is SeatSync's business date
    psa_client = build_psa(psa_connection, retry=retry, timeout=connector_timeout,
                           today=lambda: business_date(workspace_clock(), timezone))
    engine = SyncEngine(sessions=sessions, marketplaces=marketplace_clients, psa=psa_client, clock=workspace_clock,
                        timezone=timezone)
    return DemoWorkspace(sandbox=sandbox, db=db, sessions=sessions, marketplaces=marketplace_clients,
                         psa=psa_client, engine=engine, clock=workspace_clock, box=box, timezone=timezone)
