"""All simulators on one aiohttp application: /odin, /ingram, /autotask, /connectwise, /halopsa, /slack, /pax8,
/admin, and the Slack console (/console/, `bot.sandbox.slack_console`).

`create_sandbox_app(sandbox)` builds it; `Sandbox.start()` serves it in-process on a port (0 for an
ephemeral one, as tests use) and `Sandbox.config()` gives the base URLs and credentials that
`seatsync sandbox --print-config` prints. `Sandbox.slack_request_url` is the app's Slack endpoint, where
the console sends what people do (as an app's *Request URL* in Slack's settings).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from aiohttp import web
from yarl import URL

from bot.sandbox.autotask import autotask_error, create_autotask_app, move_zone
from bot.sandbox.connectwise import connectwise_error, create_connectwise_app
from bot.sandbox.day_passes import DayReport
from bot.sandbox.faults import PROFILES, FaultKnobs, fault_middleware
from bot.sandbox.generator import Scale, advance_day, generate_world
from bot.sandbox.halopsa.app import create_halopsa_app, halopsa_admin_routes, halopsa_error
from bot.sandbox.ingram import create_ingram_app, ingram_error, notify_changes
from bot.sandbox.ingram_orders import change_seats
from bot.sandbox.odin import create_odin_app, odin_error
from bot.sandbox.odin_gateway import OdinGateway
from bot.sandbox.pax8 import Pax8Simulator, announce_day, create_pax8_app, pax8_admin_routes, pax8_error
from bot.sandbox.slack import SlackRecorder, create_slack_app, slack_error
from bot.sandbox.slack_console import CONSOLE_PATH, create_console_app, team_console_path
from bot.sandbox.slack_oauth import SlackDistribution
from bot.sandbox.slack_teams_admin import slack_team_routes
from bot.sandbox.world import SandboxWorld

# append: fault seeds follow the order
SIMULATORS = ("odin", "ingram", "autotask", "connectwise", "slack", "halopsa", "pax8")
PSA_SYSTEMS = ("autotask", "connectwise", "halopsa")

ODIN_PATH = "/odin/RPC2"
INGRAM_PATH = "/ingram/marketplace/us"
AUTOTASK_PATH = "/autotask/ATServicesRest"
CONNECTWISE_PATH = "/connectwise/v4_6_release/apis/3.0"
SLACK_PATH = "/slack/api/"
HALOPSA_PATH = "/halopsa"
PAX8_PATH = "/pax8/v1"
PAX8_WEBHOOKS_PATH = "/pax8/api/v2"
PAX8_AUTHORIZE_PATH = "/pax8/login/authorize"


@dataclass
class Sandbox:
    world: SandboxWorld
    scale: Scale = "small"
    faults: dict[str, FaultKnobs] = field(default_factory=dict)
    slack: SlackRecorder = field(default=None)  # type: ignore[assignment]
    pax8: Pax8Simulator = field(default=None)  # type: ignore[assignment]
    slack_teams: SlackDistribution = field(default=None)  # type: ignore[assignment]  # every workspace, OAuth
    runner: web.AppRunner | None = None
    port: int = 0
    host: str = "127.0.0.1"
    webhook_marketplace: str = "ingram"  # whose ids change notifications carry (PUT /admin/webhook)
    slack_request_url: str | None = None  # the app's Slack endpoint, for the console (PUT /admin/slack/request-url)
    slack_timeout_s: float = 3.0  # how long the console waits for the app's answer, as Slack does
    autotask_drops_unknown_operators: bool = False  # as the live API does; refused by default (autotask_query)
    odin_gateway: OdinGateway = field(default_factory=OdinGateway)  # what stands in front of BA: auth, methods, rate

    @classmethod
    def generate(cls, *, seed: int = 1, scale: Scale = "small", today: date | None = None,
                 bill_pax8_in_psas: bool = False) -> Sandbox:
        world = generate_world(seed=seed, scale=scale, today=today or date.today(),
                               bill_pax8_in_psas=bill_pax8_in_psas)
        return cls(world=world, scale=scale)

    def __post_init__(self) -> None:
        for name in SIMULATORS:
            self.faults.setdefault(name, FaultKnobs(seed=self.world.seed * 1000 + SIMULATORS.index(name)))
        if self.pax8 is None:
            self.pax8 = Pax8Simulator(self.world)
        if self.slack is None:
            self.slack = SlackRecorder(
                bot_token=self.world.credentials.slack_bot_token,
                signing_secret=self.world.credentials.slack_signing_secret,
            )
        if self.slack_teams is None:
            self.slack_teams = SlackDistribution(self.slack)

    def apply_profile(self, profile: str, systems: tuple[str, ...] = SIMULATORS) -> None:
        """Set a named fault profile (none|light|heavy) on the given simulators."""
        if profile not in PROFILES:
            raise ValueError(f"unknown fault profile {profile!r}; choose one of {', '.join(PROFILES)}")
        for name in systems:
            self.faults[name].reset()
            self.faults[name].update(PROFILES[profile])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def console_url(self) -> str:
        return self.base_url + CONSOLE_PATH

    def deliver_day(self, report: DayReport) -> None:
        """Send the webhooks of what a day passed outside the admin routes changed: Pax8's deliveries to the webhooks
        configured on it (none configured: nothing is sent). They run in the background; `deliveries_settled`
        waits for them."""
        announce_day(self.pax8, report.pax8)

    async def deliveries_settled(self) -> None:
        await self.pax8.deliveries.settled()

    def connect_slack_app(self, request_url: str, signing_secret: str | None = None) -> None:
        """Where the console sends people's requests, and the secret the app checks them with (if not ours)."""
        self.slack_request_url = request_url
        if signing_secret:
            self.slack.signing_secret = signing_secret

    def config(self) -> dict:
        creds = self.world.credentials
        base = self.base_url
        return {
            # webhook_secret signs the change notifications (X-Sandbox-Signature); SeatSync stores it with
            # the marketplace connection
            "odin": {"url": base + ODIN_PATH, "sample_account": creds.odin_sample_account,
                     "username": creds.odin_username, "password": creds.odin_password,
                     "webhook_secret": creds.webhook_secret},
            "ingram": {
                "url": base + INGRAM_PATH,
                "subscription_key": creds.ingram_subscription_key,
                "username": creds.ingram_username,
                "password": creds.ingram_password,
                "marketplace": creds.ingram_marketplace,
                "webhook_secret": creds.webhook_secret,
            },
            "autotask": {
                "url": base + AUTOTASK_PATH,
                "integration_code": creds.autotask_integration_code,
                "username": creds.autotask_username,
                "secret": creds.autotask_secret,
            },
            "connectwise": {
                "url": base + CONNECTWISE_PATH,
                "site_url": base + "/connectwise",
                "company_id": creds.connectwise_company_id,
                "public_key": creds.connectwise_public_key,
                "private_key": creds.connectwise_private_key,
                "client_id": creds.connectwise_client_id,
            },
            # Halo-hosted instance: `url` is the instance (its /api and /auth servers), tenant in ?tenant=
            "halopsa": {
                "url": base + HALOPSA_PATH,
                "api_url": base + HALOPSA_PATH + "/api",
                "auth_url": base + HALOPSA_PATH + "/auth",
                "tenant": creds.halopsa_tenant,
                "client_id": creds.halopsa_client_id,
                "client_secret": creds.halopsa_client_secret,
                "scope": "all",
            },
            "slack": {
                "api_url": base + SLACK_PATH,
                "bot_token": creds.slack_bot_token,
                "signing_secret": creds.slack_signing_secret,
                # the app's distribution (OAuth): /slack/install sends people to authorize_url
                "client_id": self.slack_teams.client_id,
                "client_secret": self.slack_teams.client_secret,
                "authorize_url": base + "/slack/oauth/v2/authorize",
            },
            # Pax8 signs nothing: its deliveries carry the Authorization value set on the webhook (webhooks API)
            "pax8": {
                "url": base + PAX8_PATH,
                "token_url": base + PAX8_PATH + "/token",
                "webhooks_url": base + PAX8_WEBHOOKS_PATH,
                "authorize_url": base + PAX8_AUTHORIZE_PATH,  # a hosted app's consent screen (delegated access)
                "client_id": creds.pax8_client_id,
                "client_secret": creds.pax8_client_secret,
                "audience": "https://api.pax8.com",
            },
            "admin": {"url": base + "/admin", "token": creds.admin_token},
        }

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> Sandbox:
        self.runner = web.AppRunner(create_sandbox_app(self), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        self.host = host
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for recorder in self.slack_teams.teams.values():  # response_urls handed out before any request need it
            recorder.base_url = self.base_url + "/slack"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


def create_sandbox_app(sandbox: Sandbox) -> web.Application:
    world = sandbox.world
    app = web.Application()
    facades = {
        "odin": (create_odin_app(world, gateway=sandbox.odin_gateway), odin_error),
        "ingram": (create_ingram_app(world), ingram_error),
        "autotask": (create_autotask_app(world, drop_unknown_operators=sandbox.autotask_drops_unknown_operators),
                     autotask_error),
        "connectwise": (create_connectwise_app(world), connectwise_error),
        "halopsa": (create_halopsa_app(world), halopsa_error),
        "slack": (create_slack_app(sandbox.slack, sandbox.slack_teams), slack_error),
        "pax8": (create_pax8_app(sandbox.pax8), pax8_error),
    }
    for name, (sub, error_body) in facades.items():
        sub.middlewares.insert(0, fault_middleware(sandbox.faults[name], error_body))
        app.add_subapp(f"/{name}", sub)
    app.add_subapp("/admin", _admin_app(sandbox))
    app.router.add_get(CONSOLE_PATH.rstrip("/"), _to_console)  # before the sub-app, which would answer 404
    teams = sandbox.slack_teams
    path = partial(team_console_path, primary_team_id=sandbox.slack.team_id)
    for team_id in [*(t for t in teams.teams if t != sandbox.slack.team_id), sandbox.slack.team_id]:
        # every workspace's console, each added before the default one at /console/, whose prefix covers theirs
        app.add_subapp(path(team_id).rstrip("/"), create_console_app(
            teams.teams[team_id], lambda: sandbox.slack_request_url, timeout_s=sandbox.slack_timeout_s,
            distribution=teams, console_path=path))
    app.router.add_get("/", _index)
    return app


async def _index(request: web.Request) -> web.Response:
    return web.json_response({"simulators": [f"/{name}" for name in SIMULATORS], "admin": "/admin",
                              "slack_console": CONSOLE_PATH})


async def _to_console(request: web.Request) -> web.Response:
    raise web.HTTPFound(CONSOLE_PATH)


def _admin_app(sandbox: Sandbox) -> web.Application:
    """Admin routes: read and reset state, set faults, let a day pass, count PSA writes, list the counts set."""
    token = sandbox.world.credentials.admin_token

    @web.middleware
    async def require_token(request: web.Request, handler):
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response({"error": "admin token required (Authorization: Bearer <admin token>)"},
                                     status=401)
        return await handler(request)

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response({name: knobs.as_dict() for name, knobs in sandbox.faults.items()})

    async def put_faults(request: web.Request) -> web.Response:
        name = request.match_info["system"]
        if name not in sandbox.faults:
            return web.json_response({"error": f"unknown simulator {name!r}"}, status=404)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object of knob names to values")
            if "profile" in body:
                sandbox.apply_profile(str(body.pop("profile")), (name,))
            sandbox.faults[name].update(body)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(sandbox.faults[name].as_dict())

    async def reset_faults(request: web.Request) -> web.Response:
        for knobs in sandbox.faults.values():
            knobs.reset()
        return web.json_response({"ok": True})

    async def state(request: web.Request) -> web.Response:
        return web.json_response(world_summary(sandbox.world))

    async def reset(request: web.Request) -> web.Response:
        fresh = generate_world(seed=sandbox.world.seed, scale=sandbox.scale, today=sandbox.world.today)
        fresh.webhook_url = sandbox.world.webhook_url
        _replace_world(sandbox.world, fresh)
        sandbox.slack.reset()
        sandbox.slack_teams.reset()
        for knobs in sandbox.faults.values():
            knobs.reset()
        sandbox.pax8.knobs.reset()
        return web.json_response(world_summary(sandbox.world))

    async def advance(request: web.Request) -> web.Response:
        days = int(request.query.get("days", "1"))
        if not 1 <= days <= 366:
            return web.json_response({"error": "days must be between 1 and 366"}, status=400)
        reports = [advance_day(sandbox.world) for _ in range(days)]
        changed = sorted({sid for report in reports for sid in report.changed_subscriptions})
        for subscription_id in changed:
            sandbox.world.record_counts(subscription_id)
        await notify_changes(sandbox.world, changed, marketplace=sandbox.webhook_marketplace)
        for report in reports:
            announce_day(sandbox.pax8, report.pax8)
        return web.json_response({"today": sandbox.world.today.isoformat(), "days": [r.as_dict() for r in reports]})

    async def set_count(request: web.Request) -> web.Response:
        """A customer buys or drops seats on one line now (a change order at Ingram, unless the body says
        `"order": false`: a change made outside orders); a change notification follows."""
        try:
            subscription_id = int(request.match_info["subscription_id"])
            resource_id = int(request.match_info["resource_id"])
            body = await request.json()
            total = body.get("total") if isinstance(body, dict) else None
            if not isinstance(total, int) or isinstance(total, bool) or not 0 <= total <= 1_000_000:
                raise ValueError('body must be {"total": <whole number of seats, 0-1000000>}')
            order = body.get("order", True)
            if not isinstance(order, bool):
                raise ValueError('"order" must be true or false')
        except (ValueError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if sandbox.world.line(subscription_id, resource_id) is None:
            return web.json_response({"error": f"no resource {resource_id} in subscription {subscription_id}"},
                                     status=404)
        line = change_seats(sandbox.world, subscription_id, resource_id, total, order=order)
        sandbox.world.record_counts(subscription_id)
        await notify_changes(sandbox.world, [subscription_id], marketplace=sandbox.webhook_marketplace)
        return web.json_response({"subscription_id": subscription_id, "resource_id": resource_id,
                                  "included": line.included, "additional": line.additional, "total": total})

    async def writes(request: web.Request) -> web.Response:
        system = request.match_info["system"]
        if system not in PSA_SYSTEMS:
            return web.json_response({"error": f"system must be one of {', '.join(PSA_SYSTEMS)}"}, status=404)
        records = [w for w in sandbox.world.write_log if w.system == system]
        per_service: dict[str, int] = {}
        for w in records:  # "12" for a service, "bundle:12" for an Autotask service bundle
            per_service[w.written] = per_service.get(w.written, 0) + 1
        return web.json_response({
            "total": len(records),
            "per_service": per_service,
            "writes": [{"service_id": w.service_id, "kind": w.kind, "before": w.before, "after": w.after,
                        "day": w.day.isoformat(), "key": w.key, "reference": w.reference, "at": w.at.isoformat()}
                       for w in records],
        })

    async def count_history(request: web.Request) -> web.Response:
        """Every count the admin routes set (PUT /admin/counts, POST /admin/advance-day), oldest first."""
        return web.json_response({"changes": [
            {"at": c.at.isoformat(), "subscription_id": c.subscription_id, "resource_id": c.resource_id,
             "total": c.total, "status": c.status} for c in sandbox.world.count_history]})

    async def slack_calls(request: web.Request) -> web.Response:
        return web.json_response({"calls": sandbox.slack.calls_as_json()})

    async def set_webhook(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body must be JSON"}, status=400)
        url = body.get("url") if isinstance(body, dict) else None
        if url is not None and not is_loopback_http(url):
            return web.json_response({"error": "the sandbox only delivers webhooks to localhost"}, status=400)
        marketplace = body.get("marketplace", sandbox.webhook_marketplace) if isinstance(body, dict) else None
        if marketplace not in ("odin", "ingram"):
            return web.json_response({"error": "marketplace must be odin or ingram (whose ids to send)"}, status=400)
        sandbox.world.webhook_url = url
        sandbox.webhook_marketplace = marketplace
        return web.json_response({"url": url, "marketplace": marketplace, "secret_header": "X-Sandbox-Signature"})

    async def set_slack_request_url(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body must be JSON"}, status=400)
        url = body.get("url") if isinstance(body, dict) else None
        if not is_loopback_http(url):
            return web.json_response({"error": 'body must be {"url": "http://127.0.0.1:<port>/slack/events"}: '
                                               "the sandbox only sends Slack's requests to localhost"}, status=400)
        sandbox.slack_request_url = url
        return web.json_response({"url": url, "console": sandbox.console_url})

    async def set_autotask_zone(request: web.Request) -> web.Response:
        body = await request.json()
        zone = body.get("zone", "") if isinstance(body, dict) else ""
        try:
            move_zone(sandbox.world, str(zone))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"zone": sandbox.world.autotask_zone})

    async def set_ingram_knobs(request: web.Request) -> web.Response:
        """{"seat_change_bumps_last_modified": true|false}: whether a seat change moves lastModifiedDate."""
        body = await request.json()
        value = body.get("seat_change_bumps_last_modified") if isinstance(body, dict) else None
        if not isinstance(value, bool):
            return web.json_response({"error": 'body must be {"seat_change_bumps_last_modified": true|false}'},
                                     status=400)
        sandbox.world.seat_change_bumps_last_modified = value
        return web.json_response({"seat_change_bumps_last_modified": value})

    admin = web.Application(middlewares=[require_token])
    admin.add_routes([
        web.get("/state", state),
        web.post("/reset", reset),
        web.post("/advance-day", advance),
        web.put("/counts/{subscription_id}/{resource_id}", set_count),
        web.get("/counts/history", count_history),
        web.get("/faults", get_faults),
        web.put("/faults/{system}", put_faults),
        web.post("/faults/reset", reset_faults),
        web.get("/writes/{system}", writes),
        web.get("/slack/calls", slack_calls),
        web.put("/webhook", set_webhook),
        web.put("/slack/request-url", set_slack_request_url),
        web.put("/autotask/zone", set_autotask_zone),
        web.put("/ingram/knobs", set_ingram_knobs),
        *halopsa_admin_routes(sandbox.world),
        *pax8_admin_routes(sandbox.pax8),
        *slack_team_routes(sandbox.slack_teams, lambda: sandbox.slack_request_url),
    ])
    return admin


def _replace_world(target: SandboxWorld, source: SandboxWorld) -> None:
    for name in target.__dataclass_fields__:
        setattr(target, name, getattr(source, name))


def world_summary(world: SandboxWorld) -> dict:
    return {
        "seed": world.seed,
        "today": world.today.isoformat(),
        "customers": len(world.customers),
        "subscriptions": len(world.subscriptions),
        "resources": sum(len(s.lines) for s in world.subscriptions.values()),
        "autotask": {"companies": len(world.autotask_companies), "contracts": len(world.autotask_contracts),
                     "contract_services": len(world.autotask_contract_services),
                     "writes": sum(1 for w in world.write_log if w.system == "autotask")},
        "connectwise": {"companies": len(world.connectwise_companies),
                        "agreements": len(world.connectwise_agreements),
                        "additions": len(world.connectwise_additions),
                        "writes": sum(1 for w in world.write_log if w.system == "connectwise")},
        "halopsa": {"clients": len(world.halopsa.clients), "contracts": len(world.halopsa.contracts),
                    "recurring_invoices": len(world.halopsa.recurring_invoices),
                    "lines": len(world.halopsa.line_home), "invoices": len(world.halopsa.invoices),
                    "writes": sum(1 for w in world.write_log if w.system == "halopsa")},
        **({"pax8": {"companies": len(world.pax8.companies), "subscriptions": len(world.pax8.subscriptions),
                     "invoices": len(world.pax8.invoice_months)}} if world.pax8 is not None else {}),
    }


def is_loopback_http(url: object) -> bool:
    """http to localhost or a loopback address, judged on the parsed host (a prefix test would let
    `http://localhost.example.com` or `http://127.0.0.1@example.com` through)."""
    if not isinstance(url, str):
        return False
    try:
        parsed = URL(url)
    except ValueError:
        return False
    if parsed.scheme != "http" or parsed.user is not None or not parsed.host:
        return False
    if parsed.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(parsed.host).is_loopback
    except ValueError:
        return False
