"""Invoices stored once, never edited; a credited invoice and its replacement recorded beside it.

- `store_invoice` inserts an invoice and its lines unless the same one is stored already: the same source id
  from the same source, or the same file (SHA-256) from anywhere. Racing instances meet on the unique keys; the
  loser reads the winner's row.
- A newer invoice of the same source and month supersedes the older ones (Pax8 issues a corrected invoice with
  a new number after crediting the old one in full; a billing lead uploads a corrected file); a credited one
  supersedes nothing.
- `record_credited` notes that the source now says an invoice is credited (or void): until a replacement
  arrives, the month is not reconcilable.
- `current_invoice` is the one the month is checked against, or why there is none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Invoice, InvoiceDecision, InvoiceLineRow, InvoiceSupersession
from bot.domain.invoice_check import Finding, InvoiceLine, LineKind
from bot.domain.invoices import ReceivedInvoice

DECISIONS = ("accepted", "fixed", "ignored")


@dataclass(frozen=True)
class Stored:
    invoice: Invoice
    created: bool  # False: it was stored already (same source id, or same file)


@dataclass(frozen=True)
class CurrentInvoice:
    invoice: Invoice | None
    reason: str  # why there is none to check, or ""


async def find_stored(session: AsyncSession, *, source: str, received: ReceivedInvoice) -> Invoice | None:
    found = await session.scalar(select(Invoice).where(Invoice.source == source,
                                                       Invoice.source_id == received.source_id))
    if found is None and received.file_sha256:
        found = await session.scalar(select(Invoice).where(Invoice.file_sha256 == received.file_sha256))
    return found


async def store_invoice(session: AsyncSession, *, source: str, marketplace: str, received: ReceivedInvoice,
                        now: datetime, actor: str) -> Stored:
    """Store `received` once; the caller commits."""
    existing = await find_stored(session, source=source, received=received)
    if existing is not None:
        return Stored(existing, created=False)
    invoice = Invoice(source=source, marketplace=marketplace, source_id=received.source_id, number=received.number,
                      month=received.month, invoice_date=received.invoice_date, status=received.status,
                      currency=received.currency, total=received.total, file_name=received.file_name,
                      file_sha256=received.file_sha256, line_count=len(received.lines), received_at=now,
                      received_by=actor)
    try:
        async with session.begin_nested():
            session.add(invoice)
            await session.flush()
            raws = received.raw_lines or tuple({} for _ in received.lines)
            rows = [_line_row(invoice.id, position, line, raw)
                    for position, (line, raw) in enumerate(zip(received.lines, raws, strict=True))]
            for start in range(0, len(rows), 2000):
                await session.execute(insert(InvoiceLineRow), rows[start:start + 2000])
    except IntegrityError:
        existing = await find_stored(session, source=source, received=received)
        if existing is None:
            raise
        return Stored(existing, created=False)
    older = [] if received.credited else (await session.scalars(select(Invoice).where(
        Invoice.source == source, Invoice.month == received.month, Invoice.id != invoice.id))).all()
    replaced = await _superseded_ids(session, [o.id for o in older])
    for old in older:
        if old.id not in replaced:
            session.add(InvoiceSupersession(invoice_id=old.id, superseded_by_id=invoice.id, at=now,
                                            reason=f"replaced by {received.number or received.source_id}"))
    if received.credited:
        await record_credited(session, invoice=invoice, status=received.status or "", now=now)
    await session.flush()
    return Stored(invoice, created=True)


async def record_credited(session: AsyncSession, *, invoice: Invoice, status: str, now: datetime) -> bool:
    """Note once that the source now calls `invoice` credited (or void); the stored invoice is not touched."""
    noted = await session.scalar(select(InvoiceSupersession.id).where(
        InvoiceSupersession.invoice_id == invoice.id, InvoiceSupersession.superseded_by_id.is_(None)))
    if noted is not None:
        return False
    session.add(InvoiceSupersession(invoice_id=invoice.id, superseded_by_id=None, at=now,
                                    reason=f"the source marks it {status}"))
    await session.flush()
    return True


async def _superseded_ids(session: AsyncSession, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set((await session.scalars(select(InvoiceSupersession.invoice_id).where(
        InvoiceSupersession.invoice_id.in_(ids), InvoiceSupersession.superseded_by_id.is_not(None)))).all())


async def current_invoices(session: AsyncSession, *, month: date) -> list[CurrentInvoice]:
    """Per source, the invoice of `month` to check (the newest not replaced), or why there is none."""
    invoices = (await session.scalars(select(Invoice).where(Invoice.month == month)
                                      .order_by(Invoice.source, Invoice.id))).all()
    rows = (await session.execute(select(InvoiceSupersession.invoice_id, InvoiceSupersession.superseded_by_id)
                                  .where(InvoiceSupersession.invoice_id.in_([i.id for i in invoices])))).all()
    replaced = {invoice_id for invoice_id, by in rows if by is not None}
    credited = {invoice_id for invoice_id, by in rows if by is None}
    found: dict[str, CurrentInvoice] = {}
    for invoice in invoices:
        if invoice.id in replaced:
            continue
        if invoice.id in credited:
            found[invoice.source] = CurrentInvoice(None, f"invoice {invoice.number or invoice.source_id} was credited "
                                                         "and no replacement has arrived yet")
        else:
            found[invoice.source] = CurrentInvoice(invoice, "")
    return list(found.values())


async def invoice_lines(session: AsyncSession, invoice_id: int) -> list[InvoiceLine]:
    rows = (await session.execute(select(
        InvoiceLineRow.line_id, InvoiceLineRow.kind, InvoiceLineRow.company_id, InvoiceLineRow.company_name,
        InvoiceLineRow.product_id, InvoiceLineRow.product_name, InvoiceLineRow.subscription_id,
        InvoiceLineRow.period_start, InvoiceLineRow.period_end, InvoiceLineRow.quantity, InvoiceLineRow.unit_cost,
        InvoiceLineRow.cost_total, InvoiceLineRow.months,
    ).where(InvoiceLineRow.invoice_id == invoice_id).order_by(InvoiceLineRow.position))).all()
    return [InvoiceLine(line_id=r[0], kind=LineKind(r[1]), company_id=r[2], company_name=r[3], product_id=r[4],
                        product_name=r[5], subscription_id=r[6], period_start=r[7], period_end=r[8], quantity=r[9],
                        unit_cost=r[10], cost_total=r[11], months=r[12]) for r in rows]


async def decide(session: AsyncSession, *, invoice_id: int, finding_key: str, decision: str, reason: str | None,
                 actor: str, now: datetime, fingerprint: str | None = None) -> InvoiceDecision:
    if decision not in DECISIONS:
        raise ValueError(f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    if decision == "ignored" and not (reason or "").strip():
        raise ValueError("ignoring a finding needs a reason")
    row = InvoiceDecision(invoice_id=invoice_id, finding_key=finding_key, decision=decision,
                          reason=(reason or "").strip() or None, decided_by=actor, decided_at=now,
                          fingerprint=fingerprint)
    session.add(row)
    await session.flush()
    return row


async def decisions(session: AsyncSession, invoice_id: int) -> dict[str, InvoiceDecision]:
    """The latest decision per finding key."""
    rows = (await session.scalars(select(InvoiceDecision).where(InvoiceDecision.invoice_id == invoice_id)
                                  .order_by(InvoiceDecision.id))).all()
    return {row.finding_key: row for row in rows}


async def replaced_invoices(session: AsyncSession, invoice_id: int) -> list[int]:
    """The invoices `invoice_id` replaced, directly or through earlier corrections, newest first."""
    found: list[int] = []
    wanted = [invoice_id]
    while wanted:
        older = (await session.scalars(select(InvoiceSupersession.invoice_id).where(
            InvoiceSupersession.superseded_by_id.in_(wanted)).order_by(InvoiceSupersession.invoice_id.desc()))).all()
        wanted = [i for i in older if i not in found and i != invoice_id]
        found += wanted
    return found


async def kept_decisions(session: AsyncSession, invoice_id: int, findings: Iterable[Finding]
                         ) -> dict[str, InvoiceDecision]:
    """Per finding key, the decision that still holds: the latest one about the same finding with the same
    numbers (`Finding.fingerprint`), taken on this invoice or on one it replaced. A finding whose numbers
    changed since is undecided again; a decision recorded without numbers holds on its own invoice."""
    by_invoice = {invoice_id: await decisions(session, invoice_id)}
    for older in await replaced_invoices(session, invoice_id):
        by_invoice[older] = await decisions(session, older)
    kept: dict[str, InvoiceDecision] = {}
    for finding in findings:
        for owner, decided in by_invoice.items():
            row = decided.get(finding.key)
            if row is None:
                continue
            if row.fingerprint == finding.fingerprint or (row.fingerprint is None and owner == invoice_id):
                kept[finding.key] = row
            break  # the newest decision about the key speaks; an older one is not revived
    return kept


def _line_row(invoice_id: int, position: int, line: InvoiceLine, raw: dict) -> dict:
    return {"invoice_id": invoice_id, "position": position, "line_id": line.line_id[:128], "kind": line.kind.value,
            "company_id": line.company_id[:128], "company_name": line.company_name[:255],
            "product_id": line.product_id[:128], "product_name": line.product_name[:255],
            "subscription_id": line.subscription_id[:128] if line.subscription_id else None,
            "period_start": line.period_start, "period_end": line.period_end, "quantity": line.quantity,
            "unit_cost": line.unit_cost, "cost_total": line.cost_total, "months": line.months,
            "raw": {k: _plain(v) for k, v in raw.items()}}


def _plain(value):
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
