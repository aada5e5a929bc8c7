"""Autotask's registry entry."""

from __future__ import annotations

from typing import Any

from bot.connectors.fields import ConnectionField, ConnectionFields
from bot.connectors.psa.autotask import demo
from bot.connectors.vendor import Capabilities, DemoSupport, IdempotencyKeyTrace, Vendor

CAPABILITIES = Capabilities(
    incremental_reads=True,  # companies by their last-activity dates; contracts and services are read whole
    future_dated_changes=True,  # an adjustment may carry a future effectiveDate [doc: AdjustServiceUnitsPrice]
    proration_control=False,  # Autotask prorates by itself; a change cannot say otherwise
    # the adjustment has no text field: the key goes in a contract note written right after it
    idempotency_key=IdempotencyKeyTrace(where="in a note on the contract, left right after the adjustment",
                                        in_every_write=False),
)


def build(connection: Any, **options: Any) -> Any:
    from bot.connectors.psa.autotask.client import AutotaskClient

    return AutotaskClient.from_connection(connection, **options)


VENDOR = Vendor(
    key="autotask",
    kind="psa",
    label="Autotask",
    connection=ConnectionFields("API URL", "https://webservices.autotask.net/ATServicesRest "
                                           "(the zone is discovered from it)", (
        ConnectionField("username", "API user name", hint="The API-only user's e-mail address."),
        ConnectionField("integration_code", "API integration code (tracking identifier)", secret=True),
        ConnectionField("secret", "API user secret", secret=True),
    )),
    build=build,
    capabilities=CAPABILITIES,
    demo=DemoSupport(connection=demo.sandbox_connection, simulator="autotask", service_units=demo.service_units,
                     scheduled_units=demo.scheduled_units, written_service=demo.written_service),
)
