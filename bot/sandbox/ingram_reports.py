"""Ingram CMP's rated-data reports: `GET /reports`, `GET /reports/{id}` and the report file behind `downloadUrl`
(shared/apis/invoices.md 2.1-2.2), and the month-end invoice plants in the Ingram world.

Sources and choices:
- `GET /reports?limit&offset&name&format&status&type&from&to` answers `{data: [reportItem], pagination}`;
  `reportItem` is `{id, name, status, type, format, creationDate, startDate, endDate, downloadUrl}`. Reports are
  pre-configured in the marketplace's UI; the sandbox's is "Every Invoice - <Month YYYY>", `type=on_invoice`,
  `format=csv`, created when the month is invoiced (the 5th), `completed`.
- `downloadUrl` is an expiring blob link (`se=` in the real SAS URL); the sandbox serves the file under the
  same gateway, with `se` checked against the world's day (an expired link answers 403).
- The file's columns follow what an MSP billing integration retains of it (invoices.md 2.2): invoice metadata,
  customer, subscription ID as evidence, SKU (the product's MPN), quantity, four-decimal unit cost, charges and
  credits (`Charge Type` Recurring or Prorate), extended cost. Silent points: a recurring line bills the month in
  advance at the cut (the 1st, 00:00 UTC) for every subscription line with seats, active or on hold; a prorate
  line is each seat change of the month before, for the rest of that month, pro rata by days.
The ledger (`IngramLedger`) records the seat changes of the month being rated as days pass (the world keeps
counts, not their history).
"""

from __future__ import annotations

import calendar
import csv
import io
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from bot.sandbox.ingram_orders import place_order
from bot.sandbox.invoice_plants import (
    Plant,
    PlantedMonth,
    add_units_by_hand,
    second_service,
    service_price,
    service_units,
)
from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine

REPORT_NAMESPACE = uuid.UUID("5d2f7e1a-0b3c-4c8e-9f61-2a7b8c9d0e1f")
COLUMNS = ("Invoice Number", "Invoice Date", "Customer ID", "Customer Name", "Subscription ID", "SKU", "Product Name",
           "Charge Type", "Billing Period Start", "Billing Period End", "Quantity", "Unit Cost", "Extended Cost",
           "Currency")
CENT, FOUR = Decimal("0.01"), Decimal("0.0001")
BILLED = ("active", "suspended")  # a subscription on hold is still billed (it keeps its seats)
REPORT_FILE_ROUTE = "report_file"  # the blob behind downloadUrl: its SAS link is its credential, no bearer token
UNITS, PRORATE = False, True


@dataclass
class RatedReport:
    id: str
    name: str
    month: date
    created: date
    content: bytes
    type: str = "on_invoice"
    status: str = "completed"
    format: str = "csv"


@dataclass
class IngramLedger:
    month: date  # the 1st of the month whose changes are prorated
    counts: dict[tuple[int, int], int] = field(default_factory=dict)
    changes: list[tuple[date, int, int, int]] = field(default_factory=list)  # (day, subscription, resource, delta)


def _billed(world: SandboxWorld) -> dict[tuple[int, int], int]:
    return {(sub.subscription_id, line.resource_id): line.ordered for sub in world.subscriptions.values()
            if sub.status in BILLED for line in sub.lines if line.ordered > 0}


def start_ledger(world: SandboxWorld, month: date) -> None:
    world.ingram_ledger = IngramLedger(month=month, counts=_billed(world))


def record_day(world: SandboxWorld, day: date | None = None) -> None:
    """The seat changes since the last record, dated `day` (today)."""
    ledger: IngramLedger | None = world.ingram_ledger
    if ledger is None:
        return
    now = _billed(world)
    for key in sorted(set(now) | set(ledger.counts)):
        delta = now.get(key, 0) - ledger.counts.get(key, 0)
        if delta:
            ledger.changes.append((day or world.today, key[0], key[1], delta))
    ledger.counts = now


def _money(value: Decimal, places: Decimal = CENT) -> Decimal:
    return value.quantize(places, ROUND_HALF_UP)


