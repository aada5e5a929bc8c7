"""Pax8 partner API JSON (spec components.schemas) read into SeatSync's domain records, and Pax8's error bodies.

- A Pax8 subscription is one product bought for one company, with one `quantity`: it becomes one
  `MarketSubscription` holding one `MarketResource` whose id is the product's id. Two subscriptions of
  the same product for one company stay two subscriptions, each its own resource and its own link; they
  are never added together (Pax8's own invoice auditor summed them by mistake, pax8-cli#63).
- The count SeatSync bills is the quantity while Pax8 bills it (status Active, PendingCancel or Activated,
  on a billing term other than Trial); a trial, an order still provisioning (PendingManual,
  PendingAutomated, WaitingForDetails) or a product not yet activated (PendingActivation: "billing services
  do not begin ... until activation") counts 0 and reads as pending.
- status: Active, Activated, PendingCancel -> active; PendingManual, PendingAutomated, WaitingForDetails,
  PendingActivation, Trial -> pending; Cancelled -> cancelled; Converted (a trial turned into a paid
  subscription) -> expired. An unknown value is read as pending and logged.
- term: billingTerm Annual -> annual (the anniversary of `startDate` ends each commitment year); a
  commitment (`commitmentTerm`) on any other billing term (NCE annual commitment billed monthly, 2-Year,
  3-Year) -> other, with `end_date` the commitment's `endDate`, so a committed decrease waits for it
  (bot.domain.proration.commitment_end) and the approval policy holds it as committed; Monthly, Trial with
  no commitment -> monthly; One-Time and Activation -> other.
- dates: `startDate` is the start; `end_date` is the commitment's end when there is one, else `endDate`;
  `modified_at` is `updatedDate`. Timestamps are parsed leniently: `Z`, `+00:00`, `-0700` and bare dates
  all occur in Pax8's examples.
- money: `price` (to the customer) and `partnerCost` (the MSP's), per unit per month, in `currencyCode`;
  an amount no one can bill with is dropped for that subscription (logged), as elsewhere
  (bot.domain.money); a quantity that is not a finite count makes the reply malformed.
- errors: the partner API answers `{type, message, instance, status, details[{type, message}]}`, the token
  endpoint `{error, error_description}`; the message shown is Pax8's own, with the details' messages.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from bot.connectors.errors import MalformedReplyError
from bot.domain.enums import SubscriptionStatus, Term
from bot.domain.money import NumberError, vendor_amount, vendor_count
from bot.domain.records import MarketCompany, MarketResource, MarketSubscription

log = logging.getLogger(__name__)

SYSTEM = "pax8"
Json = dict[str, Any]

BILLED_STATUSES = frozenset({"Active", "PendingCancel", "Activated"})
STATUS = {"Active": SubscriptionStatus.active, "Activated": SubscriptionStatus.active,
          "PendingCancel": SubscriptionStatus.active, "PendingManual": SubscriptionStatus.pending,
          "PendingAutomated": SubscriptionStatus.pending, "WaitingForDetails": SubscriptionStatus.pending,
          "PendingActivation": SubscriptionStatus.pending, "Trial": SubscriptionStatus.pending,
          "Cancelled": SubscriptionStatus.cancelled, "Converted": SubscriptionStatus.expired}
_OFFSET_NO_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def page(body: Any, what: str) -> tuple[list[Json], int, int]:
    """A `{content: [...], page: {size, totalElements, totalPages, number}}` reply: its items, the total
    pages and the total elements."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise MalformedReplyError(SYSTEM, f"{what}: expected {{content: [...], page}}, got {_shape(body)}")
    info = body.get("page")
    pages = info.get("totalPages") if isinstance(info, dict) else None
    total = info.get("totalElements") if isinstance(info, dict) else None
    if not _whole(pages) or not _whole(total):
        raise MalformedReplyError(SYSTEM, f"{what}: the reply has no page totals: {_shape(info)}")
    items = body["content"]
    if not all(isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] for item in items):
        raise MalformedReplyError(SYSTEM, f"{what}: an item is not an object with an id")
    return items, int(pages), int(total)


def token_info(body: Any) -> tuple[str, float | None]:
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise MalformedReplyError(SYSTEM, f"token: expected {{access_token, expires_in}}, got {_shape(body)}")
    lifetime = body.get("expires_in")
    return body["access_token"], float(lifetime) if _number(lifetime) else None


