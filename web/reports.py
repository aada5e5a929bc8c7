"""GET /reports/{name}.{csv|xlsx|html}: a report as a file or a page, for signed links only.

The signature is checked before anything else; the report name is looked up in the catalogue of
reports (never used as a path), and XLSX files are built in a fresh temporary directory.

One parameter rides outside the signature: `q` on a CSV or XLSX link, the text a report page's filter
box adds to its "export filtered" links. It becomes the free-text filter, so it can only narrow what
the signed link already grants, and it is refused on a link that already filters by text.

The HTML page gets fresh signed export links that expire with the page's own link (or sooner, if the
link lifetime setting has been shortened since), a Content-Security-Policy allowing only its own
inline script and style (by nonce), and an HTML 403/404/400 page that says why.
"""

from __future__ import annotations

import secrets
import tempfile
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

from aiohttp import web

from bot.db.app_settings import load_app_settings
from bot.db.tenancy import tenant_scope
from bot.reports.catalogue import REPORTS, parse_filters, run_report
from bot.reports.formats import CONTENT_TYPES, content_disposition, csv_chunks, write_xlsx
from bot.reports.html import FILTER_TEXT_PARAM, ExportLinks, render_error_page, render_report_page
from bot.reports.links import link_tenant, report_path, with_tenant
from bot.reports.signing import LinkError, report_link_key, sign_url, verify
from web import CONTEXT

ROUTE = "/reports/{name:[a-z-]+}.{extension:csv|xlsx|html}"
FILE_CHUNK = 64 * 1024
FILTER_TEXT_MAX = 200


async def report_file(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    now = context.clock()
    name, extension = request.match_info["name"], request.match_info["extension"]
    query, filter_texts = _split_filter_text(request, extension)
    key = report_link_key(context.settings.secret_key)
    try:
        pairs = verify(request.path, query, key=key, now=now)
    except LinkError as exc:
        raise _refusal(web.HTTPForbidden, str(exc), extension) from None
    if name not in REPORTS:
        raise _refusal(web.HTTPNotFound, f"there is no report called {name!r}", extension)
    try:
        tenant_id, pairs = link_tenant(pairs)
    except ValueError as exc:
        raise _refusal(web.HTTPBadRequest, str(exc), extension) from None
    with tenant_scope(tenant_id):
        return await _report_response(request, name=name, extension=extension, pairs=pairs,
                                      filter_texts=filter_texts, key=key, now=now, tenant_id=tenant_id)


async def _report_response(request: web.Request, *, name: str, extension: str, pairs: list[tuple[str, str]],
                           filter_texts: list[str], key: bytes, now: datetime, tenant_id: int) -> web.StreamResponse:
    context = request.app[CONTEXT]
    try:
        filters = parse_filters(_with_filter_text(pairs, filter_texts), today=now.date())
    except ValueError as exc:
        raise _refusal(web.HTTPBadRequest, str(exc), extension) from None
    async with context.sessions() as session:
        if extension == "html":
            settings = await load_app_settings(session=session)
        try:
            report = await run_report(name, session=session, filters=filters)
        except ValueError as exc:
            raise _refusal(web.HTTPBadRequest, str(exc), extension) from None
        if extension == "html":
            # the last `expires`, as verify() reads it: a repeated one cannot stretch the export links
            signed_expiry = datetime.fromtimestamp(int(request.query.getall("expires")[-1]), UTC)
            expires = min(signed_expiry, now + timedelta(days=settings.report_link_days))
            links = _export_links(name, with_tenant(pairs, tenant_id), key=key, now=now, ttl=expires - now)
            nonce = secrets.token_urlsafe(16)
            page = await render_report_page(report, filters=pairs, links=links, nonce=nonce, generated_at=now)
            return web.Response(text=page, content_type="text/html", charset="utf-8",
                                headers=_page_headers(nonce))
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


def _split_filter_text(request: web.Request, extension: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The query to verify, and the unsigned filter-box texts (files only: on a page `q` reads as tampering)."""
    pairs = list(request.query.items())
    if extension == "html":
        return pairs, []
    return ([(key, value) for key, value in pairs if key != FILTER_TEXT_PARAM],
            [value for key, value in pairs if key == FILTER_TEXT_PARAM])


def _with_filter_text(pairs: list[tuple[str, str]], texts: list[str]) -> list[tuple[str, str]]:
    if len(texts) > 1:
        raise ValueError(f"filter {FILTER_TEXT_PARAM!r} given twice")
    text = texts[0].strip() if texts else ""
    if not text:
        return pairs
    if len(text) > FILTER_TEXT_MAX:
        raise ValueError(f"the filter text is longer than {FILTER_TEXT_MAX} characters")
    if any(unicodedata.category(character) == "Cc" for character in text):  # PostgreSQL refuses a NUL outright
        raise ValueError("the filter text cannot contain a control character")
    if any(key == "text" for key, _ in pairs):
        raise ValueError(f"this link already filters by text; {FILTER_TEXT_PARAM!r} cannot be added to it")
    return [*pairs, ("text", text)]


def _export_links(name: str, pairs: Sequence[tuple[str, str]], *, key: bytes, now: datetime,
                  ttl: timedelta) -> ExportLinks:
    def signed(extension: str, params: Sequence[tuple[str, str]]) -> str:
        return sign_url(report_path(name, extension), params, key=key, now=now, ttl=ttl)

    return ExportLinks(
        filtered_csv=signed("csv", pairs), filtered_xlsx=signed("xlsx", pairs),
        all_csv=signed("csv", []), all_xlsx=signed("xlsx", []),
        carries_filter_text=not any(k == "text" for k, _ in pairs),
    )


def _page_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # the page's URL carries its signature
        "Cache-Control": "no-store",
    }


def _refusal(status: type[web.HTTPException], message: str, extension: str) -> web.HTTPException:
    """A 4xx saying why: a short HTML page for the HTML route, one line of text for files."""
    if extension != "html":
        return status(text=f"{status.status_code} {_reason(status)}: {message}\n")
    nonce = secrets.token_urlsafe(16)
    page = render_error_page(status=status.status_code, reason=_reason(status), message=message, nonce=nonce)
    return status(text=page, content_type="text/html", headers=_page_headers(nonce))


def _reason(status: type[web.HTTPException]) -> str:
    return HTTPStatus(status.status_code).phrase
