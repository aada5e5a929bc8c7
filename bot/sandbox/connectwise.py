"""ConnectWise Manage (PSA) REST API 3.0 simulator: an aiohttp sub-app mounted at /connectwise.

API base `{origin}/connectwise/v4_6_release/apis/3.0`; codebase lookup
`GET {origin}/connectwise/login/companyinfo/{companyId}`. Served: company/companies,
finance/agreements, finance/agreements/{id}/additions (read and write) and procurement/catalog,
each with `/{id}` and `/count`. Auth, API version, throttling and the error shape are in
connectwise_gate, the query grammar in connectwise_conditions, paging and fields in
connectwise_query, JSON shapes in connectwise_records, addition rules and proration in
connectwise_additions; each module's docstring records its sources and the simulator's choices.

- POST 201 with the record, PATCH/PUT 200 with the record, DELETE 204 [notes B3 in
  shared/apis/connectwise.md]. Bodies must be `application/json` (or `*+json`), else 415; an empty
  or unparseable body (NaN/Infinity included) is 400 BadRequest.
- companyinfo for an unknown company answers 200 with a JSON `null` (django-connectwise api.py:
  "CW returns None if company ID is unknown"). Its keys besides Codebase are [unverified]; the
  simulator reports IsCloud false (so plain http is fine) and SiteUrl host:port/connectwise.
- A bad `conditions`/`fields`/`orderBy`/paging parameter is 400 BadRequest whose message names
  the problem (CW's exact wording is undocumented).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.sandbox.connectwise_additions import (
    InvalidAddition,
    MalformedBody,
    addition_figures,
    apply_patch,
    billed_units,
    body_view,
    build_addition,
    check_agreement_open,
    key_in,
    writable_view,
)
from bot.sandbox.connectwise_conditions import FieldKind
from bot.sandbox.connectwise_gate import (
    API_PATH,
    CONNECTWISE_BUDGET,
    CURRENT_API_VERSION,
    WORLD,
    Refusal,
    RequestBudget,
    api_gate,
    connectwise_error,
)
from bot.sandbox.connectwise_query import QueryError, paginate, parse_list_query, project, select
from bot.sandbox.connectwise_records import (
    ADDITION_SCHEMA,
    AGREEMENT_SCHEMA,
    ALIASES,
    CATALOG_SCHEMA,
    CHILD_SCHEMAS,
    COMPANY_SCHEMA,
    CUSTOM_FIELD_SCHEMA,
    CUSTOM_FIELDS,
    addition_json,
    agreement_json,
    catalog_json,
    company_json,
)
from bot.sandbox.faults import mark_write
from bot.sandbox.world import ConnectWiseAddition, ConnectWiseAgreement, SandboxWorld

__all__ = ["CONNECTWISE_BUDGET", "connectwise_error", "create_connectwise_app"]

CODEBASE = "v4_6_release/"


def create_connectwise_app(world: SandboxWorld, *, requests_per_minute: int = 1000) -> web.Application:
    app = web.Application(middlewares=[api_gate])
    app[WORLD] = world
    app[CONNECTWISE_BUDGET] = RequestBudget(per_minute=requests_per_minute)
    api = API_PATH
    app.router.add_get("/login/companyinfo/{company_id}", _company_info)
    app.router.add_get(f"{api}/company/companies", _list_companies)
    app.router.add_get(f"{api}/company/companies/count", _count_companies)
    app.router.add_get(f"{api}/company/companies/{{id:\\d+}}", _get_company)
    app.router.add_get(f"{api}/finance/agreements", _list_agreements)
    app.router.add_get(f"{api}/finance/agreements/count", _count_agreements)
    app.router.add_get(f"{api}/finance/agreements/{{id:\\d+}}", _get_agreement)
    additions = f"{api}/finance/agreements/{{agreement_id:\\d+}}/additions"
    app.router.add_get(additions, _list_additions)
    app.router.add_post(additions, _create_addition)
    app.router.add_get(f"{additions}/count", _count_additions)
    app.router.add_get(f"{additions}/{{id:\\d+}}", _get_addition)
    app.router.add_patch(f"{additions}/{{id:\\d+}}", _patch_addition)
    app.router.add_put(f"{additions}/{{id:\\d+}}", _put_addition)
    app.router.add_delete(f"{additions}/{{id:\\d+}}", _delete_addition)
    app.router.add_get(f"{api}/procurement/catalog", _list_catalog)
    app.router.add_get(f"{api}/procurement/catalog/count", _count_catalog)
    app.router.add_get(f"{api}/procurement/catalog/{{id:\\d+}}", _get_catalog_item)
    return app


# --- companyinfo -------------------------------------------------------------------------------
async def _company_info(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    company_id = request.match_info["company_id"]
    if company_id.casefold() != world.credentials.connectwise_company_id.casefold():
        return web.json_response(None)
    return web.json_response({
        "CompanyName": world.credentials.connectwise_company_id,
        "Codebase": CODEBASE,
        "VersionCode": f"v{CURRENT_API_VERSION.split('.')[0]}.1",
        "VersionNumber": f"v{CURRENT_API_VERSION}.0",
        "CompanyID": world.credentials.connectwise_company_id,
        "IsCloud": False,
        "SiteUrl": f"{request.host}{_mount(request)}",
    })


# --- reads -------------------------------------------------------------------------------------
def _mount(request: web.Request) -> str:
    """The path the sub-app is mounted at (e.g. /connectwise)."""
    path = request.path
    for marker in (API_PATH + "/", API_PATH, "/login/companyinfo/"):
        if marker in path:
            return path[:path.index(marker)]
    return ""


def _base(request: web.Request) -> str:
    return f"{request.url.origin()}{_mount(request)}{API_PATH}"


def _list_response(request: web.Request, records: list[dict], schema: dict[str, FieldKind]) -> web.Response:
    query = _parse_query(request, schema)
    page = paginate(select(records, query), query, f"{request.url.origin()}{request.path}", request.query)
    response = web.json_response(page.rows)
    if page.link:
        response.headers["Link"] = page.link
    return response


def _count_response(request: web.Request, records: list[dict], schema: dict[str, FieldKind]) -> web.Response:
    query = _parse_query(request, schema)
    return web.json_response({"count": sum(1 for r in records if query.condition.matches(r))})


def _one_response(request: web.Request, record: dict | None, what: str,
                  schema: dict[str, FieldKind]) -> web.Response:
    if record is None:
        return connectwise_error(404, f"{what} not found")
    fields = _parse_query(request, schema).fields
    return web.json_response(record if fields is None else project(record, fields))


def _entity(schema: dict[str, FieldKind]) -> str:
    return next(name for name, known in (("company", COMPANY_SCHEMA), ("agreement", AGREEMENT_SCHEMA),
                                         ("addition", ADDITION_SCHEMA), ("catalog", CATALOG_SCHEMA))
                if known is schema)


def _parse_query(request: web.Request, schema: dict[str, FieldKind]):
    entity = _entity(schema)
    try:
        return parse_list_query(request.query, request.headers, schema, ALIASES, child_schema=CHILD_SCHEMAS[entity],
                                custom_field_schema=CUSTOM_FIELD_SCHEMA if entity in CUSTOM_FIELDS else None)
    except QueryError as exc:
        raise Refusal(connectwise_error(400, str(exc))) from None


def _companies(request: web.Request) -> list[dict]:
    world, base = request.app[WORLD], _base(request)
    return [company_json(c, base) for c in world.connectwise_companies.values()]


def _agreements(request: web.Request) -> list[dict]:
    world, base = request.app[WORLD], _base(request)
    return [agreement_json(a, world.connectwise_companies.get(a.company_id), base)
            for a in world.connectwise_agreements.values()]


def _catalog(request: web.Request) -> list[dict]:
    world, base = request.app[WORLD], _base(request)
    return [catalog_json(p, base) for p in world.connectwise_products.values()]


def _addition_record(request: web.Request, addition: ConnectWiseAddition) -> dict:
    world = request.app[WORLD]
    agreement = world.connectwise_agreements.get(addition.agreement_id)
    return addition_json(addition, agreement, world.connectwise_products.get(addition.product_id),
                         addition_figures(addition, agreement), _base(request))


def _agreement_or_404(request: web.Request) -> ConnectWiseAgreement:
    agreement_id = int(request.match_info["agreement_id"])
    agreement = request.app[WORLD].connectwise_agreements.get(agreement_id)
    if agreement is None:
        raise Refusal(connectwise_error(404, f"Agreement {agreement_id} not found"))
    return agreement


def _additions(request: web.Request) -> list[dict]:
    agreement = _agreement_or_404(request)
    return [_addition_record(request, a) for a in request.app[WORLD].connectwise_additions.values()
            if a.agreement_id == agreement.id]


def _addition_or_404(request: web.Request) -> tuple[ConnectWiseAgreement, ConnectWiseAddition]:
    agreement = _agreement_or_404(request)
    addition_id = int(request.match_info["id"])
    addition = request.app[WORLD].connectwise_additions.get(addition_id)
    if addition is None or addition.agreement_id != agreement.id:
        raise Refusal(connectwise_error(404, f"Addition {addition_id} not found on agreement {agreement.id}"))
    return agreement, addition


async def _list_companies(request: web.Request) -> web.Response:
    return _list_response(request, _companies(request), COMPANY_SCHEMA)


async def _count_companies(request: web.Request) -> web.Response:
    return _count_response(request, _companies(request), COMPANY_SCHEMA)


async def _get_company(request: web.Request) -> web.Response:
    world, company_id = request.app[WORLD], int(request.match_info["id"])
    company = world.connectwise_companies.get(company_id)
    return _one_response(request, company and company_json(company, _base(request)), f"Company {company_id}",
                         COMPANY_SCHEMA)


async def _list_agreements(request: web.Request) -> web.Response:
    return _list_response(request, _agreements(request), AGREEMENT_SCHEMA)


async def _count_agreements(request: web.Request) -> web.Response:
    return _count_response(request, _agreements(request), AGREEMENT_SCHEMA)


async def _get_agreement(request: web.Request) -> web.Response:
    world, agreement_id = request.app[WORLD], int(request.match_info["id"])
    agreement = world.connectwise_agreements.get(agreement_id)
    record = agreement and agreement_json(agreement, world.connectwise_companies.get(agreement.company_id),
                                          _base(request))
    return _one_response(request, record, f"Agreement {agreement_id}", AGREEMENT_SCHEMA)


async def _list_catalog(request: web.Request) -> web.Response:
    return _list_response(request, _catalog(request), CATALOG_SCHEMA)


async def _count_catalog(request: web.Request) -> web.Response:
    return _count_response(request, _catalog(request), CATALOG_SCHEMA)


async def _get_catalog_item(request: web.Request) -> web.Response:
    world, product_id = request.app[WORLD], int(request.match_info["id"])
    product = world.connectwise_products.get(product_id)
    return _one_response(request, product and catalog_json(product, _base(request)), f"Product {product_id}",
                         CATALOG_SCHEMA)


async def _list_additions(request: web.Request) -> web.Response:
    return _list_response(request, _additions(request), ADDITION_SCHEMA)


async def _count_additions(request: web.Request) -> web.Response:
    return _count_response(request, _additions(request), ADDITION_SCHEMA)


async def _get_addition(request: web.Request) -> web.Response:
    _, addition = _addition_or_404(request)
    return _one_response(request, _addition_record(request, addition), f"Addition {addition.id}", ADDITION_SCHEMA)


# --- addition writes ---------------------------------------------------------------------------
async def _json_body(request: web.Request) -> Any:
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Refusal(connectwise_error(415, f"Content-Type must be application/json, not {content_type}"))
    text = await request.text()
    if not text.strip():
        raise Refusal(connectwise_error(400, "The request body is empty"))
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise Refusal(connectwise_error(400, f"The request body is not valid JSON: {exc}")) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _invalid(exc: InvalidAddition | MalformedBody) -> Refusal:
    if isinstance(exc, InvalidAddition):
        return Refusal(connectwise_error(400, "addition object is invalid", code="InvalidObject", errors=exc.errors))
    return Refusal(connectwise_error(400, str(exc)))


def _save(request: web.Request, addition: ConnectWiseAddition, before: int, key: str | None,
          always_log: bool) -> None:
    world = request.app[WORLD]
    world.connectwise_additions[addition.id] = addition
    after = billed_units(addition)
    if always_log or after != before:
        world.record_write("connectwise", addition.id, before, after, key, reference=str(addition.id))
    mark_write(request)


async def _create_addition(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    agreement = _agreement_or_404(request)
    body = await _json_body(request)
    try:
        check_agreement_open(agreement)
        addition = build_addition(body_view(body), world=world, agreement=agreement, addition_id=0, existing=None)
    except (InvalidAddition, MalformedBody) as exc:
        raise _invalid(exc) from None
    addition.id = world.next_id("connectwise_addition")
    _save(request, addition, 0, key_in(addition.description), always_log=True)
    return web.json_response(_addition_record(request, addition), status=201)


async def _put_addition(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    agreement, existing = _addition_or_404(request)
    body = await _json_body(request)
    try:
        check_agreement_open(agreement)
        addition = build_addition(body_view(body), world=world, agreement=agreement, addition_id=existing.id,
                                  existing=existing)
    except (InvalidAddition, MalformedBody) as exc:
        raise _invalid(exc) from None
    _save(request, addition, billed_units(existing), key_in(addition.description), always_log=False)
    return web.json_response(_addition_record(request, addition))


async def _patch_addition(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    agreement, existing = _addition_or_404(request)
    operations = await _json_body(request)
    try:
        check_agreement_open(agreement)
        view, touched = apply_patch(writable_view(existing, world.connectwise_products.get(existing.product_id)),
                                    operations)
        addition = build_addition(view, world=world, agreement=agreement, addition_id=existing.id,
                                  existing=existing)
    except (InvalidAddition, MalformedBody) as exc:
        raise _invalid(exc) from None
    key = key_in(addition.description) if "description" in touched else None
    _save(request, addition, billed_units(existing), key, always_log=False)
    return web.json_response(_addition_record(request, addition))


async def _delete_addition(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    agreement, existing = _addition_or_404(request)
    try:
        check_agreement_open(agreement)
    except InvalidAddition as exc:
        raise _invalid(exc) from None
    del world.connectwise_additions[existing.id]
    world.record_write("connectwise", existing.id, billed_units(existing), 0, None, reference=str(existing.id))
    mark_write(request)
    return web.Response(status=204)
