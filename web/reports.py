"""GET /reports/{name}.{csv|xlsx}: a report file, for signed links only.

The signature is checked before anything else; the report name is looked up in the catalogue of
reports (never used as a path), and XLSX files are built in a fresh temporary directory.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.reports.catalogue import REPORTS, parse_filters, run_report
from bot.reports.formats import CONTENT_TYPES, content_disposition, csv_chunks, write_xlsx
from bot.reports.signing import LinkError, report_link_key, verify
from web.context import CONTEXT

ROUTE = "/reports/{name:[a-z-]+}.{extension:csv|xlsx}"
FILE_CHUNK = 64 * 1024


async def report_file(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    now = datetime.now(UTC)
    try:
        pairs = verify(request.path, request.query, key=report_link_key(context.settings.secret_key), now=now)
    except LinkError as exc:
        raise web.HTTPForbidden(text=f"403 Forbidden: {exc}\n") from None
    name, extension = request.match_info["name"], request.match_info["extension"]
    if name not in REPORTS:
        raise web.HTTPNotFound(text=f"404 Not Found: there is no report called {name!r}\n")
    try:
        filters = parse_filters(pairs, today=now.date())
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"400 Bad Request: {exc}\n") from None
    async with context.sessions() as session:
        try:
            report = await run_report(name, session=session, filters=filters)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"400 Bad Request: {exc}\n") from None
        response = web.StreamResponse(headers={
            "Content-Type": CONTENT_TYPES[extension],
            "Content-Disposition": content_disposition(report, extension, now.date()),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        })
        if extension == "csv":
            await response.prepare(request)
            async for chunk in csv_chunks(report):
                await response.write(chunk)
        else:
            with tempfile.TemporaryDirectory(prefix="seatsync-report-") as directory:
                path = Path(directory) / "report.xlsx"
                await write_xlsx(report, path)
                response.content_length = path.stat().st_size
                await response.prepare(request)
                with path.open("rb") as file:
                    while chunk := file.read(FILE_CHUNK):
                        await response.write(chunk)
    await response.write_eof()
    return response
