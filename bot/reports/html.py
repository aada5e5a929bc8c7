"""The HTML page of a report: the table (client-side sort and filter), totals, SVG charts and export links.

The page is rendered with jinja2, autoescaping on, from templates shipped in the package; its script
and style are inline and carry the response's CSP nonce, so the page needs nothing from elsewhere.
At most `ROW_LIMIT` rows go into the table (the page says so and links to the full CSV); the charts
and the row count still see every row, which streams past once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from bot.reports.charts import bar_chart, pie_chart
from bot.reports.formats import money
from bot.reports.report import Report
from bot.reports.words import SEATS
from bot.wording import counted

ROW_LIMIT = 5_000
FILTER_TEXT_PARAM = "q"  # the filter box's text, added unsigned to the "export filtered" links


@dataclass(frozen=True)
class ChartSpec:
    kind: Literal["pie", "bar"]
    title: str
    label: str  # key of the column naming each slice or bar
    values: tuple[str, ...] = ()  # keys of the columns summed per label; none: the rows are counted
    seats_only: bool = False  # sum only rows counted in seats (their "unit" column): never seats + GB
    split_only: bool = False  # drawn only when the rows have several labels (the split by source, when the
                              # rows come from several marketplaces)


def _pie(title: str, label: str, *values: str, seats_only: bool = False) -> ChartSpec:
    return ChartSpec("pie", title, label, values, seats_only)


def _bar(title: str, label: str, *values: str, seats_only: bool = False) -> ChartSpec:
    return ChartSpec("bar", title, label, values, seats_only)


def _by_source(kind: Literal["pie", "bar"], title: str, *values: str, seats_only: bool = False) -> ChartSpec:
    return ChartSpec(kind, title, "source", values, seats_only, split_only=True)


CHARTS: dict[str, tuple[ChartSpec, ...]] = {
    "subscriptions": (_pie("Seats per customer", "company", "total", seats_only=True),
                      _bar("Resources by company", "company"),
                      _bar("Resources by subscription", "subscription"),
                      _by_source("pie", "Seats by source", "total", seats_only=True)),
    "linked": (_pie("Linked seats per customer", "company", "total", seats_only=True),
               _bar("Linked resources by company", "company"),
               _bar("Linked resources by subscription", "subscription"),
               _by_source("pie", "Linked seats by source", "total", seats_only=True)),
    "unlinked": (_pie("Unlinked seats per customer", "company", "total", seats_only=True),
                 _bar("Unlinked resources by company", "company"),
                 _bar("Unlinked resources by subscription", "subscription"),
                 _by_source("pie", "Unlinked seats by source", "total", seats_only=True)),
    "unbilled": (_pie("Unbilled amount per customer", "company", "amount"),
                 _bar("Unbilled seats by company", "company", "unlinked", "drifted", seats_only=True)),
    "adjustments": (_bar("Adjustments by company", "marketplace_company"),
                    _bar("Adjustments by subscription", "subscription"),
                    _by_source("bar", "Adjustments by source")),
    "failures": (_bar("Failures by company", "marketplace_company"),
                 _bar("Failures by subscription", "subscription"),
                 _by_source("bar", "Failures by source")),
    "psa-unlinked": (_bar("Services not linked by PSA company", "psa_company"),
                     _bar("Services not linked by contract", "contract")),
    "margin": (_bar("Links by margin status", "status"),),
    "invoice-check": (_bar("Leakage by customer", "company", "leakage"),
                      _bar("Leakage by product", "product", "leakage"),
                      _pie("Findings by kind", "finding")),
}


@dataclass(frozen=True)
class ExportLinks:
    """Signed URLs of the same report as files: with the page's own filters, and with none."""

    filtered_csv: str
    filtered_xlsx: str
    all_csv: str
    all_xlsx: str
    carries_filter_text: bool  # the filter box's text rides on the filtered links as `q`


@dataclass(frozen=True)
class Cell:
    text: str
    number: str | None = None  # set for numeric cells: what the page sorts them by


@dataclass(frozen=True)
class HeaderCell:
    key: str
    title: str
    searchable: bool
    kind: str = "text"