def company(item: Json) -> MarketCompany:
    return MarketCompany(external_id=str(item["id"]), name=str(item.get("name") or "").strip())


def subscription(item: Json) -> MarketSubscription:
    sub_id = item.get("id")
    if not isinstance(sub_id, str) or not sub_id:
        raise MalformedReplyError(SYSTEM, f"a subscription has no id: {_shape(item)}")
    status_text = str(item.get("status") or "")
    billing_term = str(item.get("billingTerm") or "")
    commitment = item.get("commitmentTerm") if isinstance(item.get("commitmentTerm"), dict) else None
    commitment_end = moment(commitment, "endDate") if commitment else None
    end = commitment_end or moment(item, "endDate")
    product_id = item.get("productId")
    name = str(item.get("productName") or product_id or "").strip()
    return MarketSubscription(
        external_id=sub_id,
        company_external_id=str(item.get("companyId") or ""),
        name=name,
        term=term(billing_term, has_commitment=commitment is not None),
        status=subscription_status(status_text),
        start_date=_day(moment(item, "startDate")),
        end_date=_day(end),
        modified_at=moment(item, "updatedDate"),
        resources=(resource(item, billed=status_text in BILLED_STATUSES and billing_term != "Trial"),),
    )


def resource(item: Json, *, billed: bool) -> MarketResource:
    where = f"subscription {item.get('id')}"
    try:
        quantity = vendor_count(item.get("quantity"), field="quantity")
    except NumberError as exc:
        raise MalformedReplyError(SYSTEM, f"{where}: {exc}") from None
    currency = item.get("currencyCode")
    product_id = item.get("productId")
    key = str(product_id) if product_id else f"subscription:{item.get('id')}"
    return MarketResource(external_id=key, name=str(item.get("productName") or key).strip(), included=0,
                          additional=quantity if billed else 0,
                          unit_price=amount(item.get("price"), where=f"{where}: price"),
                          unit_cost=amount(item.get("partnerCost"), where=f"{where}: partnerCost"),
                          currency=str(currency).upper() if isinstance(currency, str) and currency else None)


def amount(value: Any, *, where: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return vendor_amount(value, field=where)
    except NumberError as exc:
        log.warning("pax8: %s; the price is left empty", exc)
        return None


def term(billing_term: str, *, has_commitment: bool) -> Term:
    if billing_term == "Annual":
        return Term.annual
    if has_commitment or billing_term in ("2-Year", "3-Year", "One-Time", "Activation"):
        return Term.other
    return Term.monthly


def subscription_status(value: str) -> SubscriptionStatus:
    status = STATUS.get(value)
    if status is None:
        log.warning("pax8: unknown subscription status %r, read as pending", value)
        return SubscriptionStatus.pending
    return status


def moment(item: Json, name: str) -> datetime | None:
    """A Pax8 timestamp, however its examples spell it: Z, +00:00, -0700 (no colon) or a bare date."""
    value = item.get(name)
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        text = _OFFSET_NO_COLON.sub(r"\1:\2", text.replace("Z", "+00:00"))
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedReplyError(SYSTEM, f"{name} should be a date-time, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: datetime | None) -> date | None:
    return value.astimezone(UTC).date() if value is not None else None


def error_message(response: httpx.Response) -> str:
    """Pax8's own words: the partner API's `message` (and its details'), or the token endpoint's
    `error_description`."""
    try:
        body = response.json()
    except ValueError:
        return _page_text(response.text)
    if not isinstance(body, dict):
        return _shape(body)
    if "error" in body and ("error_description" in body or "message" not in body):
        description = body.get("error_description")
        return f"{body['error']}: {description}" if description else str(body["error"])
    message = str(body.get("message") or body.get("type") or "")
    details = [str(d.get("message")) for d in body.get("details") or [] if isinstance(d, dict) and d.get("message")]
    extra = [d for d in details if d != message]
    if extra:
        message = f"{message} ({'; '.join(extra)})" if message else "; ".join(extra)
    return message or _shape(body)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _page_text(text: str) -> str:
    flat = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return flat if len(flat) <= 200 else flat[:200] + "..."


def _shape(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
