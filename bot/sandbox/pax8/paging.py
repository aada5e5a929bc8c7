"""Pax8's list conventions: `page` (from 0) and `size` (default 10, at most 200), the `content`/`page`
envelope, `sort=field,direction`, and the query values the partner API refuses.

Refusals (the sources say 400 for bad syntax, 422 for a value that parses but is not allowed; which one
Pax8 answers for `size=500` is not confirmed, and shared/apis/pax8.md 7 reads it as 422, so the sandbox
does): a page or size that is not a whole number is a 400; `size` outside 1..200 or a negative `page`
is a 422 whose detail names the parameter; an enum value the spec does not list is a 400. A page past
the last one is an empty `content` (Spring's paging), with `number` the page asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

MAX_SIZE = 200
DEFAULT_SIZE = 10
_WHOLE = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class QueryRefused(ValueError):
    """A query the API refuses: `status` 400 (syntax) or 422 (a value out of range), `param` the culprit."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param = status, param


def whole_number(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if text.endswith(".0"):  # the spec types page and size as number: 2.0 is 2
        text = text[:-2]
    if not _WHOLE.match(text):
        raise QueryRefused(400, f"Parameter '{name}' must be a whole number, got '{raw}'", name)
    return int(text)


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    page = whole_number(query, "page", 0)
    size = whole_number(query, "size", DEFAULT_SIZE)
    if size < 1 or size > MAX_SIZE:
        raise QueryRefused(422, f"size must be between 1 and {MAX_SIZE}", "size")
    if page < 0:
        raise QueryRefused(422, "page must be greater than or equal to 0", "page")
    return page, size


def page_of(items: Sequence[Any], page: int, size: int) -> dict[str, Any]:
    total = len(items)
    return {"content": list(items[page * size:(page + 1) * size]),
            "page": {"size": size, "totalElements": total, "totalPages": math.ceil(total / size), "number": page}}


def one_of(query: Mapping[str, str], name: str, allowed: Iterable[str]) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    allowed = tuple(allowed)
    if raw not in allowed:
        raise QueryRefused(400, f"Invalid value '{raw}' for parameter '{name}'; allowed: {', '.join(allowed)}",
                           name)
    return raw


def boolean(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise QueryRefused(400, f"Invalid value '{raw}' for parameter '{name}'; expected true or false", name)
    return raw.lower() == "true"


def day(query: Mapping[str, str], name: str) -> date | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise QueryRefused(400, f"Invalid value '{raw}' for parameter '{name}'; expected yyyy-MM-dd", name) from None


def sort_rows(rows: list[dict[str, Any]], query: Mapping[str, str], fields: Iterable[str],
              key: Callable[[dict[str, Any], str], Any] | None = None) -> list[dict[str, Any]]:
    """Apply `sort=field` or `sort=field,asc|desc`; missing values sort first."""
    raw = query.get("sort")
    if raw is None or raw == "":
        return rows
    name, _, direction = raw.partition(",")
    fields = tuple(fields)
    if name not in fields or direction.lower() not in ("", "asc", "desc"):
        raise QueryRefused(400, f"Invalid sort '{raw}'; sort by one of {', '.join(fields)}, "
                                "optionally followed by ,asc or ,desc", "sort")
    value = key or (lambda row, field: row.get(field))

    def order(row: dict[str, Any]) -> tuple[bool, Any]:
        found = value(row, name)
        return (found is not None, found if found is not None else 0)

    return sorted(rows, key=order, reverse=direction.lower() == "desc")
