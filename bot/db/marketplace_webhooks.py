"""Marketplace change notifications: the secret that signs them, the deliveries already handled, and
whether a notified subscription is one SeatSync knows.

The secret is each active marketplace connection's stored (encrypted) secret `webhook_secret`: the
marketplace (or the sandbox, whose secret `seatsync sandbox --print-config` shows under `webhook`)
signs with it, or (Pax8) echoes it as its Authorization header, so it is configured like the
marketplace's other credentials. With several marketplaces each has its own; with several tenants, the secret
that proves a delivery routes it to the tenant whose connection holds it (`every_tenants_webhook_configs`).

Deliveries are remembered one row each in `app_settings` under `webhook:<hash of marketplace and
delivery id>`: the primary key makes "first time?" one INSERT that only one process can win, with no
table of its own. Rows older than a week are pruned as new ones arrive; a redelivery after that would
only trigger one more harmless sync.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.connectors.fields import WEBHOOK_SECRET
from bot.db.app_settings import load_app_settings
from bot.db.connections import load_connection
from bot.db.models import AppSetting, MarketplaceSubscription
from bot.db.tenancy import DEFAULT_TENANT_ID, active_tenant_ids, current_tenant_id, tenant_scope
from bot.keys import SecretBox

SECRET_NAME = WEBHOOK_SECRET.name
DELIVERY_PREFIX = "webhook:"
KEEP_DELIVERIES = timedelta(days=7)


@dataclass(frozen=True, repr=False)
class WebhookConfig:
    marketplace: str
    secret: str
    tenant_id: int = DEFAULT_TENANT_ID  # whose connection holds the secret: a proven delivery is that tenant's


async def webhook_config(*, session: AsyncSession, box: SecretBox) -> WebhookConfig | None:
    """The first active marketplace with a webhook secret; None when none has one.
    Raises SecretDecryptionError when stored secrets cannot be decrypted."""
    configs = await webhook_configs(session=session, box=box)
    return configs[0] if configs else None


async def webhook_configs(*, session: AsyncSession, box: SecretBox) -> list[WebhookConfig]:
    """Every active marketplace that has a webhook secret, in the settings' order.
    Raises SecretDecryptionError when stored secrets cannot be decrypted."""
    settings = await load_app_settings(session=session)
    configs = []
    for marketplace in settings.marketplaces:
        connection = await load_connection(session=session, box=box, system=marketplace)
        secret = connection.secrets.get(SECRET_NAME) if connection is not None else None
        if secret:
            configs.append(WebhookConfig(marketplace=marketplace, secret=secret, tenant_id=current_tenant_id()))
    return configs


async def every_tenants_webhook_configs(*, sessions: async_sessionmaker[AsyncSession],
                                        box: SecretBox) -> list[WebhookConfig]:
    """`webhook_configs` of every active tenant, each read in its own scope: a delivery carries no tenant, the
    secret that proves it names one. Raises SecretDecryptionError when stored secrets cannot be decrypted."""
    async with sessions() as session:
        tenants = await active_tenant_ids(session)
    configs: list[WebhookConfig] = []
    for tenant_id in tenants:
        with tenant_scope(tenant_id):
            async with sessions() as session:
                configs += await webhook_configs(session=session, box=box)
    return configs


def delivery_key(marketplace: str, delivery_id: str) -> str:
    return DELIVERY_PREFIX + hashlib.sha256(f"{marketplace}\n{delivery_id}".encode()).hexdigest()[:48]


async def remember_delivery(*, session: AsyncSession, marketplace: str, delivery_id: str, subscription_id: str,
                            now: datetime) -> bool:
    """True the first time this delivery is seen (in any process), False for a repeat. Commits."""
    await session.execute(delete(AppSetting).where(AppSetting.key.startswith(DELIVERY_PREFIX),
                                                   AppSetting.updated_at < now - KEEP_DELIVERIES))
    session.add(AppSetting(key=delivery_key(marketplace, delivery_id), updated_by="webhook", updated_at=now,
                           value={"marketplace": marketplace, "delivery": delivery_id[:200],
                                  "subscription": subscription_id, "received_at": now.isoformat()}))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def subscription_known(*, session: AsyncSession, marketplace: str, external_id: str) -> bool:
    found = await session.scalar(select(MarketplaceSubscription.id).where(
        MarketplaceSubscription.marketplace == marketplace,
        MarketplaceSubscription.external_id == external_id))
    return found is not None
