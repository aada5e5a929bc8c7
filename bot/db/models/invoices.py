"""Distributor invoices as received: stored once, never edited; a correction supersedes, it does not rewrite.

- `invoices`: one row per invoice a source gave (a Pax8 invoice, an Ingram rated-data report, an uploaded
  file). `(source, source_id)` is unique (Pax8's invoice id, Ingram's report id, a file's SHA-256), and so is
  `file_sha256` where the invoice came as a file (the same file under another name is the same invoice).
- `invoice_lines`: its lines in the shape the check reads (`bot.domain.invoice_check.InvoiceLine`), plus
  what the source said verbatim (`raw`).
- `invoice_supersessions`: insert-only; "A is credited" (Pax8 marks a corrected invoice `Credited`, in full;
  nothing replaces it yet), then "A is replaced by B" (the new invoice, a new number, for the same month).
- `invoice_decisions`: what a person decided about a finding (accepted, fixed, ignored with a reason); the
  latest per finding key counts, every one is kept (and audited).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import VENDOR_KEY_LENGTH, Base
from bot.db.models.tenants import TenantOwned

SOURCE_LENGTH = 40  # a vendor key, or "file:<name>" for an uploaded file's source
Quantity = Numeric(14, 4)


class Invoice(TenantOwned, Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "source_id"),
                      UniqueConstraint("tenant_id", "file_sha256"),
                      Index("ix_invoices_marketplace_month", "marketplace", "month"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH))
    marketplace: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # whose links its lines are matched to
    source_id: Mapped[str] = mapped_column(String(128))
    number: Mapped[str | None] = mapped_column(String(128))
    month: Mapped[date]  # the 1st of the month it bills
    invoice_date: Mapped[date | None]
    status: Mapped[str | None] = mapped_column(String(24))  # as the source said when it was received
    currency: Mapped[str | None] = mapped_column(String(3))
    total: Mapped[Decimal | None]
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    line_count: Mapped[int]
    received_at: Mapped[datetime]
    received_by: Mapped[str] = mapped_column(String(64))


class InvoiceLineRow(TenantOwned, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    line_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # bot.domain.invoice_check.LineKind
    company_id: Mapped[str] = mapped_column(String(128))
    company_name: Mapped[str] = mapped_column(String(255))
    product_id: Mapped[str] = mapped_column(String(128))
    product_name: Mapped[str] = mapped_column(String(255))
    subscription_id: Mapped[str | None] = mapped_column(String(128))
    period_start: Mapped[date]
    period_end: Mapped[date]
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal]
    cost_total: Mapped[Decimal]
    months: Mapped[int]
    raw: Mapped[dict[str, Any]]


class InvoiceSupersession(TenantOwned, Base):
    __tablename__ = "invoice_supersessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class InvoiceDecision(TenantOwned, Base):
    __tablename__ = "invoice_decisions"
    __table_args__ = (Index("ix_invoice_decisions_invoice_key", "invoice_id", "finding_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    finding_key: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))  # accepted | fixed | ignored
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime]
