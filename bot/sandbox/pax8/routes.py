"""The partner API's read operations (base `/pax8/v1`, real `https://api.pax8.com/v1`).

Served (spec paths; filters as the spec lists them, exact and case-sensitive unless said):
- `GET /companies` (city, country, stateOrProvince, postalCode, selfServiceAllowed,
  billOnBehalfOfEnabled, orderApprovalRequired, status; sort name|city|country|stateOrProvince|postalCode)
  and `GET /companies/{companyId}`;
- `GET /products` (search: a case-insensitive substring of name, vendor, SKU or id; vendorName;
  sort name|vendor), `GET /products/{id}`, `/products/{id}/pricing` (companyId accepted; the
  sandbox has no company-specific prices), `/products/{id}/dependencies`;
- `GET /subscriptions` (status, billingTerm, companyId, productId; sort as the spec's enum:
  quantity|startDate|endDate|createdDate|billingStart|price with ,asc or ,desc); an unknown companyId
  is the spec's 403 "Invalid companyId"; `GET /subscriptions/{id}`, `/subscriptions/{id}/history`;
- `GET /subscriptions/{id}/usage-summaries` (resourceGroup, companyId; sort
  resourceGroup|currentCharges|partnerTotal), `GET /usage-summaries/{id}`,
  `GET /usage-summaries/{id}/usage-lines` (usageDate required, productId);
- `GET /invoices` (status, invoiceDate, invoiceDateRangeStart, invoiceDateRangeEnd, dueDate, total,
  balance, carriedBalance, companyId; sort invoiceDate|dueDate|status|partnerName|total|balance|
  carriedBalance), `GET /invoices/{id}`, `GET /invoices/{id}/items`, `GET /invoices/draftItems`
  (monthOffset 0|1, default 1; companyId). draftItems answers 408 at the rate of its knob.
Lists are in creation order unless sorted. Unknown query parameters are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from bot.sandbox.calendar_maths import add_months
from bot.sandbox.pax8.errors import invalid_param, partner_error
from bot.sandbox.pax8.invoices import invoice_lines, invoice_versions, month_start
from bot.sandbox.pax8.paging import QueryRefused, boolean, day, one_of, page_of, paging, sort_rows, whole_number
from bot.sandbox.pax8.state import Pax8Simulator
from bot.sandbox.pax8.usage import period_totals, usage_lines
from bot.sandbox.pax8.views import (
    commitment_json,
    company_json,
    history_json,
    invoice_item_json,
    invoice_json,
    pricing_json,
    product_json,
    subscription_json,
    usage_line_json,
    usage_summary_json,
)

SIMULATOR_KEY = web.AppKey("pax8_simulator", Pax8Simulator)
Handler = Callable[[web.Request], Awaitable[web.Response]]

SUBSCRIPTION_STATUSES = ("Active", "Cancelled", "PendingManual", "PendingAutomated", "PendingCancel",
                         "WaitingForDetails", "Trial", "Converted", "PendingActivation", "Activated")
BILLING_TERMS = ("Monthly", "Annual", "2-Year", "3-Year", "One-Time", "Trial", "Activation")
INVOICE_STATUSES = ("Unpaid", "Paid", "Void", "Carried", "Nothing Due", "Credited")


def refusals(handler: Handler) -> Handler:
    """Turn a refused query into the partner API's error body."""

    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except QueryRefused as exc:
            details = [invalid_param(str(exc), request.path)] if exc.status == 422 else []
            return partner_error(exc.status, str(exc), request.path, details)

    return wrapped


def _sim(request: web.Request) -> Pax8Simulator:
    return request.app[SIMULATOR_KEY]


def _page(request: web.Request, rows: list[dict[str, Any]]) -> web.Response:
    page, size = paging(request.query)
    return web.json_response(page_of(rows, page, size))


def _not_found(request: web.Request, what: str, wanted: str) -> web.Response:
    return partner_error(404, f"{what} Not Found: {wanted}", request.path)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _uuid_param(query: Any, name: str) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not _is_uuid(raw):
        raise QueryRefused(400, f"Invalid value '{raw}' for parameter '{name}'; expected a UUID", name)
    return raw


