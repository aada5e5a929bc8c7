"""HaloPSA simulator: an aiohttp sub-app mounted at /halopsa, a Halo-hosted instance of one tenant.

Served (paths case-insensitive; notes = shared/apis/halopsa.md):
- `POST /auth/token?tenant=` (form body; auth.py) and `GET /api/authinfo`.
- `GET /api/Client`, `/api/ClientContract`, `/api/Item`, `/api/RecurringInvoice`, `/api/Invoice`: lists with
  Halo's paging (listing.py) under the collection keys `clients`, `contracts`, `items`, `invoices`; each
  `GET /api/{Entity}/{id}` answers the record itself (a recurring invoice with its `lines`).
  Filters: Client `search`, `includeinactive` (inactive clients are left out without it: the simulator's
  reading of homotechsual's IncludeActive/IncludeInactive switches); ClientContract `client_id`, `search`;
  Item `search`; RecurringInvoice `client_id`, `client_ids` (comma-separated), `contract_id`, `search`,
  `includelines` [code homotechsual Get-HaloRecurringInvoice.ps1]; Invoice `client_id`, `includelines`.
- `POST /api/RecurringInvoice` with a JSON array (lines.py): 201 with the updated recurring invoice (an
  array when several were posted; the reply's exact shape is unconfirmed, read back rather than trust it).
  Other POSTs (creating clients, contracts, items) are not simulated: 405.
Scopes per route are in gate.py, the rate limit there too; faults come from the fault middleware app.py puts
in front (lost replies only for POSTs that changed something).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.sandbox.faults import mark_write
from bot.sandbox.halopsa.auth import TokenStore, auth_info, bearer_refusal, token_endpoint
from bot.sandbox.halopsa.gate import SCOPE_NEEDED, Refusal, RequestWindow, halopsa_error, too_many
from bot.sandbox.halopsa.lines import Rejected, update_recurring_invoices
from bot.sandbox.halopsa.listing import ListQuery, QueryError, matches_search, page_of_records, parse_list_query
from bot.sandbox.halopsa.shapes import (
    client_json,
    contract_json,
    invoice_json,
    item_json,
    recurring_invoice_json,
)
from bot.sandbox.world import SandboxWorld

__all__ = ["HALOPSA_TOKENS", "create_halopsa_app", "halopsa_admin_routes", "halopsa_error"]

HALOPSA_TOKENS = web.AppKey("halopsa_tokens", TokenStore)
_WORLD = web.AppKey("halopsa_world", SandboxWorld)
_WINDOW = web.AppKey("halopsa_window", RequestWindow)


def create_halopsa_app(world: SandboxWorld, *, clock: Callable[[], float] = time.monotonic) -> web.Application:
    """`clock` (monotonic seconds) drives token expiry and the rate limit; tests pass their own."""
    app = web.Application()
    app[_WORLD] = world
    app[HALOPSA_TOKENS] = TokenStore(clock=clock)
    app[_WINDOW] = RequestWindow(limit=lambda: world.halopsa.application.requests_per_minute, clock=clock)
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


async def _dispatch(request: web.Request) -> web.StreamResponse:
    tail = request.match_info["tail"]
    mount = request.path[: len(request.path) - len(tail)].rstrip("/")
    segments = [s.lower() for s in tail.split("/") if s]
    world, store = request.app[_WORLD], request.app[HALOPSA_TOKENS]
    if segments == ["auth", "token"]:
        return await token_endpoint(request, world, store) if request.method == "POST" else _not_allowed("POST")
    if segments[:1] != ["api"] or len(segments) < 2:
        return halopsa_error(404, f"No resource at {request.path}")
    if segments[1:] == ["authinfo"]:
        return await auth_info(request, mount) if request.method == "GET" else _not_allowed("GET")
    wait = request.app[_WINDOW].admit()
    if wait is not None:
        return too_many(wait)
    entity, rest = segments[1], segments[2:]
    if entity not in _READERS or len(rest) > 1:
        return halopsa_error(404, f"No resource at {request.path}")
    allowed = ("GET", "POST") if entity == "recurringinvoice" and not rest else ("GET",)
    if request.method not in allowed:
        return _not_allowed(*allowed)
    refused = bearer_refusal(request, store, SCOPE_NEEDED[(request.method, entity)])
    if refused is not None:
        return refused
    try:
        if request.method == "POST":
            return await _post_recurring_invoices(request, world)
        if rest:
            return _one(world, entity, rest[0], request)
        return web.json_response(_READERS[entity](world, parse_list_query(request.query)))
    except QueryError as exc:
        return halopsa_error(400, str(exc))
    except Refusal as refusal:
        return refusal.response


def _not_allowed(*methods: str) -> web.Response:
    response = halopsa_error(405, "The requested resource does not support this http method.")
    response.headers["Allow"] = ", ".join(methods)
    return response


# --- reads -------------------------------------------------------------------------------------
def _clients(world: SandboxWorld, query: ListQuery) -> dict:
    include_inactive = query.flag("includeinactive")
    found = [c for c in world.halopsa.clients.values()
             if (include_inactive or not c.inactive) and matches_search(query, c.name)]
    return page_of_records(found, query, "clients", client_json)


def _contracts(world: SandboxWorld, query: ListQuery) -> dict:
    client_id, halo = query.number("client_id"), world.halopsa
    found = [c for c in halo.contracts.values()
             if (client_id is None or c.client_id == client_id) and matches_search(query, c.ref)]
    return page_of_records(found, query, "contracts", lambda c: contract_json(c, halo, world.today))


def _items(world: SandboxWorld, query: ListQuery) -> dict:
    found = [i for i in world.halopsa.items.values() if matches_search(query, i.name, i.code)]
    return page_of_records(found, query, "items", item_json)


def _recurring_invoices(world: SandboxWorld, query: ListQuery) -> dict:
    halo = world.halopsa
    client_ids = query.numbers("client_ids") or set()
    if query.number("client_id") is not None:
        client_ids.add(query.number("client_id"))  # type: ignore[arg-type]
    contract_id, with_lines = query.number("contract_id"), query.flag("includelines")

    def wanted(invoice) -> bool:
        if client_ids and invoice.client_id not in client_ids:
            return False
        if contract_id is not None and invoice.contract_id != contract_id:
            return False
        client = halo.clients.get(invoice.client_id)
        return matches_search(query, client.name if client else "", str(invoice.id), invoice.reference)

    found = [ri for ri in halo.recurring_invoices.values() if wanted(ri)]
    return page_of_records(found, query, "invoices",
                           lambda ri: recurring_invoice_json(ri, halo, with_lines=with_lines))


def _invoices(world: SandboxWorld, query: ListQuery) -> dict:
    client_id, with_lines, halo = query.number("client_id"), query.flag("includelines"), world.halopsa
    found = [inv for inv in halo.invoices.values() if client_id is None or inv.client_id == client_id]
    return page_of_records(found, query, "invoices", lambda inv: invoice_json(inv, halo, with_lines=with_lines))


_READERS: dict[str, Callable[[SandboxWorld, ListQuery], dict]] = {
    "client": _clients, "clientcontract": _contracts, "item": _items,
    "recurringinvoice": _recurring_invoices, "invoice": _invoices,
}


def _one(world: SandboxWorld, entity: str, raw_id: str, request: web.Request) -> web.Response:
    try:
        record_id = int(raw_id)
    except ValueError:
        return halopsa_error(404, f"No resource at {request.path}")
    halo = world.halopsa
    found: dict | None = None
    if entity == "client" and record_id in halo.clients:
        found = client_json(halo.clients[record_id])
    elif entity == "clientcontract" and record_id in halo.contracts:
        found = contract_json(halo.contracts[record_id], halo, world.today)
    elif entity == "item" and record_id in halo.items:
        found = item_json(halo.items[record_id])
    elif entity == "recurringinvoice" and record_id in halo.recurring_invoices:
        found = recurring_invoice_json(halo.recurring_invoices[record_id], halo, with_lines=True)
    elif entity == "invoice" and record_id in halo.invoices:
        found = invoice_json(halo.invoices[record_id], halo, with_lines=True)
    if found is None:
        return halopsa_error(404, f"The {entity} with id {record_id} was not found.")
    return web.json_response(found)


# --- the write ---------------------------------------------------------------------------------
async def _json_body(request: web.Request) -> Any:
    content_type = request.content_type
    if content_type not in ("application/json", "text/json") and not content_type.endswith("+json"):
        raise Refusal(halopsa_error(415, f"Unsupported content type {content_type}; send application/json."))
    text = await request.text()
    if not text.strip():
        raise Refusal(halopsa_error(400, "The request body is empty."))
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise Refusal(halopsa_error(400, f"The request body is not valid JSON: {exc}")) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _units(quantity: Decimal) -> int | float:
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)


async def _post_recurring_invoices(request: web.Request, world: SandboxWorld) -> web.Response:
    body = await _json_body(request)
    try:
        invoices, changes = update_recurring_invoices(world, body)
    except Rejected as exc:
        return halopsa_error(400, "The recurring invoice update was refused.", exc.errors)
    for change in changes:
        world.record_write("halopsa", change.line_id, _units(change.before), _units(change.after), change.key,
                           reference=f"{change.invoice_id}/{change.line_id}")
    mark_write(request)
    rendered = [recurring_invoice_json(invoice, world.halopsa, with_lines=True) for invoice in invoices]
    return web.json_response(rendered[0] if len(rendered) == 1 else rendered, status=201)


# --- admin -------------------------------------------------------------------------------------
def halopsa_admin_routes(world: SandboxWorld) -> list[web.RouteDef]:
    """`PUT /admin/halopsa/application`: the scopes the API application is granted, token lifetime, rate limit."""

    async def set_application(request: web.Request) -> web.Response:
        application = world.halopsa.application
        try:
            body = await request.json()
            if not isinstance(body, dict) or set(body) - {"granted_scopes", "token_lifetime_s", "requests_per_minute"}:
                raise ValueError("body: {granted_scopes?: str, token_lifetime_s?: int, requests_per_minute?: int}")
            if "granted_scopes" in body:
                application.granted_scopes = str(body["granted_scopes"])
            for name in ("token_lifetime_s", "requests_per_minute"):
                if name in body:
                    value = body[name]
                    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                        raise ValueError(f"{name} must be a whole number, 0 or more")
                    setattr(application, name, value)
        except (ValueError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"granted_scopes": application.granted_scopes,
                                  "token_lifetime_s": application.token_lifetime_s,
                                  "requests_per_minute": application.requests_per_minute})

    return [web.put("/halopsa/application", set_application)]
