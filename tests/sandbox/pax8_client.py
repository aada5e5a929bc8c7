"""A Pax8 client for tests: real HTTP to the simulator, every answer checked against Pax8's own OpenAPI
documents (tests/specs/pax8-*.json) with openapi-core.

A success (and its request) is validated against the operation; an error is validated against the
operation's documented response for its status when the spec has one, else against the spec's error
schema of that API (`Error` for the partner API, the webhooks API's error object). One correction to
the partner document, a bug in it: `InvoiceItem.rateType`'s enum holds each value with its
description ("single (Single price for any quantity, same as flat)") while both of its examples send
"single"; the test reads the enum as the first word of each entry.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.generator import generate_world
from bot.sandbox.pax8 import Pax8Simulator, create_pax8_app, pax8_error
from bot.sandbox.pax8.limits import Budget
from bot.sandbox.world import SandboxWorld

SPECS = Path(__file__).parents[1] / "specs"
PARTNER = "/pax8/v1"
WEBHOOKS = "/pax8/api/v2"
TODAY = date(2026, 11, 16)


def _load(name: str) -> dict:
    return json.loads((SPECS / name).read_text())


@cache
def partner_document() -> dict:
    spec = _load("pax8-partner-endpoints-openapi.json")
    rate_type = spec["components"]["schemas"]["InvoiceItem"]["properties"]["rateType"]
    rate_type["enum"] = [value.split(" ")[0] for value in rate_type["enum"]]
    for operation in (op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)):
        for parameter in operation.get("parameters", []):
            enum = parameter.get("schema", {}).get("enum")
            if parameter["name"] == "sort" and enum and not any("," in value for value in enum):
                # "Formatted as fieldName,direction - ex. sort=name,desc", says the same parameter
                parameter["schema"]["enum"] = enum + [f"{v},{d}" for v in enum for d in ("asc", "desc")]
    return spec


@cache
def webhooks_document() -> dict:
    return _load("pax8-webhooks-api-openapi.json")


@cache
def auth_document() -> dict:
    return _load("pax8-authentication-openapi.json")


def openapi_for(document: dict, base: str) -> OpenAPI:
    spec = copy.deepcopy(document)
    spec["servers"] = [{"url": "http://127.0.0.1:{port}" + base, "variables": {"port": {"default": "80"}}}]
    return OpenAPI.from_dict(spec)


@cache
def partner_openapi() -> OpenAPI:
    return openapi_for(partner_document(), PARTNER)


@cache
def auth_openapi() -> OpenAPI:
    return openapi_for(auth_document(), PARTNER)


@cache
def webhooks_openapi() -> OpenAPI:
    return openapi_for(webhooks_document(), WEBHOOKS)


def partner_error_schema() -> dict:
    schemas = partner_document()["components"]["schemas"]
    error = copy.deepcopy(schemas["Error"])
    error["properties"]["details"]["items"] = schemas["ErrorDetail"]
    error["required"] = ["type", "message", "status", "details"]
    error["additionalProperties"] = False
    return error


def webhooks_error_schema(documented: bool = True) -> dict:
    """The webhooks API's error object; `type` from its ErrorType enum for the statuses the spec documents
    (400, 401, 403, 404, 500), any string for the others (a 429 is not in that enum)."""
    document = webhooks_document()
    schema = copy.deepcopy(document["paths"]["/webhooks"]["get"]["responses"]["400"]["content"]["application/json"]
                           ["schema"])
    schema["allOf"][0]["properties"]["type"] = document["components"]["schemas"]["ErrorType"] if documented \
        else {"type": "string"}
    schema["components"] = document["components"]
    return schema


def _documented(document: dict, method: str, template: str, status: int) -> bool:
    operation = document["paths"].get(template, {}).get(method.lower(), {})
    return str(status) in operation.get("responses", {})


def _template(document: dict, path: str) -> str | None:
    parts = path.strip("/").split("/")
    for template in document["paths"]:
        pieces = template.strip("/").split("/")
        same_shape = len(pieces) == len(parts) and all(p.startswith("{") or p == q
                                                       for p, q in zip(pieces, parts, strict=True))
        # /invoices/draftItems is also the shape of /invoices/{invoiceId}
        if same_shape and (template.endswith("draftItems") or not path.endswith("draftItems")):
            return template
    return None


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any


@dataclass
class Pax8:
    """Sends, then validates what came back."""

    client: Any
    world: SandboxWorld
    simulator: Pax8Simulator
    token: str | None = None
    replies: list[Reply] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(self, method: str, path: str, *, api: str = "partner", params: dict | None = None,
                   headers: dict | None = None, body: Any = None, raw: bytes | None = None) -> Reply:
        base = WEBHOOKS if api == "webhooks" else PARTNER
        sent = self.headers() if headers is None else headers
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent = {**sent, "Content-Type": "application/json"}
        args = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (params or {}).items()}
        response = await self.client.request(method, base + path, params=args, headers=sent, data=data)
        payload = await response.read()
        parsed = json.loads(payload) if payload else None
        reply = Reply(response.status, parsed, response.headers)
        self._validate(api, method, path, base, args, sent, data, response.status, payload, parsed)
        self.replies.append(reply)
        return reply

    def _validate(self, api: str, method: str, path: str, base: str, args: dict, sent: dict, data: bytes | None,
                  status: int, payload: bytes, parsed: Any) -> None:
        if api == "token":
            document, openapi = auth_document(), auth_openapi()
        elif api == "webhooks":
            document, openapi = webhooks_document(), webhooks_openapi()
        else:
            document, openapi = partner_document(), partner_openapi()
        request = MockRequest(f"http://{self.client.host}:{self.client.port}", method.lower(), base + path,
                              args=args, headers=sent, data=data)
        with warnings.catch_warnings():
            # openapi-core cannot check an OAuth2 scheme and says so on every request (the simulator checks it)
            warnings.filterwarnings("ignore", message="Unsupported scheme type", category=UserWarning)
            self._check(api, document, openapi, request, method, path, status, payload, parsed)

    def _check(self, api: str, document: dict, openapi: OpenAPI, request: MockRequest, method: str, path: str,
               status: int, payload: bytes, parsed: Any) -> None:
        template = _template(document, path)
        if 200 <= status < 300:
            assert template is not None, f"{method} {path} is not in Pax8's OpenAPI document"
            if not (api == "webhooks" and template == "/webhooks/{webhookId}/logs"):
                # the logs operation declares a required object parameter `query` no client sends
                openapi.validate_request(request)
            openapi.validate_response(request, MockResponse(payload, status,
                                                            content_type="application/json" if payload else None))
            return
        if api == "token" and status in (400, 401):
            assert set(parsed) == {"error", "error_description"}
            return
        if template is not None and _documented(document, method, template, status):
            openapi.validate_response(request, MockResponse(payload, status, content_type="application/json"))
        if api == "webhooks":
            jsonschema.validate(parsed, webhooks_error_schema(documented=status in (400, 401, 403, 404, 500)))
        else:
            jsonschema.validate(parsed, partner_error_schema())
        assert parsed["status"] == status

    async def get(self, path: str, api: str = "partner", **params: Any) -> Reply:
        return await self.call("GET", path, api=api, params=params or None)

    async def login(self) -> str:
        reply = await self.call("POST", "/token", api="token", headers={}, body=token_request(self.world))
        assert reply.status == 200, reply.body
        self.token = reply.body["access_token"]
        return self.token

    async def all_pages(self, path: str, size: int = 200, **params: Any) -> list[dict]:
        rows, page = [], 0
        while True:
            reply = await self.get(path, page=page, size=size, **params)
            assert reply.status == 200, reply.body
            rows += reply.body["content"]
            if reply.body["page"]["number"] + 1 >= reply.body["page"]["totalPages"]:
                return rows
            page += 1


def token_request(world: SandboxWorld, **changes: str) -> dict[str, str]:
    creds = world.credentials
    return {"client_id": creds.pax8_client_id, "client_secret": creds.pax8_client_secret,
            "audience": "https://api.pax8.com", "grant_type": "client_credentials", **changes}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def small_world(seed: int = 1, today: date = TODAY) -> SandboxWorld:
    return generate_world(seed=seed, scale="small", today=today)


def pax8_app(simulator: Pax8Simulator, knobs: FaultKnobs | None = None) -> web.Application:
    app = web.Application()
    sub = create_pax8_app(simulator)
    if knobs is not None:
        sub.middlewares.insert(0, fault_middleware(knobs, pax8_error))
    app.add_subapp("/pax8", sub)
    return app


async def connect(aiohttp_client, world: SandboxWorld, *, clock: FakeClock | None = None,
                  budget: Budget | None = None, knobs: FaultKnobs | None = None, login: bool = True) -> Pax8:
    simulator = Pax8Simulator(world, clock=clock or FakeClock(), budget=budget)
    api = Pax8(await aiohttp_client(pax8_app(simulator, knobs)), world, simulator)
    if login:
        await api.login()
    return api