# --- companies ------------------------------------------------------------------------------------
@refusals
async def list_companies(request: web.Request) -> web.Response:
    book, query = _sim(request).book, request.query
    paging(query)
    rows = [company_json(c) for c in book.companies.values()]
    for name in ("city", "country", "postalCode"):
        if query.get(name):
            rows = [r for r in rows if r["address"].get(name) == query[name]]
    if query.get("stateOrProvince"):
        rows = [r for r in rows if r["address"].get("stateOrProvince") == query["stateOrProvince"]]
    for name in ("selfServiceAllowed", "billOnBehalfOfEnabled", "orderApprovalRequired"):
        wanted = boolean(query, name)
        if wanted is not None:
            rows = [r for r in rows if r[name] is wanted]
    status = one_of(query, "status", ("Active", "Inactive", "Deleted"))
    if status:
        rows = [r for r in rows if r["status"] == status]
    rows = sort_rows(rows, query, ("name", "city", "country", "stateOrProvince", "postalCode"),
                     key=lambda row, field: row["name"].casefold() if field == "name" else row["address"].get(field))
    return _page(request, rows)


@refusals
async def get_company(request: web.Request) -> web.Response:
    book = _sim(request).book
    wanted = request.match_info["companyId"]
    company = book.companies.get(wanted)
    if company is None:
        return _not_found(request, "Company", wanted)
    return web.json_response(company_json(company))


# --- products -------------------------------------------------------------------------------------
@refusals
async def list_products(request: web.Request) -> web.Response:
    book, query = _sim(request).book, request.query
    paging(query)
    products = list(book.products.values())
    if search := query.get("search", "").casefold():
        products = [p for p in products if any(search in text.casefold()
                                               for text in (p.name, p.vendor_name, p.sku, p.vendor_sku, p.id))]
    if vendor := query.get("vendorName"):
        products = [p for p in products if p.vendor_name.casefold() == vendor.casefold()]
    rows = sort_rows([product_json(p) for p in products], query, ("name", "vendor"),
                     key=lambda row, field: (row["name"] if field == "name" else row["vendorName"]).casefold())
    return _page(request, rows)


def _product(request: web.Request):
    return _sim(request).book.products.get(request.match_info["productId"])


@refusals
async def get_product(request: web.Request) -> web.Response:
    product = _product(request)
    if product is None:
        return _not_found(request, "Product", request.match_info["productId"])
    return web.json_response(product_json(product, detail=True))


@refusals
async def product_pricing(request: web.Request) -> web.Response:
    product = _product(request)
    if product is None:
        return _not_found(request, "Product", request.match_info["productId"])
    _uuid_param(request.query, "companyId")
    return web.json_response({"content": pricing_json(product)})


@refusals
async def product_dependencies(request: web.Request) -> web.Response:
    product = _product(request)
    if product is None:
        return _not_found(request, "Product", request.match_info["productId"])
    return web.json_response({"commitmentDependencies": [commitment_json(c) for c in product.commitments],
                              "productDependencies": []})


# --- subscriptions --------------------------------------------------------------------------------
_SUBSCRIPTION_SORTS = ("quantity", "startDate", "endDate", "createdDate", "billingStart", "price")


@refusals
async def list_subscriptions(request: web.Request) -> web.Response:
    book, query = _sim(request).book, request.query
    paging(query)
    status = one_of(query, "status", SUBSCRIPTION_STATUSES)
    billing_term = one_of(query, "billingTerm", BILLING_TERMS)
    company_id = _uuid_param(query, "companyId")
    product_id = _uuid_param(query, "productId")
    if company_id is not None and company_id not in book.companies:
        return partner_error(403, f"Invalid companyId: {company_id}", request.path)
    subs = list(book.subscriptions.values())
    if company_id:
        subs = [s for s in subs if s.company_id == company_id]
    if product_id:
        subs = [s for s in subs if s.product_id == product_id]
    if status:
        subs = [s for s in subs if s.now.status == status]
    if billing_term:
        subs = [s for s in subs if s.now.billing_term == billing_term]
    rows = sort_rows([subscription_json(book, s) for s in subs], query, _SUBSCRIPTION_SORTS)
    return _page(request, rows)


