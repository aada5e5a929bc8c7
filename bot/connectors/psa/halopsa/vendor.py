"""HaloPSA's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.errors import ConnectorError, PermissionDeniedError, RejectedError
from bot.connectors.fields import ConnectionField, ConnectionFields
from bot.connectors.psa.halopsa import demo
from bot.connectors.vendor import Capabilities, DemoSupport, IdempotencyKeyTrace, Vendor

LABEL = "HaloPSA"
CAPABILITIES = Capabilities(
    incremental_reads=False,  # Halo's list filters have no modified-since: every read is complete, at the floor
    # a line's quantity has no effective date (it bills from the next invoice): a change dated later waits its day
    future_dated_changes=False,
    proration_control=True,  # SeatSync adds the pro-rata record itself, or not, per change
    idempotency_key=IdempotencyKeyTrace(
        where="in the recurring-invoice line's internal reference and its pro-rata record", in_every_write=True),
)


def build(connection: Any, **options: Any) -> Any:
    from bot.connectors.psa.halopsa.client import HaloPsaClient

    return HaloPsaClient.from_connection(connection, **options)


def explain_error(error: ConnectorError) -> str | None:
    """Halo's refusals of a line, and its permissions, in words that say what to do."""
    message = error.vendor_message
    if isinstance(error, RejectedError) and "has ended" in message:
        return (f"{LABEL} will not change the quantity of a recurring-invoice line that has ended (end date passed or "
                f"inactive). Link the resource to a live line. {LABEL} said: {message}")
    if isinstance(error, RejectedError) and "calculated by Halo" in message:
        return (f"{LABEL} calculates this line's quantity itself (its own distributor sync). Turn that off for the "
                f"line, or leave the resource unlinked, so the two do not drive one line. {LABEL} said: {message}")
    if isinstance(error, PermissionDeniedError):
        return (f"SeatSync's {LABEL} API application lacks a permission: allow it in Halo (Configuration > "
                f"Integrations > Halo API). {LABEL} said: {message}")
    return None


VENDOR = Vendor(
    key="halopsa",
    kind="psa",
    label=LABEL,
    connection=ConnectionFields("Instance URL", "e.g. https://yourcompany.halopsa.com (its /api and /auth servers)", (
        ConnectionField("tenant", "Tenant", hint="Configuration > Integrations > Halo API > API Details."),
        ConnectionField("client_id", "Client ID", hint="The API application's (Client ID and Secret (services))."),
        ConnectionField("scope", "Scopes", required=False,
                        hint="Space-separated; empty: read:customers read:contracts read:invoices edit:invoices."),
        ConnectionField("client_secret", "Client secret", secret=True),
    )),
    build=build,
    capabilities=CAPABILITIES,
    explain_error=explain_error,
    demo=DemoSupport(connection=demo.sandbox_connection, simulator="halopsa", service_units=demo.service_units),
)
