"""Ingram CMP (spec 1.6) JSON shapes read into SeatSync's domain records, and CMP's error bodies.

- status (spec enum): pending -> pending, active -> active, hold -> suspended, terminated ->
  cancelled, removed -> expired (the reverse of the sandbox's mapping; terminated and removed both
  level the PSA to zero). An unknown value is read as pending and logged.
- term: `subscriptionPeriod {type, duration}` (not in the 1.6 schema; live CMP answers carry it,
  per the Onify blueprint): 1 month -> monthly, 1 year or 12 months -> annual, else other;
  absent -> other.
- dates are `YYYY-MM-DD`; `start_date` is `creationDate` (CMP has no start date), `end_date` is
  `expirationDate` when present, else `renewalDate`; `modified_at` is `lastModifiedDate` at 00:00
  UTC: CMP keeps the day only.
- a product line becomes `MarketResource(external_id=mpn, included=0, additional=quantity)`: CMP
  reports one quantity, the whole seat count (a fractional quantity is rounded up);
  `unitPrice` is the price, `unitCost` the MSP's cost (`unitProviderCost` is Ingram's own cost and
  is not used).
- numbers follow bot.domain.money: a quantity that is not a finite count from 0 to 1,000,000,000 makes the
  reply malformed (skipping the product would read as "removed", levelling it to zero); an amount that
  is not a finite, non-negative amount under 10^10 is dropped for that product (logged; the price
  stored before stays), one with more than 4 decimals is rounded to 4.
- errors: the gateway answers `{statusCode, message}` (marked "API gateway: " so a caller can tell
  a refused key from a refused login); the backend answers `{timestamp, status, error, path,
  correlationId}`, whose `error` is the message and whose correlation id Ingram support asks for.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import httpx

from bot.connectors.errors import MalformedReplyError
from bot.connectors.marketplace.ingram.auth import GATEWAY_PREFIX
from bot.domain.enums import SubscriptionStatus, Term
from bot.domain.money import NumberError, vendor_amount, vendor_count
from bot.domain.records import MarketCompany, MarketResource, MarketSubscription

log = logging.getLogger(__name__)

SYSTEM = "ingram"
STATUS = {"pending": SubscriptionStatus.pending, "active": SubscriptionStatus.active,
          "hold": SubscriptionStatus.suspended, "terminated": SubscriptionStatus.cancelled,
          "removed": SubscriptionStatus.expired}
_MONTHS_PER = {"month": 1, "year": 12}
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")

Json = dict[str, Any]


def page(body: Any, what: str) -> tuple[list[Json], int]:
    """A `{data, pagination{total}}` list reply: its items and the total the API reports."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise MalformedReplyError(SYSTEM, f"{what}: expected {{data: [...], pagination}}, got {_shape(body)}")
    pagination = body.get("pagination")
    total = pagination.get("total") if isinstance(pagination, dict) else None
    if not isinstance(total, int) or isinstance(total, bool):
        raise MalformedReplyError(SYSTEM, f"{what}: the reply has no pagination total: {_shape(pagination)}")
    items = body["data"]
    if not all(isinstance(item, dict) and isinstance(item.get("id"), str | int) for item in items):
        raise MalformedReplyError(SYSTEM, f"{what}: an item is not an object with an id")
    return items, total


def token_info(body: Any) -> tuple[str, float | None]:
    if not isinstance(body, dict) or not isinstance(body.get("token"), str) or not body["token"]:
        raise MalformedReplyError(SYSTEM, f"token: expected {{token, expiresInSeconds}}, got {_shape(body)}")
    lifetime = body.get("expiresInSeconds")
    return body["token"], float(lifetime) if isinstance(lifetime, int | float) else None


def company(item: Json) -> MarketCompany:
    return MarketCompany(external_id=str(item["id"]), name=str(item.get("name") or "").strip())


def subscription(head: Json, detail: Json) -> MarketSubscription:
    """From a list row and the same subscription's details (the details win where both speak)."""
    merged = {**head, **detail}
    products = merged.get("products")
    if not isinstance(products, list):
        raise MalformedReplyError(SYSTEM, f"subscription {merged.get('id')}: no products list in its details")
    modified = iso_day(merged, "lastModifiedDate")
    return MarketSubscription(
        external_id=str(merged["id"]),
        company_external_id=str(merged.get("customerId") or ""),
        name=str(merged.get("name") or "").strip(),
        term=term(merged.get("subscriptionPeriod")),
        status=subscription_status(merged.get("status")),
        start_date=iso_day(merged, "creationDate"),
        end_date=iso_day(merged, "expirationDate") or iso_day(merged, "renewalDate"),
        modified_at=datetime.combine(modified, time.min, UTC) if modified else None,
        resources=tuple(resource(merged["id"], p) for p in products),
    )


def resource(subscription_id: Any, product: Any) -> MarketResource:
    if not isinstance(product, dict):
        raise MalformedReplyError(SYSTEM, f"subscription {subscription_id}: a product is {_shape(product)}")
    where = f"subscription {subscription_id}: product {product.get('mpn')!r}"
    try:
        quantity = vendor_count(product.get("quantity"), field="quantity")
    except NumberError as exc:
        raise MalformedReplyError(SYSTEM, f"{where}: {exc}") from None
    price, price_currency = money(product.get("unitPrice"), where=f"{where}: unitPrice")
    cost, cost_currency = money(product.get("unitCost"), where=f"{where}: unitCost")
    key = product.get("mpn") or f"id:{product.get('id')}"
    return MarketResource(external_id=str(key), name=str(product.get("name") or key).strip(), included=0,
                          additional=quantity, unit_price=price, unit_cost=cost,
                          currency=price_currency or cost_currency)


def money(value: Any, *, where: str = "amount") -> tuple[Decimal | None, str | None]:
    """A spec `Price` object {currency, amount: "70.5"}; anything else, or an amount no one can bill with
    (bot.domain.money.vendor_amount), reads as no price."""
    if not isinstance(value, dict) or value.get("amount") in (None, ""):
        return None, None
    try:
        amount = vendor_amount(value["amount"], field=where)
    except NumberError as exc:
        log.warning("ingram: %s; the price is left empty", exc)
        return None, None
    currency = value.get("currency")
    return amount, str(currency).upper() if currency else None


def iso_day(item: Json, name: str) -> date | None:
    value = item.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise MalformedReplyError(SYSTEM, f"{name} should be a YYYY-MM-DD date, got {value!r}") from None


def subscription_status(value: Any) -> SubscriptionStatus:
    status = STATUS.get(str(value).lower())
    if status is None:
        log.warning("ingram: unknown subscription status %r, read as pending", value)
        return SubscriptionStatus.pending
    return status


def term(period: Any) -> Term:
    if not isinstance(period, dict):
        return Term.other
    per = _MONTHS_PER.get(str(period.get("type", "")).lower())
    duration = period.get("duration", 1)
    if per is None or not isinstance(duration, int | float):
        return Term.other
    return {1: Term.monthly, 12: Term.annual}.get(int(per * duration), Term.other)


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return _page_text(response.text)
    if isinstance(body, dict):
        if "statusCode" in body and "message" in body:
            return GATEWAY_PREFIX + str(body["message"])
        message = body.get("error") or body.get("message") or body.get("detail")
        correlation = body.get("correlationId") or response.headers.get("X-Correlation-ID")
        if message:
            return f"{message} (correlation id {correlation})" if correlation else str(message)
    return _shape(body)


def _page_text(text: str) -> str:
    flat = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return flat if len(flat) <= 200 else flat[:200] + "..."


def _shape(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