def _subscription(request: web.Request):
    return _sim(request).book.subscriptions.get(request.match_info["subscriptionId"])


@refusals
async def get_subscription(request: web.Request) -> web.Response:
    sub = _subscription(request)
    if sub is None:
        return _not_found(request, "Subscription", request.match_info["subscriptionId"])
    return web.json_response(subscription_json(_sim(request).book, sub))


@refusals
async def subscription_history(request: web.Request) -> web.Response:
    sub = _subscription(request)
    if sub is None:
        return _not_found(request, "Subscription", request.match_info["subscriptionId"])
    return web.json_response({"content": history_json(_sim(request).book, sub)})


# --- usage ----------------------------------------------------------------------------------------
def _summary_row(simulator: Pax8Simulator, summary) -> dict[str, Any]:
    today = simulator.world.today
    charges, partner = period_totals(simulator.book, summary, month_start(today), today, today)
    return usage_summary_json(simulator.book, summary, charges, partner)


@refusals
async def subscription_usage_summaries(request: web.Request) -> web.Response:
    simulator, query = _sim(request), request.query
    paging(query)
    sub = _subscription(request)
    if sub is None:
        return partner_error(404, f"Invalid subscriptionId: {request.match_info['subscriptionId']}", request.path)
    company_id = _uuid_param(query, "companyId")
    if company_id is not None and company_id not in simulator.book.companies:
        return partner_error(404, f"Invalid companyId: {company_id}", request.path)
    summaries = [s for s in simulator.book.usage_summaries.values() if s.subscription_id == sub.id]
    if company_id:
        summaries = [s for s in summaries if s.company_id == company_id]
    if group := query.get("resourceGroup"):
        summaries = [s for s in summaries if s.resource_group == group]
    rows = sort_rows([_summary_row(simulator, s) for s in summaries], query,
                     ("resourceGroup", "currentCharges", "partnerTotal"))
    return _page(request, rows)


def _summary(request: web.Request):
    return _sim(request).book.usage_summaries.get(request.match_info["usageSummaryId"])


@refusals
async def get_usage_summary(request: web.Request) -> web.Response:
    summary = _summary(request)
    if summary is None:
        return _not_found(request, "Usage Summary", request.match_info["usageSummaryId"])
    return web.json_response(_summary_row(_sim(request), summary))


@refusals
async def usage_summary_lines(request: web.Request) -> web.Response:
    simulator, query = _sim(request), request.query
    paging(query)
    summary = _summary(request)
    if summary is None:
        return partner_error(404, f"Invalid usage summary id: {request.match_info['usageSummaryId']}",
                             request.path)
    usage_date = day(query, "usageDate")
    if usage_date is None:
        raise QueryRefused(400, "Required parameter 'usageDate' is not present", "usageDate")
    lines = usage_lines(simulator.book, summary, usage_date, simulator.world.today)
    if product_id := _uuid_param(query, "productId"):
        lines = [line for line in lines if line.product_id == product_id]
    return _page(request, [usage_line_json(line) for line in lines])


# --- invoices -------------------------------------------------------------------------------------
def _amount(query: Any, name: str) -> Decimal | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise QueryRefused(400, f"Invalid value '{raw}' for parameter '{name}'; expected a number", name) from None


@refusals
async def list_invoices(request: web.Request) -> web.Response:
    simulator, query = _sim(request), request.query
    book, today = simulator.book, simulator.world.today
    paging(query)
    status = one_of(query, "status", INVOICE_STATUSES)
    company_id = _uuid_param(query, "companyId")
    if company_id is not None and company_id not in book.companies:
        return partner_error(404, f"Invalid companyId: {company_id}", request.path)
    rows = [invoice_json(book, month, lines, today, version_id=version_id, credited=credited)
            for month in book.invoice_months for version_id, lines, credited in invoice_versions(book, month)]
    if company_id:  # the partner's invoices carry no companyId; none is a company's own
        rows = []
    if status:
        rows = [r for r in rows if r["status"] == status]
    for name in ("invoiceDate", "dueDate"):
        if (wanted := day(query, name)) is not None:
            rows = [r for r in rows if r[name] == wanted.isoformat()]
    if (start := day(query, "invoiceDateRangeStart")) is not None:
        rows = [r for r in rows if r["invoiceDate"] >= start.isoformat()]
    if (end := day(query, "invoiceDateRangeEnd")) is not None:
        rows = [r for r in rows if r["invoiceDate"] <= end.isoformat()]
    for name in ("total", "balance", "carriedBalance"):
        if (amount := _amount(query, name)) is not None:
            rows = [r for r in rows if Decimal(str(r[name])) == amount]
    rows = sort_rows(rows, query, ("invoiceDate", "dueDate", "status", "partnerName", "total", "balance",
                                   "carriedBalance"))
    return _page(request, rows)


