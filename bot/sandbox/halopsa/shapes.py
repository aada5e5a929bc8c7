"""The JSON the HaloPSA simulator answers with, in Halo's field names.

Sources: the models generated from Halo's swagger (Angelic-Software/angelic `Models/**`: Client, Item,
ContractHeader, InvoiceHeader, InvoiceDetail, InvoiceDetailProRata) and a real recurring-invoice payload
(jakesiney/HaloPSA-Update-Invoice-Lines `example-post.json`: numbers as JSON numbers, `qty_order` 1.0,
`"contract_id": -1` for none, dates as `2023-06-22T14:00:19.463`, and `"lineactiondate": "1899-12-30T00:00:00"`,
Halo's date for "no date"). Only the fields SeatSync and the simulator's rules need are served.

Choices: dates and times are UTC without an offset (`YYYY-MM-DDTHH:MM:SS`), as that payload shows them; a date
that is not set (a line's or a contract's end, a recurring invoice never invoiced) is `1899-12-30T00:00:00`,
never null or absent. A recurring invoice's `period_start_date`/`period_end_date` are the month its last
invoice billed (it bills monthly in advance, so the current month); `nextcreationdate` starts the next one.
A recurring line's own `recurring_invoice_id` is -1 as in the payload; `ihid` names its recurring invoice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.sandbox.calendar_maths import add_months
from bot.sandbox.halopsa.records import (
    HaloClient,
    HaloContract,
    HaloInvoice,
    HaloItem,
    HaloLine,
    HaloProRata,
    HaloPsaData,
    HaloRecurringInvoice,
)

NO_DATE = "1899-12-30T00:00:00"
NONE_ID = -1


def halo_date(value: date | datetime | None) -> str:
    if value is None:
        return NO_DATE
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return f"{value.isoformat()}T00:00:00"


def number(value: Decimal) -> float | int:
    return float(value)


def client_json(client: HaloClient) -> dict:
    return {"id": client.id, "name": client.name, "toplevel_id": client.toplevel_id,
            "toplevel_name": client.toplevel_name, "inactive": client.inactive, "main_site_id": client.main_site_id,
            "main_site_name": "Main", "datecreated": halo_date(client.datecreated)}


def item_json(item: HaloItem) -> dict:
    return {"id": item.id, "name": item.name, "description": item.name, "supplier_part_code": item.code,
            "baseprice": number(item.baseprice), "costprice": number(item.costprice),
            "recurringprice": number(item.baseprice), "recurringcost": number(item.costprice),
            "isrecurringitem": item.isrecurringitem}


def contract_json(contract: HaloContract, halo: HaloPsaData, today: date) -> dict:
    client = halo.clients.get(contract.client_id)
    expired = contract.expired(today)
    return {"id": contract.id, "client_id": contract.client_id, "client_name": client.name if client else "",
            "ref": contract.ref, "start_date": halo_date(contract.start_date),
            "end_date": halo_date(contract.end_date), "expired": expired, "active": not expired,
            "note": contract.note, "last_modified": halo_date(contract.last_modified)}


def prorata_json(record: HaloProRata, client_name: str) -> dict:
    return {"id": record.id, "invoicedetailid": record.line_id, "recurring_invoice_id": record.recurring_invoice_id,
            "client_id": record.client_id, "client_name": client_name, "date": halo_date(record.day),
            "quantity": number(record.quantity), "unitprice": number(record.unit_price),
            "unitcost": number(record.unit_cost), "shortdescription": record.short_description,
            "longdescription": record.long_description, "prorata_next_invoice": record.next_invoice,
            "isinvoiced": record.invoice_id is not None, "invoiceheaderid": record.invoice_id or 0}


def line_json(line: HaloLine, invoice: HaloRecurringInvoice, client_name: str) -> dict:
    net = line.quantity * line.unit_price
    pending = [p for p in line.prorata if p.invoice_id is None]
    return {
        "id": line.id, "ihid": invoice.id, "_itemid": line.item_id if line.item_id is not None else NONE_ID,
        "item_code": line.item_code, "item_shortdescription": line.short_description,
        "item_longdescription": line.long_description, "nominal_code": line.nominal_code,
        "qty_order": number(line.quantity), "unit_price": number(line.unit_price),
        "unit_cost": number(line.unit_cost), "baseprice": number(line.unit_price), "net_amount": number(net),
        "total_price": number(net), "startdate": halo_date(line.start_date), "enddate": halo_date(line.end_date),
        "isinactive": line.inactive, "sequenceid": line.sequence,
        "contract_id": invoice.contract_id if invoice.contract_id is not None else NONE_ID,
        "recurring_invoice_id": NONE_ID, "comment_1": line.comment_1, "comment_2": line.comment_2,
        "item_internal_reference": line.internal_reference, "item_external_reference": line.external_reference,
        "recurring_invoice_quantity_type": 0, "_is_calculated_line": False,
        "prorata_next_invoice": bool(pending), "prorata_quantity": number(sum((p.quantity for p in pending),
                                                                             Decimal(0))),
        "prorata_unit_price": 0.0, "prorata_data": [prorata_json(p, client_name) for p in line.prorata],
        "quantity_users": [], "quantity_assets": [], "quantity_licences": [], "quantity_subscriptions": [],
    }


def recurring_invoice_json(invoice: HaloRecurringInvoice, halo: HaloPsaData, *, with_lines: bool) -> dict:
    client = halo.clients.get(invoice.client_id)
    contract = halo.contracts.get(invoice.contract_id) if invoice.contract_id is not None else None
    client_name = client.name if client else ""
    period_start = add_months(invoice.next_creation, -1)
    record = {
        "id": invoice.id, "client_id": invoice.client_id, "client_name": client_name,
        "contract_id": invoice.contract_id if invoice.contract_id is not None else NONE_ID,
        "contract_ref": contract.ref if contract else "", "is_recurring_invoice": True,
        "reference": invoice.reference, "internal_note": invoice.internal_note,
        "nextcreationdate": halo_date(invoice.next_creation), "lastcreated": halo_date(invoice.last_created),
        "period_start_date": halo_date(period_start),
        "period_end_date": halo_date(invoice.next_creation - timedelta(days=1)),
        "date_created": halo_date(invoice.date_created), "last_modified": halo_date(invoice.last_modified),
        "total": number(sum((ln.quantity * ln.unit_price for ln in invoice.lines), Decimal(0))), "voided": False,
    }
    if with_lines:
        record["lines"] = [line_json(line, invoice, client_name) for line in invoice.lines]
    return record


def invoice_json(invoice: HaloInvoice, halo: HaloPsaData, *, with_lines: bool) -> dict:
    client = halo.clients.get(invoice.client_id)
    total = sum((ln.quantity * ln.unit_price for ln in invoice.lines), Decimal(0))
    record = {"id": invoice.id, "client_id": invoice.client_id, "client_name": client.name if client else "",
              "is_recurring_invoice": False, "recurring_invoice_id": invoice.recurring_invoice_id,
              "invoice_date": halo_date(invoice.invoice_date), "startdate": halo_date(invoice.period_start),
              "enddate": halo_date(invoice.period_end), "total": number(total), "voided": False}
    if with_lines:
        record["lines"] = [
            {"id": index, "ihid": invoice.id, "_itemid": ln.item_id if ln.item_id is not None else NONE_ID,
             "item_shortdescription": ln.description, "qty_order": number(ln.quantity),
             "unit_price": number(ln.unit_price), "net_amount": number(ln.quantity * ln.unit_price),
             "recurring_invoice_line_id": ln.recurring_line_id or 0, "pro_rata_line_id": ln.prorata_id or 0}
            for index, ln in enumerate(invoice.lines, start=1)]
    return record
