"""The order cursor and the date rule of Ingram's incremental read (bot/connectors/marketplace/ingram/changes.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.connectors.marketplace.ingram.changes import (
    OVERLAP,
    ReadMemory,
    dated_changes,
    iso,
    orders_from,
    take_orders,
)

NINE = datetime(2026, 11, 16, 9, tzinfo=UTC)


def order(order_id: str, minutes: int, status: str = "completed") -> dict:
    return {"id": order_id, "status": status, "creationDate": iso(NINE + timedelta(minutes=minutes))}


def test_an_order_listed_again_in_the_overlap_is_not_taken_twice():
    memory, completed = take_orders(ReadMemory(), [order("1", 0), order("2", 3)], NINE - timedelta(hours=1))
    assert [o["id"] for o in completed] == ["1", "2"] and memory.mark == NINE + timedelta(minutes=3)
    asked = orders_from(memory, None, [])
    assert asked == NINE + timedelta(minutes=3) - OVERLAP
    memory, completed = take_orders(memory, [order("1", 0), order("2", 3), order("3", 4)], asked)
    assert [o["id"] for o in completed] == ["3"]
    assert set(memory.seen) == {"1", "2", "3"}  # all at or after the time asked from
    later = NINE + timedelta(minutes=30)
    memory, _ = take_orders(memory, [order("4", 30)], later - OVERLAP)
    assert set(memory.seen) == {"4"}  # the others will not be listed again


def test_an_order_that_failed_or_was_cancelled_names_nothing():
    _, completed = take_orders(ReadMemory(), [order("1", 0, "error"), order("2", 1, "cancelled")], NINE)
    assert completed == []


def test_a_pending_order_holds_the_cursor_back_until_it_ends():
    memory, completed = take_orders(ReadMemory(), [order("1", 0, "submitted"), order("2", 60)], NINE)
    assert [o["id"] for o in completed] == ["2"] and memory.pending == {"1": NINE}
    assert orders_from(memory, None, []) == NINE  # not an hour later, less the overlap
    memory, completed = take_orders(memory, [order("1", 0, "processing"), order("2", 60)], NINE)
    assert completed == [] and "1" in memory.pending
    memory, completed = take_orders(memory, [order("1", 0), order("2", 60)], NINE)
    assert [o["id"] for o in completed] == ["1"] and memory.pending == {}
    assert orders_from(memory, None, []) == NINE + timedelta(minutes=60) - OVERLAP


def test_with_no_order_seen_the_list_is_asked_from_a_days_start():
    heads = [{"id": "1", "lastModifiedDate": "2026-11-14"}, {"id": "2", "lastModifiedDate": "2026-11-15"}]
    assert orders_from(ReadMemory(), NINE, heads) == datetime(2026, 11, 16, tzinfo=UTC)  # the cursor's day
    assert orders_from(ReadMemory(), None, heads) == datetime(2026, 11, 15, tzinfo=UTC)  # the latest date's day
    assert orders_from(ReadMemory(), None, []) is None


def test_the_date_rule_compares_with_the_last_read_or_falls_back_to_the_day():
    heads = [{"id": "1", "lastModifiedDate": "2026-11-16"}, {"id": "2", "lastModifiedDate": "2026-11-10"},
             {"id": "3"}]
    assert dated_changes(ReadMemory(), heads, NINE) == {"1", "3"}  # a fresh process: that day or later, or undated
    memory = ReadMemory(dates={"1": "2026-11-16", "2": "2026-11-09", "3": None})
    assert dated_changes(memory, [*heads, {"id": "4", "lastModifiedDate": "2026-01-01"}], NINE) == {"2", "4"}


def test_an_order_pending_for_more_than_a_day_stops_holding_the_cursor_back():
    memory, _ = take_orders(ReadMemory(), [order("1", 0, "processing")], NINE)
    memory, _ = take_orders(memory, [order("1", 0, "processing"), order("2", 24 * 60 + 1)], NINE)
    assert memory.pending == {}
    assert orders_from(memory, None, []) == NINE + timedelta(minutes=24 * 60 + 1) - OVERLAP
