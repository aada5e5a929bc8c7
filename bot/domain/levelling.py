"""What a linked PSA service should bill: the target count, and whether a post is needed."""

from __future__ import annotations

from bot.domain.enums import SubscriptionStatus

LEVEL_TO_ZERO = {SubscriptionStatus.cancelled, SubscriptionStatus.expired}


def target_units(*, marketplace_total: int, subscription_status: SubscriptionStatus, removed: bool = False) -> int:
    """Marketplace total; 0 once the subscription is cancelled or expired, or the resource is gone."""
    if removed or subscription_status in LEVEL_TO_ZERO:
        return 0
    return marketplace_total
