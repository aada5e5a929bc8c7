"""Change notifications for marketplace subscriptions: a sandbox convenience, not an Ingram feature.

Ingram's CMP API has no confirmed webhook (shared/apis/marketplaces.md 2.1: integrations poll and
compare `lastModifiedDate`). So that SeatSync can also be driven by push, the sandbox POSTs one JSON
notification per changed subscription to `world.webhook_url`, shaped after common webhook practice
(compact event, delivery id for de-duplication, HMAC signature over the raw body):

    POST <webhook_url>
    Content-Type: application/json
    X-Sandbox-Signature: sha256=<hex HMAC-SHA256 of the raw body, key = credentials.webhook_secret>
    X-Sandbox-Timestamp: <unix seconds when sent>
    X-Sandbox-Event: subscription.changed
    X-Sandbox-Delivery: <deliveryId>

    {"deliveryId": "<uuid>", "eventType": "subscription.changed", "marketplace": "ingram",
     "subscriptionId": "<CMP id>", "customerId": "<CMP customer id>", "status": "<CMP status>",
     "lastModifiedDate": "YYYY-MM-DD", "occurredAt": "<ISO-8601 UTC, world clock>"}

With `marketplace="odin"` (the admin webhook knob) the same world is described in BA's ids instead:
`subscriptionId` is the BA subscription id and `customerId` the BA account id, so a SeatSync reading
the Odin simulator can find the subscription.

Delivery is best effort: one attempt per subscription with a short timeout; a receiver that is
down or answers non-2xx is logged, never raised to the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid

import aiohttp

from bot.sandbox.ingram_views import CMP_STATUS
from bot.sandbox.world import SandboxWorld, Subscription

log = logging.getLogger(__name__)

EVENT_TYPE = "subscription.changed"
DELIVERY_TIMEOUT_S = 5.0


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification_body(world: SandboxWorld, sub: Subscription, marketplace: str = "ingram") -> bytes:
    customer = world.customers.get(sub.account_id)
    if marketplace == "odin":
        subscription_id, customer_id = str(sub.subscription_id), str(sub.account_id)
    else:
        subscription_id, customer_id = sub.cmp_id, customer.cmp_id if customer else str(sub.account_id)
    event = {
        "deliveryId": str(uuid.uuid4()),
        "eventType": EVENT_TYPE,
        "marketplace": marketplace,
        "subscriptionId": subscription_id,
        "customerId": customer_id,
        "status": CMP_STATUS[sub.status],
        "lastModifiedDate": sub.last_modified.date().isoformat(),
        "occurredAt": world.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return json.dumps(event, separators=(",", ":")).encode()


async def notify_changes(world: SandboxWorld, subscription_ids: list[int], *,
                         timeout_s: float = DELIVERY_TIMEOUT_S, marketplace: str = "ingram") -> None:
    """POST one signed notification per changed subscription to `world.webhook_url`, if set."""
    url = world.webhook_url
    if not url or not subscription_ids:
        return
    subs = [world.subscriptions[sid] for sid in subscription_ids if sid in world.subscriptions]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
            for sub in subs:
                await _deliver(session, url, world, sub, marketplace)
    except Exception:  # the sandbox must keep running whatever the receiver does
        log.exception("change notifications to %s failed", url)


async def _deliver(session: aiohttp.ClientSession, url: str, world: SandboxWorld, sub: Subscription,
                   marketplace: str) -> None:
    body = notification_body(world, sub, marketplace)
    delivery = json.loads(body)["deliveryId"]
    headers = {
        "Content-Type": "application/json",
        "X-Sandbox-Signature": sign(world.credentials.webhook_secret, body),
        "X-Sandbox-Timestamp": str(int(time.time())),
        "X-Sandbox-Event": EVENT_TYPE,
        "X-Sandbox-Delivery": delivery,
    }
    try:
        async with session.post(url, data=body, headers=headers) as response:
            if response.status >= 300:
                log.warning("change notification %s for subscription %s: receiver answered %s",
                            delivery, sub.cmp_id, response.status)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("change notification %s for subscription %s not delivered: %r", delivery, sub.cmp_id, exc)
