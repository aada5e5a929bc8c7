"""Odin / CloudBlue BA's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.change_notifications import SIGNED_JSON
from bot.connectors.fields import WEBHOOK_SECRET, ConnectionField, ConnectionFields
from bot.connectors.marketplace.odin import demo
from bot.connectors.vendor import Capabilities, DemoSupport, Vendor


def build(connection: Any, **options: Any) -> Any:
    from bot.connectors.marketplace.odin.client import OdinClient

    return OdinClient.from_connection(connection, **options)


VENDOR = Vendor(
    key="odin",
    kind="marketplace",
    label="Odin / CloudBlue BA",
    connection=ConnectionFields("Gateway URL", "BA's XML-RPC address, e.g. https://ba.example.com:5224/RPC2", (
        ConnectionField("reseller_account_id", "Reseller account id", required=False, integer=True,
                        hint="Only this reseller's customers are read; empty reads every customer."),
        ConnectionField("basic_auth", "Gateway wants HTTP basic auth", required=False,
                        hint="yes: the user id and password also go as HTTP basic auth; empty: only in each call."),
        # sent in every Execute struct (Username/Password), as the public Python BA client sends them
        ConnectionField("username", "Gateway user id", secret=True),
        ConnectionField("password", "Gateway password", secret=True),
        WEBHOOK_SECRET,
    )),
    build=build,
    # BA has no call that filters by modification date: every read is a complete one
    capabilities=Capabilities(incremental_reads=False, webhooks=SIGNED_JSON),
    demo=DemoSupport(connection=demo.sandbox_connection, simulator="odin", find_line=demo.find_line),
)
