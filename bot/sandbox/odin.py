"""Odin Automation / CloudBlue Commerce billing ("BA") XML-RPC simulator, mounted at /odin.

Real BA listens on `http://<BA-host>:5224/` (Invoke-OdinApi posts to the root; the Paxi PHP library
uses `/RPC2`), so both `POST /odin/` and `POST /odin/RPC2` answer. Sources: shared/apis/marketplaces.md
section 1.1, github.com/ili101/Invoke-OdinApi (`Invoke-OdinApi.ps1`: envelope, ports, fault
decoding), the public Python Odin BSS wrapper (field orders), and a public PBA client (`ApiPBA`:
`Lang`, optional `Username`/`Password` members, `AccountGetMyCustomersList`).

Protocol, as served here:
- One XML-RPC method, `Execute`, with one struct `{Server, Method, Params[, Lang, Username,
  Password]}`; `Params` is an array of positional values. The reply is `{"Result": [...]}` (see
  `odin_methods` for the rows). Marshalling is the standard library's `xmlrpc.client`.
- Credentials: the reseller reaches BA through a gateway that requires `Username`/`Password` in the
  struct (and HTTP basic auth when configured so), lets each user call only its allowed methods and
  limits the call rate: see `odin_gateway`. Knobs: `create_odin_app(world, gateway=OdinGateway(...))`.
- Faults raised inside `Execute` (unknown account/subscription/plan, wrong parameter count or type,
  unknown Server or Method, malformed envelope) come back as faultCode -1 with the message
  base64-encoded (UTF-8) in faultString; Invoke-OdinApi decodes exactly that case, so clients must
  base64-decode faultString when faultCode == -1. `create_odin_app(world, encode_faults=False)` gives
  plain-text faultStrings (still code -1) for versions that did not encode.
- Faults of the XML-RPC layer itself use the XML-RPC interop codes with plain text (a simulator
  choice; BA's own wording was not found): -32700 unparsable request, -32601 a method other than
  `Execute`, -32602 `Execute` called without exactly one struct.
- HTTP-level failures (injected faults, a proxy in front of BA) answer with an HTML page,
  see `odin_error`.
"""

from __future__ import annotations

import base64
import logging
import xmlrpc.client  # noqa: S411 - parses requests from the local sandbox's own clients only
from typing import Any
from xml.parsers.expat import ExpatError

from aiohttp import web

from bot.sandbox.odin_gateway import GatewayRefusal, OdinGateway, check_credentials, not_allowed
from bot.sandbox.odin_methods import METHODS, BaError, call_method
from bot.sandbox.world import SandboxWorld

log = logging.getLogger(__name__)

WORLD_KEY = web.AppKey("odin_world", SandboxWorld)
ENCODE_FAULTS_KEY = web.AppKey("odin_encode_faults", bool)
GATEWAY_KEY = web.AppKey("odin_gateway", OdinGateway)

# BA's containers ("Server"); all simulated methods live in BM.
CONTAINERS = frozenset({"BM", "PEMGATE", "DOMAINGATE", "DUMMYGATE", "MESSAGE", "KAGATE"})
BA_FAULT_CODE = -1
PARSE_ERROR = -32700
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

_REASONS = {400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def create_odin_app(world: SandboxWorld, *, encode_faults: bool = True,
                    gateway: OdinGateway | None = None) -> web.Application:
    app = web.Application()
    app[WORLD_KEY] = world
    app[ENCODE_FAULTS_KEY] = encode_faults
    app[GATEWAY_KEY] = gateway or OdinGateway()
    app.router.add_post("/RPC2", handle_rpc)
    app.router.add_post("/", handle_rpc)
    return app


def odin_error(status: int, message: str) -> web.Response:
    """What a client sees when something in front of BA fails: an HTML error page, not XML-RPC."""
    reason = _REASONS.get(status, "Error")
    page = (f"<html><head><title>{status} {reason}</title></head>"
            f"<body><h1>{reason}</h1><p>{message}</p></body></html>\n")
    return web.Response(status=status, text=page, content_type="text/html")


async def handle_rpc(request: web.Request) -> web.Response:
    world, gateway = request.app[WORLD_KEY], request.app[GATEWAY_KEY]
    try:
        gateway.admit_http(request, world.credentials)
    except GatewayRefusal as refusal:
        response = odin_error(refusal.status, refusal.message)
        response.headers.update(refusal.headers)
        return response
    body = await request.read()
    try:
        params, method_name = xmlrpc.client.loads(body)
    except (ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError) as exc:
        return _fault(PARSE_ERROR, f"parse error. not well formed: {exc}")
    if method_name != "Execute":
        return _fault(METHOD_NOT_FOUND, f"server error. requested method {method_name!r} not found")
    if len(params) != 1 or not isinstance(params[0], dict):
        return _fault(INVALID_PARAMS, "server error. invalid method parameters: Execute takes one struct")
    try:
        result = execute(world, params[0], gateway)
    except BaError as exc:
        return _ba_fault(str(exc), request.app[ENCODE_FAULTS_KEY])
    payload = xmlrpc.client.dumps(({"Result": result},), methodresponse=True, encoding="utf-8")
    return web.Response(text=payload, content_type="text/xml", charset="utf-8")


def execute(world: SandboxWorld, envelope: dict[str, Any], gateway: OdinGateway | None = None) -> list:
    refused = check_credentials(envelope, world.credentials)
    if refused is not None:
        raise BaError(refused)
    server, method, params = envelope.get("Server"), envelope.get("Method"), envelope.get("Params")
    if not isinstance(server, str) or not server:
        raise BaError("The 'Server' member is required: the container name, e.g. BM.")
    if not isinstance(method, str) or not method:
        raise BaError("The 'Method' member is required: the API method name.")
    if not isinstance(params, list):
        raise BaError("The 'Params' member is required: an array of positional parameters.")
    if server not in CONTAINERS:
        raise BaError(f"Container '{server}' is not found.")
    if server != "BM" or method not in METHODS:
        raise BaError(f"Method '{method}' is not found in container '{server}'.")
    if gateway is not None and not gateway.allows(method):
        raise BaError(not_allowed(method, envelope["Username"]))
    log.debug("BA %s.%s%s", server, method, params)  # never the envelope: it holds the password
    return call_method(world, method, params)


def _ba_fault(message: str, encode: bool) -> web.Response:
    text = base64.b64encode(message.encode("utf-8")).decode("ascii") if encode else message
    return _fault(BA_FAULT_CODE, text)


def decode_fault_string(fault: xmlrpc.client.Fault) -> str:
    """The rule clients apply (after Invoke-OdinApi): faultCode -1 carries base64 UTF-8 text."""
    if fault.faultCode == BA_FAULT_CODE:
        try:
            return base64.b64decode(fault.faultString, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return fault.faultString
    return fault.faultString


def _fault(code: int, message: str) -> web.Response:
    payload = xmlrpc.client.dumps(xmlrpc.client.Fault(code, message), methodresponse=True, encoding="utf-8")
    return web.Response(text=payload, content_type="text/xml", charset="utf-8")
