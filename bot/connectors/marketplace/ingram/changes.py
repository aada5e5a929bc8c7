"""What an Ingram incremental read must fetch, from what earlier reads saw: CMP's orders (a time, kept as the API's
own clock gives it) and each subscription's `lastModifiedDate` (a day). Pure logic; the client does the calls.

- Orders: a read lists `GET /orders?creationTimeFrom=` from the latest creation time it has seen, less `OVERLAP`
  (an order may become visible after a later one), and skips the ids it has seen. An order not yet completed
  (`submitted`, `processing`) changed nothing yet: it is kept pending and the list is asked from its creation time
  until it ends (for a day at most: what an order pending longer does waits for a complete read, daily); `completed`
  then names the subscription to fetch, `error` and `cancelled` name none. With no order seen yet (a fresh
  process), the list is asked from the start of the day of `modified_since` (in UTC), as the date rule below; on a
  complete read, from the start of the latest `lastModifiedDate` day, to learn the mark.
- Dates: a subscription is fetched when its `lastModifiedDate` differs from the one the last read saw (or the
  subscription is new to this process). That catches what changes a subscription without an order (a hold, a
  removal, a price change) once, on the day it moves. With no dates remembered (a fresh process) the rule is the
  old one: modified on or after the day of `modified_since`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

Json = dict[str, Any]

OVERLAP = timedelta(minutes=5)
PENDING = ("submitted", "processing")
PENDING_KEPT = timedelta(days=1)  # an order pending longer stops holding the list back: the daily complete read reads
# whatever it does


@dataclass
class ReadMemory:
    """What the reads the engine kept have seen."""

    dates: dict[str, Any] = field(default_factory=dict)  # subscription id -> its lastModifiedDate when last read
    mark: datetime | None = None  # the latest order creation time seen (the API's clock)
    seen: dict[str, datetime] = field(default_factory=dict)  # order id -> creation, for orders still listed
    pending: dict[str, datetime] = field(default_factory=dict)  # orders seen before they ended


def orders_from(memory: ReadMemory, modified_since: datetime | None, heads: list[Json]) -> datetime | None:
    """Where this read asks the order list from (None: it does not ask)."""
    if memory.mark is not None:
        return min([memory.mark - OVERLAP, *memory.pending.values()])
    if modified_since is not None:
        return _day_start(utc(modified_since).date())
    days = [d for d in (_day(h.get("lastModifiedDate")) for h in heads) if d is not None]
    return _day_start(max(days)) if days else None


def take_orders(memory: ReadMemory, rows: Iterable[Json], asked_from: datetime | None
                ) -> tuple[ReadMemory, list[Json]]:
    """The memory after seeing `rows`, and the orders among them that completed since the last read."""
    seen, pending, mark = dict(memory.seen), dict(memory.pending), memory.mark
    completed = []
    for row in rows:
        order_id = str(row["id"])
        if order_id in seen and order_id not in pending:
            continue
        created = _moment(row.get("creationDate")) or asked_from or datetime.now(UTC)
        seen[order_id] = created
        mark = created if mark is None else max(mark, created)
        if row.get("status") in PENDING:
            pending[order_id] = created
            continue
        pending.pop(order_id, None)
        if row.get("status") == "completed":
            completed.append(row)
    if mark is not None:
        pending = {order_id: created for order_id, created in pending.items() if created >= mark - PENDING_KEPT}
    if asked_from is not None:  # those before it will not be listed again
        seen = {order_id: created for order_id, created in seen.items() if created >= asked_from}
    return replace(memory, seen=seen, pending=pending, mark=mark), completed


def dated_changes(memory: ReadMemory, heads: list[Json], modified_since: datetime) -> set[str]:
    """The subscriptions whose date says they changed since the last read."""
    if not memory.dates:
        day = utc(modified_since).date()
        return {str(h["id"]) for h in heads if (_day(h.get("lastModifiedDate")) or day) >= day}
    return {str(h["id"]) for h in heads
            if str(h["id"]) not in memory.dates or memory.dates[str(h["id"])] != h.get("lastModifiedDate")}


def ordered_subscriptions(order: Json, detail: Json | None, heads: list[Json]) -> set[str]:
    """The subscriptions an order changed: those its products name, else (a detail without them, or gone) every
    subscription of its customer."""
    products = (detail or {}).get("products")
    named = {str(p["subscriptionId"]) for p in products if isinstance(p, dict) and p.get("subscriptionId")} \
        if isinstance(products, list) else set()
    if named:
        return named
    customer = str(order.get("customerId"))
    return {str(h["id"]) for h in heads if str(h.get("customerId")) == customer}


def utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value not in (None, "") else None
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        return None
