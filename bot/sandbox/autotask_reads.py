"""Read handlers of the Autotask simulator: queries, counts, keyset paging, items by id, child lists."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any

from aiohttp import web

from bot.sandbox.autotask_calls import Call, Cursor, autotask_error
from bot.sandbox.autotask_entities import ENTITIES, Entity, entity_row, entity_rows, to_json
from bot.sandbox.autotask_query import (
    MAX_PAGE,
    MISSING_FILTER,
    Comparison,
    Group,
    QueryError,
    QuerySpec,
    matches,
    parse_query,
)
from bot.sandbox.world import SandboxWorld


async def _query_spec(call: Call) -> QuerySpec:
    request = call.request
    if request.method == "GET":
        raw = request.query.get("search")
        if raw is None:
            raise QueryError(MISSING_FILTER)
        body = _parse_json(raw, "the search parameter")
    else:
        text = await request.text()
        body = _parse_json(text, "the request body") if text.strip() else None
        if body is None:
            raise QueryError(MISSING_FILTER)
    return parse_query(body, call.target.query_fields, call.target.label,
                       drop_unknown_operators=call.state.drop_unknown_operators)


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise QueryError(f"Unable to parse {what} as JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None


async def query(call: Call) -> web.Response:
    try:
        return web.json_response(_page(call, Cursor(call.target.name, await _query_spec(call))))
    except QueryError as exc:
        return autotask_error(500, str(exc))


async def count(call: Call) -> web.Response:
    try:
        spec = await _query_spec(call)
    except QueryError as exc:
        return autotask_error(500, str(exc))
    return web.json_response({"queryCount": sum(1 for _ in _matching(call.world, call.target, spec))})


async def next_page(call: Call) -> web.Response:
    cursor = call.state.cursors.get(call.request.query.get("paging", ""))
    if cursor is None or cursor.entity != call.target.name:
        return autotask_error(500, "The paging token is not valid or has expired; run the query again.")
    try:
        return web.json_response(_page(call, cursor))
    except QueryError as exc:
        return autotask_error(500, str(exc))


async def child_list(call: Call) -> web.Response:
    spec = QuerySpec(Group("and", (Comparison("eq", "contractID", call.parent_id),)), MAX_PAGE)
    return web.json_response(_page(call, Cursor(call.target.name, spec)))


async def get_item(call: Call) -> web.Response:
    row = entity_row(call.target, call.world, call.record_id) if call.record_id is not None else None
    if row is not None and call.parent_id is not None and row.get("contractID") != call.parent_id:
        row = None
    return web.json_response({"item": to_json(call.target, row) if row is not None else None})


def _matching(world: SandboxWorld, entity: Entity, spec: QuerySpec, after: int | None = None) -> Iterator[dict]:
    return (row for row in entity_rows(entity, world, spec, after) if matches(spec.where, row))


def _page(call: Call, cursor: Cursor) -> dict:
    """One page in id order (keyset paging), built lazily so big views stay cheap to page through."""
    entity, spec, world = ENTITIES[cursor.entity.lower()], cursor.spec, call.world
    include, size = spec.include_fields, spec.max_records
    if include is not None and "id" not in include and _more_than(_matching(world, entity, spec), MAX_PAGE):
        raise QueryError(f"The query matches more than {MAX_PAGE} records: IncludeFields must contain id.")
    if cursor.before is not None:
        window: deque[dict] = deque(maxlen=size + 1)
        has_next = False
        for row in _matching(world, entity, spec):
            if row["id"] >= cursor.before:
                has_next = True
                break
            window.append(row)
        has_previous = len(window) > size
        page = list(window)[-size:]
    else:
        page = list(islice(_matching(world, entity, spec, cursor.after), size + 1))
        has_next, page = len(page) > size, page[:size]
        first = next(_matching(world, entity, spec), None) if page else None
        has_previous = first is not None and first["id"] < page[0]["id"]
    next_url = prev_url = None
    if page and has_next:
        next_url = _page_url(call, entity, Cursor(entity.name, spec, after=page[-1]["id"]))
    if page and has_previous:
        prev_url = _page_url(call, entity, Cursor(entity.name, spec, before=page[0]["id"]))
    return {
        "items": [to_json(entity, row, include) for row in page],
        "pageDetails": {"count": len(page), "requestCount": size, "prevPageUrl": prev_url, "nextPageUrl": next_url},
    }


def _more_than(rows: Iterator[dict], limit: int) -> bool:
    return sum(1 for _ in islice(rows, limit + 1)) > limit


def _page_url(call: Call, entity: Entity, cursor: Cursor) -> str:
    return f"{call.base_url}/V1.0/{entity.name}/query/next?paging={call.state.remember(cursor)}"
