"""List-endpoint query parameters of the ConnectWise simulator: conditions, fields, orderBy, paging.

Paging follows the Developer Guide ("Pagination", notes B4 in shared/apis/connectwise.md):
- Navigable (default): `page` is 1-based, `pageSize` defaults to 25 and is capped at 1000. The
  response carries an RFC 5988 `Link` header. Its entries follow the header CW sends as shown by
  thelazyadministrator.com (2024-06, "How the ConnectWise Manage API handles pagination"): page 1
  starts with rel="next", so `first`/`prev` appear only after page 1 and `next`/`last` only before
  the last page; a result that fits one page has no Link header at all. Every URL ends with
  `page=N` (pyconnectwise reads the page number with `page=(\\d+)>; rel="..."`), and query values
  are percent-encoded, commas included, so a client may split the header on ",".
- Forward-only: request header `pagination-type: forward-only`; `pageId` acts as the extra
  condition `id > pageId`, `page` is ignored, rows come in id order and `orderBy` is refused.
  A non-empty page carries `Link: <...&pageId=LAST>; rel="next"` (LAST = the last id returned);
  the client stops on an empty page, which has no Link header. (The guide says a Link header is
  always sent; sending none on an empty page is the simulator's reading of that.)
- `childConditions` filter array children (guide: `communicationItems/value like "x" and
  communicationItems/communicationType="Email"`), in the `conditions` grammar over paths that start
  with the array's name. The guide does not say whether the parts of one expression must hold for the
  same child; the simulator reads them so (its example only makes sense that way): a record matches
  when one element of the array satisfies the whole expression. One expression names one array (two
  arrays in one expression is a 400, a simulator choice); paths an entity does not have are a 400
  ("Unknown field"), as in `conditions`.
- `customFieldConditions` (guide: `caption="Field" and value != null`) test the entries of the
  record's `customFields`: a record matches when one entry satisfies the whole expression. The
  members are id, caption, type, entryMethod, numberOfDecimals and value; `value` is compared as
  text (quote numbers), a simulator choice: the guide gives no typed example.
- `conditions`, `childConditions` and `customFieldConditions` are ANDed.
- Query parameter names are matched case-insensitively (the API is ASP.NET; the guide and clients
  write both `pageSize` and `PageSize`). `page`/`pageSize` that are not positive integers get a
  400 (a simulator choice; CW's own answer is not documented).
- `orderBy=name asc, id desc` takes a comma-separated list; without it rows come in id order.
  Nulls sort first in ascending order, as in SQL Server. `fields=` names schema paths or object
  prefixes of them (`status` or `status/id`); an unknown name is a 400.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.sandbox.connectwise_conditions import (
    AnyElement,
    Condition,
    ConditionsError,
    FieldKind,
    Junction,
    MatchAll,
    coerce_value,
    parse_conditions,
    parse_field_list,
    paths_of,
    resolve_path,
)

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


class QueryError(ValueError):
    """A list query the simulator refuses (400)."""


@dataclass
class ListQuery:
    condition: Condition
    fields: list[str] | None
    order: list[tuple[str, FieldKind, bool]]  # (path, kind, descending)
    page: int
    page_size: int
    forward_only: bool
    page_id: int


@dataclass
class Page:
    rows: list[dict]
    link: str | None


def parse_list_query(
    query: Mapping[str, str], headers: Mapping[str, str], schema: Mapping[str, FieldKind],
    aliases: Mapping[str, str] | None = None, *, child_schema: Mapping[str, FieldKind] | None = None,
    custom_field_schema: Mapping[str, FieldKind] | None = None,
) -> ListQuery:
    params = {name.lower(): value for name, value in query.items()}
    try:
        condition = parse_conditions(params.get("conditions"), schema, aliases)
    except ConditionsError as exc:
        raise QueryError(f"Invalid conditions: {exc}") from None
    parts = [condition, _child_conditions(params.get("childconditions"), child_schema or {}),
             _custom_field_conditions(params.get("customfieldconditions"), custom_field_schema)]
    parts = [part for part in parts if not isinstance(part, MatchAll)]
    if len(parts) > 1:
        condition = Junction("and", tuple(parts))
    elif parts:
        condition = parts[0]
    try:
        fields = parse_field_list(params["fields"], schema) if params.get("fields", "").strip() else None
    except ConditionsError as exc:
        raise QueryError(f"Invalid fields: {exc}") from None
    forward_only = headers.get("pagination-type", "").strip().lower() == "forward-only"
    order = _parse_order(params.get("orderby", ""), schema, aliases or {})
    if forward_only and order:
        raise QueryError("orderBy is not supported with forward-only pagination (rows are ordered by id)")
    page_size = min(_positive(params, "pagesize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    page = 1 if forward_only else _positive(params, "page", 1)
    page_id = _non_negative(params, "pageid", 0) if forward_only else 0
    return ListQuery(condition, fields, order, page, page_size, forward_only, page_id)


def _child_conditions(text: str | None, child_schema: Mapping[str, FieldKind]) -> Condition:
    try:
        parsed = parse_conditions(text, child_schema)
    except ConditionsError as exc:
        raise QueryError(f"Invalid childConditions: {exc}") from None
    if isinstance(parsed, MatchAll):
        return parsed
    arrays = {path.split("/", 1)[0] for path in paths_of(parsed)}
    if len(arrays) != 1:
        raise QueryError(f"Invalid childConditions: one expression filters one array, not {sorted(arrays)}")
    return AnyElement(arrays.pop(), parsed)


def _custom_field_conditions(text: str | None, custom_field_schema: Mapping[str, FieldKind] | None) -> Condition:
    if text is None or not text.strip():
        return MatchAll()
    if custom_field_schema is None:
        raise QueryError("Invalid customFieldConditions: this endpoint has no custom fields")
    try:
        return AnyElement("customFields", parse_conditions(text, custom_field_schema), nested=False)
    except ConditionsError as exc:
        raise QueryError(f"Invalid customFieldConditions: {exc}") from None


def _positive(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise QueryError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def _non_negative(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise QueryError(f"pageId must be a whole number (the last id of the previous page), got {raw!r}")
    return int(raw)


def _parse_order(text: str, schema: Mapping[str, FieldKind], aliases: Mapping[str, str]) -> list[tuple]:
    order: list[tuple[str, FieldKind, bool]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        words = item.split()
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"orderBy item {item!r} must be '<field> asc' or '<field> desc'")
        path = aliases.get(words[0], words[0])
        if path not in schema:
            raise QueryError(f"Unknown field {words[0]!r} in orderBy")
        order.append((path, schema[path], len(words) == 2 and words[1].lower() == "desc"))
    return order


def select(records: Sequence[dict], query: ListQuery) -> list[dict]:
    """The records the conditions keep, in the requested order (before paging)."""
    kept = [r for r in records if query.condition.matches(r)]
    kept.sort(key=lambda r: r.get("id", 0))
    if query.forward_only:
        return [r for r in kept if r.get("id", 0) > query.page_id]
    for path, kind, descending in reversed(query.order):
        keyed = [(coerce_value(resolve_path(r, path), kind), r) for r in kept]
        nulls = [r for value, r in keyed if value is None]
        valued = [(value, r) for value, r in keyed if value is not None]
        valued.sort(key=lambda pair: _sort_key(pair[0]), reverse=descending)
        kept = [r for _, r in valued] + nulls if descending else nulls + [r for _, r in valued]
    return kept


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def paginate(records: Sequence[dict], query: ListQuery, url: str, params: Mapping[str, str]) -> Page:
    """One page of `records` (already selected and ordered) with its Link header.

    `url` is the absolute URL of the list without query; `params` the request's query parameters.
    """
    size = query.page_size
    keep = [(k, v) for k, v in params.items() if k.lower() not in ("page", "pagesize", "pageid")]
    keep.append(("pageSize", str(size)))
    if query.forward_only:
        rows = list(records[:size])
        link = f'<{_url(url, [*keep, ("pageId", str(rows[-1]["id"]))])}>; rel="next"' if rows else None
        return Page(_project_all(rows, query.fields), link)
    start = (query.page - 1) * size
    rows = list(records[start:start + size])
    last = max(1, math.ceil(len(records) / size))
    links: list[str] = []
    if query.page > 1:
        links.append(f'<{_url(url, [*keep, ("page", "1")])}>; rel="first"')
        links.append(f'<{_url(url, [*keep, ("page", str(min(query.page - 1, last)))])}>; rel="prev"')
    if query.page < last:
        links.append(f'<{_url(url, [*keep, ("page", str(query.page + 1))])}>; rel="next"')
        links.append(f'<{_url(url, [*keep, ("page", str(last))])}>; rel="last"')
    return Page(_project_all(rows, query.fields), ", ".join(links) or None)


def _url(base: str, params: Sequence[tuple[str, str]]) -> str:
    return base + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='/')}" for k, v in params)


def _project_all(rows: list[dict], fields: list[str] | None) -> list[dict]:
    return rows if fields is None else [project(row, fields) for row in rows]


def project(record: Mapping[str, Any], fields: Sequence[str]) -> dict:
    """The partial response `fields=id,name,status/id` asks for (absent or null values are left out)."""
    result: dict[str, Any] = {}
    for path in fields:
        value = resolve_path(record, path)
        if value is None:
            continue
        target = result
        parts = path.split("/")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result

