"""How the demo meets the Ingram simulator (`bot/sandbox/ingram*.py`): its connection, and a line by CMP's ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    entry = config["ingram"]
    return (entry["url"], {"username": entry["username"], "marketplace": entry["marketplace"]},
            {"subscription_key": entry["subscription_key"], "password": entry["password"]})


def find_line(world: SandboxWorld, subscription_id: str,
              resource_id: str) -> tuple[Subscription, SubscriptionLine] | None:
    """CMP shows a subscription by its CMP id and a resource by its product's MPN."""
    subscription = next((s for s in world.subscriptions.values() if s.cmp_id == subscription_id), None)
    if subscription is None:
        return None
    line = next((ln for ln in subscription.lines if world.products[ln.resource_id].mpn == resource_id), None)
    return None if line is None else (subscription, line)
