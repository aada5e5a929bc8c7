"""Ingram Micro Cloud Marketplace's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.change_notifications import SIGNED_JSON
from bot.connectors.fields import WEBHOOK_SECRET, ConnectionField, ConnectionFields
from bot.connectors.marketplace.ingram import demo, invoice_demo
from bot.connectors.vendor import Capabilities, DemoSupport, Vendor


def build(connection: Any, *, now: Any = None, **options: Any) -> Any:
    """`now`, the application's clock, is offered to every marketplace; this one needs none."""
    from bot.connectors.marketplace.ingram.client import IngramClient

    return IngramClient.from_connection(connection, **options)


def invoices(client: Any) -> Any:
    from bot.connectors.marketplace.ingram.invoices import IngramInvoices

    return IngramInvoices(client)


VENDOR = Vendor(
    key="ingram",
    kind="marketplace",
    label="Ingram Micro Cloud Marketplace",
    connection=ConnectionFields("API base URL", "e.g. https://api.ingrammicro.com/cmp/v1", (
        ConnectionField("username", "API user name"),
        ConnectionField("marketplace", "Marketplace code", hint="e.g. us, uk, au"),
        ConnectionField("subscription_key", "Subscription key", secret=True),
        ConnectionField("password", "API password", secret=True),
        WEBHOOK_SECRET,
    )),
    build=build,
    invoices=invoices,
    # subscriptions by `lastModifiedDate`, a day at a time (see client.py)
    capabilities=Capabilities(incremental_reads=True, webhooks=SIGNED_JSON),
    demo=DemoSupport(connection=demo.sandbox_connection, simulator="ingram", find_line=demo.find_line,
                     invoice_month=invoice_demo.INVOICE_MONTH),
)
