"""Pax8's webhook deliveries as SeatSync reads them (shared/apis/pax8.md 6; webhooks spec `WebhookPayload`).

Pax8 signs nothing: a delivery carries, as its `Authorization` header, the value the partner configured on
the webhook, verbatim. SeatSync stores that value encrypted (the connection's `webhook_secret`) and compares
it in constant time (`hmac.compare_digest`) before reading the body; a missing or different value is
refused (401).

The body is a notification, not the state: `{accountId, url, webhookId, sentAt, webhookTopic{id, topic,
filters}, payloadData}`; for the `SUBSCRIPTION` topic `payloadData` holds `{type, subscriptionId, companyId,
productId}` (the sandbox's reading: Pax8 publishes neither the topic slugs nor this shape, so the
subscription id is also looked for at `payloadData.subscription.id` and `payloadData.id`). SeatSync re-reads
the subscription (`Marketplace.get_subscription`). Pax8 sends no delivery id, so a delivery is known by a
hash of its webhook, topic, sending time and data: the same delivery sent twice is acted on once. An
`INVOICE` notification (an invoice approved and readable; `payloadData.invoiceId`) is `InvoiceReady`: the
month's invoices are read at once. A notification of another topic (a product) names no subscription:
`Ignored`, answered 200 so Pax8 does not retry it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection

from bot.connectors.change_notifications import (
    ChangeEvent,
    Ignored,
    InvoiceReady,
    MalformedEvent,
    NotificationFormat,
)
from bot.connectors.marketplace.pax8.records import SYSTEM

AUTHORIZATION_HEADER = "Authorization"
SUBSCRIPTION_TOPICS = frozenset({"SUBSCRIPTION", "SUBSCRIPTIONS", "BILLING_SUBSCRIPTION"})
INVOICE_TOPICS = frozenset({"INVOICE", "INVOICES"})


def authorization_matches(secret: str, body: bytes, header: str) -> bool:
    """The configured value, exactly (constant time); the body plays no part."""
    if not secret:
        return False
    given = header.strip().encode(errors="replace")  # aiohttp hands non-UTF-8 header bytes over as surrogates
    return hmac.compare_digest(secret.strip().encode(), given)


def parse_delivery(body: bytes, default_marketplace: str, marketplaces: Collection[str]) -> ChangeEvent:
    if SYSTEM not in marketplaces:
        raise MalformedEvent("Pax8 is not a marketplace of this install")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedEvent("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedEvent("the body must be a JSON object (a WebhookPayload)")
    topic_block = payload.get("webhookTopic")
    topic = str(topic_block.get("topic") or "") if isinstance(topic_block, dict) else ""
    data = payload.get("payloadData")
    if not isinstance(data, dict):
        raise MalformedEvent("payloadData must be an object")
    delivery = hashlib.sha256(json.dumps(
        [payload.get("webhookId"), topic, payload.get("sentAt"), data], sort_keys=True, default=str,
    ).encode()).hexdigest()[:40]
    if topic.upper() in INVOICE_TOPICS:
        invoice_id = data.get("invoiceId")
        raise InvoiceReady(SYSTEM, invoice_id.strip()[:64] if isinstance(invoice_id, str) else None)
    subscription_id = _subscription_id(data)
    if topic.upper() not in SUBSCRIPTION_TOPICS or subscription_id is None:
        raise Ignored(f"a {topic or 'topic-less'} notification names no subscription")
    return ChangeEvent(delivery_id=f"pax8:{delivery}", marketplace=SYSTEM, subscription_id=subscription_id)


def _subscription_id(data: dict) -> str | None:
    nested = data.get("subscription")
    for value in (data.get("subscriptionId"), nested.get("id") if isinstance(nested, dict) else None):
        if isinstance(value, str) and value.strip() and len(value) <= 64 and value.isprintable():
            return value.strip()
    return None


AUTHORIZATION_ECHO = NotificationFormat(signature_header=AUTHORIZATION_HEADER,
                                        signature_matches=authorization_matches, parse=parse_delivery)
