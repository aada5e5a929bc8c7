import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from bot.reports.formats import content_disposition, csv_chunks, neutralise, write_xlsx
from bot.reports.report import Report
from tests.reports.xlsx_reading import read_sheet

INJECTION = '=HYPERLINK("http://x")'


async def _rows(rows):
    for row in rows:
        yield row


def report(rows, totals=None):
    return Report(name="unbilled", title="Unbilled seats per customer", columns=("Company", "Seats", "Amount"),
                  rows=_rows(rows), totals=totals)


@pytest.mark.parametrize("text", [INJECTION, "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_text_starting_like_a_formula_is_neutralised(text):
    assert neutralise(text) == "'" + text


def test_ordinary_text_is_left_alone():
    assert neutralise("Acme Mfg. Inc.") == "Acme Mfg. Inc." and neutralise("") == ""


async def test_csv_is_neutralised_keeps_numbers_and_ends_with_totals():
    body = b"".join([chunk async for chunk in csv_chunks(report(
        [(INJECTION, -3, Decimal("16.00")), ("Acme", 4, None)], totals=("Total", 1, Decimal("16.00"))))])
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["Company", "Seats", "Amount"], ["'" + INJECTION, "-3", "16.00"], ["Acme", "4", ""],
                    ["Total", "1", "16.00"]]


async def test_csv_streams_in_chunks_of_bounded_size():
    many = [(f"Company {n}", n, Decimal(n)) for n in range(20_000)]
    chunks = [chunk async for chunk in csv_chunks(report(many))]
    assert len(chunks) > 3 and max(len(c) for c in chunks) < 70 * 1024


async def test_xlsx_is_neutralised_and_holds_no_formula(tmp_path):
    path = tmp_path / "report.xlsx"
    await write_xlsx(report([(INJECTION, 2, Decimal("16.00")), ("Acme", -3, None)], totals=("Total", -1, None)),
                     path)
    rows, formulas = read_sheet(path)
    assert formulas == []
    assert rows == [["Company", "Seats", "Amount"], ["'" + INJECTION, "2", "16"], ["Acme", "-3", ""],
                    ["Total", "-1", ""]]


def test_content_disposition_names_the_report_and_day():
    assert content_disposition(report([]), "csv", date(2026, 3, 10)) == (
        'attachment; filename="seatsync-unbilled-2026-03-10.csv"')
