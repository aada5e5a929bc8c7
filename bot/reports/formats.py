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
from collections.abc import AsyncIterator
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


async def csv_chunks(report: Report) -> AsyncIterator[bytes]:
    """UTF-8 with a byte-order mark (so Excel reads accents right), flushed every 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(title) for title in report.columns])
    async for row in report.rows:
        writer.writerow([_text(value, report.kind_of(i)) for i, value in enumerate(row)])
        if buffer.tell() >= CSV_FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if report.totals is not None:
        writer.writerow([_text(value, report.kind_of(i)) for i, value in enumerate(report.totals)])
    yield buffer.getvalue().encode()


async def write_xlsx(report: Report, path: Path) -> None:
    """Rows go to disk as they come (constant_memory); closing the workbook zips it off the event loop."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
    sheet = workbook.add_worksheet(report.title[:31])
    bold = workbook.add_format({"bold": True})
    formats = {"money": workbook.add_format({"num_format": "#,##0.00"}),
               "money_total": workbook.add_format({"num_format": "#,##0.00", "bold": True})}
    kinds = [report.kind_of(i) for i in range(len(report.columns))]
    for column, title in enumerate(report.columns):
        sheet.write_string(0, column, neutralise(title), bold)
    row_number = 0
    async for row in report.rows:
        row_number += 1
        _write_row(sheet, row_number, row, kinds, formats)
    if report.totals is not None:
        _write_row(sheet, row_number + 1, report.totals, kinds, formats, bold)
    await asyncio.to_thread(workbook.close)


def _write_row(sheet: Any, row_number: int, row: tuple[Any, ...], kinds: list[str], formats: dict[str, Any],
               cell_format: Any = None) -> None:
    for column, value in enumerate(row):
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            if kinds[column] == "money":
                shown = formats["money_total" if cell_format is not None else "money"]
                sheet.write_number(row_number, column, float(money(value)), shown)
                continue
            sheet.write_number(row_number, column, float(value), cell_format)
        else:
            # write_string, never write(): write() would turn "=..." text into a formula
            sheet.write_string(row_number, column, _text(value), cell_format)
