"""Benchmark: a 100,000-row report exported as CSV and XLSX (and its HTML page) through the real code path.

Seeds a temporary SQLite database (migrated like production) with one marketplace resource per row
(2,000 customers, 5 resources a subscription) using bulk INSERTs, then runs the subscriptions report
through `run_report` and `csv_chunks` (the CSV is streamed and dropped, as the web handler writes it
out), `write_xlsx` (constant-memory xlsxwriter, to a temporary file), and `render_report_page` (the
page renders its first 5,000 rows and charts every row). Each format runs `--runs` times untraced for
rows per second, then `--runs` times under tracemalloc for peak traced memory; medians are printed,
one JSON line per format, with the growth of the process's peak RSS over that format (0 when the
format stayed under an earlier high-water mark, such as seeding's) and the peak itself.

Beside CSV and XLSX, the floor in the same run: the report's own SQL (captured as it runs) read with the
standard library's sqlite3 and written by a plain loop (csv.writer's writerows; xlsxwriter's write_string /
write_number per cell), no filtering of formulas, no money rounding. `ratio_to_floor` is SeatSync's rate over
the floor's, which holds on a noisy machine where the rates themselves do not.

    /work/venv/bin/python bench/report_export.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from sqlalchemy import event, insert

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import (
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    SubscriptionStatus,
    Term,
)
from bot.reports.catalogue import run_report
from bot.reports.formats import csv_chunks, write_xlsx
from bot.reports.html import ExportLinks, render_report_page
from bot.reports.report import ReportFilters

REPORT = "subscriptions"
RESOURCES_PER_SUBSCRIPTION = 5
SUBSCRIPTIONS_PER_COMPANY = 10
BATCH = 10_000
LINKS = ExportLinks(filtered_csv="/f.csv", filtered_xlsx="/f.xlsx", all_csv="/a.csv", all_xlsx="/a.xlsx",
                    carries_filter_text=True)


async def seed(sessions, rows: int) -> None:
    subscriptions = -(-rows // RESOURCES_PER_SUBSCRIPTION)
    companies = -(-subscriptions // SUBSCRIPTIONS_PER_COMPANY)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await session.execute(insert(MarketplaceCompany), [
            {"id": c + 1, "marketplace": "ingram", "external_id": f"C-{c:05}",
             "name": f"Customer {c:05} Ltd", "first_seen_at": now, "last_seen_at": now}
            for c in range(companies)])
        await session.execute(insert(MarketplaceSubscription), [
            {"id": s + 1, "company_id": s // SUBSCRIPTIONS_PER_COMPANY + 1, "marketplace": "ingram",
             "external_id": f"S-{s:06}", "name": f"Microsoft 365 Business Premium #{s % 40}", "term": Term.monthly,
             "status": SubscriptionStatus.active, "first_seen_at": now, "last_seen_at": now}
            for s in range(subscriptions)])
        for start in range(0, rows, BATCH):
            await session.execute(insert(MarketplaceResource), [
                {"id": r + 1, "subscription_id": r // RESOURCES_PER_SUBSCRIPTION + 1, "marketplace": "ingram",
                 "external_id": f"R-{r:07}",
                 "name": f"Resource {r % 17}", "unit": "licence", "included": r % 3, "additional": r % 50,
                 "total": r % 3 + r % 50, "unit_price": Decimal("9.50"), "currency": "USD",
                 "first_seen_at": now, "last_seen_at": now}
                for r in range(start, min(start + BATCH, rows))])


async def export(sessions, fmt: str, directory: Path) -> int:
    """Runs one export; returns the bytes produced."""
    async with sessions() as session:
        report = await run_report(REPORT, session=session, filters=ReportFilters())
        if fmt == "csv":
            return sum([len(chunk) async for chunk in csv_chunks(report)])
        if fmt == "xlsx":
            path = directory / "report.xlsx"
            await write_xlsx(report, path)
            return path.stat().st_size
        page = await render_report_page(report, filters=[], links=LINKS, nonce="bench",
                                        generated_at=datetime.now(UTC))
        return len(page.encode())


async def report_sql(engine, sessions) -> tuple[str, tuple]:
    """The SELECT the report runs, with its parameters, as SQLite receives it."""
    seen: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, tuple(parameters)))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with sessions() as session:
            report = await run_report(REPORT, session=session, filters=ReportFilters())
            async for _ in report.rows:
                break
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    return seen[-1]


def floor_export(database: Path, sql: tuple[str, tuple], fmt: str, directory: Path) -> int:
    """The same rows by the plainest loop the standard library and xlsxwriter allow."""
    connection = sqlite3.connect(database)
    try:
        cursor = connection.execute(*sql)
        if fmt == "csv":
            buffer, size = io.StringIO(), 0
            writer = csv.writer(buffer)
            while batch := cursor.fetchmany(1_000):
                writer.writerows(batch)
                if buffer.tell() >= 64 * 1024:
                    size += len(buffer.getvalue().encode())
                    buffer.seek(0)
                    buffer.truncate()
            return size + len(buffer.getvalue().encode())
        path = directory / "floor.xlsx"
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(directory)})
        sheet = workbook.add_worksheet("floor")
        for row_number, row in enumerate(cursor, start=1):
            for column, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(row_number, column, value)
                elif value is not None:
                    sheet.write_number(row_number, column, value)
        workbook.close()
        return path.stat().st_size
    finally:
        connection.close()


async def measure(sessions, fmt: str, rows: int, runs: int, directory: Path, sql: tuple[str, tuple]) -> dict:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, floor_seconds, peaks, size = [], [], [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = await export(sessions, fmt, directory)
        seconds.append(time.perf_counter() - started)
        if fmt in ("csv", "xlsx"):  # interleaved, so both see the same load
            started = time.perf_counter()
            floor_export(directory / "bench.db", sql, fmt, directory)
            floor_seconds.append(time.perf_counter() - started)
    for _ in range(runs):
        tracemalloc.start()
        await export(sessions, fmt, directory)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    wall = statistics.median(seconds)
    floor = {}
    if floor_seconds:
        floor_wall = statistics.median(floor_seconds)
        floor = {"floor_rows_per_second": round(rows / floor_wall), "ratio_to_floor": round(floor_wall / wall, 2)}
    return {
        "format": fmt, "rows": rows, "runs": runs, "median_seconds": round(wall, 2),
        "rows_per_second": round(rows / wall), **floor, "bytes": size,
        "median_peak_traced_mib": round(statistics.median(peaks) / 2**20, 1),
        "peak_rss_growth_mib": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
        "process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


async def main(rows: int, runs: int, formats: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="seatsync-bench-") as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{directory}/bench.db")
        await upgrade(engine)
        sessions = session_factory(engine)
        started = time.perf_counter()
        await seed(sessions, rows)
        print(json.dumps({"seeded_rows": rows, "seconds": round(time.perf_counter() - started, 1)}), flush=True)
        sql = await report_sql(engine, sessions)
        for fmt in formats:
            print(json.dumps(await measure(sessions, fmt, rows, runs, Path(directory), sql)), flush=True)
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="csv,xlsx,html", help="comma-separated: csv, xlsx, html")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.runs, args.formats.split(",")))
    sys.exit(0)