def _invoice(simulator: Pax8Simulator, wanted: str) -> tuple[date, list, bool] | None:
    """(month, lines, credited) of the invoice with id `wanted`, a corrected one included."""
    book = simulator.book
    for month in book.invoice_months:
        for version_id, lines, credited in invoice_versions(book, month):
            if version_id == wanted:
                return month, lines, credited
    return None


@refusals
async def get_invoice(request: web.Request) -> web.Response:
    simulator = _sim(request)
    found = _invoice(simulator, request.match_info["invoiceId"])
    if found is None:
        return _not_found(request, "Invoice", request.match_info["invoiceId"])
    month, lines, credited = found
    return web.json_response(invoice_json(simulator.book, month, lines, simulator.world.today,
                                          version_id=request.match_info["invoiceId"], credited=credited))


@refusals
async def invoice_items(request: web.Request) -> web.Response:
    simulator = _sim(request)
    paging(request.query)
    found = _invoice(simulator, request.match_info["invoiceId"])
    if found is None:
        return partner_error(404, f"Invalid invoice id: {request.match_info['invoiceId']}", request.path)
    return _page(request, [invoice_item_json(simulator.book, line) for line in found[1]])


@refusals
async def draft_items(request: web.Request) -> web.Response:
    simulator, query = _sim(request), request.query
    paging(query)
    offset = whole_number(query, "monthOffset", 1)
    if offset not in (0, 1):
        return partner_error(422, f"Invalid monthOffset value: {offset}; only 0 and 1 are supported", request.path,
                             [invalid_param("monthOffset must be 0 or 1", request.path)])
    company_id = _uuid_param(query, "companyId")
    book = simulator.book
    if company_id is not None and company_id not in book.companies:
        return partner_error(404, f"Company Not Found: {company_id}", request.path)
    if simulator.knobs.roll_draft_timeout():
        return partner_error(408, "Request timed out while computing draft invoice items", request.path)
    month = add_months(month_start(simulator.world.today), offset)
    lines = invoice_lines(book, month, as_of=simulator.world.now(), drafts=True)
    if company_id:
        lines = [line for line in lines if line.company_id == company_id]
    return _page(request, [invoice_item_json(book, line, draft=True) for line in lines])


def partner_routes(base: str) -> list[web.RouteDef]:
    return [
        web.get(f"{base}/companies", list_companies),
        web.get(f"{base}/companies/{{companyId}}", get_company),
        web.get(f"{base}/products", list_products),
        web.get(f"{base}/products/{{productId}}", get_product),
        web.get(f"{base}/products/{{productId}}/pricing", product_pricing),
        web.get(f"{base}/products/{{productId}}/dependencies", product_dependencies),
        web.get(f"{base}/subscriptions", list_subscriptions),
        web.get(f"{base}/subscriptions/{{subscriptionId}}", get_subscription),
        web.get(f"{base}/subscriptions/{{subscriptionId}}/history", subscription_history),
        web.get(f"{base}/subscriptions/{{subscriptionId}}/usage-summaries", subscription_usage_summaries),
        web.get(f"{base}/usage-summaries/{{usageSummaryId}}", get_usage_summary),
        web.get(f"{base}/usage-summaries/{{usageSummaryId}}/usage-lines", usage_summary_lines),
        web.get(f"{base}/invoices", list_invoices),
        web.get(f"{base}/invoices/draftItems", draft_items),  # before {invoiceId}
        web.get(f"{base}/invoices/{{invoiceId}}", get_invoice),
        web.get(f"{base}/invoices/{{invoiceId}}/items", invoice_items),
    ]