@dataclass(frozen=True)
class TotalCell:
    text: str
    number: str | None
    rule: str  # Report.total_rules: how the page recomputes it when the filter box hides rows


def cell(value: Any, kind: str = "text") -> Cell:
    if kind == "money" and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Cell(f"{money(value):,}", str(value))
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell("yes" if value else "no")
    if isinstance(value, int | float | Decimal):
        return Cell(str(value), str(value))
    if isinstance(value, Enum):
        return Cell(str(value.value))
    if isinstance(value, datetime):
        return Cell(value.isoformat(sep=" ", timespec="minutes"))
    if isinstance(value, date):
        return Cell(value.isoformat())
    return Cell(str(value))


class ChartTally:
    """Sums (or counts) one chart's values per label as rows stream past."""

    def __init__(self, spec: ChartSpec, keys: Sequence[str]) -> None:
        self.spec = spec
        self.label_index = keys.index(spec.label)
        self.value_indexes = [keys.index(key) for key in spec.values]
        self.unit_index = keys.index("unit") if spec.seats_only else None
        self.totals: dict[str, Decimal] = {}

    def add(self, row: tuple[Any, ...]) -> None:
        if self.unit_index is not None and row[self.unit_index] != SEATS:
            return
        label = cell(row[self.label_index]).text or "(none)"
        if self.value_indexes:
            amount = sum((Decimal(str(row[i] or 0)) for i in self.value_indexes), Decimal(0))
        else:
            amount = Decimal(1)
        self.totals[label] = self.totals.get(label, Decimal(0)) + amount

    @property
    def shown(self) -> bool:
        return not self.spec.split_only or len(self.totals) > 1

    def chart(self) -> Markup:
        draw = pie_chart if self.spec.kind == "pie" else bar_chart
        return draw(self.totals.items(), title=self.spec.title)


@cache
def templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.reports", "templates"),
        autoescape=True,  # every template, whatever its name: company names are user data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["counted"] = counted
    return environment


async def render_report_page(report: Report, *, filters: Sequence[tuple[str, str]], links: ExportLinks,
                             nonce: str, generated_at: datetime, row_limit: int = ROW_LIMIT) -> str:
    """The whole page as text; `filters` are the page's own (signed) parameters, shown as they are."""
    tallies = [ChartTally(spec, report.keys) for spec in CHARTS.get(report.name, ())]
    rows: list[list[Cell]] = []
    total = 0
    async for row in report.rows:
        total += 1
        if len(rows) < row_limit:
            rows.append([cell(value, report.kind_of(i)) for i, value in enumerate(row)])
        for tally in tallies:
            tally.add(row)
    searchable = set(report.searchable)
    headers = [HeaderCell(key, title, key in searchable, report.kind_of(i))
               for i, (key, title) in enumerate(zip(report.keys, report.columns, strict=True))]
    return templates().get_template("report.html").render(
        title=report.title,
        headers=headers,
        searchable_titles=[h.title for h in headers if h.searchable],
        rows=rows,
        totals=_totals(report),
        total=total,
        capped=total > len(rows),
        filters=list(filters),
        date_range=report.date_range.describe() if report.date_range is not None else None,
        links=links,
        charts=[tally.chart() for tally in tallies if tally.shown],
        filter_param=FILTER_TEXT_PARAM,
        nonce=nonce,
        generated_at=f"{generated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
    )


def _totals(report: Report) -> list[TotalCell] | None:
    if report.totals is None:
        return None
    cells = []
    for index, value in enumerate(report.totals):
        shown = cell(value, report.kind_of(index))
        rule = report.total_rules[index] if index < len(report.total_rules) else "label"
        if rule.startswith("sum-per:"):
            rule = f"sum-per:{report.keys.index(rule.removeprefix('sum-per:'))}"
        cells.append(TotalCell(shown.text, shown.number, rule))
    return cells


def render_error_page(*, status: int, reason: str, message: str, nonce: str) -> str:
    return templates().get_template("error.html").render(status=status, reason=reason, message=message, nonce=nonce)
