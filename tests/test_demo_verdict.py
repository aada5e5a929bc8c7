"""The demo's verdict with an Autotask service bundle linked beside a contract service of the same id: Autotask
numbers ContractServiceBundles apart from ContractServices, so bundle 1000 and service 1000 both exist. The verdict
reads each by the external id SeatSync knows it under ("bundle-1000", "1000") and judges a logged write by the
record it landed on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.demo.verdict import LinkedPair, TargetBook, WaitingChange, judge
from bot.sandbox.autotask_writes import create_adjustment
from bot.sandbox.world import AutotaskContractService, AutotaskService, Subscription, SubscriptionLine
from tests.sandbox.autotask_world import M365, RECURRING, build_world

SUBSCRIPTION, PLAIN_RESOURCE, BUNDLED_RESOURCE, SAME_ID = 1001880, 100001, 100002, 1000


def world_with_a_bundle_and_a_service_of_one_id():
    world = build_world()  # contract service 1000: 5 units of Microsoft 365 Business Standard
    world.autotask_service_bundles[7001] = AutotaskService(7001, "Microsoft 365 Business Premium + Backup",
                                                           Decimal("25"), Decimal("20"))
    world.autotask_contract_service_bundles[SAME_ID] = AutotaskContractService(
        SAME_ID, RECURRING, 7001, Decimal("25"), Decimal("20"), units=9)
    world.subscriptions[SUBSCRIPTION] = Subscription(
        subscription_id=SUBSCRIPTION, cmp_id="cmp-1", account_id=1000001, name="Microsoft 365", plan_id=1,
        plan_name="Microsoft 365", term="monthly", status="active", start_date=date(2024, 1, 1),
        expiration_date=date(2024, 12, 31), created=datetime(2024, 1, 1, tzinfo=UTC),
        last_modified=datetime(2024, 1, 1, tzinfo=UTC),
        lines=[SubscriptionLine(PLAIN_RESOURCE, included=0, additional=5),
               SubscriptionLine(BUNDLED_RESOURCE, included=0, additional=9)])
    pairs = [LinkedPair(str(SUBSCRIPTION), str(PLAIN_RESOURCE), str(SAME_ID)),
             LinkedPair(str(SUBSCRIPTION), str(BUNDLED_RESOURCE), f"bundle-{SAME_ID}")]
    return world, pairs


def test_a_bundle_and_a_service_of_the_same_id_are_judged_apart() -> None:
    world, pairs = world_with_a_bundle_and_a_service_of_one_id()
    assert world.autotask_contract_services[SAME_ID].service_id == M365
    book = TargetBook()
    book.record(world, "odin", pairs)
    # logged writes only (the records keep their units): the bundle 5 -> 9 (5 is the contract service's target:
    # read as the service's, the write looks repeated), the service 3 -> 5, then the bundle's +4 again from 9: the
    # one duplicate
    world.record_write("autotask", SAME_ID, 5, 9, "k-1", reference="bundle:1", kind="bundle")
    world.record_write("autotask", SAME_ID, 3, 5, "k-2", reference="2")
    world.record_write("autotask", SAME_ID, 9, 13, "k-1", reference="bundle:3", kind="bundle")

    verdict = judge(world, marketplace="odin", psa="autotask", pairs=pairs, book=book)

    assert (verdict.linked, verdict.in_sync, verdict.out_of_sync) == (2, True, [])
    assert (verdict.psa_writes, verdict.duplicate_writes, verdict.bundle_writes) == (3, 1, 2)
    assert [w.written for w in world.write_log] == ["bundle:1000", "1000", "bundle:1000"]


def test_a_bundle_out_of_step_is_named_by_its_external_id() -> None:
    world, pairs = world_with_a_bundle_and_a_service_of_one_id()
    world.autotask_contract_service_bundles[SAME_ID].units = 7  # the contract service 1000 still bills its 5
    verdict = judge(world, marketplace="odin", psa="autotask", pairs=pairs, book=TargetBook())
    assert verdict.out_of_sync == [f"service bundle-{SAME_ID}: PSA 7, marketplace 9"]


def decrease_dated_next_month(world, times: int) -> None:
    """Contract service 1000 (5 units) down by 2 from June 1st, posted `times` times on May 15th, as the Autotask
    simulator takes it: held at once, in today's units only from its day on."""
    body = {"contractID": RECURRING, "serviceID": M365, "unitChange": -2, "effectiveDate": "2024-06-01T00:00:00Z"}
    for _ in range(times):
        applied = create_adjustment(world, body)
        world.record_write("autotask", applied.service.id, applied.before, applied.after, key=None,
                           reference=str(applied.adjustment.id), before_as_scheduled=applied.before_as_scheduled)


