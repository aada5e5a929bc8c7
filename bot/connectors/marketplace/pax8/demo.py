"""How the demo meets the Pax8 simulator (`bot/sandbox/pax8/`): its connection, and what a linked line should
bill by the simulator's own book (not by the connector's reading of it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.world import SandboxWorld


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    entry = config["pax8"]
    return (entry["url"], {"client_id": entry["client_id"], "audience": entry["audience"],
                           "token_url": entry["token_url"]},
            {"client_secret": entry["client_secret"]})


def line_target(world: SandboxWorld, subscription_id: str, resource_id: str) -> int | None:
    """The seats a PSA should bill for the Pax8 subscription now: its quantity while Pax8 bills it, else 0.
    A subscription is one product, shown as one resource keyed by the product id."""
    book = world.pax8
    sub = book.subscriptions.get(subscription_id) if book is not None else None
    if sub is None or sub.product_id != resource_id:
        return None
    return sub.now.billable_quantity
