"""Report files: CSV streamed row by row and XLSX written in xlsxwriter's constant-memory mode.

Formula injection: a spreadsheet treats a cell whose text starts with ``=``, ``+``, ``-`` or ``@``
(and, in some programs, a tab or carriage return) as a formula, so a company named
``=HYPERLINK("http://x")`` could run when the file is opened. Following OWASP's advice
(https://owasp.org/www-community/attacks/CSV_Injection), every *text* cell starting with one of those
characters gets a leading ``'``, in CSV and XLSX alike. Numbers are written as numbers and left alone,
so a change of -3 stays a number.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import xlsxwriter

from bot.reports.report import Report

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CSV_FLUSH_BYTES = 64 * 1024
CSV_ROWS_BETWEEN_FLUSHES = 50  # a chunk is at most 64 KiB plus 50 rows, however large a batch


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def content_disposition(report: Report, extension: str, today: date) -> str:
    # the report name comes from the catalogue of reports, never from the URL, so it is safe as a filename
    return f'attachment; filename="seatsync-{report.name}-{today.isoformat()}.{extension}"'


MONEY_STEP = Decimal("0.01")


def money(value: Any) -> Decimal:
    """An amount as reports show it: two decimals, half up (the PSA bills cents)."""
    return Decimal(str(value)).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


def _text(value: Any, kind: str = "text") -> str:
    if kind == "money" and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(money(value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return neutralise(str(value.value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return neutralise(str(value))


# values csv.writer already writes as _text would (None as "", numbers as str()); exact types, so bool is not one
_CSV_AS_IS = frozenset({type(None), int, float, Decimal})


def _csv_column(values: Sequence[Any], kind: str) -> list[Any]:
    """One column of a batch made CSV-ready. Column by column, so the common cells (text, numbers) cost a
    comprehension step, not a call: the exports' speed is this loop."""
    if kind == "money":
        return [_text(value, kind) for value in values]
    return [value if value.__class__ in _CSV_AS_IS
            else (("'" + value if value.startswith(FORMULA_PREFIXES) else value) if value.__class__ is str
                  else _text(value))
            for value in values]


async def csv_chunks(report: Report) -> AsyncIterator[bytes]:
    """UTF-8 with a byte-order mark (so Excel reads accents right), flushed every 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(title) for title in report.columns])
    kinds = [report.kind_of(i) for i in range(len(report.columns))]
    async for batch in report.row_batches():
        columns = zip(*batch, strict=True)
        cells = (_csv_column(values, kind) for values, kind in zip(columns, kinds, strict=True))
        rows = list(zip(*cells, strict=True))
        for start in range(0, len(rows), CSV_ROWS_BETWEEN_FLUSHES):
            writer.writerows(rows[start:start + CSV_ROWS_BETWEEN_FLUSHES])
            if buffer.tell() >= CSV_FLUSH_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    if report.totals is not None:
        writer.writerow([_text(value, report.kind_of(i)) for i, value in enumerate(report.totals)])
    yield buffer.getvalue().encode()


async def write_xlsx(report: Report, path: Path) -> None:
    """Rows go to disk as they come (constant_memory), a batch at a time in a worker thread, so a long export
    leaves the event loop free between batches; closing the workbook zips it, off the loop too."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
    sheet = workbook.add_worksheet(report.title[:31])
    bold = workbook.add_format({"bold": True})
    money_format = workbook.add_format({"num_format": "#,##0.00"})
    kinds = [report.kind_of(i) for i in range(len(report.columns))]
    for column, title in enumerate(report.columns):
        sheet.write_string(0, column, neutralise(title), bold)
    row_number = 1
    async for batch in report.row_batches():
        await asyncio.to_thread(_write_rows, sheet, row_number, batch, kinds, money_format)
        row_number += len(batch)
    if report.totals is not None:
        money_total = workbook.add_format({"num_format": "#,##0.00", "bold": True})
        _write_rows(sheet, row_number, [report.totals], kinds, money_total, bold)
    await asyncio.to_thread(workbook.close)


def _xlsx_column(values: Sequence[Any], kind: str) -> list[Any]:
    """One column of a batch as cells: numbers as floats (money rounded to cents), anything else as neutralised
    text (None as an empty string, as before)."""
    if kind == "money":
        return [float(money(value)) if value.__class__ in _NUMBERS else _text(value) for value in values]
    return [float(value) if value.__class__ in _NUMBERS
            else (("'" + value if value.startswith(FORMULA_PREFIXES) else value) if value.__class__ is str
                  else _text(value))
            for value in values]


_NUMBERS = frozenset({int, float, Decimal})  # exact types: a bool is written as yes/no text


def _write_rows(sheet: Any, first_row: int, batch: Sequence[Sequence[Any]], kinds: list[str], money_format: Any,
                cell_format: Any = None) -> None:
    columns = zip(*batch, strict=True)
    cells = zip(*(_xlsx_column(values, kind) for values, kind in zip(columns, kinds, strict=True)), strict=True)
    number_formats = [money_format if kind == "money" else cell_format for kind in kinds]
    write_string, write_number = sheet.write_string, sheet.write_number
    for row_number, row in enumerate(cells, start=first_row):
        for column, value in enumerate(row):
            if value.__class__ is str:
                # write_string, never write(): write() would turn "=..." text into a formula
                write_string(row_number, column, value, cell_format)
            else:
                write_number(row_number, column, value, number_formats[column])
