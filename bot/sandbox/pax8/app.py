"""The Pax8 simulator as one aiohttp application (mounted at /pax8), and its admin routes.

Base URLs: the partner API and its token call at `/pax8/v1` (real `https://api.pax8.com/v1`), the
webhooks API at `/pax8/api/v2` (real `https://api.pax8.com/api/v2`), the delegated consent screen at
`/pax8/login/authorize` (real `https://login.pax8.com/authorize`). Layers, outermost first: the
sandbox's fault knobs (added by `bot.sandbox.app`), the route check (an unknown path is a 404, a method
the sandbox does not serve a 405, both in Pax8's error shape), the bearer token and the client's call
budget (`auth`, `limits`), then the operations (`routes`, `webhooks`).

Admin (under the sandbox's `/admin`, admin token required):
- `GET|PUT /admin/pax8/knobs`: the Pax8-only knobs (`state.Pax8Knobs`; `{"reset": true}` resets them);
- `PUT /admin/pax8/subscriptions/{id}` `{"quantity": n}`: the customer changes seats now (a history
  snapshot and a `Change` delivery follow);
- `GET /admin/pax8/deliveries`: every delivery log and call so far, and the contact alerts;
  `POST /admin/pax8/deliveries/settle` waits for the deliveries under way, then answers the same.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.sandbox.pax8.auth import authorize, bearer_middleware, issue_token
from bot.sandbox.pax8.book import LIVE_STATUSES
from bot.sandbox.pax8.days import Pax8DayReport
from bot.sandbox.pax8.errors import partner_error, webhook_error
from bot.sandbox.pax8.routes import SIMULATOR_KEY, partner_routes
from bot.sandbox.pax8.state import Pax8Simulator
from bot.sandbox.pax8.webhooks import webhooks_api

PARTNER_BASE = "/v1"
WEBHOOKS_BASE = "/api/v2"
LOGIN_AUTHORIZE = "/login/authorize"  # real: https://login.pax8.com/authorize
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_webhooks_api(request: web.Request) -> bool:
    return f"{WEBHOOKS_BASE}/webhooks" in request.path


def _is_token_call(request: web.Request) -> bool:
    return request.match_info.route.name in ("pax8-token", "pax8-authorize")


@web.middleware
async def _routes_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    problem = request.match_info.http_exception
    if problem is not None:
        refuse = webhook_error if _is_webhooks_api(request) else partner_error
        if problem.status == 405:
            return refuse(405, f"{request.method} is not supported on {request.path} (not simulated)", request.path)
        return refuse(404, f"No such resource: {request.path}", request.path)
    return await handler(request)


def create_pax8_app(simulator: Pax8Simulator) -> web.Application:
    app = web.Application(middlewares=[
        _routes_only,
        bearer_middleware(simulator.tokens, simulator.budget, _is_token_call, _is_webhooks_api),
    ])
    app[SIMULATOR_KEY] = simulator

    async def token(request: web.Request) -> web.Response:
        return await issue_token(request, simulator.world.credentials, simulator.tokens, simulator.budget)

    async def consent(request: web.Request) -> web.Response:
        return await authorize(request, simulator.world.credentials, simulator.tokens)

    app.router.add_post(f"{PARTNER_BASE}/token", token, name="pax8-token")
    app.router.add_get(LOGIN_AUTHORIZE, consent, name="pax8-authorize")
    app.add_routes(partner_routes(PARTNER_BASE))
    app.add_routes(webhooks_api(simulator, WEBHOOKS_BASE))
    return app


def announce_day(simulator: Pax8Simulator, report: Pax8DayReport | None) -> None:
    """Deliver the webhooks for what a day changed in the Pax8 book."""
    if report is None:
        return
    deliveries = simulator.deliveries
    deliveries.announce(deliveries.subscription_events(report.events)
                        + deliveries.invoice_events(report.released_invoices))


def pax8_admin_routes(simulator: Pax8Simulator) -> list[web.RouteDef]:
    def deliveries_json() -> dict:
        store = simulator.webhooks
        return {"logs": [dict(entry.as_json(), topic=entry.topic) for entry in store.logs.values()],
                "alerts": [{"contactEmail": a.contact_email, "webhookId": a.webhook_id, "logId": a.log_id,
                            "at": a.at.isoformat()} for a in simulator.deliveries.alerts]}

    async def get_knobs(request: web.Request) -> web.Response:
        return web.json_response(simulator.knobs.as_dict())

    async def put_knobs(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object of knob names to values")
            if body.pop("reset", False):
                simulator.knobs.reset()
            simulator.knobs.update(body)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(simulator.knobs.as_dict())

    async def set_quantity(request: web.Request) -> web.Response:
        sub = simulator.book.subscriptions.get(request.match_info["subscription_id"])
        if sub is None:
            return web.json_response({"error": "no such Pax8 subscription"}, status=404)
        try:
            body = await request.json()
            quantity = body.get("quantity") if isinstance(body, dict) else None
            if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 1_000_000:
                raise ValueError('body must be {"quantity": <whole number of seats, 1-1000000>}')
        except (ValueError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if sub.now.status not in LIVE_STATUSES:
            return web.json_response({"error": f"the subscription is {sub.now.status}"}, status=409)
        before = sub.now.quantity
        sub.change(simulator.world.now(), quantity=quantity)
        deliveries = simulator.deliveries
        deliveries.announce(deliveries.subscription_events([("Change", sub.id)]))
        return web.json_response({"subscriptionId": sub.id, "before": before, "quantity": quantity})

    async def deliveries(request: web.Request) -> web.Response:
        return web.json_response(deliveries_json())

    async def settle(request: web.Request) -> web.Response:
        await simulator.deliveries.settled()
        return web.json_response(deliveries_json())

    return [
        web.get("/pax8/knobs", get_knobs),
        web.put("/pax8/knobs", put_knobs),
        web.put("/pax8/subscriptions/{subscription_id}", set_quantity),
        web.get("/pax8/deliveries", deliveries),
        web.post("/pax8/deliveries/settle", settle),
    ]
