"""The MSP's HaloPSA data as the simulator keeps it (`world.halopsa`): plain records, no HTTP.

Names follow Halo's models (shared/apis/halopsa.md §3): a Client, an Item, a ClientContract, a recurring
invoice (InvoiceHeader with `is_recurring_invoice`) whose lines (InvoiceDetail) bill `qty_order` × `unit_price`,
each line with its pro-rata records (InvoiceDetailProRata), and the invoices Halo creates from them. Recurring
invoice ids are negative as in a real payload (`"id": -94`); -1 is never used, Halo's payloads use it for "none"
(`"contract_id": -1`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_ID_FLOORS = {"invoice": 4100}  # ids start above these when none exist yet


@dataclass
class HaloClient:
    id: int
    name: str
    inactive: bool = False
    toplevel_id: int = 1
    toplevel_name: str = "Customers"
    main_site_id: int = 0
    datecreated: datetime = _EPOCH


@dataclass
class HaloItem:
    """A catalogue item; recurring lines name it by `_itemid`."""

    id: int
    name: str
    code: str  # supplier_part_code; lines carry it as item_code
    baseprice: Decimal
    costprice: Decimal
    isrecurringitem: bool = True


@dataclass
class HaloContract:
    """A ClientContract: the agreement a recurring invoice bills under."""

    id: int
    client_id: int
    ref: str
    start_date: date
    end_date: date | None = None
    note: str = ""
    last_modified: datetime = _EPOCH

    def expired(self, today: date) -> bool:
        return self.end_date is not None and self.end_date < today


@dataclass
class HaloProRata:
    """A pro-rata charge (positive quantity) or credit (negative) billed on the line's next invoice."""

    id: int
    line_id: int
    recurring_invoice_id: int
    client_id: int
    day: date
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal = Decimal(0)
    short_description: str = ""
    long_description: str = ""
    next_invoice: bool = True  # prorata_next_invoice
    invoice_id: int | None = None  # the invoice it was billed on (isinvoiced once set)


@dataclass
class HaloLine:
    """A recurring-invoice line: what the customer is billed for each period."""

    id: int
    recurring_invoice_id: int
    item_id: int | None
    item_code: str = ""
    short_description: str = ""
    long_description: str = ""
    nominal_code: str = ""
    quantity: Decimal = Decimal(0)  # qty_order
    unit_price: Decimal = Decimal(0)
    unit_cost: Decimal = Decimal(0)
    start_date: date | None = None
    end_date: date | None = None
    inactive: bool = False  # isinactive
    sequence: int = 1
    comment_1: str = ""
    comment_2: str = ""
    internal_reference: str = ""  # item_internal_reference
    external_reference: str = ""  # item_external_reference
    prorata: list[HaloProRata] = field(default_factory=list)

    def ended(self, today: date) -> bool:
        return self.inactive or (self.end_date is not None and self.end_date < today)


@dataclass
class HaloRecurringInvoice:
    """A recurring invoice billing monthly in advance: the next invoice is created on `next_creation`."""

    id: int  # negative
    client_id: int
    contract_id: int | None
    next_creation: date
    last_created: date | None = None
    reference: str = ""
    internal_note: str = ""
    date_created: datetime = _EPOCH
    last_modified: datetime = _EPOCH
    lines: list[HaloLine] = field(default_factory=list)


@dataclass
class HaloInvoiceLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    item_id: int | None = None
    recurring_line_id: int | None = None
    prorata_id: int | None = None


@dataclass
class HaloInvoice:
    """An invoice Halo created from a recurring invoice: the period's lines plus the pro-rata records due."""

    id: int
    client_id: int
    recurring_invoice_id: int
    invoice_date: date
    period_start: date
    period_end: date
    lines: list[HaloInvoiceLine] = field(default_factory=list)


@dataclass
class HaloApplication:
    """The MSP's Halo API application (Configuration > Integrations > Halo API) and the instance's limits."""

    granted_scopes: str = "all"  # space-separated; what a token may be given
    token_lifetime_s: int = 3600  # expires_in
    requests_per_minute: int = 1000  # the simulator's rate limit (no public figure; see gate.py)


@dataclass
class HaloPsaData:
    clients: dict[int, HaloClient] = field(default_factory=dict)
    items: dict[int, HaloItem] = field(default_factory=dict)
    contracts: dict[int, HaloContract] = field(default_factory=dict)
    recurring_invoices: dict[int, HaloRecurringInvoice] = field(default_factory=dict)
    invoices: dict[int, HaloInvoice] = field(default_factory=dict)
    application: HaloApplication = field(default_factory=HaloApplication)
    line_home: dict[int, int] = field(default_factory=dict)  # line id -> recurring invoice id
    _last_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        """A fresh positive id for lines, pro-rata records and invoices the simulator creates."""
        if kind not in self._last_ids:
            existing = {
                "line": list(self.line_home),
                "prorata": [p.id for ri in self.recurring_invoices.values() for ln in ri.lines for p in ln.prorata],
                "invoice": list(self.invoices),
            }[kind]
            self._last_ids[kind] = max([_ID_FLOORS.get(kind, 0), *existing])
        self._last_ids[kind] += 1
        return self._last_ids[kind]

    def add_line(self, invoice: HaloRecurringInvoice, line: HaloLine) -> None:
        invoice.lines.append(line)
        self.line_home[line.id] = invoice.id

    def line(self, line_id: int) -> HaloLine | None:
        invoice = self.recurring_invoices.get(self.line_home.get(line_id, 0))
        if invoice is None:
            return None
        return next((ln for ln in invoice.lines if ln.id == line_id), None)

    def units(self, line_id: int) -> int | None:
        """The units a line bills per period now (a verdict's view); None once the line is gone."""
        line = self.line(line_id)
        return None if line is None else int(line.quantity)
