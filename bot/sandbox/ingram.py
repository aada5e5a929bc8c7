"""Ingram Micro Cloud Marketplace ("CMP") reseller REST API simulator, mounted at /ingram.

Base URL `http://<host>:<port>/ingram/marketplace/us` (real: `https://api.cloud.im/marketplace/<region>`).
Paths, parameters and bodies follow the vendor's OpenAPI 1.6 document
(tests/specs/ingram-cloud-marketplace-api-1.6.yaml); see shared/apis/marketplaces.md section 2.1.

Layers, outermost first: the API gateway (`ingram_gateway`: 404 for unknown routes, subscription key,
call-rate quota; APIM-style bodies), then the backend: `POST /token` (`ingram_auth`) and the bearer
check, then the read operations below. Backend errors use the Spring-style body of `ingram_errors`.

Operations served:
- `POST /token`
- `GET /customers` (filters `name` similar-to, case-insensitive substring; `email` of a contact;
  `externalId`; `resellerId`) and `GET /customers/{id}`
- `GET /subscriptions` (filters `customerId`, `status`, `creationDateFrom`, `creationDateTo`, both
  dates inclusive) and `GET /subscriptions/{id}` (SubscriptionDetailed with `products`)
- `GET /orders` (filters `creationTimeFrom`/`creationTimeTo`, `status`, ...) and `GET /orders/{id}`: the ledger of
  every seat change, new subscription, renewal and cancellation (`ingram_orders`)
Paging: `offset` (default 0, >= 0) and `limit` (default 10, >= 1) as the spec defines them; the spec
sets no maximum and integrations report none is enforced (n8n CloudBlue SimpleAPI node), so none is.
Lists are ordered by id; `pagination` echoes `{offset, limit, total}`; an offset past the end gives
`data: []`. `status` takes exactly one value (a comma-separated list is a 400, as observed against
the real API by a public dashboard project); unknown query parameters are ignored, as observed there.
The spec has no modification-date filter on `/subscriptions`: clients page and compare `lastModifiedDate` (a day),
read the orders created since a time, or use the sandbox's change notification, `ingram_notify`.

Every request received is logged in `world.ingram_requests` ("GET /subscriptions/{id}"), so a test counts calls
from the vendor's side.

Knob: whether a seat change (only a line's amounts) moves the subscription's `lastModifiedDate` is not
documented anywhere public, so it is `world.seat_change_bumps_last_modified` (default True; also
`PUT /admin/ingram/knobs {"seat_change_bumps_last_modified": false}`). Off, a day's seat changes and the
admin count route leave the date as it was; status, term, price and new subscriptions still move it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.sandbox.ingram_auth import TOKEN_LIFETIME_S, TokenStore, bearer_middleware, issue_token
from bot.sandbox.ingram_errors import cmp_error, correlation_id
from bot.sandbox.ingram_gateway import GatewayQuota, RateLimiter, gateway_error, gateway_middleware
from bot.sandbox.ingram_notify import notify_changes
from bot.sandbox.ingram_orders import order_routes
from bot.sandbox.ingram_query import BadQuery, day, json_reply, one_of, page, paging
from bot.sandbox.ingram_reports import REPORT_FILE_ROUTE, report_routes
from bot.sandbox.ingram_views import customer_json, subscription_detail_json, subscription_json
from bot.sandbox.odin_accounts import account_profile, reseller_account_id
from bot.sandbox.world import SandboxWorld

__all__ = ["GatewayQuota", "create_ingram_app", "ingram_error", "notify_changes"]

WORLD_KEY = web.AppKey("ingram_world", SandboxWorld)
TOKENS_KEY = web.AppKey("ingram_tokens", TokenStore)
LIMITER_KEY = web.AppKey("ingram_limiter", RateLimiter)

SUBSCRIPTION_STATUSES = ("pending", "active", "hold", "terminated", "removed")  # spec enum

def create_ingram_app(world: SandboxWorld, *, quota: GatewayQuota | None = None,
                      clock: Callable[[], float] = time.time,
                      token_lifetime_s: int = TOKEN_LIFETIME_S) -> web.Application:
    tokens = TokenStore(clock=clock, lifetime_s=token_lifetime_s)
    limiter = RateLimiter(quota or GatewayQuota(), clock)
    base = f"/marketplace/{world.credentials.ingram_marketplace}"
    token_path = f"{base}/token"

    def is_token_call(request: web.Request) -> bool:
        return request.match_info.route.name in ("token", REPORT_FILE_ROUTE)

    @web.middleware
    async def log_request(request: web.Request, handler):
        resource = request.match_info.route.resource
        path = (resource.canonical if resource is not None else request.path).split(base, 1)[-1]
        world.ingram_requests.append(f"{request.method} {path}")
        return await handler(request)

    app = web.Application(middlewares=[
        log_request,
        gateway_middleware(lambda: world.credentials.ingram_subscription_key, limiter),
        bearer_middleware(tokens, is_token_call),
    ])
    app[WORLD_KEY] = world
    app[TOKENS_KEY] = tokens
    app[LIMITER_KEY] = limiter

    async def token(request: web.Request) -> web.Response:
        return _with_correlation(await issue_token(request, world.credentials, tokens))

    app.router.add_post(token_path, token, name="token")
    app.router.add_get(f"{base}/customers", list_customers)
    app.router.add_get(f"{base}/customers/{{id}}", get_customer)
    app.router.add_get(f"{base}/subscriptions", list_subscriptions)
    app.router.add_get(f"{base}/subscriptions/{{id}}", get_subscription)
    app.router.add_routes(report_routes(base, WORLD_KEY))
    app.router.add_routes(order_routes(base, WORLD_KEY))
    return app


def ingram_error(status: int, message: str) -> web.Response:
    """An error in CMP's shape: throttling comes from the gateway, everything else from the backend."""
    if status == 429:
        return gateway_error(status, message)
    return cmp_error(status, message)


