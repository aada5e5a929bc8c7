"""A tenant's data as files, before its retention ends: `seatsync tenants export` (multi-workspace mode).

What an MSP leaving SeatSync needs to carry on elsewhere: its links (the `links export` CSV, which `links import` reads
back), every adjustment SeatSync posted or tried (the adjustments report, all dates) and the audit trail (who changed
what, when). Everything is read as that tenant, so nothing of another tenant can be in it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEvent
from bot.db.tenancy import tenant_scope
from bot.reports.catalogue import parse_filters, run_report
from bot.reports.formats import csv_chunks, neutralise
from bot.services.links_transfer import export_rows, write_links_csv

EVERYTHING_SINCE = "2000-01-01"
AUDIT_COLUMNS = ("at", "actor", "action", "subject_type", "subject_id", "before", "after")


@dataclass(frozen=True)
class ExportedFile:
    name: str
    rows: int


async def export_tenant(*, sessions: async_sessionmaker[AsyncSession], tenant_id: int, directory: Path,
                        today: date) -> list[ExportedFile]:
    """Write links.csv, adjustments.csv and audit.csv for the tenant into `directory`, an existing folder."""
    with tenant_scope(tenant_id):
        async with sessions() as session:
            return [await _links(session, directory / "links.csv"),
                    await _adjustments(session, directory / "adjustments.csv", today),
                    await _audit(session, directory / "audit.csv")]


async def _links(session: AsyncSession, path: Path) -> ExportedFile:
    rows = await export_rows(session=session)
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        write_links_csv(rows, file)
    return ExportedFile(path.name, len(rows))


async def _adjustments(session: AsyncSession, path: Path, today: date) -> ExportedFile:
    report = await run_report("adjustments", session=session,
                              filters=parse_filters([("date_from", EVERYTHING_SINCE)], today=today))
    counted = [0]

    async def counting(rows):
        async for row in rows:
            counted[0] += 1
            yield row

    with path.open("wb") as file:
        async for chunk in csv_chunks(replace(report, rows=counting(report.rows))):
            file.write(chunk)
    return ExportedFile(path.name, counted[0])


async def _audit(session: AsyncSession, path: Path) -> ExportedFile:
    events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)))
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(AUDIT_COLUMNS)
        for event in events:
            writer.writerow([event.at.isoformat(), neutralise(event.actor), neutralise(event.action),
                             neutralise(event.subject_type), neutralise(event.subject_id),
                             neutralise(json.dumps(event.before, sort_keys=True)) if event.before is not None else "",
                             neutralise(json.dumps(event.after, sort_keys=True)) if event.after is not None else ""])
    return ExportedFile(path.name, len(events))
