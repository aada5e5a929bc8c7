"""The signed report URLs SeatSync hands out (Slack messages, `seatsync report --link`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.reports.signing import report_link_key, sign_url

FORMATS = ("csv", "xlsx", "html")


def report_path(name: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    return f"/reports/{name}.{fmt}"


def report_url(*, public_url: str, secret_key: str, name: str, fmt: str, now: datetime, ttl: timedelta,
               filters: Mapping[str, str] | None = None) -> str:
    """An absolute, signed URL of one report in one format, valid for `ttl`."""
    signed = sign_url(report_path(name, fmt), filters or {}, key=report_link_key(secret_key), now=now, ttl=ttl)
    return public_url.rstrip("/") + signed
