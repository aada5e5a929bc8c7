"""`seatsync invoices import FILE`, `seatsync invoices fetch` and `seatsync invoices check`.

- `import FILE [--source NAME] [--marketplace KEY] [--month YYYY-MM] [--map FIELD=COLUMN ...]`: an invoice file
  (CSV/XLSX) the billing lead has, stored once (bot.services.invoice_files); the column mapping is saved per
  source and used again.
- `fetch [--month YYYY-MM]`: the active marketplace's invoices through its API (bot.sync.invoice_intake), the
  month's (default: the last six months').
- `check --month YYYY-MM`: the month-end check in a few lines (the report has the rows).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.connectors.registry import VENDORS

ACTOR = "cli:invoices"


def add_invoices_parser(commands) -> None:
    invoices = commands.add_parser("invoices", help="distributor invoices: import a file, fetch, check a month")
    sub = invoices.add_subparsers(dest="invoices_command", required=True)
    importing = sub.add_parser("import", help="store an invoice file (CSV/XLSX) once; the column mapping is saved")
    importing.add_argument("file", metavar="FILE")
    importing.add_argument("--source", help="the file's source, e.g. the distributor (default: the marketplace)")
    importing.add_argument("--marketplace", choices=VENDORS.keys("marketplace"),
                           help="whose links its lines are matched to (default: the active marketplace)")
    importing.add_argument("--month", help="the month it bills, YYYY-MM (default: from the invoice date)")
    importing.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                           help="the column holding a field (company_name, product_name, quantity, unit_cost, ...)")
    fetch = sub.add_parser("fetch", help="read the active marketplace's invoices through its API")
    fetch.add_argument("--month", help="YYYY-MM (default: the last six months)")
    check = sub.add_parser("check", help="check a month's invoice against what the PSA bills")
    check.add_argument("--month", required=True, help="YYYY-MM")


def parse_month(text: str) -> date:
    try:
        year, month = text.strip().split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM") from None


def invoices_command(settings: Settings, args: argparse.Namespace, *, out: TextIO | None = None,
                     err: TextIO | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        month = parse_month(args.month) if getattr(args, "month", None) else None
    except ValueError as exc:
        print(f"seatsync invoices: {exc}", file=err)
        return 2
    if args.invoices_command == "import":
        try:
            content = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"seatsync invoices import: cannot read {args.file}: {exc.strerror}", file=err)
            return 2
        return asyncio.run(_import(settings, args, content, month, out, err, clock))
    if args.invoices_command == "fetch":
        return asyncio.run(_fetch(settings, month, out, err, clock))
    return asyncio.run(_check(settings, month, out, err))


async def _import(settings: Settings, args, content: bytes, month: date | None, out: TextIO, err: TextIO,
                  clock: Clock) -> int:
    from bot.db.app_settings import load_app_settings
    from bot.db.engine import create_engine, session_factory
    from bot.db.migrate import upgrade
    from bot.services.invoice_files import InvoiceFileError, import_invoice_file

    given = {}
    for item in args.map:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            print(f"seatsync invoices import: --map {item!r}: write FIELD=COLUMN", file=err)
            return 2
        given[field.strip()] = column.strip()
    db = create_engine(settings.database_url)
    await upgrade(db)
    try:
        async with session_factory(db)() as session:
            marketplace = args.marketplace or (await load_app_settings(session=session)).marketplace
            if not marketplace:
                print("seatsync invoices import: no active marketplace; name it with --marketplace", file=err)
                return 2
            source = (args.source or marketplace).strip()[:40]
            try:
                result = await import_invoice_file(session=session, content=content, file_name=Path(args.file).name,
                                                   source=source,
                                                   marketplace=marketplace, month=month, given=given, actor=ACTOR,
                                                   now=clock())
            except InvoiceFileError as exc:
                print(f"seatsync invoices import: {exc}", file=err)
                return 1
            await session.commit()
    finally:
        await db.dispose()
    invoice = result.stored.invoice
    if result.stored.created:
        print(f"stored invoice {invoice.number} for {invoice.month:%B %Y} from {source}: "
              f"{len(result.received.lines)} lines", file=out)
    else:
        print(f"already stored: invoice {invoice.number} for {invoice.month:%B %Y} (same source id or same file)",
              file=out)
    print("columns: " + ", ".join(f"{k}={v}" for k, v in result.mapping.items()), file=out)
    return 0


async def _fetch(settings: Settings, month: date | None, out: TextIO, err: TextIO, clock: Clock) -> int:
    from bot.connectors.invoice_sources import NoInvoiceSource, invoice_source
    from bot.connectors.shared_budget import drawing_on
    from bot.db.engine import create_engine, session_factory
    from bot.db.migrate import upgrade
    from bot.db.rate_budgets import tenant_budget
    from bot.db.tenant_scope import current_tenant_id
    from bot.domain.invoices import first_of
    from bot.keys import SecretBox
    from bot.sync.invoice_intake import fetch_invoices
    from bot.sync.wiring import NotConfigured, build_engine

    db = create_engine(settings.database_url)
    await upgrade(db)
    try:
        sessions = session_factory(db)
        # the marketplace's requests count against the tenant's budget, shared with its jobs on every instance
        budget = tenant_budget(sessions, current_tenant_id())
        engine = await build_engine(sessions=sessions, box=SecretBox(settings.secret_key), clock=clock, budget=budget)
        if isinstance(engine, NotConfigured):
            print(f"seatsync invoices fetch: {engine.reason}", file=err)
            return 1
        try:
            reader = invoice_source(engine.marketplace.system, engine.marketplace)
        except NoInvoiceSource as exc:
            print(f"seatsync invoices fetch: {exc}", file=err)
            return 1
        today = clock().date()
        start = month or first_of(date(today.year - (today.month <= 6), (today.month - 7) % 12 + 1, 1))
        end = (month or first_of(today)).replace(day=28)
        with drawing_on(budget):
            stored = await fetch_invoices(sessions=sessions, reader=reader, start=start, end=end, now=clock(),
                                          actor=ACTOR)
    finally:
        await db.dispose()
    for invoice in stored:
        print(f"stored invoice {invoice.number} for {invoice.month:%B %Y}: {invoice.line_count} lines", file=out)
    if not stored:
        print("no new invoice", file=out)
    return 0


async def _check(settings: Settings, month: date | None, out: TextIO, err: TextIO) -> int:
    from bot.db.engine import session_factory
    from bot.db.migrate import open_existing
    from bot.sync.invoice_check import check_month_invoices

    assert month is not None
    db = await open_existing(settings.database_url)
    try:
        async with session_factory(db)() as session:
            checks = await check_month_invoices(session=session, month=month)
    finally:
        await db.dispose()
    for check in checks:
        print(describe_check(check), file=out)
    return 0


def describe_check(check) -> str:
    result = check.result
    label = VENDORS.label(check.source) if check.source in VENDORS else (check.source or "")
    head = f"{label} invoice for {check.month:%B %Y}".strip()
    if result.state == "not_reconcilable":
        return f"{head}: not checked: {result.reason}"
    if result.state == "clean":
        return f"{head}: {result.lines} lines checked, no finding"
    totals = result.totals
    return (f"{head}: {len(result.findings)} findings, {totals['under_billed']:.2f} under-billed, "
            f"{totals['over_billed']:.2f} over-billed, {totals['unlinked']:.2f} unlinked, "
            f"{totals['billing_for_nothing']:.2f} billed for nothing, "
            f"{totals['under_cost'] + totals['under_margin']:.2f} missing on prices")
