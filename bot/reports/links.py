"""The signed report URLs SeatSync hands out (Slack messages, `seatsync report --link`).

A link names its tenant in a signed parameter (`tenant`, left out for the default tenant, so a single-workspace
install's links read as before): the route opens that tenant's data only, and a link of one tenant cannot be
edited into another's without breaking its signature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.db.tenancy import DEFAULT_TENANT_ID, current_tenant_id
from bot.reports.signing import report_link_key, sign_url

TENANT_PARAM = "tenant"

FORMATS = ("csv", "xlsx", "html")


def report_path(name: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    return f"/reports/{name}.{fmt}"


def report_url(*, public_url: str, secret_key: str, name: str, fmt: str, now: datetime, ttl: timedelta,
               filters: Mapping[str, str] | None = None) -> str:
    """An absolute, signed URL of one report in one format, valid for `ttl`."""
    params = with_tenant(list((filters or {}).items()), current_tenant_id())
    signed = sign_url(report_path(name, fmt), params, key=report_link_key(secret_key), now=now, ttl=ttl)
    return public_url.rstrip("/") + signed


def with_tenant(pairs: Sequence[tuple[str, str]], tenant_id: int) -> list[tuple[str, str]]:
    """A link's parameters naming its tenant (the default tenant's are left as they are)."""
    pairs = [pair for pair in pairs if pair[0] != TENANT_PARAM]
    return pairs if tenant_id == DEFAULT_TENANT_ID else [*pairs, (TENANT_PARAM, str(tenant_id))]


def link_tenant(pairs: Sequence[tuple[str, str]]) -> tuple[int, list[tuple[str, str]]]:
    """The tenant a verified link names (the default tenant when it names none), and its other parameters.
    ValueError when it names one twice or not as a number."""
    named = [value for key, value in pairs if key == TENANT_PARAM]
    if len(named) > 1 or (named and not named[0].isdigit()):
        raise ValueError("the link names its tenant wrongly")
    tenant_id = int(named[0]) if named else DEFAULT_TENANT_ID
    if tenant_id <= 0:
        raise ValueError("the link names its tenant wrongly")
    return tenant_id, [pair for pair in pairs if pair[0] != TENANT_PARAM]
