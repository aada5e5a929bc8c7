"""Halo's invoice run: on a recurring invoice's `nextcreationdate` it creates the period's invoice.

The invoice bills every line live in the period (qty_order × unit_price) and every pro-rata record not yet
invoiced whose `prorata_next_invoice` is set and whose date is before the run (quantity × unitprice), marks
those records invoiced (`isinvoiced`, `invoiceheaderid`), and moves `nextcreationdate` on a month
[guide usehalo.com pax8-integration: "pro-rata calculations automatically added to customer's the next
invoice"]. Monthly in advance, no approval step, no tax: the simulator's choices (Halo's schedules, review
and approval settings are configurable and not modelled). Runs as a day passes (bot.sandbox.day_passes).
"""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.calendar_maths import add_months
from bot.sandbox.halopsa.records import HaloInvoice, HaloInvoiceLine, HaloRecurringInvoice
from bot.sandbox.world import SandboxWorld


def create_due_invoices(world: SandboxWorld) -> list[HaloInvoice]:
    created: list[HaloInvoice] = []
    for recurring in world.halopsa.recurring_invoices.values():
        while recurring.next_creation <= world.today:
            invoice = _invoice_for_period(world, recurring)
            if invoice is not None:
                world.halopsa.invoices[invoice.id] = invoice
                created.append(invoice)
            recurring.last_created = recurring.next_creation
            recurring.next_creation = add_months(recurring.next_creation, 1)
    return created


def _invoice_for_period(world: SandboxWorld, recurring: HaloRecurringInvoice) -> HaloInvoice | None:
    start = recurring.next_creation
    end = add_months(start, 1) - timedelta(days=1)
    lines: list[HaloInvoiceLine] = []
    due = []
    for line in recurring.lines:
        live = (not line.inactive and (line.start_date is None or line.start_date <= end)
                and (line.end_date is None or line.end_date >= start))
        if live and line.quantity:
            lines.append(HaloInvoiceLine(description=line.short_description, quantity=line.quantity,
                                         unit_price=line.unit_price, item_id=line.item_id, recurring_line_id=line.id))
        for record in line.prorata:
            if record.invoice_id is None and record.next_invoice and record.day < start:
                lines.append(HaloInvoiceLine(description=record.short_description or line.short_description,
                                             quantity=record.quantity, unit_price=record.unit_price,
                                             item_id=line.item_id, recurring_line_id=line.id, prorata_id=record.id))
                due.append(record)
    if not lines:
        return None
    invoice = HaloInvoice(id=world.halopsa.next_id("invoice"), client_id=recurring.client_id,
                          recurring_invoice_id=recurring.id, invoice_date=start, period_start=start,
                          period_end=end, lines=lines)
    for record in due:
        record.invoice_id = invoice.id
    return invoice