# --- handlers ----------------------------------------------------------------------------------
async def list_customers(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    query = request.query
    try:
        offset, limit = paging(query)
    except BadQuery as exc:
        return cmp_error(400, str(exc), request.path)
    customers: Iterable = sorted(world.customers.values(), key=lambda c: c.account_id)
    if name := query.get("name"):
        customers = [c for c in customers if name.casefold() in c.name.casefold()]
    if email := query.get("email"):
        customers = [c for c in customers if account_profile(c).email.casefold() == email.casefold()]
    if "externalId" in query:
        customers = [c for c in customers if f"CUST-{c.account_id}" == query["externalId"]]
    if "resellerId" in query and query["resellerId"] != str(reseller_account_id(world)):
        customers = []
    return page([customer_json(world, c) for c in customers], offset, limit)


async def get_customer(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    wanted = request.match_info["id"]
    customer = next((c for c in world.customers.values() if c.cmp_id == wanted), None)
    if customer is None:
        return cmp_error(404, f"Customer with id '{wanted}' is not found", request.path)
    return json_reply(customer_json(world, customer))


async def list_subscriptions(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    query = request.query
    try:
        offset, limit = paging(query)
        status = one_of(query, "status", SUBSCRIPTION_STATUSES)
        created_from = day(query, "creationDateFrom")
        created_to = day(query, "creationDateTo")
    except BadQuery as exc:
        return cmp_error(400, str(exc), request.path)
    subs = sorted(world.subscriptions.values(), key=lambda s: s.subscription_id)
    rows = [subscription_json(world, s) for s in subs]
    if "customerId" in query:
        rows = [r for r in rows if r["customerId"] == query["customerId"]]
    if status:
        rows = [r for r in rows if r["status"] == status]
    if created_from:
        rows = [r for r in rows if r["creationDate"] >= created_from.isoformat()]
    if created_to:
        rows = [r for r in rows if r["creationDate"] <= created_to.isoformat()]
    return page(rows, offset, limit)


async def get_subscription(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    wanted = request.match_info["id"]
    sub = next((s for s in world.subscriptions.values() if s.cmp_id == wanted), None)
    if sub is None:
        return cmp_error(404, f"Subscription with id '{wanted}' is not found", request.path)
    return json_reply(subscription_detail_json(world, sub))


# --- responses ---------------------------------------------------------------------------------
def _with_correlation(response: web.Response) -> web.Response:
    response.headers.setdefault("X-Correlation-ID", correlation_id())
    return response
