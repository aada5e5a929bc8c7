"""The Ingram CMP simulator's orders: every seat change, new subscription, renewal and cancellation it makes is an
order, listed by `GET /orders` (filters, paging) and detailed by `GET /orders/{id}`.

Replies go through test_ingram's `Cmp.call`, so every success is validated against the vendor's OpenAPI 1.6
document and every error against the backend's error shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.sandbox.day_passes import advance_day
from bot.sandbox.generator import generate_world
from bot.sandbox.ingram_orders import change_seats, place_order
from tests.sandbox import test_ingram as cmp_tests
from tests.sandbox.test_ingram import ids
from tests.sandbox.test_odin import ACME, BASIC, BRIGHTSIDE, EXCHANGE

openapi, world, clock, anonymous, cmp = (cmp_tests.openapi, cmp_tests.world, cmp_tests.clock, cmp_tests.anonymous,
                                         cmp_tests.cmp)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 15, hour, minute, tzinfo=UTC)


@pytest.fixture
def three_orders(world):
    """A seat increase on 1001880 at 09:00, a decrease on 1001905 at 10:30, a cancellation of 1001880 at 12:00."""
    change_seats(world, 1001880, BASIC, 15)
    change_seats(world, 1001905, BASIC, 3)
    place_order(world, 1001880, "cancellation")
    for order, moment in zip(world.ingram_orders, (at(9), at(10, 30), at(12)), strict=True):
        order.created = moment
    return world.ingram_orders


async def test_a_seat_change_is_a_change_order_naming_its_subscription(cmp, world):
    change_seats(world, 1001880, EXCHANGE, 10)  # 5 included + 2 additional -> 10
    listed = await cmp.get("/orders")
    assert listed.status == 200 and listed.body["pagination"]["total"] == 1
    row = listed.body["data"][0]
    assert row["type"] == "change" and row["status"] == "completed" and row["statusCode"] == "CP"
    assert row["customerId"] == str(ACME) and row["creationDate"].endswith("Z")
    assert row["provisioningDate"] == row["creationDate"]
    assert "subscriptionId" not in row and "products" not in row  # the spec's Order row has neither
    assert [(d["type"], d["mpn"], d["quantity"]) for d in row["details"]] == [("recurring", "CFQ7TTC0LH16:0001", 3)]
    assert row["details"][0]["extendedPrice"] == {"currency": "USD", "amount": "13.50"}
    assert row["total"] == {"currency": "USD", "amount": "13.50"}

    detail = (await cmp.get(f"/orders/{row['id']}")).body
    assert [(p["subscriptionId"], p["id"], p["quantity"]) for p in detail["products"]] == [
        ("1001880", str(EXCHANGE), 10)]
    assert (await cmp.get("/subscriptions/1001880")).body["products"][1]["quantity"] == 10


async def test_a_decrease_and_a_cancellation(cmp, three_orders):
    rows = (await cmp.get("/orders")).body["data"]
    assert [r["type"] for r in rows] == ["change", "change", "cancellation"]
    assert [(d["type"], d["quantity"]) for d in rows[1]["details"]] == [("downgrade", 2)]
    assert [(d["type"], d["quantity"]) for d in rows[2]["details"]] == [("cancellation", 15), ("cancellation", 7)]
    products = (await cmp.get(f"/orders/{rows[2]['id']}")).body["products"]
    assert {p["quantity"] for p in products} == {0}


@pytest.mark.parametrize(("params", "expected"), [
    ({"creationTimeFrom": "2025-03-15T10:30:00Z"}, [1, 2]),  # inclusive
    ({"creationTimeFrom": "2025-03-15T10:30:01Z"}, [2]),
    ({"creationTimeFrom": "2025-03-15T11:30:00+01:00"}, [1, 2]),  # an offset counts
    ({"creationTimeTo": "2025-03-15T10:30:00Z"}, [0, 1]),  # inclusive
    ({"creationTimeFrom": "2025-03-15T09:30:00Z", "creationTimeTo": "2025-03-15T11:00:00Z"}, [1]),
    ({"creationTimeFrom": "2025-03-16T00:00:00Z"}, []),
    ({"subscriptionId": "1001880"}, [0, 2]),
    ({"customerId": str(BRIGHTSIDE)}, [1]),
    ({"status": "completed"}, [0, 1, 2]),
    ({"status": "processing"}, []),
    ({"statusCode": "CP", "limit": "2"}, [0, 1]),
    ({"offset": "1", "limit": "1"}, [1]),
])
async def test_order_filters_and_paging(cmp, three_orders, params, expected):
    reply = await cmp.get("/orders", **params)
    assert ids(reply) == [str(three_orders[i].id) for i in expected]


async def test_order_number_filter(cmp, three_orders):
    number = (await cmp.get("/orders")).body["data"][1]["orderNumber"]
    assert ids(await cmp.get("/orders", orderNumber=number)) == [str(three_orders[1].id)]


@pytest.mark.parametrize(("params", "name"), [
    ({"creationTimeFrom": "yesterday"}, "creationTimeFrom"),
    ({"creationTimeTo": "2025-03-15"}, "creationTimeTo"),
    ({"status": "completed,processing"}, "status"),
    ({"limit": "0"}, "limit"),
])
async def test_bad_order_queries_are_400(cmp, params, name):
    reply = await cmp.call("GET", "/orders", params=params, headers=cmp.default_headers())
    assert reply.status == 400 and name in reply.body["error"]


async def test_an_unknown_order_is_404(cmp):
    reply = await cmp.get("/orders/4242")
    assert reply.status == 404 and "4242" in reply.body["error"]


@pytest.mark.parametrize("bumped", [True, False])
async def test_a_change_outside_orders_leaves_none_and_the_date_follows_the_knob(cmp, world, bumped):
    world.seat_change_bumps_last_modified = bumped
    change_seats(world, 1001880, BASIC, 20, order=False)
    assert (await cmp.get("/orders")).body["data"] == []
    modified = (await cmp.get("/subscriptions/1001880")).body["lastModifiedDate"]
    assert (modified == world.today.isoformat()) is bumped


def test_a_day_orders_each_seat_change_new_subscription_renewal_and_cancellation():
    world = generate_world(seed=3, scale="small", today=date(2026, 11, 16))
    for _ in range(5):
        start = len(world.ingram_orders)
        report = advance_day(world)
        placed = world.ingram_orders[start:]
        by_type: dict[str, list[int]] = {}
        for order in placed:
            assert order.created.date() == report.day
            by_type.setdefault(order.type, []).append(order.subscription_id)
        seat_changes = [(s, r, after - before) for s, r, before, after in report.increases + report.decreases]
        assert sorted((o.subscription_id, o.lines[0].resource_id, o.lines[0].change)
                      for o in placed if o.type == "change") == sorted(seat_changes)
        assert sorted(by_type.get("sales", [])) == sorted(report.new_subscriptions)
        assert sorted(by_type.get("cancellation", [])) == sorted(report.cancelled_subscriptions)
        assert sorted(by_type.get("renewal", [])) == sorted(report.renewed_subscriptions)
    assert len({o.id for o in world.ingram_orders}) == len(world.ingram_orders) > 0