def rate_month(world: SandboxWorld, invoice_month: date) -> RatedReport:
    """The report of the invoice dated `invoice_month`: recurring lines at the cut, prorates of the month before."""
    ledger: IngramLedger | None = world.ingram_ledger
    number = f"INV-{invoice_month:%Y%m}-{world.seed:04d}"
    last = invoice_month.replace(day=calendar.monthrange(invoice_month.year, invoice_month.month)[1])
    rows: list[list[str]] = []

    def row(sub: Subscription, line: SubscriptionLine, kind: str, start: date, end: date, quantity: int,
            fraction: Decimal) -> None:
        customer = world.customers.get(sub.account_id)
        product = world.products[line.resource_id]
        rows.append([number, invoice_month.isoformat(), customer.cmp_id if customer else str(sub.account_id),
                     customer.name if customer else "", sub.cmp_id, product.mpn, product.name, kind, start.isoformat(),
                     end.isoformat(), str(quantity), f"{_money(line.unit_cost, FOUR):f}",
                     f"{_money(line.unit_cost * quantity * fraction):f}", "USD"])

    for sub in sorted(world.subscriptions.values(), key=lambda s: s.subscription_id):
        if sub.status not in BILLED:
            continue
        for line in sub.lines:
            if line.ordered > 0:
                row(sub, line, "Recurring", invoice_month, last, line.ordered, Decimal(1))
    for day, subscription_id, resource_id, delta in (ledger.changes if ledger else []):
        sub = world.subscriptions[subscription_id]
        line = next(ln for ln in sub.lines if ln.resource_id == resource_id)
        month_last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        fraction = Decimal((month_last - day).days + 1) / Decimal(month_last.day)
        row(sub, line, "Prorate", day, month_last, delta, fraction)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    report = RatedReport(id=str(uuid.uuid5(REPORT_NAMESPACE, f"{world.seed}:{invoice_month}")),
                         name=f"Every Invoice - {invoice_month:%B %Y}", month=invoice_month, created=world.today,
                         content=buffer.getvalue().encode())
    world.ingram_reports.append(report)
    return report


# --- the API ---------------------------------------------------------------------------------------------------
def report_json(report: RatedReport, base: str) -> dict[str, Any]:
    expires = report.created + timedelta(days=7)
    last = report.month.replace(day=calendar.monthrange(report.month.year, report.month.month)[1])
    return {"id": report.id, "name": report.name, "status": report.status, "type": report.type,
            "format": report.format, "creationDate": report.created.isoformat(),
            "startDate": report.month.isoformat(), "endDate": last.isoformat(),
            "downloadUrl": f"{base}/reports/{report.id}/file?sv=2020-08-04&sr=b&sp=r&se={expires.isoformat()}"}


def report_routes(base: str, world_key: Any) -> list[web.RouteDef]:
    def origin(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}{request.path.split('/reports')[0]}"

    async def list_reports(request: web.Request) -> web.Response:
        world: SandboxWorld = request.app[world_key]
        query = request.query
        try:
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
            start = date.fromisoformat(query["from"]) if query.get("from") else None
            end = date.fromisoformat(query["to"]) if query.get("to") else None
        except ValueError as exc:
            return web.json_response({"timeStamp": datetime.now(UTC).isoformat(), "status": 400,
                                      "message": f"Invalid parameter: {exc}", "path": request.path}, status=400)
        reports = [r for r in world.ingram_reports
                   if (not query.get("type") or r.type == query["type"])
                   and (not query.get("status") or r.status == query["status"])
                   and (not query.get("format") or r.format == query["format"])
                   and (not query.get("name") or query["name"].lower() in r.name.lower())
                   and (start is None or r.created >= start) and (end is None or r.created <= end)]
        page = reports[offset:offset + limit]
        return web.json_response({"data": [report_json(r, origin(request)) for r in page],
                                  "pagination": {"offset": offset, "limit": limit, "total": len(reports)}})

    def find(request: web.Request) -> RatedReport | None:
        world: SandboxWorld = request.app[world_key]
        return next((r for r in world.ingram_reports if r.id == request.match_info["id"]), None)

    async def get_report(request: web.Request) -> web.Response:
        report = find(request)
        if report is None:
            return web.json_response({"timeStamp": datetime.now(UTC).isoformat(), "status": 404,
                                      "message": "Report not found", "path": request.path}, status=404)
        return web.json_response(report_json(report, origin(request)))

    async def download(request: web.Request) -> web.Response:
        report = find(request)
        world: SandboxWorld = request.app[world_key]
        expires = request.query.get("se", "")
        if report is None or not expires or date.fromisoformat(expires[:10]) < world.today:
            return web.Response(status=403, text="AuthenticationFailed: the link has expired or is not valid")
        return web.Response(body=report.content, content_type="text/csv")

    return [web.get(f"{base}/reports", list_reports), web.get(f"{base}/reports/{{id}}", get_report),
            web.get(f"{base}/reports/{{id}}/file", download, name=REPORT_FILE_ROUTE)]


