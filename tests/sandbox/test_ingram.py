"""The Ingram CMP simulator: gateway, token flow, customers, subscriptions, faults, change notifications.

Every response a test receives goes through `Cmp.call`, which validates it: successes against the
vendor's OpenAPI 1.6 document with openapi-core (request and response), errors against the two
error shapes the simulator documents (the spec itself declares no error responses).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import xmlrpc.client
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.ingram import GatewayQuota, create_ingram_app, ingram_error, notify_changes
from bot.sandbox.odin import create_odin_app
from bot.sandbox.world import SandboxWorld
from tests.sandbox.test_odin import ACME, BASIC, BRIGHTSIDE, COBALT, EXCHANGE, marketplace_world

SPEC = Path(__file__).parents[1] / "specs" / "ingram-cloud-marketplace-api-1.6.yaml"
BASE = "/ingram/marketplace/us"

CMP_ERROR = {
    "type": "object",
    "required": ["timestamp", "status", "error", "correlationId"],
    "properties": {"timestamp": {"type": "string"}, "status": {"type": "integer"}, "error": {"type": "string"},
                   "path": {"type": "string"}, "correlationId": {"type": "string"}},
    "additionalProperties": False,
}
GATEWAY_ERROR = {
    "type": "object",
    "required": ["statusCode", "message"],
    "properties": {"statusCode": {"type": "integer"}, "message": {"type": "string"}},
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    spec = yaml.safe_load(SPEC.read_text())
    spec["servers"] = [{"url": "http://127.0.0.1:{port}" + BASE, "variables": {"port": {"default": "80"}}}]
    return OpenAPI.from_dict(spec)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any


@dataclass
class Cmp:
    """A CMP client for tests: sends, then validates what came back."""

    client: Any
    openapi: OpenAPI
    world: SandboxWorld
    token: str | None = None
    replies: list[Reply] = field(default_factory=list)

    def default_headers(self) -> dict[str, str]:
        headers = {"X-Subscription-Key": self.world.credentials.ingram_subscription_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    async def call(self, method: str, path: str, *, params: dict | None = None, headers: dict | None = None,
                   body: Any = None, raw: bytes | None = None, base: str = BASE) -> Reply:
        sent = self.default_headers() if headers is None else headers
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent = {**sent, "Content-Type": "application/json"}
        response = await self.client.request(method, base + path, params=params, headers=sent, data=data)
        payload = await response.read()
        parsed = json.loads(payload)
        reply = Reply(response.status, parsed, response.headers)
        if 200 <= response.status < 300:
            assert response.content_type == "application/json"
            assert response.headers.get("X-Correlation-ID")
            request = MockRequest(f"http://{self.client.host}:{self.client.port}", method.lower(), base + path,
                                  args={k: str(v) for k, v in (params or {}).items()}, headers=sent, data=data)
            self.openapi.validate_request(request)
            self.openapi.validate_response(request, MockResponse(
                payload, response.status, headers={"X-Correlation-ID": response.headers["X-Correlation-ID"]}))
        elif "statusCode" in parsed:
            jsonschema.validate(parsed, GATEWAY_ERROR)
            assert parsed["statusCode"] == response.status
        else:
            jsonschema.validate(parsed, CMP_ERROR)
            assert parsed["status"] == response.status
            assert response.headers["X-Correlation-ID"] == parsed["correlationId"]
        self.replies.append(reply)
        return reply

    async def get(self, path: str, **params: Any) -> Reply:
        return await self.call("GET", path, params=params or None)

    async def login(self) -> str:
        reply = await self.call("POST", "/token", headers=self.basic_headers(), body={"marketplace": "us"})
        assert reply.status == 200, reply.body
        self.token = reply.body["token"]
        return self.token

    def basic_headers(self, username: str | None = None, password: str | None = None) -> dict[str, str]:
        creds = self.world.credentials
        pair = f"{username or creds.ingram_username}:{password or creds.ingram_password}"
        return {"X-Subscription-Key": creds.ingram_subscription_key,
                "Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def ingram_app(world: SandboxWorld, *, clock: FakeClock | None = None, quota: GatewayQuota | None = None,
               knobs: FaultKnobs | None = None) -> web.Application:
    app = web.Application()
    sub = create_ingram_app(world, clock=clock or FakeClock(), quota=quota)
    if knobs is not None:
        sub.middlewares.insert(0, fault_middleware(knobs, ingram_error))
    app.add_subapp("/ingram", sub)
    return app


@pytest.fixture
def world() -> SandboxWorld:
    return marketplace_world()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def anonymous(aiohttp_client, world, clock, openapi) -> Cmp:
    return Cmp(await aiohttp_client(ingram_app(world, clock=clock)), openapi, world)


@pytest.fixture
async def cmp(anonymous) -> Cmp:
    await anonymous.login()
    return anonymous


def ids(reply: Reply) -> list[str]:
    return [item["id"] for item in reply.body["data"]]


# --- token flow -----------------------------------------------------------------------------------
async def test_token_is_issued_and_opens_the_api(anonymous):
    reply = await anonymous.call("POST", "/token", headers=anonymous.basic_headers(), body={"marketplace": "us"})
    assert reply.status == 200
    assert reply.body["expiresInSeconds"] == 1500
    assert reply.body["token"].count(".") == 2  # JWT-like
    anonymous.token = reply.body["token"]
    assert (await anonymous.get("/customers")).status == 200


@pytest.mark.parametrize("path", ["/token", "/customers"])
async def test_missing_subscription_key(anonymous, path):
    reply = await anonymous.call("POST" if path == "/token" else "GET", path, headers={}, body={"marketplace": "us"})
    assert reply.status == 401
    assert reply.body["message"].startswith("Access denied due to missing subscription key")


async def test_invalid_subscription_key(anonymous):
    headers = {**anonymous.basic_headers(), "X-Subscription-Key": "not-the-key"}
    reply = await anonymous.call("POST", "/token", headers=headers, body={"marketplace": "us"})
    assert reply.status == 401
    assert reply.body["message"].startswith("Access denied due to invalid subscription key")


@pytest.mark.parametrize(("authorization", "message"), [
    (None, "Full authentication is required to access this resource"),
    ("Basic " + base64.b64encode(b"api@msp.example.com:wrong").decode(), "Bad credentials"),
    ("Basic not-base64!", "Bad credentials"),
    ("Basic " + base64.b64encode(b"no-colon").decode(), "Bad credentials"),
    ("Bearer abc", "Bad credentials"),
])
async def test_bad_basic_credentials(anonymous, authorization, message):
    headers = {"X-Subscription-Key": anonymous.world.credentials.ingram_subscription_key}
    if authorization:
        headers["Authorization"] = authorization
    reply = await anonymous.call("POST", "/token", headers=headers, body={"marketplace": "us"})
    assert (reply.status, reply.body["error"]) == (401, message)
    assert reply.body["path"] == BASE + "/token"


async def test_wrong_user_with_right_password(anonymous):
    headers = anonymous.basic_headers(username="someone@else.example.com")
    assert (await anonymous.call("POST", "/token", headers=headers, body={"marketplace": "us"})).status == 401


async def test_wrong_marketplace(anonymous):
    reply = await anonymous.call("POST", "/token", headers=anonymous.basic_headers(), body={"marketplace": "eu"})
    assert reply.status == 401
    assert "marketplace 'eu'" in reply.body["error"]


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[]", b'{"marketplace": 7}', b"{}"])
async def test_malformed_token_body(anonymous, raw):
    reply = await anonymous.call("POST", "/token", headers=anonymous.basic_headers(), raw=raw)
    assert reply.status == 400


async def test_token_expires_after_its_lifetime(cmp, clock):
    clock.advance(1499)
    assert (await cmp.get("/customers")).status == 200
    clock.advance(1)
    reply = await cmp.get("/customers")
    assert (reply.status, reply.body["error"]) == (401, "Token has expired")
    await cmp.login()
    assert (await cmp.get("/customers")).status == 200


@pytest.mark.parametrize(("authorization", "message"), [
    (None, "Full authentication is required to access this resource"),
    ("Bearer ", "Full authentication is required to access this resource"),
    ("Bearer made-up-token", "Invalid token"),
    ("Basic " + base64.b64encode(b"a:b").decode(), "Full authentication is required to access this resource"),
])
async def test_data_calls_need_a_live_bearer_token(cmp, authorization, message):
    headers = {"X-Subscription-Key": cmp.world.credentials.ingram_subscription_key}
    if authorization:
        headers["Authorization"] = authorization
    reply = await cmp.call("GET", "/subscriptions", headers=headers)
    assert (reply.status, reply.body["error"]) == (401, message)


# --- gateway: routes and quota --------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "base"), [
    ("GET", "/nothing-here", BASE),
    ("POST", "/customers", BASE),
    ("DELETE", "/subscriptions/1001880", BASE),
    ("GET", "/customers", "/ingram/marketplace/eu"),
])
async def test_unknown_routes_are_gateway_404s(cmp, method, path, base):
    reply = await cmp.call(method, path, base=base)
    assert reply.status == 404
    assert reply.body == {"statusCode": 404, "message": "Resource not found"}


async def test_call_rate_quota(aiohttp_client, world, clock, openapi):
    api = Cmp(await aiohttp_client(ingram_app(world, clock=clock, quota=GatewayQuota(calls=3, renewal_period_s=60))),
              openapi, world)
    await api.login()  # call 1
    assert (await api.get("/customers")).status == 200  # call 2
    clock.advance(20)
    assert (await api.get("/subscriptions")).status == 200  # call 3
    refused = await api.get("/customers")
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "40"
    assert refused.body["message"] == "Rate limit is exceeded. Try again in 40 seconds."
    clock.advance(39)
    assert (await api.get("/customers")).status == 429  # refused calls are not counted...
    clock.advance(1)  # t=60: the two calls of t=0 leave the window, the one of t=20 stays
    assert (await api.get("/customers")).status == 200
    assert (await api.get("/customers")).status == 200
    again = await api.get("/customers")
    assert again.status == 429 and again.headers["Retry-After"] == "20"
    clock.advance(20)
    assert (await api.get("/customers")).status == 200


async def test_quota_counts_calls_without_a_bearer_token(aiohttp_client, world, clock, openapi):
    api = Cmp(await aiohttp_client(ingram_app(world, clock=clock, quota=GatewayQuota(calls=1))), openapi, world)
    assert (await api.get("/customers")).status == 401
    assert (await api.get("/customers")).status == 429


# --- customers ------------------------------------------------------------------------------------
async def test_customers_list(cmp, world):
    reply = await cmp.get("/customers")
    assert ids(reply) == [str(ACME), str(BRIGHTSIDE), str(COBALT)]
    assert reply.body["pagination"] == {"offset": 0, "limit": 10, "total": 3}
    acme = reply.body["data"][0]
    assert acme["name"] == "Acme Mfg. Inc."
    assert acme["address"]["city"] == "Irvine" and acme["address"]["countryCode"] == "US"
    assert acme["contactPersons"][0]["email"] == "it@acme.example.com"
    assert acme["status"] == "active"


@pytest.mark.parametrize(("params", "expected", "total"), [
    ({"limit": 3}, [ACME, BRIGHTSIDE, COBALT], 3),  # exactly one page
    ({"limit": 2}, [ACME, BRIGHTSIDE], 3),
    ({"limit": 2, "offset": 2}, [COBALT], 3),  # last, short page
    ({"offset": 3}, [], 3),  # just past the end
    ({"offset": 50, "limit": 5}, [], 3),  # far past the end
    ({"name": "zzz"}, [], 0),  # empty result
])
async def test_customers_paging(cmp, params, expected, total):
    reply = await cmp.get("/customers", **params)
    assert ids(reply) == [str(x) for x in expected]
    assert reply.body["pagination"] == {"offset": params.get("offset", 0), "limit": params.get("limit", 10),
                                        "total": total}


async def test_customers_filters(cmp):
    assert ids(await cmp.get("/customers", name="acme")) == [str(ACME)]
    assert ids(await cmp.get("/customers", name="DENTAL")) == [str(BRIGHTSIDE)]
    assert ids(await cmp.get("/customers", email="IT@acme.example.com")) == [str(ACME)]
    assert ids(await cmp.get("/customers", email="nobody@example.com")) == []
    cobalt = (await cmp.get(f"/customers/{COBALT}")).body
    assert ids(await cmp.get("/customers", externalId=cobalt["externalId"])) == [str(COBALT)]
    assert ids(await cmp.get("/customers", externalId="EXTERNAL-NONE")) == []
    assert len(ids(await cmp.get("/customers", resellerId=cobalt["resellerId"]))) == 3
    assert ids(await cmp.get("/customers", resellerId="42")) == []
    assert ids(await cmp.get("/customers", name="acme", unknownParameter="x")) == [str(ACME)]


async def test_customer_by_id(cmp):
    reply = await cmp.get(f"/customers/{BRIGHTSIDE}")
    assert reply.body["name"] == "Brightside Dental LLC"
    missing = await cmp.get("/customers/999")
    assert missing.status == 404
    assert "999" in missing.body["error"]


@pytest.mark.parametrize("params", [{"limit": "abc"}, {"limit": 0}, {"offset": -1}, {"offset": "1.5"},
                                    {"limit": ""}])
async def test_bad_paging_values_are_400(cmp, params):
    for path in ("/customers", "/subscriptions"):
        reply = await cmp.get(path, **params)
        assert reply.status == 400
        assert next(iter(params)) in reply.body["error"]


# --- subscriptions --------------------------------------------------------------------------------
SUBSCRIPTIONS = ["1001880", "1001886", "1001893", "1001899", "1001905"]


async def test_subscriptions_list(cmp):
    reply = await cmp.get("/subscriptions")
    assert ids(reply) == SUBSCRIPTIONS
    assert reply.body["pagination"] == {"offset": 0, "limit": 10, "total": 5}
    first = reply.body["data"][0]
    assert first["customerId"] == str(ACME)
    assert first["status"] == "active"
    assert first["creationDate"] == "2024-01-10"
    assert first["renewalDate"] == "2025-04-09"
    assert first["lastModifiedDate"] == "2025-03-01"
    assert first["renewalStatus"] is True
    assert first["subscriptionPeriod"] == {"type": "month", "duration": 1}
    assert "products" not in first  # counts only come with the details


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 5}, SUBSCRIPTIONS),
    ({"limit": 2}, SUBSCRIPTIONS[:2]),
    ({"limit": 2, "offset": 2}, SUBSCRIPTIONS[2:4]),
    ({"limit": 2, "offset": 4}, SUBSCRIPTIONS[4:]),
    ({"offset": 5}, []),
    ({"offset": 500}, []),
])
async def test_subscriptions_paging(cmp, params, expected):
    reply = await cmp.get("/subscriptions", **params)
    assert ids(reply) == expected
    assert reply.body["pagination"]["total"] == 5


async def test_paging_through_everything_yields_each_subscription_once(cmp):
    seen, offset = [], 0
    while True:
        page = await cmp.get("/subscriptions", limit=2, offset=offset)
        if not page.body["data"]:
            break
        seen += ids(page)
        offset += 2
    assert seen == SUBSCRIPTIONS


@pytest.mark.parametrize(("status", "expected"), [
    ("active", ["1001880", "1001905"]),
    ("hold", ["1001886"]),
    ("terminated", ["1001893"]),
    ("removed", ["1001899"]),
    ("pending", []),
])
async def test_status_filter(cmp, status, expected):
    reply = await cmp.get("/subscriptions", status=status)
    assert ids(reply) == expected
    assert all(item["status"] == status for item in reply.body["data"])


@pytest.mark.parametrize("status", ["active,hold", "ACTIVE", "cancelled"])
async def test_bad_status_filter(cmp, status):
    reply = await cmp.get("/subscriptions", status=status)
    assert reply.status == 400 and "status" in reply.body["error"]


async def test_customer_filter(cmp):
    assert ids(await cmp.get("/subscriptions", customerId=str(ACME))) == ["1001880", "1001886"]
    assert ids(await cmp.get("/subscriptions", customerId=str(COBALT))) == []
    assert ids(await cmp.get("/subscriptions", customerId="nope")) == []
    combined = await cmp.get("/subscriptions", customerId=str(BRIGHTSIDE), status="active", limit=1)
    assert ids(combined) == ["1001905"]
    assert combined.body["pagination"]["total"] == 1


@pytest.mark.parametrize(("params", "expected"), [
    ({"creationDateFrom": "2024-01-10"}, ["1001880", "1001886", "1001905"]),  # inclusive
    ({"creationDateFrom": "2024-01-11"}, ["1001886", "1001905"]),
    ({"creationDateTo": "2023-03-01"}, ["1001893", "1001899"]),  # inclusive
    ({"creationDateFrom": "2023-02-02", "creationDateTo": "2024-06-01"}, ["1001880", "1001886", "1001893"]),
    ({"creationDateFrom": "2030-01-01"}, []),
])
async def test_creation_date_filters(cmp, params, expected):
    assert ids(await cmp.get("/subscriptions", **params)) == expected


@pytest.mark.parametrize("value", ["2024/01/10", "2024-13-01", "20240110", "yesterday"])
async def test_bad_dates_are_400(cmp, value):
    for name in ("creationDateFrom", "creationDateTo"):
        reply = await cmp.get("/subscriptions", **{name: value})
        assert reply.status == 400 and name in reply.body["error"]


async def test_subscription_details_with_products(cmp):
    reply = await cmp.get("/subscriptions/1001880")
    body = reply.body
    assert body["id"] == "1001880" and body["customerId"] == str(ACME) and body["planId"] == 5001
    assert body["lastModifiedDate"] == "2025-03-01"
    basic, exchange = body["products"]
    assert basic["mpn"] == "CFQ7TTC0LH18:0001" and basic["id"] == str(BASIC)
    assert basic["quantity"] == 12
    assert basic["unitPrice"] == {"currency": "USD", "amount": "7.20"}
    assert basic["extendedPrice"] == {"currency": "USD", "amount": "86.40"}
    assert exchange["id"] == str(EXCHANGE) and exchange["quantity"] == 7  # included 5 + additional 2
    assert exchange["extendedPrice"]["amount"] == "31.50"
    assert body["totalPrice"] == {"currency": "USD", "amount": "117.90"}
    assert body["totalSubscriptionCost"]["amount"] == "100.00"


async def test_subscription_status_and_term_mapping(cmp):
    suspended = (await cmp.get("/subscriptions/1001886")).body
    assert suspended["status"] == "hold" and suspended["renewalStatus"] is False
    assert suspended["subscriptionPeriod"] == {"type": "year", "duration": 1}
    assert (await cmp.get("/subscriptions/1001893")).body["status"] == "terminated"
    assert (await cmp.get("/subscriptions/1001899")).body["status"] == "removed"


async def test_unknown_subscription_is_404(cmp):
    reply = await cmp.get("/subscriptions/424242")
    assert reply.status == 404 and "424242" in reply.body["error"]
    assert reply.body["path"] == BASE + "/subscriptions/424242"


async def test_world_changes_are_seen_at_once(cmp, world):
    world.subscriptions[1001880].lines[0].additional = 15
    assert (await cmp.get("/subscriptions/1001880")).body["products"][0]["quantity"] == 15


# --- both facades agree -------------------------------------------------------------------------
async def assert_facades_agree(aiohttp_client, world: SandboxWorld, openapi: OpenAPI) -> int:
    app = ingram_app(world)
    app.add_subapp("/odin", create_odin_app(world))
    client = await aiohttp_client(app)
    cmp = Cmp(client, openapi, world)
    await cmp.login()

    async def odin(method: str, params: list) -> list:
        login = {"Username": world.credentials.odin_username, "Password": world.credentials.odin_password}
        call = xmlrpc.client.dumps(({"Server": "BM", "Method": method, "Params": params, **login},), "Execute")
        response = await client.post("/odin/RPC2", data=call)
        return xmlrpc.client.loads(await response.read())[0][0]["Result"]

    checked = 0
    listed, offset = [], 0
    while page := (await cmp.get("/subscriptions", limit=100, offset=offset)).body["data"]:
        listed += page
        offset += 100
    assert len(listed) == len(world.subscriptions)
    for row in listed:
        sub = next(s for s in world.subscriptions.values() if s.cmp_id == row["id"])
        resources = (await odin("SubscriptionResourcesListGet_API", [sub.subscription_id, 0]))[0]
        odin_counts = {r[0]: r[8] + r[9] for r in resources}
        assert all(r[8] + r[9] == r[11] for r in resources)  # Included + Additional = Ordered
        products = (await cmp.get(f"/subscriptions/{row['id']}")).body["products"]
        cmp_counts = {int(p["id"]): p["quantity"] for p in products}
        assert cmp_counts == odin_counts
        assert sum(cmp_counts.values()) == sum(odin_counts.values())
        checked += 1
    return checked


async def test_odin_and_cmp_agree_on_counts(aiohttp_client, world, openapi):
    assert await assert_facades_agree(aiohttp_client, world, openapi) == 5


async def test_odin_and_cmp_agree_on_a_generated_world(aiohttp_client, openapi):
    generator = pytest.importorskip("bot.sandbox.generator", exc_type=ImportError)
    world = generator.generate_world(seed=11, scale="small", today=date(2025, 3, 15))
    assert await assert_facades_agree(aiohttp_client, world, openapi) == len(world.subscriptions) > 0


# --- fault knobs ----------------------------------------------------------------------------------
async def faulty(aiohttp_client, world, openapi, knobs: FaultKnobs) -> Cmp:
    api = Cmp(await aiohttp_client(ingram_app(world, knobs=knobs)), openapi, world)
    return api


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_injected_errors_use_the_backend_shape(aiohttp_client, world, openapi, status):
    api = await faulty(aiohttp_client, world, openapi, FaultKnobs(error_rates={status: 1.0}))
    reply = await api.get("/customers")
    assert reply.status == status
    assert "correlationId" in reply.body


async def test_injected_429_burst_uses_the_gateway_shape(aiohttp_client, world, openapi):
    api = await faulty(aiohttp_client, world, openapi, FaultKnobs(burst_429=1, retry_after_s=2))
    reply = await api.call("POST", "/token", headers=api.basic_headers(), body={"marketplace": "us"})
    assert reply.status == 429 and reply.headers["Retry-After"] == "2"
    assert reply.body["statusCode"] == 429
    await api.login()
    assert (await api.get("/subscriptions")).status == 200


async def test_injected_timeout_latency_and_no_dropped_reads(aiohttp_client, world, openapi):
    hung = await faulty(aiohttp_client, world, openapi, FaultKnobs(timeout_rate=1.0, timeout_s=0.01))
    assert (await hung.get("/customers")).status == 504
    slow = await faulty(aiohttp_client, world, openapi,
                        FaultKnobs(latency_ms=5, latency_jitter_ms=2, drop_reply_rate=1.0))
    await slow.login()
    assert (await slow.get("/subscriptions/1001880")).status == 200


def test_ingram_error_shapes():
    throttled = ingram_error(429, "Too many requests")
    assert json.loads(throttled.text) == {"statusCode": 429, "message": "Too many requests"}
    failed = json.loads(ingram_error(500, "Internal Server Error").text)
    jsonschema.validate(failed, CMP_ERROR)
    assert failed["status"] == 500 and failed["error"] == "Internal Server Error"


# --- change notifications -------------------------------------------------------------------------
@pytest.fixture
async def receiver(aiohttp_server):
    received: list[tuple[dict, bytes]] = []
    answer = {"status": 204, "delay": 0.0}

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        if answer["delay"]:
            await asyncio.sleep(answer["delay"])
        return web.Response(status=answer["status"])

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook")), received, answer


async def test_notifications_are_signed_one_per_subscription(world, receiver):
    url, received, _ = receiver
    world.webhook_url = url
    await notify_changes(world, [1001880, 1001886, 999])
    assert len(received) == 2
    bodies = []
    for headers, raw in received:
        expected = hmac.new(world.credentials.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Sandbox-Signature"], f"sha256={expected}")
        assert headers["X-Sandbox-Timestamp"].isdigit()
        body = json.loads(raw)
        assert headers["X-Sandbox-Delivery"] == body["deliveryId"]
        bodies.append(body)
    assert [b["subscriptionId"] for b in bodies] == ["1001880", "1001886"]
    assert bodies[0]["customerId"] == str(ACME)
    assert bodies[0]["eventType"] == "subscription.changed"
    assert bodies[0]["lastModifiedDate"] == "2025-03-01"
    assert bodies[1]["status"] == "hold"
    assert bodies[0]["deliveryId"] != bodies[1]["deliveryId"]


async def test_no_webhook_url_sends_nothing(world, receiver):
    _, received, _ = receiver
    world.webhook_url = None
    await notify_changes(world, [1001880])
    assert received == []


async def test_receiver_down_does_not_raise(world, caplog):
    with socket.socket() as sock:  # a port that was free a moment ago and now has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    world.webhook_url = f"http://127.0.0.1:{port}/hook"
    with caplog.at_level(logging.WARNING, logger="bot.sandbox.ingram_notify"):
        await notify_changes(world, [1001880, 1001905])
    assert sum("not delivered" in r.getMessage() for r in caplog.records) == 2


async def test_receiver_errors_and_slowness_do_not_raise(world, receiver, caplog):
    url, received, answer = receiver
    world.webhook_url = url
    answer["status"] = 500
    with caplog.at_level(logging.WARNING, logger="bot.sandbox.ingram_notify"):
        await notify_changes(world, [1001880])
    assert len(received) == 1 and "answered 500" in caplog.text
    answer.update(status=204, delay=0.3)
    await notify_changes(world, [1001880], timeout_s=0.05)
    assert len(received) == 2
