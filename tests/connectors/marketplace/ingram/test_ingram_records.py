"""CMP JSON read into domain records, and CMP error bodies read into messages, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from bot.connectors.errors import AuthenticationError, MalformedReplyError
from bot.connectors.marketplace.ingram.auth import (
    MarketplaceRejectedError,
    SubscriptionKeyRejectedError,
    TokenCache,
    login_error,
)
from bot.connectors.marketplace.ingram.records import (
    error_message,
    money,
    page,
    subscription,
    subscription_status,
    term,
    token_info,
)
from bot.domain.enums import SubscriptionStatus, Term


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", SubscriptionStatus.pending), ("active", SubscriptionStatus.active),
    ("hold", SubscriptionStatus.suspended), ("terminated", SubscriptionStatus.cancelled),
    ("removed", SubscriptionStatus.expired), ("Active", SubscriptionStatus.active),
    ("migrating", SubscriptionStatus.pending),
])
def test_cmp_statuses(status, expected):
    assert subscription_status(status) is expected


@pytest.mark.parametrize(("period", "expected"), [
    ({"type": "month", "duration": 1}, Term.monthly), ({"type": "year", "duration": 1}, Term.annual),
    ({"type": "month", "duration": 12}, Term.annual), ({"type": "year", "duration": 3}, Term.other),
    ({"type": "day", "duration": 30}, Term.other), (None, Term.other), ({"type": "month"}, Term.monthly),
])
def test_subscription_periods(period, expected):
    assert term(period) is expected


def test_a_detail_becomes_a_subscription_with_one_quantity_per_product():
    detail = {
        "id": "1001880", "customerId": "1000027", "name": "M365", "status": "hold",
        "creationDate": "2024-05-29", "renewalDate": "2027-05-29", "lastModifiedDate": "2026-11-02",
        "subscriptionPeriod": {"type": "year", "duration": 1},
        "products": [{"mpn": "CFQ7TTC0LDPB:0001", "name": "Business Standard", "quantity": 86,
                      "unitPrice": {"currency": "usd", "amount": "12.5"},
                      "unitCost": {"currency": "USD", "amount": "9.50"}},
                     {"mpn": "STORAGE-GB", "quantity": 12.25}],
    }
    sub = subscription({}, detail)
    assert (sub.status, sub.term, sub.start_date, sub.end_date) == (
        SubscriptionStatus.suspended, Term.annual, date(2024, 5, 29), date(2027, 5, 29))
    assert sub.modified_at == datetime(2026, 11, 2, tzinfo=UTC)
    first, second = sub.resources
    assert (first.external_id, first.included, first.additional, first.total) == ("CFQ7TTC0LDPB:0001", 0, 86, 86)
    assert (first.unit_price, first.unit_cost, first.currency) == (Decimal("12.5"), Decimal("9.50"), "USD")
    assert (second.name, second.total, second.unit_price) == ("STORAGE-GB", 13, None)


def test_details_without_products_are_malformed():
    with pytest.raises(MalformedReplyError, match="no products list"):
        subscription({}, {"id": "1"})


def test_money_and_pages_and_tokens():
    assert money({"currency": "EUR", "amount": "70.5"}) == (Decimal("70.5"), "EUR")
    assert money({"amount": "n/a"}) == (None, None)
    assert money(None) == (None, None)
    assert page({"data": [{"id": "1"}], "pagination": {"offset": 0, "limit": 1, "total": 3}}, "x") == (
        [{"id": "1"}], 3)
    with pytest.raises(MalformedReplyError, match="no pagination total"):
        page({"data": []}, "customers")
    assert token_info({"token": "t", "expiresInSeconds": 1500}) == ("t", 1500.0)
    assert token_info({"token": "t"}) == ("t", None)


def test_error_bodies_of_the_gateway_and_the_backend():
    gateway = httpx.Response(401, json={"statusCode": 401, "message": "Access denied due to invalid subscription key."})
    backend = httpx.Response(401, json={"timestamp": "t", "status": 401, "error": "Bad credentials", "path": "/x",
                                        "correlationId": "c-1"})
    html = httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert error_message(gateway) == "API gateway: Access denied due to invalid subscription key."
    assert error_message(backend) == "Bad credentials (correlation id c-1)"
    assert error_message(html) == "502 Bad Gateway"
    assert isinstance(login_error(AuthenticationError("ingram", error_message(gateway))),
                      SubscriptionKeyRejectedError)
    assert isinstance(login_error(AuthenticationError("ingram", "Bad credentials for marketplace 'eu'")),
                      MarketplaceRejectedError)
    assert type(login_error(AuthenticationError("ingram", "Bad credentials"))) is AuthenticationError


async def test_the_token_cache_renews_a_fifth_of_the_lifetime_early_and_logs_in_once_for_many():
    now = [0.0]
    issued: list[str] = []

    async def login() -> tuple[str, float | None]:
        issued.append(f"t{len(issued)}")
        return issued[-1], 100.0

    cache = TokenCache(login, lambda: now[0])
    assert {await cache.get() for _ in range(5)} == {"t0"}
    now[0] = 79.9
    assert await cache.get() == "t0"
    now[0] = 80.0
    assert await cache.get() == "t1"
    cache.discard("t0")  # an old token refused: the live one stays
    assert await cache.get() == "t1"
    cache.discard("t1")
    assert await cache.get() == "t2" and cache.logins == 3