# --- the month-end plants (bot.sandbox.invoice_plants) ---------------------------------------------------------
def truth_links(world: SandboxWorld, psa: str) -> list[tuple[str, str, str]]:
    found = []
    for (subscription_id, resource_id), services in sorted(world.truth.service_for_line.items()):
        sub = world.subscriptions.get(subscription_id)
        if sub is not None and psa in services and resource_id in world.products:
            found.append((sub.cmp_id, world.products[resource_id].mpn, str(services[psa])))
    return found


def quiet_days(world: SandboxWorld, until: date) -> None:
    while world.today < until:
        world.today += timedelta(days=1)
        record_day(world)
        ledger: IngramLedger | None = world.ingram_ledger
        month = world.today.replace(day=1)
        if (world.today.day == 5 and ledger is not None and ledger.month == (month - timedelta(days=1)).replace(day=1)
                and not any(r.month == month for r in world.ingram_reports)):
            rate_month(world, month)


def _candidates(world: SandboxWorld, psa: str, taken: set[int]) -> list[tuple[Subscription, SubscriptionLine, int]]:
    found = []
    for (subscription_id, resource_id), services in sorted(world.truth.service_for_line.items()):
        sub = world.subscriptions.get(subscription_id)
        if sub is None or psa not in services or subscription_id in taken or sub.status != "active" \
                or sub.term != "monthly":
            continue
        line = next((ln for ln in sub.lines if ln.resource_id == resource_id), None)
        if line is None or line.ordered < 2:
            continue
        if service_units(world, psa, services[psa]) != line.ordered:
            continue
        found.append((sub, line, services[psa]))
    return found


def _touch(world: SandboxWorld, sub: Subscription) -> None:
    sub.last_modified = world.now()


def plant_second_subscription(world: SandboxWorld, psa: str, month: PlantedMonth, rng: random.Random,
                              at: datetime) -> None:
    first, line, service = rng.choice(_candidates(world, psa, set()))
    quantity = 3 + rng.randint(0, 4)
    new_id = max(world.subscriptions) + 1
    second = replace(first, subscription_id=new_id, cmp_id=str(uuid.uuid5(REPORT_NAMESPACE, f"sub:{new_id}")),
                     created=world.now(), last_modified=world.now(), start_date=at.date(),
                     lines=[replace(line, included=0, additional=quantity)])
    world.subscriptions[new_id] = second
    place_order(world, new_id, "sales")
    new_service = second_service(world, psa, service, units=quantity - 1)
    world.truth.service_for_line[(new_id, line.resource_id)] = {psa: new_service}
    world.ingram_ledger.changes.append((at.date(), new_id, line.resource_id, quantity))
    world.ingram_ledger.counts[(new_id, line.resource_id)] = quantity
    month.to_link.append((second.cmp_id, world.products[line.resource_id].mpn, new_service))
    month.plants.append(Plant("two_subscriptions", second.cmp_id, (("under_billed", UNITS), ("under_billed", PRORATE)),
                              f"a second subscription of {world.products[line.resource_id].name} beside "
                              f"{first.cmp_id}, billed one seat short, its new seats never prorated"))


def _change(world: SandboxWorld, sub: Subscription, line: SubscriptionLine, delta: int, at: datetime) -> None:
    line.additional += delta
    _touch(world, sub)
    place_order(world, sub.subscription_id, "change", {line.resource_id: delta})
    world.ingram_ledger.changes.append((at.date(), sub.subscription_id, line.resource_id, delta))
    world.ingram_ledger.counts[(sub.subscription_id, line.resource_id)] = line.ordered


