"""The query grammar and list replies CMP's backend shares across its list operations (spec 1.6):
`offset`/`limit` paging, a single-valued enum filter, day and date-time filters; `{data, pagination}` replies."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.ingram_errors import correlation_id

DEFAULT_LIMIT = 10
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


class BadQuery(ValueError):
    """A query parameter the backend rejects with 400."""


def integer(query: Any, name: str, default: int, minimum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[+-]?\d+", raw.strip()):
        raise BadQuery(f"Parameter '{name}' must be an integer, got '{raw}'")
    value = int(raw)
    if value < minimum:
        raise BadQuery(f"Parameter '{name}' must be greater than or equal to {minimum}, got {value}")
    return value


def paging(query: Any) -> tuple[int, int]:
    return integer(query, "offset", 0, 0), integer(query, "limit", DEFAULT_LIMIT, 1)


def one_of(query: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise BadQuery(f"Parameter '{name}' must be one of {', '.join(allowed)} (a single value), got '{raw}'")
    return raw


def day(query: Any, name: str) -> date | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"Parameter '{name}' must be a date in the format YYYY-MM-DD, got '{raw}'") from None


def moment(query: Any, name: str) -> datetime | None:
    """A `format: date-time` parameter; one without an offset is read as UTC."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        if not _DATE_TIME.match(raw):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"Parameter '{name}' must be a date-time such as 2019-12-11T17:32:28Z, got '{raw}'") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def page(items: list[dict[str, Any]], offset: int, limit: int) -> web.Response:
    return json_reply({"data": items[offset:offset + limit],
                       "pagination": {"offset": offset, "limit": limit, "total": len(items)}})


def json_reply(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, headers={"X-Correlation-ID": correlation_id()})
