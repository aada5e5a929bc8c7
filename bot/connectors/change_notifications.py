"""How a marketplace's change notification is checked and read (`Capabilities.webhooks` of its vendor).

`SIGNED_JSON` is the one format SeatSync reads today, the sandbox's (`bot/sandbox/*_notify.py`), shaped after
common webhook practice: an HMAC-SHA256 of the raw body in a header, then a compact JSON event

    X-Sandbox-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the webhook secret>
    {"deliveryId": "...", "marketplace": "<vendor key>", "subscriptionId": "...", ...}

A vendor with a format of its own gives its own `NotificationFormat`. The signature is checked before the
body is parsed; `parse` raises MalformedEvent with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Sandbox-Signature"


class MalformedEvent(ValueError):
    pass


class Ignored(Exception):  # noqa: N818 - a verdict, not an error
    """A genuine notification that asks nothing of SeatSync (another topic): accepted, nothing synced."""


class InvoiceReady(Exception):  # noqa: N818 - a verdict, not an error
    """A genuine notification that an invoice can now be read from the marketplace's API (Pax8's invoice-ready
    topic): SeatSync reads the month's invoices at once instead of waiting for the daily round."""

    def __init__(self, marketplace: str, invoice_id: str | None) -> None:
        super().__init__(f"{marketplace} says invoice {invoice_id or '(unnamed)'} is ready")
        self.marketplace = marketplace
        self.invoice_id = invoice_id


@dataclass(frozen=True)
class ChangeEvent:
    delivery_id: str
    marketplace: str
    subscription_id: str


@dataclass(frozen=True)
class NotificationFormat:
    signature_header: str
    signature_matches: Callable[[str, bytes, str], bool]  # (secret, raw body, the header's value)
    # (raw body, the marketplace it came for, the marketplaces SeatSync knows) -> the event
    parse: Callable[[bytes, str, Collection[str]], ChangeEvent]

    def signed(self, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
        return self.signature_matches(secret, body, headers.get(self.signature_header, ""))


def hmac_sha256_matches(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # aiohttp hands non-UTF-8 header bytes over as surrogates; they can only be a wrong signature
    given = header.strip().lower().encode(errors="replace")
    return hmac.compare_digest(expected.encode(), given)


def parse_json_event(body: bytes, default_marketplace: str, marketplaces: Collection[str]) -> ChangeEvent:
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedEvent("the body is not JSON") from None
    if not isinstance(event, dict):
        raise MalformedEvent("the body must be a JSON object")
    delivery = _text(event, "deliveryId", 200)
    subscription = _text(event, "subscriptionId", 64)
    marketplace = event.get("marketplace", default_marketplace)
    if marketplace not in marketplaces:
        raise MalformedEvent(f"marketplace must be one of {', '.join(marketplaces)}")
    return ChangeEvent(delivery_id=delivery, marketplace=marketplace, subscription_id=subscription)


def _text(event: dict, name: str, limit: int) -> str:
    value = event.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise MalformedEvent(f"{name} must be a non-empty string of at most {limit} characters")
    if any(unicodedata.category(character) == "Cc" for character in value.strip()):  # PostgreSQL refuses a NUL
        raise MalformedEvent(f"{name} cannot contain a control character")
    return value.strip()


SIGNED_JSON = NotificationFormat(signature_header=SIGNATURE_HEADER, signature_matches=hmac_sha256_matches,
                                 parse=parse_json_event)
