"""What every Slack listener, job and web route can reach: the application context, one per process.

Built by `bot.app_factory.create_context`; Bolt's listeners receive it as `app_context` (a global middleware puts it
into Bolt's context), jobs and routes are handed it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.keys import SecretBox
from bot.sync.engine import SyncEngine
from bot.sync.scheduler import LeaderScheduler
from bot.sync.wiring import EngineHolder, NotConfigured


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    box: SecretBox
    bolt: AsyncApp | None
    scheduler: LeaderScheduler
    engines: EngineHolder
    engine_source: Callable[[], Awaitable[SyncEngine | NotConfigured]] | None = None  # the demo's fixed engine
    clock: Clock = SYSTEM_CLOCK  # the one source of "now" (bot/clock.py)
    # each Slack workspace (or Grid enterprise) that installed the app is its own tenant (bot/slack/tenants.py);
    # false for the single-workspace install, whose one tenant is the default one
    tenant_per_workspace: bool = False
    # tenants whose scheduled Slack work found no installation, told once in the log (bot.slack.scheduled_client)
    slack_unreachable_tenants: set[int] = field(default_factory=set)
    started_monotonic: float = field(default_factory=time.monotonic)

