"""IngramClient's incremental reads against the simulator's orders: each change fetched once, a second change the
same day seen, whether or not a seat change moves `lastModifiedDate` (the world's knob); orders still processing,
a read the engine did not keep, a change made outside orders.

Clients come from test_ingram's `clients` fixture, so all their traffic (orders included) is validated against the
vendor's OpenAPI document; calls are counted from the simulator's own request log (`world.ingram_requests`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.connectors.marketplace.ingram.changes import ordered_subscriptions
from bot.sandbox.ingram_orders import change_seats, place_order
from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine
from tests.connectors.marketplace.ingram import test_ingram as recorded
from tests.connectors.marketplace.ingram.test_ingram import TODAY

openapi, sandbox, clients, ingram = recorded.openapi, recorded.sandbox, recorded.clients, recorded.ingram


class Cursor:
    """The engine's `modified_since`: moved on at every read, as when the engine keeps each read."""

    def __init__(self) -> None:
        self.at = datetime.combine(TODAY, time(0), UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


def lines(world: SandboxWorld, count: int) -> list[tuple[Subscription, SubscriptionLine]]:
    """The first line of `count` active subscriptions of different customers."""
    found, customers = [], set()
    for sub in sorted(world.subscriptions.values(), key=lambda s: s.subscription_id):
        if sub.status == "active" and sub.lines and sub.account_id not in customers:
            found.append((sub, sub.lines[0]))
            customers.add(sub.account_id)
    return found[:count]


def seats(read, sub: Subscription) -> list[int]:
    found, = [s for s in read if s.external_id == sub.cmp_id]
    return [r.additional for r in found.resources]


def fetched(world: SandboxWorld) -> list[str]:
    return [call for call in world.ingram_requests if call.startswith("GET /subscriptions/")]


@pytest.mark.parametrize("bumped", [True, False], ids=["date-bumped", "date-not-bumped"])
async def test_each_change_is_fetched_once_and_a_second_change_the_same_day_is_seen(ingram, sandbox, bumped):
    world = sandbox.world
    world.seat_change_bumps_last_modified = bumped
    cursor = Cursor()
    await ingram.list_subscriptions()
    (sub, line), = lines(world, 1)
    world.ingram_requests.clear()

    change_seats(world, sub.subscription_id, line.resource_id, line.ordered + 2)
    first = await ingram.list_subscriptions(modified_since=cursor())
    assert [s.external_id for s in first] == [sub.cmp_id]
    assert line.ordered in seats(first, sub)

    # the same day, the same subscription: its date cannot show this one (it is today's already, or never moves)
    change_seats(world, sub.subscription_id, line.resource_id, line.ordered + 3)
    second = await ingram.list_subscriptions(modified_since=cursor())
    assert [s.external_id for s in second] == [sub.cmp_id]
    assert line.ordered in seats(second, sub)

    # and it is not fetched again at every poll until midnight
    assert await ingram.list_subscriptions(modified_since=cursor()) == []
    assert fetched(world) == ["GET /subscriptions/{id}"] * 2


async def test_the_calls_of_a_cycle_as_the_simulator_counts_them(ingram, sandbox):
    world = sandbox.world
    cursor = Cursor()
    await ingram.list_subscriptions()
    world.ingram_requests.clear()
    assert await ingram.list_subscriptions(modified_since=cursor()) == []
    assert list(world.ingram_requests) == ["GET /subscriptions", "GET /orders"]  # a small MSP: one page each

    (a, a_line), (b, b_line) = lines(world, 2)
    change_seats(world, a.subscription_id, a_line.resource_id, a_line.ordered + 1)
    change_seats(world, b.subscription_id, b_line.resource_id, b_line.ordered + 1)
    world.ingram_requests.clear()
    read = await ingram.list_subscriptions(modified_since=cursor())
    assert sorted(s.external_id for s in read) == sorted([a.cmp_id, b.cmp_id])
    assert sorted(world.ingram_requests) == sorted(["GET /subscriptions", "GET /orders"]
                                                   + ["GET /orders/{id}", "GET /subscriptions/{id}"] * 2)


async def test_an_order_still_processing_is_fetched_when_it_completes(ingram, sandbox):
    world = sandbox.world
    world.seat_change_bumps_last_modified = False  # only the order shows the change
    cursor = Cursor()
    await ingram.list_subscriptions()
    (a, a_line), (b, b_line) = lines(world, 2)
    processing = place_order(world, a.subscription_id, "change", {a_line.resource_id: 4}, status="processing")
    change_seats(world, b.subscription_id, b_line.resource_id, b_line.ordered + 1)
    processing.created = datetime.combine(TODAY, time(6), UTC)  # placed two hours before the other
    world.ingram_orders[-1].created = datetime.combine(TODAY, time(8), UTC)

    first = await ingram.list_subscriptions(modified_since=cursor())
    assert [s.external_id for s in first] == [b.cmp_id]  # a's order changed nothing yet

    a_line.additional += 4
    processing.status = "completed"
    second = await ingram.list_subscriptions(modified_since=cursor())
    assert [s.external_id for s in second] == [a.cmp_id]
    assert a_line.ordered in seats(second, a)
    assert await ingram.list_subscriptions(modified_since=cursor()) == []


async def test_a_read_the_engine_did_not_keep_is_given_again(ingram, sandbox):
    """The engine asks again from the same cursor when the cycle failed after reading: nothing it read is lost."""
    world = sandbox.world
    cursor = Cursor()
    await ingram.list_subscriptions()
    (sub, line), = lines(world, 1)
    change_seats(world, sub.subscription_id, line.resource_id, line.ordered + 1)
    since = cursor()
    assert [s.external_id for s in await ingram.list_subscriptions(modified_since=since)] == [sub.cmp_id]
    assert [s.external_id for s in await ingram.list_subscriptions(modified_since=since)] == [sub.cmp_id]
    assert await ingram.list_subscriptions(modified_since=cursor()) == []


async def test_a_change_outside_orders_that_leaves_the_date_waits_for_the_complete_read(ingram, sandbox):
    world = sandbox.world
    world.seat_change_bumps_last_modified = False
    cursor = Cursor()
    await ingram.list_subscriptions()
    (sub, line), = lines(world, 1)
    change_seats(world, sub.subscription_id, line.resource_id, line.ordered + 5, order=False)
    assert await ingram.list_subscriptions(modified_since=cursor()) == []
    complete = await ingram.list_subscriptions()
    assert line.ordered in seats(complete, sub)


async def test_the_recheck_option_reads_every_subscription_within_its_cadence(clients, sandbox):
    world = sandbox.world
    world.seat_change_bumps_last_modified = False
    client = clients.connect(sandbox.config()["ingram"]["url"], world, recheck_reads=3)
    assert client.recheck_reads == 3
    cursor = Cursor()
    await client.list_subscriptions()
    (sub, line), = lines(world, 1)
    change_seats(world, sub.subscription_id, line.resource_id, line.ordered + 5, order=False)
    seen_at, read_sizes = [], []
    for read_number in range(3):
        read = await client.list_subscriptions(modified_since=cursor())
        read_sizes.append(len(read))
        if any(s.external_id == sub.cmp_id for s in read):
            assert line.ordered in seats(read, sub)
            seen_at.append(read_number)
    assert len(seen_at) == 1 and sum(read_sizes) == len(world.subscriptions)


def test_an_order_that_names_no_subscription_stands_for_its_customers_subscriptions():
    heads = [{"id": "1", "customerId": "c1"}, {"id": "2", "customerId": "c2"}, {"id": "3", "customerId": "c1"}]
    order = {"id": "9", "customerId": "c1"}
    assert ordered_subscriptions(order, {"products": [{"subscriptionId": "2"}]}, heads) == {"2"}
    assert ordered_subscriptions(order, {"products": [{"mpn": "X"}]}, heads) == {"1", "3"}
    assert ordered_subscriptions(order, None, heads) == {"1", "3"}  # its details answered 404


async def test_a_new_customers_first_subscription_is_fetched_once_with_its_customer(ingram, sandbox):
    world = sandbox.world
    cursor = Cursor()
    await ingram.list_companies()
    await ingram.list_subscriptions()
    (template, _), = lines(world, 1)
    customer = replace(world.customers[template.account_id], account_id=9_000_001, cmp_id="9000001", name="Newco")
    world.customers[customer.account_id] = customer
    sub = replace(template, subscription_id=max(world.subscriptions) + 1, cmp_id=str(max(world.subscriptions) + 1),
                  account_id=customer.account_id, created=world.now(), last_modified=world.now(),
                  lines=[replace(line) for line in template.lines])
    world.subscriptions[sub.subscription_id] = sub
    place_order(world, sub.subscription_id, "sales")
    world.ingram_requests.clear()

    since = cursor()
    assert [s.external_id for s in await ingram.list_subscriptions(modified_since=since)] == [sub.cmp_id]
    assert [c.name for c in await ingram.list_companies(modified_since=since)] == ["Newco"]
    assert await ingram.list_subscriptions(modified_since=cursor()) == []
    assert fetched(world) == ["GET /subscriptions/{id}"]
    assert "GET /customers/{id}" in world.ingram_requests and "GET /customers" not in world.ingram_requests
