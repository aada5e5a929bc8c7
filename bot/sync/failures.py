"""Why a post failed, in the billing team's words (the vendor's own message kept, secrets redacted).

The vendor's registry entry may explain an error of its own first (`Vendor.explain_error`); every other
error reads the same for every vendor, under the vendor's label.
"""

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
from bot.connectors.registry import VENDORS


def explain_failure(error: ConnectorError) -> str:
    entry = VENDORS.find(error.system)
    own = entry.explain_error(error) if entry is not None and entry.explain_error is not None else None
    if own is not None:
        return own
    vendor = error.vendor_message
    system = VENDORS.label(error.system)
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
