"""What a report is (title, columns, rows, totals) and the filtering and sorting every report shares.

A report is defined as a SELECT plus named columns; filters and sorting are applied to that SELECT,
so rows always come from one SQL statement and are streamed, never fetched one query per row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.tenant_filter import only_current_tenant

DEFAULT_LOG_DAYS = 30
DIRECTIONS = ("asc", "desc")
STREAM_BATCH = 1_000  # rows fetched at a time; without yield_per the ORM buffers every row before the first


@dataclass(frozen=True)
class Column:
    key: str  # what `sort` names
    title: str  # the header row
    expression: ColumnElement[Any]
    searchable: bool = False  # part of the free-text filter
    kind: str = "text"  # "money": written with two decimals (the report has a Currency column beside it)


@dataclass(frozen=True)
class DateRange:
    """The dates a log report shows: from and to (inclusive), whether it is the default range (no dates asked
    for), and what the dates are of ("posted or effective"), so a page never reads "no filters" over it."""

    date_from: date
    date_to: date
    default: bool
    applies_to: str

    def describe(self) -> str:
        default = f" (the default: the last {DEFAULT_LOG_DAYS} days)" if self.default else ""
        return f"{self.applies_to} {self.date_from.isoformat()} to {self.date_to.isoformat()}{default}"


@dataclass
class Report:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: AsyncIterator[tuple[Any, ...]]
    keys: tuple[str, ...] = ()  # the columns' names for `sort`, in the order of `columns`
    totals: tuple[Any, ...] | None = None
    searchable: tuple[str, ...] = ()  # keys of the columns the free-text filter looks in
    date_range: DateRange | None = None  # a log report's dates (None: not a log)
    kinds: tuple[str, ...] = ()  # each column's kind ("money", "text"), in the order of `columns`
    # how the page recomputes each totals cell over the rows its filter box leaves: "sum", "sum-per:<key>" (a sum
    # only while the visible rows share one value of that column: one unit, one currency), "same" (that one
    # value), "label" (kept as served) or "" (empty)
    total_rules: tuple[str, ...] = ()
    # the same rows as `rows`, a list at a time, where the source can give them so (a report is read once, by
    # one of the two): the exports read batches, so a row costs no await of its own
    batches: AsyncIterator[Sequence[Sequence[Any]]] | None = None

    def kind_of(self, index: int) -> str:
        return self.kinds[index] if index < len(self.kinds) else "text"

    async def all_rows(self) -> list[tuple[Any, ...]]:
        return [row async for row in self.rows]

    def serve(self, rows: list[tuple[Any, ...]]) -> None:
        """From now on the report's rows are these, already read (a report that needed all its rows to total them)."""
        self.rows = replay(rows)
        self.batches = None

    async def row_batches(self) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The rows a list at a time: the source's own batches, else `rows` gathered STREAM_BATCH at a time."""
        if self.batches is not None:
            async for batch in self.batches:
                yield batch
            return
        batch: list[tuple[Any, ...]] = []
        async for row in self.rows:
            batch.append(row)
            if len(batch) >= STREAM_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


