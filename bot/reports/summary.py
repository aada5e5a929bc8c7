"""A report in a few numbers: its row count, its first rows and licences per customer (Slack's summary).

The rows are streamed once: the first `top` are kept, every row is added to its customer's total, so
a report of any size is summarised in one pass and bounded memory (one total per customer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports.catalogue import REPORTS, run_report
from bot.reports.report import ReportFilters

TOP_ROWS = 10
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class SummaryShape:
    """Which of a report's columns name the customer, count its licences, and make a row's one-line view."""

    customer: str
    licences: tuple[str, ...]
    licences_label: str
    row: tuple[str, ...]


SHAPES: Mapping[str, SummaryShape] = {
    "unlinked": SummaryShape("company", ("total",), "licences not linked",
                             ("company", "subscription", "resource", "total")),
    "linked": SummaryShape("company", ("total",), "licences linked",
                           ("company", "resource", "service", "total", "psa_units")),
    "subscriptions": SummaryShape("company", ("total",), "licences",
                                  ("company", "subscription", "resource", "total", "linked")),
    "adjustments": SummaryShape("marketplace_company", ("change",), "net change",
                                ("marketplace_company", "resource", "units_before", "units_after", "effective_date")),
    "failures": SummaryShape("marketplace_company", ("change",), "units not posted",
                             ("marketplace_company", "resource", "change", "attempts", "last_error")),
    "psa-unlinked": SummaryShape("psa_company", ("units",), "PSA units not linked",
                                 ("psa_company", "contract", "service", "units")),
    "unbilled": SummaryShape("company", ("unlinked_seats", "drifted_seats"), "seats not billed",
                             ("company", "unlinked_seats", "drifted_seats", "amount")),
    "margin": SummaryShape("company", ("seats",), "seats judged",
                           ("company", "resource", "unit_cost", "unit_price", "margin_percent", "status")),
}


@dataclass(frozen=True)
class Cell:
    title: str
    value: Any


@dataclass
class ReportSummary:
    name: str
    title: str
    rows: int
    licences_label: str
    licences: int
    top_rows: list[list[Cell]] = field(default_factory=list)
    customers: int = 0
    top_customers: list[tuple[str, int]] = field(default_factory=list)  # (customer, licences), most first
    totals: list[Cell] = field(default_factory=list)  # the report's own totals row, where it has one
    dates: str | None = None  # a log report's dates, in words ("posted or effective 2026-03-01 to ...")


async def summarise_report(*, session: AsyncSession, name: str, filters: ReportFilters, top: int = TOP_ROWS,
                           top_customers: int = TOP_CUSTOMERS) -> ReportSummary:
    """Raises KeyError for an unknown report and ValueError for a filter the report cannot take."""
    if name not in REPORTS:
        raise KeyError(name)
    shape = SHAPES[name]
    report = await run_report(name, session=session, filters=filters)
    index = {key: i for i, key in enumerate(report.keys)}
    customer_at, licence_at = index[shape.customer], [index[key] for key in shape.licences]
    row_at = [index[key] for key in shape.row]
    summary = ReportSummary(name=name, title=report.title, rows=0, licences_label=shape.licences_label, licences=0,
                            dates=report.date_range.describe() if report.date_range is not None else None)
    per_customer: dict[str, int] = {}
    async for row in report.rows:
        summary.rows += 1
        licences = sum(_whole(row[i]) for i in licence_at)
        summary.licences += licences
        customer = str(row[customer_at] or "(no name)")
        per_customer[customer] = per_customer.get(customer, 0) + licences
        if len(summary.top_rows) < top:
            summary.top_rows.append([Cell(report.columns[i], row[i]) for i in row_at])
    summary.customers = len(per_customer)
    ranked = sorted(per_customer.items(), key=lambda item: (-abs(item[1]), item[0]))
    summary.top_customers = ranked[:top_customers]
    if report.totals is not None:
        summary.totals = _totals(report.columns, report.totals)
    return summary


def _whole(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int | float | Decimal):
        return int(value)
    return 0


def _totals(columns: Sequence[str], totals: Sequence[Any]) -> list[Cell]:
    return [Cell(title, value) for title, value in zip(columns, totals, strict=False)
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool)]
