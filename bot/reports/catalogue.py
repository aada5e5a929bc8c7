"""The reports by name, and filters parsed from URL or command-line pairs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports.invoice_report import invoice_check_report
from bot.reports.margin_report import margin_report
from bot.reports.queries import (
    adjustments_report,
    failures_report,
    linked_report,
    psa_unlinked_report,
    subscriptions_report,
    unbilled_report,
    unlinked_report,
)
from bot.reports.report import Report, ReportFilters

ReportQuery = Callable[..., Awaitable[Report]]

REPORTS: Mapping[str, ReportQuery] = {
    "adjustments": adjustments_report,
    "failures": failures_report,
    "subscriptions": subscriptions_report,
    "linked": linked_report,
    "unlinked": unlinked_report,
    "psa-unlinked": psa_unlinked_report,
    "unbilled": unbilled_report,
    "margin": margin_report,
    "invoice-check": invoice_check_report,
}
MONTHLY = frozenset({"invoice-check"})  # the reports that take `month`

FILTER_NAMES = ("date_from", "date_to", "marketplace", "company", "subscription", "resource", "status", "text", "sort",
                "direction", "month")


def parse_filters(params: Mapping[str, str] | list[tuple[str, str]], *, today: date | None = None) -> ReportFilters:
    """Filters from URL or command-line pairs; an unknown or malformed one is a ValueError naming it."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    values: dict[str, Any] = {}
    for key, value in pairs:
        if key not in FILTER_NAMES:
            raise ValueError(f"unknown filter {key!r} (known: {', '.join(FILTER_NAMES)})")
        if key in values:
            raise ValueError(f"filter {key!r} given twice")
        if key in ("date_from", "date_to"):
            try:
                values[key] = date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{key} must be a date like 2026-03-31, not {value!r}") from None
        else:
            values[key] = value
    return ReportFilters(**values, today=today)


async def run_report(name: str, *, session: AsyncSession, filters: ReportFilters) -> Report:
    """Raises KeyError for an unknown report name and ValueError for a filter the report cannot take."""
    if filters.month is not None and name in REPORTS and name not in MONTHLY:
        raise ValueError(f"the {name} report has no month filter (only {', '.join(sorted(MONTHLY))})")
    return await REPORTS[name](session=session, filters=filters)
