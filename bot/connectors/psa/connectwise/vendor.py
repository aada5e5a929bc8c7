"""ConnectWise's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.errors import ConnectorError, RejectedError
from bot.connectors.fields import ConnectionField, ConnectionFields
from bot.connectors.psa.connectwise import demo
from bot.connectors.vendor import Capabilities, DemoSupport, IdempotencyKeyTrace, Vendor

LABEL = "ConnectWise"
CAPABILITIES = Capabilities(
    incremental_reads=True,  # companies, agreements and additions by `lastUpdated`
    # a PATCH of quantity takes effect when it is made: a change dated later waits for its day
    future_dated_changes=False,
    proration_control=True,  # the agreement's prorateFlag decides, per change
    idempotency_key=IdempotencyKeyTrace(where="in the agreement addition's description", in_every_write=True),
)


def build(connection: Any, **options: Any) -> Any:
    from bot.connectors.psa.connectwise.client import ConnectWiseClient

    return ConnectWiseClient.from_connection(connection, **options)


def explain_error(error: ConnectorError) -> str | None:
    """ConnectWise refuses a prorated change on an agreement that does not prorate; say how to fix it."""
    if isinstance(error, RejectedError) and "prorate" in error.vendor_message.lower():
        return (f"{LABEL} refused the change because the agreement is not set up to prorate. Turn on "
                f"\"Prorate Agreement\" on the agreement, or set this link to post without proration. "
                f"{LABEL} said: {error.vendor_message}")
    return None


VENDOR = Vendor(
    key="connectwise",
    kind="psa",
    label=LABEL,
    connection=ConnectionFields("Site URL", "e.g. https://na.myconnectwise.net", (
        ConnectionField("company_id", "Company id"),
        ConnectionField("public_key", "API member public key"),
        ConnectionField("client_id", "clientId (developer portal)"),
        ConnectionField("codebase", "Codebase", required=False,
                        hint="e.g. v4_6_release/; empty: looked up from the site."),
        ConnectionField("private_key", "API member private key", secret=True),
    )),
    build=build,
    capabilities=CAPABILITIES,
    explain_error=explain_error,
    demo=DemoSupport(connection=demo.sandbox_connection, simulator="connectwise", service_units=demo.service_units),
)
