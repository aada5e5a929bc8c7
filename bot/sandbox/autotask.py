"""Autotask PSA REST API v1.0 ("ATServicesRest") simulator, mounted at /autotask.

REST base: {origin}/autotask[/{zone}]/ATServicesRest, e.g. POST /autotask/ATServicesRest/V1.0/Companies/query.
Path casing is not significant (clients use atservicesrest/v1.0) [spec][client]. Routes served:
- GET  /ATServicesRest/versionInformation -> {"apiVersions": ["1.0"]}: no auth (clients call it bare
  [client: PowerShell AutotaskAPI]) although the swagger lists the auth headers.
- GET  /ATServicesRest/V1.0/zoneInformation?user= : no auth, no limits; any zone path answers it. An
  unknown or blank user is HTTP 500 with errors[] [client: django-autotask].
- GET  /V1.0/ThresholdInformation: the live request count of the rolling window (see autotask_limits).
- Companies, Contracts, Services, ContractServices, ContractServiceUnits, ContractNotes, and the service
  bundles' ServiceBundles, ContractServiceBundles, ContractServiceBundleUnits:
  POST|GET {Entity}/query, GET|POST {Entity}/query/count, GET {Entity}/{id} -> {"item": ... | null},
  {Entity}/entityInformation[/fields|/userDefinedFields]; paging through {Entity}/query/next?paging=.
- /V1.0/Contracts/{id}/Services | ServiceUnits | Notes (GET: the children; /{childId}: one child);
  POST /V1.0/Contracts/{id}/Notes creates a note; POST /V1.0/ContractServiceAdjustments and
  POST /V1.0/Contracts/{id}/ServiceAdjustments create an adjustment, POST /V1.0/ContractServiceBundleAdjustments
  and POST /V1.0/Contracts/{id}/ServiceBundleAdjustments a bundle's (see autotask_writes); children
  /Contracts/{id}/ServiceBundles and /ServiceBundleUnits list a contract's bundles and their unit rows.

Auth: headers ApiIntegrationCode, UserName, Secret (names case-insensitive). The live API answers a
wrong secret with 401 but an unknown user name or a wrong integration code with HTTP **500**
[issue: apigrate/autotask-restapi#19, maintainer's observation]; we do the same. Missing headers, and
calls to a zone the tenant does not live in, get 401 (django-autotask re-reads zoneInformation on 401).
`move_zone` moves the tenant: the old base then answers 401 and zoneInformation gives the new URL.

Errors are {"errors": ["..."]} [client: django-autotask]; validation failures are HTTP 500 [client][doc].
A body that is not JSON is also a 500: the live API answers an unusable query with the .NET
"Value cannot be null" text as a 500 [issue: Servosity/msp-skills#257], so model-binding failures
surface as 500s. Unknown routes are 404 and known routes with the wrong method 405; ASP.NET's own
bodies for those are {"Message": "..."} [issue: Anteris-Dev/autotask-client#12], we keep errors[] so
every failure has one shape. Paging URLs are opaque server-side cursors valid for GET and for POST
(the body of a repeated POST is ignored). Create/update of Companies, Contracts, Services and
ContractServices is not simulated (405). POST /V1.0/ContractNotes is refused (405) because the vendor
swagger offers no root create for notes: only POST /Contracts/{id}/Notes.

Knobs: `create_autotask_app(world, limits=AutotaskLimits(...), drop_unknown_operators=...)` sets the
request threshold, thread limit and latency scale (autotask_limits) and whether an unknown filter
operator is an error (default) or silently dropped as the live API does (`True`; `seatsync sandbox
--autotask-unknown-operators drop`) (autotask_query);
`move_zone(app_or_world, "webservices2")` moves the tenant; `app[STATE]` exposes the live counters.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import Any

from aiohttp import web

from bot.sandbox.autotask_calls import STATE, AutotaskState, Call, Handler, autotask_error
from bot.sandbox.autotask_entities import (
    CONTRACT_CHILDREN,
    CONTRACT_SERVICE_ADJUSTMENTS,
    CONTRACT_SERVICE_BUNDLE_ADJUSTMENTS,
    CONTRACTS,
    ENTITIES,
    Entity,
)
from bot.sandbox.autotask_limits import AutotaskLimits
from bot.sandbox.autotask_reads import child_list, count, get_item, next_page, query
from bot.sandbox.autotask_units import settle_units
from bot.sandbox.autotask_writes import BUNDLE, SERVICE, UnitsKind, WriteRejected, create_adjustment, create_note
from bot.sandbox.faults import mark_write
from bot.sandbox.world import SandboxWorld

__all__ = ["STATE", "AutotaskLimits", "AutotaskState", "autotask_error", "create_autotask_app", "move_zone"]

API_VERSIONS = ["1.0"]
_ZONE_PATH = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")  # no dots: a zone is never ".."


def create_autotask_app(
    world: SandboxWorld, *, limits: AutotaskLimits | None = None, drop_unknown_operators: bool = False
) -> web.Application:
    state = AutotaskState(world=world, limits=limits or AutotaskLimits(),
                          drop_unknown_operators=drop_unknown_operators)
    app = web.Application()
    app[STATE] = state

    async def dispatch(request: web.Request) -> web.StreamResponse:
        return await _dispatch(state, request)

    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


def move_zone(target: web.Application | SandboxWorld, zone: str) -> str:
    """Move the tenant to another zone path ("" = the default base, "webservices2" = /autotask/webservices2)."""
    world = target[STATE].world if isinstance(target, web.Application) else target
    zone = zone.strip("/")
    if zone and (not _ZONE_PATH.match(zone) or "atservicesrest" in zone.lower().split("/")):
        raise ValueError(f"not a usable zone path: {zone!r}")
    world.autotask_zone = zone
    return zone


def rest_base(origin: str, mount: str, zone: str) -> str:
    return f"{origin}{mount}{'/' + zone if zone else ''}/ATServicesRest"


# --- dispatch ----------------------------------------------------------------------------------
async def _dispatch(state: AutotaskState, request: web.Request) -> web.StreamResponse:
    tail = request.match_info["tail"]
    mount = request.path[: len(request.path) - len(tail)].rstrip("/")
    segments = [s for s in tail.split("/") if s]
    lowered = [s.lower() for s in segments]
    if "atservicesrest" not in lowered:
        return _not_found(request)
    at = lowered.index("atservicesrest")
    zone = "/".join(segments[:at])
    api = lowered[at + 1:]
    call = Call(request, state, rest_base(str(request.url.origin()), mount, zone))
    if api == ["versioninformation"]:
        if request.method != "GET":
            return _not_allowed(request, ("GET",))
        return web.json_response({"apiVersions": API_VERSIONS})
    if not api or api[0] != "v1.0":
        return _not_found(request)
    if api[1:] == ["zoneinformation"]:
        return _zone_information(call, mount) if request.method == "GET" else _not_allowed(request, ("GET",))
    route = _resolve(call, api[1:])
    if isinstance(route, web.Response):
        return route
    endpoint, handler = route
    refused = _authenticate(state, request, zone)
    if refused is not None:
        return refused
    return await _limited(call, endpoint, handler)


async def _limited(call: Call, endpoint: str, handler: Handler) -> web.Response:
    state, code = call.state, call.request.headers["ApiIntegrationCode"]
    if not state.meter.acquire(code, endpoint):
        return autotask_error(429, state.limits.thread_message())
    try:
        latency = state.meter.admit()
        if latency is None:
            return autotask_error(429, state.limits.threshold_message())
        if latency:
            await asyncio.sleep(latency)
        settle_units(state.world)
        return await handler(call)
    finally:
        state.meter.release(code, endpoint)


def _resolve(call: Call, path: list[str]) -> tuple[str, Handler] | web.Response:
    """The endpoint (thread-limit key) and handler for /V1.0/{path}, or the 404/405 reply."""
    request = call.request
    if path == ["thresholdinformation"]:
        return _route(request, ("GET",), "ThresholdInformation", _threshold)
    entity = ENTITIES.get(path[0]) if path else None
    if entity is None:
        return _not_found(request)
    call.entity = entity
    rest = path[1:]
    if rest == []:
        if entity is CONTRACT_SERVICE_ADJUSTMENTS:
            return _route(request, ("POST",), entity.name, _create_adjustment)
        if entity is CONTRACT_SERVICE_BUNDLE_ADJUSTMENTS:
            return _route(request, ("POST",), entity.name, _create_bundle_adjustment)
        return _not_allowed(request, ())
    if rest[0] == "entityinformation":
        return _entity_information(call, entity, rest[1:])
    if rest[0] == "query" and entity.can_query:
        handler = {(): query, ("count",): count, ("next",): next_page}.get(tuple(rest[1:]))
        return _not_found(request) if handler is None else _route(request, ("GET", "POST"), entity.name, handler)
    if not rest[0].isdigit():
        return _not_found(request)
    call.record_id = int(rest[0])
    if len(rest) == 1:
        return _route(request, ("GET",), entity.name, get_item) if entity.can_query else _not_found(request)
    if entity is not CONTRACTS or rest[1] not in CONTRACT_CHILDREN:
        return _not_found(request)
    return _resolve_child(call, rest[1], rest[2:])


def _resolve_child(call: Call, child_name: str, rest: list[str]) -> tuple[str, Handler] | web.Response:
    request, child = call.request, CONTRACT_CHILDREN[child_name]
    call.parent_id, call.record_id, call.entity = call.record_id, None, child
    if rest and rest[0] == "entityinformation":
        return _entity_information(call, child, rest[1:])
    if rest == []:
        if child_name == "notes":
            handler = _create_note if request.method == "POST" else child_list
            return _route(request, ("GET", "POST"), child.name, handler)
        if child_name == "serviceadjustments":
            return _route(request, ("POST",), child.name, _create_adjustment)
        if child_name == "servicebundleadjustments":
            return _route(request, ("POST",), child.name, _create_bundle_adjustment)
        return _route(request, ("GET",), child.name, child_list)
    if len(rest) == 1 and rest[0].isdigit() and child.can_query:
        call.record_id = int(rest[0])
        return _route(request, ("GET",), child.name, get_item)
    return _not_found(request)


def _entity_information(call: Call, entity: Entity, rest: list[str]) -> tuple[str, Handler] | web.Response:
    replies = {(): entity.info(), ("fields",): {"fields": [f.as_json() for f in entity.fields]},
               ("userdefinedfields",): {"fields": []}}
    reply = replies.get(tuple(rest))
    if reply is None:
        return _not_found(call.request)

    async def handler(_: Call) -> web.Response:
        return web.json_response(reply)

    return _route(call.request, ("GET",), entity.name, handler)


def _route(request: web.Request, methods: tuple[str, ...], endpoint: str,
           handler: Handler) -> tuple[str, Handler] | web.Response:
    if request.method not in methods:
        return _not_allowed(request, methods)
    return endpoint, handler


def _not_allowed(request: web.Request, allowed: tuple[str, ...]) -> web.Response:
    response = autotask_error(405, f"The requested resource does not support http method '{request.method}'.")
    response.headers["Allow"] = ", ".join(allowed)
    return response


def _not_found(request: web.Request) -> web.Response:
    return autotask_error(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")


# --- zone, version, auth, threshold ------------------------------------------------------------
def _zone_information(call: Call, mount: str) -> web.Response:
    world, request = call.world, call.request
    user = next((v for k, v in request.query.items() if k.lower() == "user"), "").strip()
    if not user or user.casefold() != world.credentials.autotask_username.casefold():
        return autotask_error(500, f"Zone information could not be found for user '{user}'.")
    origin = str(request.url.origin())
    zone = world.autotask_zone
    return web.json_response({
        "zoneName": f"Sandbox {zone}" if zone else "Sandbox",
        "url": rest_base(origin, mount, zone) + "/",
        "webUrl": f"{origin}{mount}/",
        "ci": 1000 + world.seed,
    })


def _authenticate(state: AutotaskState, request: web.Request, zone: str) -> web.Response | None:
    headers, creds = request.headers, state.world.credentials
    code, user, secret = (headers.get(name, "") for name in ("ApiIntegrationCode", "UserName", "Secret"))
    if not (code and user and secret):
        return autotask_error(401, "Authentication failed: the ApiIntegrationCode, UserName and Secret headers "
                                   "are required.")
    if zone.lower() != state.world.autotask_zone.lower():
        return autotask_error(401, "Authentication failed: this user's database is not in this zone. "
                                   "Get the zone URL from zoneInformation.")
    if user.casefold() != creds.autotask_username.casefold():
        return autotask_error(500, f"Unable to authenticate: the user name '{user}' is not recognised.")
    if not secrets.compare_digest(secret.encode(), creds.autotask_secret.encode()):
        return autotask_error(401, "Authentication failed: the user name or secret is not valid.")
    if not secrets.compare_digest(code.encode(), creds.autotask_integration_code.encode()):
        return autotask_error(500, "Unable to authenticate: the API integration code is not valid.")
    return None


async def _threshold(call: Call) -> web.Response:
    limits = call.state.limits
    return web.json_response({
        "externalRequestThreshold": limits.hourly_threshold,
        "requestThresholdTimeframe": round(limits.window_s / 60),
        "currentTimeframeRequestCount": call.state.meter.count(),
    })


# --- writes ------------------------------------------------------------------------------------
async def _json_body(request: web.Request) -> Any:
    text = await request.text()
    if not text.strip():
        raise WriteRejected("The request body is empty; send the entity as a JSON object.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WriteRejected(f"Unable to parse the request body as JSON: {exc.msg} "
                            f"(line {exc.lineno}, column {exc.colno}).") from None


async def _create_adjustment(call: Call) -> web.Response:
    return await _adjust(call, SERVICE)


async def _create_bundle_adjustment(call: Call) -> web.Response:
    return await _adjust(call, BUNDLE)


async def _adjust(call: Call, kind: UnitsKind) -> web.Response:
    try:
        applied = create_adjustment(call.world, await _json_body(call.request), call.parent_id, kind)
    except WriteRejected as exc:
        return autotask_error(500, str(exc))
    # a bundle's write is logged by its ContractServiceBundle id, of kind "bundle" (Autotask numbers bundles and
    # services apart, so bundle 12 and service 12 may both exist); its reference names the bundle adjustment, so a
    # note's key finds it
    reference = f"bundle:{applied.adjustment.id}" if kind is BUNDLE else str(applied.adjustment.id)
    call.world.record_write("autotask", applied.service.id, applied.before, applied.after, key=None,
                            reference=reference, kind="bundle" if kind is BUNDLE else "service",
                            before_as_scheduled=applied.before_as_scheduled)
    mark_write(call.request)
    return web.json_response({"itemId": applied.adjustment.id})


async def _create_note(call: Call) -> web.Response:
    try:
        if call.parent_id is None:
            raise WriteRejected("Contract notes are created through /V1.0/Contracts/{contractId}/Notes.")
        note = create_note(call.world, await _json_body(call.request), call.parent_id)
    except WriteRejected as exc:
        return autotask_error(500, str(exc))
    _label_adjustment(call.world, note.description)
    mark_write(call.request)
    return web.json_response({"itemId": note.id})


_NOTE_KEY = re.compile(r"\[seatsync:([^\]\s]+)\]")
_NOTE_ADJUSTMENT = re.compile(r"ContractService(Bundle)?Adjustment (\d+)")


def _label_adjustment(world: SandboxWorld, description: str) -> None:
    """The write log's view of a note naming an adjustment and a key: that adjustment's write carried that key."""
    key, adjustment = _NOTE_KEY.search(description or ""), _NOTE_ADJUSTMENT.search(description or "")
    if key and adjustment:
        reference = f"bundle:{adjustment.group(2)}" if adjustment.group(1) else adjustment.group(2)
        world.label_write("autotask", reference, key.group(1))
