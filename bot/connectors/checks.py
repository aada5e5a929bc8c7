"""Test a connection before (or after) it is saved: build the connector, run its own test_connection().

The config modal's *Test connection* runs this with the values as typed (secrets left empty fall back
to the stored ones). The connector's diagnosis is returned word for word, with every secret masked;
an incomplete connection or an unexpected failure becomes a failed check, never an exception.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.connectors.connection import Connection
from bot.connectors.factory import build_marketplace, build_psa
from bot.connectors.http import RetryPolicy
from bot.connectors.registry import VENDORS
from bot.domain.records import ConnectionCheck
from bot.log_redaction import redact, register_secret

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 30.0
# a person is waiting in the modal: fail fast instead of the scheduler's patient retries
CHECK_RETRY = RetryPolicy(max_attempts=2, max_total_s=10.0, base_delay_s=0.2, max_delay_s=1.0)
CHECK_HTTP_TIMEOUT_S = 10.0


async def check_connection(connection: Connection, *, timeout_s: float = CHECK_TIMEOUT_S,
                           **connector_options: Any) -> ConnectionCheck:
    for value in connection.secrets.values():
        register_secret(value)
    options: dict[str, Any] = {"retry": CHECK_RETRY, "timeout": CHECK_HTTP_TIMEOUT_S, **connector_options}
    try:
        if VENDORS.get(connection.system).kind == "marketplace":  # UnknownVendor is a ValueError
            connector: Any = build_marketplace(connection, **options)
        else:
            connector = build_psa(connection, **options)
    except ValueError as exc:  # the connector's own words on what the connection lacks
        return _failed(connection.system, str(exc))
    try:
        check = await asyncio.wait_for(connector.test_connection(), timeout_s)
    except TimeoutError:
        check = ConnectionCheck(ok=False, system=connection.system,
                                detail=f"{connection.base_url} did not finish answering within {timeout_s:.0f} s.")
    except Exception as exc:
        log.exception("the connection test of %s failed unexpectedly", connection.system)
        check = ConnectionCheck(ok=False, system=connection.system,
                                detail=f"The test failed unexpectedly ({type(exc).__name__}); see SeatSync's log.")
    finally:
        await connector.aclose()
    return ConnectionCheck(ok=check.ok, system=check.system, detail=redact(check.detail),
                           facts={k: redact(str(v)) for k, v in check.facts.items()})


def _failed(system: str, detail: str) -> ConnectionCheck:
    return ConnectionCheck(ok=False, system=system, detail=redact(detail))