def world_with_a_line_dropped_to_three():
    world = build_world()
    world.subscriptions[SUBSCRIPTION] = Subscription(
        subscription_id=SUBSCRIPTION, cmp_id="cmp-1", account_id=1000001, name="Microsoft 365", plan_id=1,
        plan_name="Microsoft 365", term="monthly", status="active", start_date=date(2024, 1, 1),
        expiration_date=date(2024, 12, 31), created=datetime(2024, 1, 1, tzinfo=UTC),
        last_modified=datetime(2024, 1, 1, tzinfo=UTC), lines=[SubscriptionLine(PLAIN_RESOURCE, 0, 3)])
    pairs = [LinkedPair(str(SUBSCRIPTION), str(PLAIN_RESOURCE), str(SAME_ID))]
    book = TargetBook()
    book.record(world, "odin", pairs)
    return world, pairs, book


def test_a_decrease_held_for_its_day_is_in_sync() -> None:
    world, pairs, book = world_with_a_line_dropped_to_three()
    decrease_dated_next_month(world, 1)

    verdict = judge(world, marketplace="odin", psa="autotask", pairs=pairs, book=book)

    assert world.autotask_contract_services[SAME_ID].units == 5  # today's, until June 1st
    assert (verdict.in_sync, verdict.psa_writes, verdict.duplicate_writes) == (True, 1, 0)


def test_a_decrease_posted_twice_ahead_of_its_day_is_a_duplicate_and_out_of_sync() -> None:
    """The bug fixed by bot/sync/scheduled_changes.py: judged on today's units (5 both times), it passed unseen."""
    world, pairs, book = world_with_a_line_dropped_to_three()
    decrease_dated_next_month(world, 2)

    verdict = judge(world, marketplace="odin", psa="autotask", pairs=pairs, book=book)

    assert verdict.out_of_sync == [f"service {SAME_ID}: PSA 1, marketplace 3"]
    assert (verdict.psa_writes, verdict.duplicate_writes) == (2, 1)


def test_a_difference_held_past_its_contract_s_end_is_named_apart() -> None:
    """bench/next_period_demo.py ended with 5 services billed above the marketplace: each an annual term's decrease
    dated at its anniversary, after the end of the Autotask contract it goes on, which posting holds (Autotask
    refuses an adjustment dated outside its contract). The verdict names them, with the date and the contract's end."""
    world, pairs, book = world_with_a_line_dropped_to_three()
    held = {str(SAME_ID): WaitingChange(units_to=3, effective_date=date(2025, 1, 1), contract_end=date(2024, 12, 31))}

    verdict = judge(world, marketplace="odin", psa="autotask", pairs=pairs, book=book, waiting=held)

    assert (verdict.in_sync, verdict.out_of_sync) == (True, [])
    assert verdict.waiting == [f"service {SAME_ID}: PSA 5, marketplace 3: 5 -> 3 is dated 2025-01-01, after its "
                               "contract's end (2024-12-31); held until the contract runs past that day"]


@pytest.mark.parametrize("held", [
    pytest.param(WaitingChange(units_to=4, effective_date=date(2025, 1, 1), contract_end=date(2024, 12, 31)),
                 id="to another count"),
    pytest.param(WaitingChange(units_to=3, effective_date=date(2024, 12, 31), contract_end=date(2024, 12, 31)),
                 id="dated within its contract"),
])
def test_a_held_change_explains_only_the_difference_it_closes(held) -> None:
    world, pairs, book = world_with_a_line_dropped_to_three()

    verdict = judge(world, marketplace="odin", psa="autotask", pairs=pairs, book=book, waiting={str(SAME_ID): held})

    assert (verdict.in_sync, verdict.out_of_sync, verdict.waiting) == (
        False, [f"service {SAME_ID}: PSA 5, marketplace 3"], [])