async def replay(rows: list[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    for row in rows:
        yield row


@dataclass(frozen=True)
class ReportFilters:
    """The filters a report understands; `None` means not filtered."""

    date_from: date | None = None
    date_to: date | None = None
    marketplace: str | None = None  # a marketplace's key: only its rows
    company: str | None = None
    subscription: str | None = None
    resource: str | None = None
    status: str | None = None
    text: str | None = None
    sort: str | None = None
    direction: str = "asc"
    month: str | None = None  # YYYY-MM: the invoice-check report's month
    today: date | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReportDefinition:
    """How one report reads: its SELECT, columns, and which expressions each filter matches."""

    name: str
    title: str
    statement: Select[Any]
    columns: Sequence[Column]
    marketplace: Sequence[ColumnElement[Any]] = ()  # the source's key, matched exactly
    company: Sequence[ColumnElement[Any]] = ()
    subscription: Sequence[ColumnElement[Any]] = ()
    resource: Sequence[ColumnElement[Any]] = ()
    statuses: dict[str, ColumnElement[bool]] = field(default_factory=dict)
    logged_at: ColumnElement[Any] | None = None  # the date a log report's range applies to
    effective_on: ColumnElement[Any] | None = None  # and a second date in it that also counts (a change's effect)
    logged_as: str = "logged"  # what `logged_at` is, in words: "posted", "recorded"
    tiebreak: Sequence[ColumnElement[Any]] = ()

    @property
    def dates_described(self) -> str:
        return f"{self.logged_as} or effective" if self.effective_on is not None else self.logged_as


def matching(value: str, expressions: Sequence[ColumnElement[Any]]) -> ColumnElement[bool]:
    """A name contains the value (case-insensitive, wildcards escaped), or an id equals it."""
    return or_(*(expression.icontains(value, autoescape=True) for expression in expressions))


def filtered_statement(definition: ReportDefinition, filters: ReportFilters) -> Select[Any]:
    statement = definition.statement.with_only_columns(
        *(c.expression.label(c.key) for c in definition.columns), maintain_column_froms=True
    )
    if filters.marketplace is not None:
        if not definition.marketplace:
            raise ValueError(f"the {definition.name} report cannot be filtered by marketplace")
        statement = statement.where(or_(*(e == filters.marketplace for e in definition.marketplace)))
    for name in ("company", "subscription", "resource"):
        value = getattr(filters, name)
        if value is None:
            continue
        expressions = getattr(definition, name)
        if not expressions:
            raise ValueError(f"the {definition.name} report cannot be filtered by {name}")
        statement = statement.where(matching(value, expressions))
    if filters.status is not None:
        if filters.status not in definition.statuses:
            known = ", ".join(definition.statuses) or "none"
            raise ValueError(f"unknown status {filters.status!r} for the {definition.name} report (known: {known})")
        statement = statement.where(definition.statuses[filters.status])
    if filters.text:
        searchable = [c.expression for c in definition.columns if c.searchable]
        statement = statement.where(matching(filters.text, searchable))
    statement = _date_range(definition, filters, statement)
    return statement.order_by(*_ordering(definition, filters))


def date_range(definition: ReportDefinition, filters: ReportFilters) -> DateRange | None:
    """The dates a log report covers: as asked, else the last DEFAULT_LOG_DAYS days to the caller's today."""
    if definition.logged_at is None:
        if filters.date_from is not None or filters.date_to is not None:
            raise ValueError(f"the {definition.name} report is not a log and has no date range")
        return None
    if filters.date_to is None and filters.today is None:
        # the default range ends on the caller's clock's today; never the machine's (bot/clock.py)
        raise RuntimeError(f"the {definition.name} report's default date range needs ReportFilters.today")
    date_to = filters.date_to or filters.today
    date_from = filters.date_from or date_to - timedelta(days=DEFAULT_LOG_DAYS)
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    return DateRange(date_from, date_to, default=filters.date_from is None and filters.date_to is None,
                     applies_to=definition.dates_described)


def _date_range(definition: ReportDefinition, filters: ReportFilters, statement: Select[Any]) -> Select[Any]:
    """A row is in the range when it was logged in it or, for a change, takes effect in it: a decrease posted on
    the 27th for the 1st belongs to both months."""
    dates = date_range(definition, filters)
    if dates is None or definition.logged_at is None:
        return statement
    start = datetime.combine(dates.date_from, time.min, UTC)
    end = datetime.combine(dates.date_to + timedelta(days=1), time.min, UTC)
    logged = and_(definition.logged_at >= start, definition.logged_at < end)
    if definition.effective_on is None:
        return statement.where(logged)
    effective = and_(definition.effective_on >= dates.date_from, definition.effective_on <= dates.date_to)
    return statement.where(or_(logged, effective))


def _ordering(definition: ReportDefinition, filters: ReportFilters) -> list[Any]:
    if filters.direction not in DIRECTIONS:
        raise ValueError(f"unknown sort direction {filters.direction!r} (use asc or desc)")
    ordering: list[Any] = []
    if filters.sort is not None:
        by_key = {c.key: c.expression for c in definition.columns}
        if filters.sort not in by_key:
            raise ValueError(
                f"unknown sort column {filters.sort!r} for the {definition.name} report "
                f"(columns: {', '.join(by_key)})"
            )
        expression = by_key[filters.sort]
        ordering.append(expression.desc() if filters.direction == "desc" else expression.asc())
    return [*ordering, *definition.tiebreak]


async def run_definition(session: AsyncSession, definition: ReportDefinition, filters: ReportFilters) -> Report:
    # Core, not the ORM: the rows are plain columns, and the ORM's per-row loading is a third of an export; the
    # session's tenant criteria are added by hand, as the ORM would (bot.db.tenant_filter)
    statement = only_current_tenant(filtered_statement(definition, filters), session)
    connection = await session.connection()
    result = await connection.stream(statement.execution_options(yield_per=STREAM_BATCH))

    async def batches() -> AsyncIterator[Sequence[Sequence[Any]]]:
        async for partition in result.partitions():  # yield_per's size: one await per STREAM_BATCH rows
            yield partition

    shared = batches()

    async def rows() -> AsyncIterator[tuple[Any, ...]]:
        async for batch in shared:
            for row in batch:
                yield tuple(row)

    return Report(name=definition.name, title=definition.title,
                  columns=tuple(c.title for c in definition.columns), rows=rows(), batches=shared,
                  keys=tuple(c.key for c in definition.columns),
                  searchable=tuple(c.key for c in definition.columns if c.searchable),
                  date_range=date_range(definition, filters), kinds=tuple(c.kind for c in definition.columns))
