"""Ingram CMP's orders (spec 1.6, Order Management): the ledger of what changed a subscription, served as
`GET /orders` and `GET /orders/{id}`.

In CMP a seat change is placed as an order (shared/apis/marketplaces.md 2.1: "Quantity changes go through
orders"), and so are a new subscription, a renewal and a cancellation (the spec's order types). The simulator
records one order for each such change it makes: the world's days (bot.sandbox.day_passes), the admin count route
(a hand edit at the marketplace), the month-end invoice plants. What is not an order in CMP leaves none: a term that
ends without renewal (the platform removes the subscription), a vendor's price change. `change_seats(...,
order=False)` plays a seat change made outside orders (no public source rules one out: a provider-side edit synced
back, a support correction), which only `lastModifiedDate` (when the world's knob bumps it) or a complete read
shows.

Shapes and choices (where the spec is silent):
- list rows are `Order`, the details `OrderDetailed`, whose `products` (`OrderLineProduct`) name the
  `subscriptionId` of each line. The list row carries no subscription id in the spec, so a reader asks the details.
  `writeOnly` fields (the top-level `subscriptionId`, `planId`, ...) are never answered.
- ids count from 1000001 (strings, as the spec types them); `orderNumber` is `SO` + the id's last 6 digits for
  every type (the spec's example is SO000012; CMP's prefixes per type are not public).
- orders complete at once: `status` completed, `statusCode` CP (the spec's example), `provisioningDate` =
  `creationDate`; a test may append an order in another status (`place_order(status=...)`). `creationDate` is the
  world's clock (`world.now()`), RFC 3339 in UTC to the second.
- `details` (the billing lines, `OrderDetail`): one per product line the order touched: type `recurring` (sales,
  renewal, an increase), `downgrade` (a decrease) or `cancellation`; `quantity` the seats it adds or removes (the
  whole count for sales, renewal and cancellation); `unitPrice` the line's price, `extendedPrice` quantity x price;
  the order's `total` is their sum.
- `products`: per touched line its mpn, vendor, id (the resource id, as subscription products have it), name,
  `quantity` after the order (0 for a cancellation), `subscriptionId`.
- filters: `customerId`, `subscriptionId`, `orderNumber`, `status` (one value of the enum, else 400),
  `statusCode`, `creationTimeFrom` / `creationTimeTo` (date-time, both inclusive; no offset means UTC; else 400);
  `offset`/`limit` paging as the other lists; ordered by id, which is creation order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.sandbox.ingram_errors import cmp_error
from bot.sandbox.ingram_query import BadQuery, json_reply, moment, one_of, page, paging
from bot.sandbox.ingram_views import CURRENCY, VENDOR
from bot.sandbox.world import SandboxWorld, SubscriptionLine

ORDER_TYPES = ("sales", "change", "renewal", "cancellation")
ORDER_STATUSES = ("submitted", "processing", "error", "completed", "cancelled")  # spec enum
STATUS_CODES = {"submitted": "SB", "processing": "PR", "error": "ER", "completed": "CP", "cancelled": "CL"}
FIRST_ID = 1_000_001


@dataclass(frozen=True)
class OrderLine:
    resource_id: int
    quantity: int  # the line's seats after the order
    change: int  # the seats the order added (+) or removed (-)
    unit_price: Decimal


@dataclass
class IngramOrder:
    id: int
    type: str
    subscription_id: int
    account_id: int
    created: datetime
    lines: tuple[OrderLine, ...]
    status: str = "completed"


def place_order(world: SandboxWorld, subscription_id: int, order_type: str,
                changes: dict[int, int] | None = None, *, status: str = "completed") -> IngramOrder:
    """Record the order behind a change already made to the world: `changes` maps a resource id to the seats
    added or removed (None: every line, its whole count; for a cancellation, the count removed)."""
    if order_type not in ORDER_TYPES or status not in ORDER_STATUSES:
        raise ValueError(f"no order of type {order_type!r} in status {status!r}")
    sub = world.subscriptions[subscription_id]
    by_resource = {line.resource_id: line for line in sub.lines}
    if changes is None:
        sign = -1 if order_type == "cancellation" else 1
        changes = {line.resource_id: sign * line.ordered for line in sub.lines}
    lines = tuple(_order_line(by_resource[resource_id], change, cancelled=order_type == "cancellation")
                  for resource_id, change in sorted(changes.items()))
    order = IngramOrder(id=world.next_id("ingram_order", start=FIRST_ID), type=order_type,
                        subscription_id=subscription_id, account_id=sub.account_id,
                        created=world.now().replace(microsecond=0), lines=lines, status=status)
    world.ingram_orders.append(order)
    return order


def _order_line(line: SubscriptionLine, change: int, *, cancelled: bool) -> OrderLine:
    return OrderLine(resource_id=line.resource_id, quantity=0 if cancelled else line.ordered, change=change,
                     unit_price=line.unit_price)


def change_seats(world: SandboxWorld, subscription_id: int, resource_id: int, total: int, *,
                 order: bool = True) -> SubscriptionLine:
    """A line's seats set to `total` now, by a change order (or, `order=False`, outside orders)."""
    line = next(ln for ln in world.subscriptions[subscription_id].lines if ln.resource_id == resource_id)
    before = line.ordered
    line.included = min(line.included, total)
    line.additional = total - line.included
    world.touch_subscription(subscription_id, seats_only=True)
    if order and total != before:
        place_order(world, subscription_id, "change", {resource_id: total - before})
    return line


