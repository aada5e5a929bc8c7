"""`seatsync report NAME [--format csv|xlsx|html] [--filter KEY=VALUE ...] [--link]`.

Writes the report to standard output (CSV as text, XLSX as bytes, HTML as the same page the web
service serves, its export links signed and rooted at SEATSYNC_PUBLIC_URL), or with `--link` prints its
signed URL: the same link Slack gets, valid for `report_link_days`.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from bot.config import Settings
from bot.db.app_settings import load_app_settings
from bot.db.engine import session_factory
from bot.db.migrate import open_existing
from bot.reports.catalogue import REPORTS, parse_filters, run_report
from bot.reports.formats import csv_chunks, write_xlsx
from bot.reports.html import ExportLinks, render_report_page
from bot.reports.links import FORMATS, report_url

COPY_CHUNK = 64 * 1024


class ReportUsageError(Exception):
    """The command line asks for something that cannot be given; the message is the one line to print."""


@dataclass(frozen=True)
class ReportRequest:
    name: str
    fmt: str
    pairs: list[tuple[str, str]]
    link: bool


def report_request(name: str, fmt: str, filter_args: Sequence[str], *, link: bool) -> ReportRequest:
    """Check the name, format and `KEY=VALUE` filters before touching the database."""
    if name not in REPORTS:
        raise ReportUsageError(f"there is no report called {name!r} (reports: {', '.join(REPORTS)})")
    if fmt not in FORMATS:
        raise ReportUsageError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    pairs: list[tuple[str, str]] = []
    for argument in filter_args:
        key, equals, value = argument.partition("=")
        if not equals or not key.strip():
            raise ReportUsageError(f"--filter {argument!r} must look like KEY=VALUE (for example company=Acme)")
        pairs.append((key.strip(), value))
    try:
        parse_filters(pairs)
    except ValueError as exc:
        raise ReportUsageError(str(exc)) from None
    return ReportRequest(name=name, fmt=fmt, pairs=pairs, link=link)


async def write_report(request: ReportRequest, *, settings: Settings, out: BinaryIO, now: datetime) -> None:
    """Write the report (or its link) to `out` as of `now` (the clock's); a filter the report cannot take is a
    ReportUsageError."""
    if request.fmt == "xlsx" and not request.link and out.isatty():
        raise ReportUsageError("XLSX is binary and stdout is a terminal: redirect it to a file "
                               f"(seatsync report {request.name} --format xlsx > {request.name}.xlsx)")
    filters = parse_filters(request.pairs, today=now.date())
    db = await open_existing(settings.database_url)
    try:
        if (request.link or request.fmt == "html") and not settings.secret_key:
            raise ReportUsageError("a link (and the HTML page's export links) is signed with SEATSYNC_SECRET_KEY, "
                                   f"which is not set and not stored in {settings.data_dir / 'secret.key'}; set it, "
                                   "or run `seatsync serve` once to generate one")
        async with session_factory(db)() as session:
            try:
                report = await run_report(request.name, session=session, filters=filters)
            except ValueError as exc:
                raise ReportUsageError(str(exc)) from None
            ttl = timedelta(days=(await load_app_settings(session=session)).report_link_days)

            def url(fmt: str, pairs: list[tuple[str, str]]) -> str:
                return report_url(public_url=settings.public_url, secret_key=settings.secret_key,
                                  name=request.name, fmt=fmt, now=now, ttl=ttl, filters=dict(pairs))

            if request.link:  # the report ran, so the link's filters are known to work
                out.write(url(request.fmt, request.pairs).encode() + b"\n")
            elif request.fmt == "html":
                links = ExportLinks(filtered_csv=url("csv", request.pairs), filtered_xlsx=url("xlsx", request.pairs),
                                    all_csv=url("csv", []), all_xlsx=url("xlsx", []),
                                    carries_filter_text=not any(key == "text" for key, _ in request.pairs))
                page = await render_report_page(report, filters=request.pairs, links=links,
                                                nonce=secrets.token_urlsafe(16), generated_at=now)
                out.write(page.encode())
            elif request.fmt == "csv":
                async for chunk in csv_chunks(report):
                    out.write(chunk)
            else:
                with tempfile.TemporaryDirectory(prefix="seatsync-report-") as directory:
                    path = Path(directory) / "report.xlsx"
                    await write_xlsx(report, path)
                    with path.open("rb") as file:
                        while chunk := file.read(COPY_CHUNK):
                            out.write(chunk)
            out.flush()
    finally:
        await db.dispose()
