"""How the demo meets the Odin simulator (`bot/sandbox/odin*.py`): its connection, and a line by BA's ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    odin = config["odin"]
    return odin["url"], {}, {"username": odin["username"], "password": odin["password"]}


def find_line(world: SandboxWorld, subscription_id: str,
              resource_id: str) -> tuple[Subscription, SubscriptionLine] | None:
    """BA's ids are the world's own: the subscription id, and the resource id of each line."""
    subscription = world.subscriptions.get(int(subscription_id))
    if subscription is None:
        return None
    line = next((ln for ln in subscription.lines if str(ln.resource_id) == resource_id), None)
    return None if line is None else (subscription, line)