def plant_the_rest(world: SandboxWorld, psa: str, month: PlantedMonth, rng: random.Random, at: datetime) -> None:
    planted = {p.subscription_id for p in month.plants}
    taken = {s.subscription_id for s in world.subscriptions.values() if s.cmp_id in planted}
    # the first subscription of the two_subscriptions plant keeps its product alone
    for sub in list(world.subscriptions.values()):
        if sub.cmp_id in planted:
            taken |= {o.subscription_id for o in world.subscriptions.values()
                      if o.account_id == sub.account_id and o.plan_id == sub.plan_id}

    def pick() -> tuple[Subscription, SubscriptionLine, int]:
        found = rng.choice(_candidates(world, psa, taken))
        taken.add(found[0].subscription_id)
        return found

    sub, line, _ = pick()
    _change(world, sub, line, 2, at)
    month.plants.append(Plant("unbilled_increase", sub.cmp_id, (("under_billed", UNITS), ("under_billed", PRORATE)),
                              "2 seats added at Ingram, never billed"))
    sub, line, service = pick()
    _change(world, sub, line, 1, at)
    add_units_by_hand(world, psa, service, 1)
    month.plants.append(Plant("missing_prorate", sub.cmp_id, (("under_billed", PRORATE),),
                              "1 seat added at Ingram and in the PSA by hand, its prorate never billed"))
    sub, line, service = pick()
    price = service_price(world, psa, service)
    line.unit_cost = (price * Decimal("1.25")).quantize(CENT)
    _touch(world, sub)
    month.plants.append(Plant("under_cost", sub.cmp_id, (("under_cost", UNITS),),
                              f"Ingram's cost raised to a quarter over the PSA's price of {price}"))
    sub, line, _ = pick()
    world.ingram_ledger.changes.append((at.date(), sub.subscription_id, line.resource_id, -line.ordered))
    sub.status = "cancelled"
    _touch(world, sub)
    place_order(world, sub.subscription_id, "cancellation")
    world.ingram_ledger.counts.pop((sub.subscription_id, line.resource_id), None)
    month.plants.append(Plant("billing_for_nothing", sub.cmp_id, (("billing_for_nothing", UNITS),),
                              "cancelled at Ingram, still billed in the PSA"))
    month.plants.append(Plant("unlinked_line", _new_unlinked(world, rng, at), (("unlinked", UNITS),),
                              "a new subscription nobody links"))


def _new_unlinked(world: SandboxWorld, rng: random.Random, at: datetime) -> str:
    owned: dict[int, set[int]] = {}
    for sub in world.subscriptions.values():
        owned.setdefault(sub.account_id, set()).update(line.resource_id for line in sub.lines)
    accounts = sorted(a for a in world.customers if a in owned)
    template = world.subscriptions[min(world.subscriptions)]
    for _ in range(200):
        account = rng.choice(accounts)
        resource_id = rng.choice(sorted(world.products))
        if resource_id not in owned[account]:
            break
    product = world.products[resource_id]
    new_id = max(world.subscriptions) + 1
    sub = replace(template, subscription_id=new_id, cmp_id=str(uuid.uuid5(REPORT_NAMESPACE, f"sub:{new_id}")),
                  account_id=account, name=product.name, term="monthly", status="active", start_date=at.date(),
                  created=world.now(), last_modified=world.now(),
                  lines=[SubscriptionLine(resource_id=resource_id, included=0, additional=3,
                                          unit_price=product.price, unit_cost=product.cost)])
    world.subscriptions[new_id] = sub
    place_order(world, new_id, "sales")
    world.ingram_ledger.changes.append((at.date(), new_id, resource_id, 3))
    world.ingram_ledger.counts[(new_id, resource_id)] = 3
    return sub.cmp_id


def known_findings(world: SandboxWorld, psa: str, invoice_month: date) -> list[tuple[str, str, bool]]:
    """From the month's report, one entry per finding the world causes by construction (the check groups a report's
    lines by subscription and SKU): a subscription's product the generator gave no PSA service is billed by nobody
    (`unlinked`, a credit line included); a recurring product whose PSA price is under its cost is billed under
    cost. A subscription with two such products counts twice, so each entry excuses one finding only."""
    report = next((r for r in world.ingram_reports if r.month == invoice_month), None)
    if report is None:
        return []
    by_cmp = {sub.cmp_id: sub for sub in world.subscriptions.values()}
    by_mpn = {product.mpn: product.resource_id for product in world.products.values()}
    known: set[tuple[str, str, bool, str]] = set()
    for row in csv.DictReader(io.StringIO(report.content.decode())):
        sub = by_cmp.get(row["Subscription ID"])
        resource_id = by_mpn.get(row["SKU"])
        if sub is None or resource_id is None:
            continue
        service = world.truth.service_for_line.get((sub.subscription_id, resource_id), {}).get(psa)
        if service is None:
            known.add(("unlinked", sub.cmp_id, UNITS, row["SKU"]))
        elif row["Charge Type"] == "Recurring" and service_price(world, psa, service) < Decimal(row["Unit Cost"]):
            known.add(("under_cost", sub.cmp_id, UNITS, row["SKU"]))
    return sorted((kind, sub, prorate) for kind, sub, prorate, _ in known)


def invoice_line_count(world: SandboxWorld, invoice_month: date) -> int:
    report = next((r for r in world.ingram_reports if r.month == invoice_month), None)
    return 0 if report is None else report.content.count(b"\r\n") - 1


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
