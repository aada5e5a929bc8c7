"""An invoice as a source hands it over (Pax8's API, an Ingram rated-data report, an uploaded file).

Plain records, no I/O: the connectors and the file import build them, `bot.db.invoices` stores them once,
and the check (`bot.domain.invoice_check`) reads their lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.invoice_check import CheckMonth, InvoiceLine

# what a source says of an invoice that a correction replaced (Pax8 marks it Credited, in full)
CREDITED = "Credited"
VOID = "Void"


@dataclass(frozen=True)
class ReceivedInvoice:
    source_id: str  # the source's id: Pax8's invoice id, Ingram's report id, a file's SHA-256
    month: date  # the 1st of the month it bills
    lines: tuple[InvoiceLine, ...]
    number: str | None = None
    invoice_date: date | None = None
    status: str | None = None
    currency: str | None = None
    total: Decimal | None = None
    raw_lines: tuple[dict[str, Any], ...] = field(default=(), repr=False)  # what the source said, per line
    file_name: str | None = None
    file_sha256: str | None = None

    @property
    def credited(self) -> bool:
        return self.status in (CREDITED, VOID)


def first_of(day: date) -> date:
    return day.replace(day=1)


def previous_month(first: date) -> date:
    return first_of(first - timedelta(days=1))


def check_month(first: date) -> CheckMonth:
    """The invoice dated `first` bills that month's seats in advance and prorates the previous month's changes
    (shared/apis/invoices.md 1.4, 5.1)."""
    prorated = previous_month(first)
    return CheckMonth(first=first, prorated_first=prorated, prorated_last=first - timedelta(days=1))
