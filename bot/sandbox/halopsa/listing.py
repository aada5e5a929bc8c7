"""Halo's list conventions: `pageinate`, `page_size`, `page_no`, `count`, `order`/`orderdesc`, `search`.

Sources (notes = shared/apis/halopsa.md §2): `GET /api/{Entity}?pageinate=true&page_size=N&page_no=1..`
(the spelling is `pageinate`), reply `{"record_count": <int>, "<collection>": [...]}`; without `pageinate`,
`count=N` caps the results [code homotechsual New-HaloQuery.ps1, New-HaloGETRequest.ps1, which pages until
ceil(record_count / page_size)]. homotechsual's default page size is 1000.

Choices where the sources are silent:
- `record_count` is the number of records matching the filters, on every page and without paging too.
- Pages are 1-based; a page past the last is an empty list with the same record_count. page_size defaults
  to 50 (the 3p notes' figure).
- `page_size` above 1000 is cut to 1000 without a word (the reply is shorter than asked, record_count
  still says how many there are); a page_size or page_no below 1 is 400.
- Without `pageinate=true` at most `count` records come back, 100 when `count` is absent: a client that
  forgets to page sees a truncated list, and record_count tells it so.
- `order` names a field of the records; an unknown one is ignored (order by id). Default order: by id.
- `search` is a case-insensitive substring match on the entity's name-like fields.
- Query parameter names are case-insensitive (ASP.NET model binding); booleans are true/false (any case),
  anything else is 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

MAX_PAGE_SIZE = 1000
UNPAGED_DEFAULT_COUNT = 100


class QueryError(ValueError):
    """A query parameter Halo would refuse (400)."""


@dataclass(frozen=True)
class ListQuery:
    paginate: bool
    page_size: int
    page_no: int
    count: int
    order: str | None
    order_desc: bool
    search: str | None
    params: Mapping[str, str]  # every parameter, names lower-cased, for the entity's own filters

    def flag(self, name: str, default: bool = False) -> bool:
        return parse_bool(name, self.params.get(name), default)

    def number(self, name: str) -> int | None:
        return parse_int(name, self.params.get(name))

    def numbers(self, name: str) -> set[int] | None:
        raw = self.params.get(name)
        if raw is None or not raw.strip():
            return None
        return {parse_int(name, part) for part in raw.split(",") if part.strip()}  # type: ignore[misc]


def parse_bool(name: str, raw: str | None, default: bool = False) -> bool:
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise QueryError(f"The value '{raw}' is not valid for {name}.")


def parse_int(name: str, raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise QueryError(f"The value '{raw}' is not valid for {name}.") from None


def parse_list_query(query: Mapping[str, str]) -> ListQuery:
    params = {key.lower(): value for key, value in query.items()}
    paginate = parse_bool("pageinate", params.get("pageinate"))
    page_size = parse_int("page_size", params.get("page_size"))
    page_no = parse_int("page_no", params.get("page_no"))
    count = parse_int("count", params.get("count"))
    if (page_size is not None and page_size < 1) or (page_no is not None and page_no < 1):
        raise QueryError("page_size and page_no must be 1 or more.")
    if count is not None and count < 0:
        raise QueryError("count must not be negative.")
    return ListQuery(
        paginate=paginate, page_size=min(page_size or 50, MAX_PAGE_SIZE), page_no=page_no or 1,
        count=UNPAGED_DEFAULT_COUNT if count is None else count, order=params.get("order") or None,
        order_desc=parse_bool("orderdesc", params.get("orderdesc")), search=params.get("search") or None,
        params=params)


def matches_search(query: ListQuery, *texts: str | None) -> bool:
    if query.search is None:
        return True
    needle = query.search.casefold()
    return any(needle in (text or "").casefold() for text in texts)


def page_of(records: Iterable[dict], query: ListQuery, collection: str) -> dict:
    rows = list(records)
    key = query.order if query.order and rows and query.order in rows[0] else "id"
    rows.sort(key=lambda row: _sort_key(row.get(key)), reverse=query.order_desc)
    if query.paginate:
        start = (query.page_no - 1) * query.page_size
        shown = rows[start:start + query.page_size]
    else:
        shown = rows[:query.count]
    return {"record_count": len(rows), collection: shown}


class _HasId(Protocol):
    id: int


def page_of_records(records: Iterable[_HasId], query: ListQuery, collection: str,
                    render: Callable[[Any], dict]) -> dict:
    """`page_of` over the simulator's records, rendering only the page when the order is by id (the default):
    a page of 1,000 recurring invoices with their lines is megabytes, and rendering every invoice of a large MSP
    for each page made a complete read slow for nothing. Any other order renders every record, as `page_of`."""
    if query.order not in (None, "id"):
        return page_of((render(record) for record in records), query, collection)
    rows = sorted(records, key=lambda record: record.id, reverse=query.order_desc)
    if query.paginate:
        start = (query.page_no - 1) * query.page_size
        shown = rows[start:start + query.page_size]
    else:
        shown = rows[:query.count]
    return {"record_count": len(rows), collection: [render(record) for record in shown]}


def _sort_key(value: object) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value).casefold())
