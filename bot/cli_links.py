"""`seatsync links export [--output FILE]` and `seatsync links import FILE [--apply]`
(see bot.services.links_transfer)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import open_existing, upgrade
from bot.db.models import AdjustmentTrigger
from bot.keys import SecretBox
from bot.services.links_transfer import (
    ImportResult,
    LinksFileError,
    export_rows,
    import_links,
    read_links_csv,
    write_links_csv,
)
from bot.sync.planning import LinkFailure
from bot.sync.summary import describe_change
from bot.wording import counted

ACTOR = "cli:links-import"


def links_command(settings: Settings, args: argparse.Namespace, *, out: TextIO | None = None,
                  err: TextIO | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.links_command == "export":
        return _export(settings, args.output, out, err)
    return _import(settings, Path(args.file), apply=args.apply, out=out, err=err, clock=clock)


def _export(settings: Settings, output: str | None, out: TextIO, err: TextIO) -> int:
    rows = asyncio.run(_with_sessions(settings, _export_rows, read_only=True))
    if output is None:
        write_links_csv(rows, out)
        return 0
    try:
        # a byte-order mark, so a spreadsheet opens accented names right; import reads files with or without it
        with open(output, "w", newline="", encoding="utf-8-sig") as file:
            write_links_csv(rows, file)
    except OSError as exc:
        print(f"seatsync links export: cannot write {output}: {exc.strerror}", file=err)
        return 1
    print(f"wrote {counted(len(rows), 'link')} to {output}", file=err)
    return 0


def _import(settings: Settings, path: Path, *, apply: bool, out: TextIO, err: TextIO, clock: Clock) -> int:
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = read_links_csv(file)
    except OSError as exc:
        print(f"seatsync links import: cannot read {path}: {exc.strerror}", file=err)
        return 2
    except UnicodeDecodeError:
        print(f"seatsync links import: {path} is not UTF-8 text (save it as CSV UTF-8)", file=err)
        return 2
    except LinksFileError as exc:
        print(f"seatsync links import: {path}: {exc}", file=err)
        return 2

    async def run(sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session:
            result = await import_links(session=session, rows=rows, actor=ACTOR, apply=apply, now=clock())
        for line in describe_import(result):
            print(line, file=out)
        if not result.valid:
            print("nothing saved: fix or remove the invalid rows and run the import again", file=err)
            return 1
        if not apply:
            print("nothing saved (dry run): add --apply to save these links", file=out)
            return 0
        await _reconcile(settings, sessions, result.new_resource_link_ids, out, clock=clock)
        return 0

    return asyncio.run(_with_sessions(settings, run, read_only=not apply))


async def _with_sessions(settings: Settings, work, *, read_only: bool):
    """`read_only`: the database must exist at the current schema (never created nor migrated)."""
    if read_only:
        db = await open_existing(settings.database_url)
    else:
        db = create_engine(settings.database_url)
        await upgrade(db)
    try:
        return await work(session_factory(db))
    finally:
        await db.dispose()


async def _export_rows(sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, str]]:
    async with sessions() as session:
        return await export_rows(session=session)


def describe_import(result: ImportResult) -> list[str]:
    lines = []
    for outcome in result.outcomes:
        reason = f": {outcome.reason}" if outcome.reason else ""
        subject = f" {outcome.subject}" if outcome.subject else ""
        lines.append(f"line {outcome.line}: {outcome.action} {outcome.level}{subject}{reason}")
    rows = counted(len(result.outcomes), "row")
    if result.applied:
        lines.append(f"{rows} saved: {result.count('create')} created, "
                     f"{result.count('already linked')} already linked, "
                     f"{counted(result.count('set price source'), 'price source')} set")
    else:
        lines.append(f"{rows} checked: {result.count('create')} to create, "
                     f"{result.count('already linked')} already linked, "
                     f"{counted(result.count('set price source'), 'price source')} to set, "
                     f"{result.count('invalid')} invalid")
    return lines


async def _reconcile(settings: Settings, sessions: async_sessionmaker[AsyncSession], link_ids: list[int],
                     out: TextIO, *, clock: Clock) -> None:
    """The one-time reconciliation of each new resource link, through the engine as when linking in Slack."""
    if not link_ids:
        return
    from bot.db.rate_budgets import tenant_budget
    from bot.db.tenant_scope import current_tenant_id
    from bot.sync.wiring import NotConfigured, build_engine

    engine = await build_engine(sessions=sessions, box=SecretBox(settings.secret_key), clock=clock,
                                budget=tenant_budget(sessions, current_tenant_id()))
    if isinstance(engine, NotConfigured):
        print(f"reconciliation not run ({engine.reason}); the next sync levels the new links", file=out)
        return
    failures: list[LinkFailure] = []
    try:
        planned, report = await engine.reconcile_links(link_ids=link_ids, actor=ACTOR,
                                                       trigger=AdjustmentTrigger.import_, failures=failures)
    finally:
        await engine.aclose()
    print(f"reconciliation of {counted(len(link_ids), 'new resource link')}: {counted(len(planned), 'change')}",
          file=out)
    for change in planned:
        print(f"  {describe_change(change)}", file=out)
    for failure in failures:
        print(f"  {failure.describe()}", file=out)
    print(f"posted {report.posted}, confirmed {report.confirmed}, not needed {report.not_needed}, "
          f"failed {report.failed} ({report.needs_action} need action)", file=out)
    held = sum(1 for change in planned if change.held_reason)
    if held:
        print(f"{counted(held, 'change')} held for approval (the reason is on each line): nothing is posted until "
              "someone on the billing team approves it in Slack's alerts channel (`/seats checklist` lists them)",
              file=out)
    if report.read_error:
        print(f"PSA units not read before posting: {report.read_error}; the scheduler retries", file=out)
