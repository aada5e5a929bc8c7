"""One token rotation per workspace at a time, in every process: a refresh token works once, so two instances (or two
requests) rotating the same workspace's token together would leave one of them with a spent refresh token.

`SerializedTokenRotator` is slack_sdk's rotator with the check, the refresh and the save under one lock per workspace
(an asyncio lock in the process, and a PostgreSQL advisory lock across instances): whoever comes second reads the
installation again and finds the token already fresh. Bolt's authorization saves what it returns once more, which
updates the same row. `workspace_client` is that same path for work that runs outside a Slack request (a scheduled
post).
Expiry is judged on the machine's clock, as slack_sdk judges it: Slack's `expires_in` is real time.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class SerializedTokenRotator(AsyncTokenRotator):
    def __init__(self, *, client_id: str, client_secret: str, client: AsyncWebClient,
                 store: AsyncInstallationStore, engine: AsyncEngine) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self._store = store
        self._engine = engine
        self._locks: dict[str, asyncio.Lock] = {}

    async def perform_bot_token_rotation(self, *, bot: Bot, minutes_before_expiration: int = 120) -> Bot | None:
        if not _expiring(bot, minutes_before_expiration):
            return None
        key = f"{bot.enterprise_id or '-'}:{bot.team_id or '-'}"
        async with self._locks.setdefault(key, asyncio.Lock()), _across_instances(self._engine, key):
            latest = await self._store.async_find_bot(enterprise_id=bot.enterprise_id, team_id=bot.team_id,
                                                      is_enterprise_install=bot.is_enterprise_install)
            if latest is not None and not _expiring(latest, minutes_before_expiration):
                return latest  # rotated meanwhile by another request or instance
            refreshed = await super().perform_bot_token_rotation(
                bot=latest or bot, minutes_before_expiration=minutes_before_expiration)
            if refreshed is not None:
                await self._store.async_save_bot(refreshed)
            return refreshed


async def workspace_client(bolt: AsyncApp, *, enterprise_id: str | None, team_id: str | None,
                           is_enterprise_install: bool) -> AsyncWebClient | None:
    """A Web API client for one workspace's work outside a Slack request (a scheduled post): in multi-workspace
    mode with its bot token, rotated first when about to expire (None when the workspace has no installation);
    with one SLACK_BOT_TOKEN, the app's own client."""
    if bolt.oauth_flow is None:
        return bolt.client
    authorize = bolt.oauth_flow.settings.authorize
    token = await bot_token_for(authorize.token_rotator, bolt.installation_store, enterprise_id=enterprise_id,
                                team_id=team_id, is_enterprise_install=is_enterprise_install,
                                minutes_before_expiration=authorize.token_rotation_expiration_minutes)
    if token is None:
        return None
    app_client = bolt.client
    return AsyncWebClient(token=token, base_url=app_client.base_url, timeout=app_client.timeout,
                          session=app_client.session, retry_handlers=app_client.retry_handlers)


async def bot_token_for(rotator: SerializedTokenRotator, store: AsyncInstallationStore, *, enterprise_id: str | None,
                        team_id: str | None, is_enterprise_install: bool, minutes_before_expiration: int) -> str | None:
    """The workspace's bot token, rotated first when it is about to expire; None when it is not installed."""
    bot = await store.async_find_bot(enterprise_id=enterprise_id, team_id=team_id,
                                     is_enterprise_install=is_enterprise_install)
    if bot is None:
        return None
    refreshed = await rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=minutes_before_expiration)
    return (refreshed or bot).bot_token


def _expiring(bot: Bot, minutes: int) -> bool:
    return bot.bot_token_expires_at is not None and bot.bot_token_expires_at <= time.time() + minutes * 60


@asynccontextmanager
async def _across_instances(engine: AsyncEngine, key: str) -> AsyncIterator[None]:
    if engine.dialect.name != "postgresql":  # SQLite serves one instance: the process's lock is enough
        yield
        return
    lock_id = int.from_bytes(hashlib.sha256(f"slack-token-rotation:{key}".encode()).digest()[:8], "big", signed=True)
    async with engine.connect() as connection, connection.begin():
        await connection.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": lock_id})
        yield
