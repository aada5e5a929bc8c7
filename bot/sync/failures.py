"""Why a post failed, in the billing team's words (the vendor's own message kept, secrets redacted)."""

from __future__ import annotations

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedError,
    ServerError,
    UnreachableError,
)


def explain_failure(error: ConnectorError) -> str:
    vendor = error.vendor_message
    system = error.system.capitalize() if error.system != "connectwise" else "ConnectWise"
    if isinstance(error, RejectedError) and "prorate" in vendor.lower():
        return (f"{system} refused the change because the agreement is not set up to prorate. Turn on "
                f"\"Prorate Agreement\" on the agreement, or set this link to post without proration. "
                f"{system} said: {vendor}")
    if isinstance(error, RejectedError):
        return f"{system} refused the change: {vendor}"
    if isinstance(error, AuthenticationError):
        return f"{system} rejected SeatSync's credentials; update them with /seats config. {system} said: {vendor}"
    if isinstance(error, PermissionDeniedError):
        return f"SeatSync's {system} user lacks a permission for this: {vendor}"
    if isinstance(error, NotFoundError):
        return f"{system} no longer has the record (deleted or moved?): {vendor}"
    if isinstance(error, RateLimitedError):
        return f"{system} is throttling requests; SeatSync will retry. {system} said: {vendor}"
    if isinstance(error, (ServerError, UnreachableError)):
        outcome = ""
        if error.outcome_unknown:
            outcome = " The outcome is unknown; SeatSync checks the PSA before trying again."
        return f"{system} did not answer properly ({error.kind}): {vendor}.{outcome}"
    return error.describe()
