"""Pax8's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.fields import ConnectionField, ConnectionFields
from bot.connectors.marketplace.pax8 import demo, invoice_demo
from bot.connectors.marketplace.pax8.notifications import AUTHORIZATION_ECHO
from bot.connectors.vendor import Capabilities, DemoSupport, Vendor


def build(connection: Any, *, now: Any = None, **options: Any) -> Any:
    """`now`, the application's clock, is offered to every marketplace; this one needs none."""
    from bot.connectors.marketplace.pax8.client import Pax8Client

    return Pax8Client.from_connection(connection, **options)


def invoices(client: Any) -> Any:
    from bot.connectors.marketplace.pax8.invoices import Pax8Invoices

    return Pax8Invoices(client)


VENDOR = Vendor(
    key="pax8",
    kind="marketplace",
    label="Pax8",
    connection=ConnectionFields("API base URL", "e.g. https://api.pax8.com/v1", (
        ConnectionField("client_id", "API client ID", hint="Pax8 app: Settings > Integrations > Credentials"),
        ConnectionField("audience", "Token audience", required=False, hint="https://api.pax8.com (the default)"),
        ConnectionField("token_url", "Token URL", required=False, hint="empty: the API base URL + /token"),
        ConnectionField("client_secret", "API client secret", secret=True),
        # Pax8 signs nothing: it echoes the Authorization value set on the webhook (notifications.py)
        ConnectionField("webhook_secret", "Webhook Authorization value", secret=True, required=False,
                        hint="the exact value set as the webhook's authorization in Pax8"),
    )),
    build=build,
    invoices=invoices,
    # no list filters by modification: every read is complete, ceil(n/200) calls a list (client.py)
    capabilities=Capabilities(incremental_reads=False, webhooks=AUTHORIZATION_ECHO, one_product_per_subscription=True),
    demo=DemoSupport(connection=demo.sandbox_connection, simulator="pax8", line_target=demo.line_target,
                     day_summary=demo.day_summary, register_webhook=demo.register_webhook,
                     # the PSAs bill the Pax8 seats, so there is something to link and level
                     world_options={"bill_pax8_in_psas": True}, invoice_month=invoice_demo.INVOICE_MONTH),
)
