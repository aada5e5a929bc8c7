"""How the demo meets the Pax8 simulator (`bot/sandbox/pax8/`): its connection, what a linked line should
bill by the simulator's own book (not by the connector's reading of it), what a day changed in that book, and the
webhook the live demo configures through Pax8's webhooks API (as a partner would in Pax8's app)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from bot.connectors.http import vendor_client
from bot.wording import counted

if TYPE_CHECKING:
    from bot.sandbox.day_passes import DayReport
    from bot.sandbox.world import SandboxWorld

WEBHOOK_NAME = "SeatSync"
SUBSCRIPTION_TOPIC = "SUBSCRIPTION"
ERROR_THRESHOLD = 3  # failed calls before Pax8 marks a delivery failed


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


def day_summary(report: DayReport) -> str:
    """What a day changed in the Pax8 book: its seat changes and its subscription events, by kind."""
    day = report.pax8
    if day is None:
        return "no Pax8 book"
    kinds = Counter(kind for kind, _ in day.events if kind != "Change")
    up = sum(1 for _, before, after in day.seat_changes if after > before)
    down = sum(1 for _, before, after in day.seat_changes if after < before)
    parts = [f"{counted(up, 'seat increase')}, {counted(down, 'drop')}"]
    parts += [f"{count} {kind}" for kind, count in sorted(kinds.items())]
    return ", ".join(parts)


async def register_webhook(config: dict[str, Any], url: str, authorization: str) -> None:
    """Sign in as the partner and create a webhook for subscription events that calls `url` with `authorization`
    as its Authorization header (Pax8 echoes it; it signs nothing)."""
    entry = config["pax8"]
    async with vendor_client(timeout=10.0) as http:
        token = await http.post(entry["token_url"], json={
            "client_id": entry["client_id"], "client_secret": entry["client_secret"], "audience": entry["audience"],
            "grant_type": "client_credentials"})
        token.raise_for_status()
        created = await http.post(
            entry["webhooks_url"] + "/webhooks",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            json={"displayName": WEBHOOK_NAME, "url": url, "authorization": authorization, "active": True,
                  "errorThreshold": ERROR_THRESHOLD,
                  "webhookTopics": [{"topic": SUBSCRIPTION_TOPIC, "filters": []}]})
        created.raise_for_status()
