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
from bot.reports.words import SEATS

TOP_ROWS = 10
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class SummaryShape:
    """Which of a report's columns name the customer, count its licences, and make a row's one-line view."""

    customer: str
    licences: tuple[str, ...]
    licences_label: str
    row: tuple[str, ...]
    seats_only: bool = True  # count only rows in seats (their "unit" column): a count never adds seats and GB


SHAPES: Mapping[str, SummaryShape] = {
    "unlinked": SummaryShape("company", ("total",), "seats not linked",
                             ("company", "subscription", "resource", "total", "unit")),
    "linked": SummaryShape("company", ("total",), "seats linked",
                           ("company", "resource", "service", "total", "psa_units", "unit")),
    "subscriptions": SummaryShape("company", ("total",), "seats",
                                  ("company", "subscription", "resource", "total", "unit", "linked")),
    "adjustments": SummaryShape("marketplace_company", ("change",), "seats, net change",
                                ("marketplace_company", "resource", "units_before", "units_after", "unit",
                                 "effective_date")),
    "failures": SummaryShape("marketplace_company", ("change",), "seats not posted",
                             ("marketplace_company", "resource", "change", "unit", "attempts", "last_error")),
    "psa-unlinked": SummaryShape("psa_company", ("units",), "PSA units not linked",
                                 ("psa_company", "contract", "service", "units"), seats_only=False),
    "unbilled": SummaryShape("company", ("unlinked", "drifted"), "seats not billed",
                             ("company", "unit", "unlinked", "drifted", "amount", "currency")),
    "margin": SummaryShape("company", ("seats",), "seats judged",
                           ("company", "resource", "unit_cost", "unit_price", "margin_percent", "status"),
                           seats_only=False),
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
    totals_unit: str | None = None  # what the totals' quantities count ("seats"), when they share one unit


async def summarise_report(*, session: AsyncSession, name: str, filters: ReportFilters, top: int = TOP_ROWS,
                           top_customers: int = TOP_CUSTOMERS) -> ReportSummary:
    """Raises KeyError for an unknown report and ValueError for a filter the report cannot take."""
    if name not in REPORTS:
        raise KeyError(name)
    shape = SHAPES[name]
    report = await run_report(name, session=session, filters=filters)
    index = {key: i for i, key in enumerate(report.keys)}
    customer_at, licence_at = index[shape.customer], [index[key] for key in shape.licences]
    unit_at = index["unit"] if shape.seats_only else None
    row_at = [index[key] for key in shape.row]
    summary = ReportSummary(name=name, title=report.title, rows=0, licences_label=shape.licences_label, licences=0,
                            dates=report.date_range.describe() if report.date_range is not None else None)
    per_customer: dict[str, int] = {}
    async for row in report.rows:
        summary.rows += 1
        in_seats = unit_at is None or row[unit_at] == SEATS
        licences = sum(_whole(row[i]) for i in licence_at) if in_seats else 0
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
        unit = report.totals[index["unit"]] if "unit" in index else None
        summary.totals_unit = unit if isinstance(unit, str) and unit else None
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
