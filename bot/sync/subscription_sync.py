"""The links of one marketplace subscription and their open intents: what a change notification levels."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Adjustment, MarketplaceResource, MarketplaceSubscription, ResourceLink
from bot.sync.planning import OPEN_STATUSES


async def subscription_link_ids(*, session: AsyncSession, marketplace: str, external_id: str) -> list[int]:
    return list(await session.scalars(
        select(ResourceLink.id)
        .join(MarketplaceResource, MarketplaceResource.id == ResourceLink.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .where(MarketplaceSubscription.marketplace == marketplace, MarketplaceSubscription.external_id == external_id)
        .order_by(ResourceLink.id)
    ))


async def open_intent_ids(*, session: AsyncSession, link_ids: list[int]) -> list[int]:
    if not link_ids:
        return []
    return list(await session.scalars(
        select(Adjustment.id).where(Adjustment.resource_link_id.in_(link_ids), Adjustment.status.in_(OPEN_STATUSES))
        .order_by(Adjustment.id)
    ))
