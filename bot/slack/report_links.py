"""The signed report links a Slack message carries: one per format (CSV, XLSX, HTML), valid for `days`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.reports.links import report_url

if TYPE_CHECKING:
    from bot.app_context import AppContext

FORMATS = ("csv", "xlsx", "html")


def signed_links(app_context: AppContext, *, name: str, filters: Mapping[str, str] | None = None,
                 days: int, now: datetime) -> dict[str, str]:
    settings = app_context.settings
    return {fmt: report_url(public_url=settings.public_url, secret_key=settings.secret_key, name=name, fmt=fmt,
                            now=now, ttl=timedelta(days=days), filters=filters)
            for fmt in FORMATS}
