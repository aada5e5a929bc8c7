"""Signed `private_metadata`: what a modal carries between steps cannot be altered by the client.

A modal's state travels through Slack and back; the value is `base64url(json).signature`, an
HMAC-SHA256 keyed from SEATSYNC_SECRET_KEY, checked in constant time before anything is read. The MAC
covers the value's purpose too (`bot.slack.ids.SealedFor`: one per dialog, and the Unlink button), so a
value sealed for one dialog is refused by every other, whatever its payload says: a state sealed for the
Home tab is no config modal's state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from bot.keys import derive_key

MAX_LENGTH = 3000  # Slack's limit on private_metadata


class TamperedMetadata(Exception):
    """The modal's private_metadata was not written by SeatSync (or was altered)."""


def metadata_key(secret_key: str) -> bytes:
    return derive_key(secret_key, "slack-private-metadata")


def seal(payload: dict[str, Any], *, key: bytes, purpose: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).decode()
    sealed = f"{body}.{_signature(key, purpose, body)}"
    if len(sealed) > MAX_LENGTH:
        raise ValueError(f"private_metadata would be {len(sealed)} characters; Slack allows {MAX_LENGTH}")
    return sealed


def unseal(value: str | None, *, key: bytes, purpose: str) -> dict[str, Any]:
    """The payload sealed for `purpose`; TamperedMetadata when altered, or sealed for anything else."""
    body, _, signature = (value or "").rpartition(".")
    if not body or not hmac.compare_digest(_signature(key, purpose, body).encode(), signature.encode()):
        raise TamperedMetadata("this dialog's state was altered; open it again")
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        raise TamperedMetadata("this dialog's state was altered; open it again") from None
    if not isinstance(payload, dict):
        raise TamperedMetadata("this dialog's state was altered; open it again")
    return payload


def _signature(key: bytes, purpose: str, body: str) -> str:
    signed = f"{len(purpose)}:{purpose}:{body}"  # length-prefixed: no purpose is a prefix of another's input
    return hmac.new(key, signed.encode(), hashlib.sha256).hexdigest()[:32]
