"""Signed report links: HMAC-SHA256 over the path, the canonical query and an expiry.

The message signed is ``path \\n canonical query \\n expires``, where the canonical query is every
parameter except ``expires`` and ``signature``, sorted and URL-encoded. Expiry is checked only after
the signature, so moving the expiry forward reads as tampering, not as a fresh link.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from bot.keys import derive_key

DEFAULT_TTL = timedelta(days=7)
SIGNATURE_PARAMS = frozenset({"expires", "signature"})

QueryPairs = Mapping[str, str] | Iterable[tuple[str, str]]


class LinkError(Exception):
    """A report link cannot be honoured; the message says why in a sentence fit for the 403 page."""


class UnsignedLinkError(LinkError):
    pass


class TamperedLinkError(LinkError):
    pass


class ExpiredLinkError(LinkError):
    pass


def report_link_key(secret_key: str) -> bytes:
    return derive_key(secret_key, "report-links")


def sign_url(path: str, params: QueryPairs, *, key: bytes, now: datetime, ttl: timedelta = DEFAULT_TTL) -> str:
    pairs = _unsigned_pairs(params)
    expires = int((now + ttl).timestamp())
    signature = _signature(key, path, pairs, expires)
    return f"{path}?{urlencode([*sorted(pairs), ('expires', str(expires)), ('signature', signature)])}"


def verify(path: str, query: QueryPairs, *, key: bytes, now: datetime) -> list[tuple[str, str]]:
    """Return the link's own parameters (without expiry and signature), or raise a LinkError saying why."""
    all_pairs = _pairs(query)
    given = dict(p for p in all_pairs if p[0] in SIGNATURE_PARAMS)
    if "signature" not in given or "expires" not in given:
        raise UnsignedLinkError("this link is not signed; ask SeatSync in Slack for a new report link")
    pairs = _unsigned_pairs(all_pairs)
    try:
        expires = int(given["expires"])
    except ValueError:
        raise TamperedLinkError("this link has been altered; ask SeatSync in Slack for a new report link") from None
    expected = _signature(key, path, pairs, expires)
    if not hmac.compare_digest(expected.encode(), given["signature"].encode()):
        raise TamperedLinkError("this link has been altered; ask SeatSync in Slack for a new report link")
    if now.timestamp() > expires:
        raise ExpiredLinkError("this link has expired; ask SeatSync in Slack for a new report link")
    return pairs


def _pairs(params: QueryPairs) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(k), str(v)) for k, v in items]


def _unsigned_pairs(params: QueryPairs) -> list[tuple[str, str]]:
    return [p for p in _pairs(params) if p[0] not in SIGNATURE_PARAMS]


def _signature(key: bytes, path: str, pairs: list[tuple[str, str]], expires: int) -> str:
    message = f"{path}\n{urlencode(sorted(pairs))}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
