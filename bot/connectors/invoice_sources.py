"""Where a marketplace's invoices come from, for the month-end check: the interface a vendor's invoice reader
implements, and how one is found (`Vendor.invoices` in the registry).

A reader lists the invoices released in a date range, reads one whole (its lines), and, where the vendor has a
preview of the month being billed, its draft lines. Readers raise `bot.connectors.errors` like the clients.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from bot.connectors.registry import VENDORS
from bot.connectors.vendor_loop import OnVendorLoop, unwrapped
from bot.domain.invoice_check import InvoiceLine
from bot.domain.invoices import ReceivedInvoice


class InvoiceSource(Protocol):
    system: str

    async def list_invoices(self, *, start: date, end: date) -> list[ReceivedInvoice]:
        """The invoices dated start..end, without their lines (`lines` empty)."""

    async def read_invoice(self, head: ReceivedInvoice) -> ReceivedInvoice:
        """The invoice `head` names, with every line."""

    async def draft_lines(self, *, month_offset: int = 1) -> list[InvoiceLine] | None:
        """The preview of the month being billed, or None where the vendor has none."""


class NoInvoiceSource(LookupError):
    """The vendor gives no invoices through its API (its invoices come as files)."""


def invoice_source(system: str, client: Any) -> InvoiceSource:
    """The invoice reader of a marketplace client built for `system`; on the vendor loop with a client that is
    (the reader makes its calls through the client's HTTP, bound to that loop)."""
    vendor = VENDORS.get(system, "marketplace")
    if vendor.invoices is None:
        raise NoInvoiceSource(f"{vendor.label} gives no invoices through its API; import them as files")
    reader = vendor.invoices(unwrapped(client))
    return OnVendorLoop(reader) if isinstance(client, OnVendorLoop) else reader