# --- views -------------------------------------------------------------------------------------
def _money(amount: Decimal) -> dict[str, str]:
    return {"currency": CURRENCY, "amount": f"{Decimal(amount).quantize(Decimal('0.01'))}"}


def _when(moment_: datetime) -> str:
    return moment_.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _detail_type(order: IngramOrder, line: OrderLine) -> str:
    if order.type == "cancellation":
        return "cancellation"
    return "downgrade" if line.change < 0 else "recurring"


def order_json(world: SandboxWorld, order: IngramOrder) -> dict[str, Any]:
    customer = world.customers.get(order.account_id)
    details = []
    for line in order.lines:
        product = world.products.get(line.resource_id)
        seats = abs(line.change)
        details.append({
            "type": _detail_type(order, line),
            "mpn": product.mpn if product else f"RES-{line.resource_id}",
            "productId": str(line.resource_id),
            "duration": {"type": "month", "duration": 1},
            "description": f"{order.type.capitalize()} of {product.name if product else line.resource_id}",
            "quantity": seats,
            "unitPrice": _money(line.unit_price),
            "extendedPrice": _money(line.unit_price * seats),
        })
    body: dict[str, Any] = {
        "id": str(order.id),
        "orderNumber": f"SO{order.id % 1_000_000:06d}",
        "type": order.type,
        "customerId": customer.cmp_id if customer else str(order.account_id),
        "creationDate": _when(order.created),
        "status": order.status,
        "statusCode": STATUS_CODES[order.status],
        "total": _money(sum((line.unit_price * abs(line.change) for line in order.lines), Decimal(0))),
        "details": details,
        "attributes": {},
        "creditCheck": False,
    }
    if order.status == "completed":
        body["provisioningDate"] = _when(order.created)
    return body


def order_detail_json(world: SandboxWorld, order: IngramOrder) -> dict[str, Any]:
    sub = world.subscriptions.get(order.subscription_id)
    subscription_id = sub.cmp_id if sub else str(order.subscription_id)
    products = []
    for line in order.lines:
        product = world.products.get(line.resource_id)
        products.append({"mpn": product.mpn if product else f"RES-{line.resource_id}", "vendor": VENDOR,
                         "id": str(line.resource_id), "name": product.name if product else f"#{line.resource_id}",
                         "quantity": line.quantity, "subscriptionId": subscription_id})
    return {**order_json(world, order), "products": products}


# --- routes ------------------------------------------------------------------------------------
def order_routes(base: str, world_key: Any) -> list[web.RouteDef]:
    async def list_orders(request: web.Request) -> web.Response:
        world: SandboxWorld = request.app[world_key]
        query = request.query
        try:
            offset, limit = paging(query)
            status = one_of(query, "status", ORDER_STATUSES)
            since = moment(query, "creationTimeFrom")
            until = moment(query, "creationTimeTo")
        except BadQuery as exc:
            return cmp_error(400, str(exc), request.path)
        orders = [order for order in world.ingram_orders
                  if (since is None or order.created >= since) and (until is None or order.created <= until)
                  and (status is None or order.status == status)]
        if "subscriptionId" in query:
            orders = [order for order in orders if _subscription_cmp_id(world, order) == query["subscriptionId"]]
        rows = [order_json(world, order) for order in orders]
        for name in ("customerId", "orderNumber", "statusCode"):
            if name in query:
                rows = [row for row in rows if row[name] == query[name]]
        return page(rows, offset, limit)

    async def get_order(request: web.Request) -> web.Response:
        world: SandboxWorld = request.app[world_key]
        wanted = request.match_info["id"]
        order = next((o for o in world.ingram_orders if str(o.id) == wanted), None)
        if order is None:
            return cmp_error(404, f"Order with id '{wanted}' is not found", request.path)
        return json_reply(order_detail_json(world, order))

    return [web.get(f"{base}/orders", list_orders), web.get(f"{base}/orders/{{id}}", get_order)]


def _subscription_cmp_id(world: SandboxWorld, order: IngramOrder) -> str:
    sub = world.subscriptions.get(order.subscription_id)
    return sub.cmp_id if sub else str(order.subscription_id)
