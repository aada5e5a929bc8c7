"""CMP authentication: `POST /token` (HTTP Basic + marketplace) and the bearer token it issues.

Spec 1.6: `POST /token` with `Authorization: Basic base64(user:pass)` and body `TokenRequest
{"marketplace": "<code>"}` returns `TokenInfo {"token", "expiresInSeconds"}`; every other call
sends `Authorization: Bearer <token>`. The token lifetime is the spec's own example value, 1500 s
(25 minutes); an expired or unknown token gets 401. Messages for a missing or wrong credential are
Spring Security's defaults ("Full authentication is required to access this resource", "Bad
credentials"), since the backend's error body is the Spring-style shape (see `ingram_errors`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.sandbox.ingram_errors import cmp_error
from bot.sandbox.world import Credentials

Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_LIFETIME_S = 1500
AUTH_REQUIRED = "Full authentication is required to access this resource"


@dataclass
class TokenStore:
    clock: Clock
    lifetime_s: int = TOKEN_LIFETIME_S
    _expiry: dict[str, float] = field(default_factory=dict)

    def issue(self, username: str, marketplace: str) -> str:
        now = self.clock()
        for token in [t for t, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[token]
        token = _jwt_like(username, marketplace, int(now), int(now) + self.lifetime_s)
        self._expiry[token] = now + self.lifetime_s
        return token

    def state(self, token: str) -> str:
        """'valid', 'expired' or 'unknown'."""
        expiry = self._expiry.get(token)
        if expiry is None:
            return "unknown"
        return "valid" if self.clock() < expiry else "expired"


def _jwt_like(username: str, marketplace: str, issued: int, expires: int) -> str:
    def segment(data: dict) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = segment({"alg": "HS384", "typ": "JWT"})
    payload = segment({"principal": username, "marketplace": marketplace, "iat": issued, "exp": expires,
                       "jti": secrets.token_hex(8)})
    return f"{header}.{payload}.{secrets.token_urlsafe(48)}"


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def issue_token(request: web.Request, credentials: Credentials, tokens: TokenStore) -> web.Response:
    header = request.headers.get("Authorization", "")
    if not header:
        return cmp_error(401, AUTH_REQUIRED, request.path)
    given = _basic_credentials(header)
    if given is None or not (_same(given[0], credentials.ingram_username)
                             and _same(given[1], credentials.ingram_password)):
        return cmp_error(401, "Bad credentials", request.path)
    try:
        body = await request.json() if request.can_read_body else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return cmp_error(400, "Malformed JSON request body", request.path)
    marketplace = body.get("marketplace") if isinstance(body, dict) else None
    if not isinstance(marketplace, str) or not marketplace:
        return cmp_error(400, "The request body must be a TokenRequest with a 'marketplace' code, "
                              'e.g. {"marketplace": "us"}', request.path)
    if marketplace != credentials.ingram_marketplace:
        return cmp_error(401, f"Bad credentials for marketplace '{marketplace}'", request.path)
    token = tokens.issue(given[0], marketplace)
    return web.json_response({"token": token, "expiresInSeconds": tokens.lifetime_s})


def bearer_middleware(tokens: TokenStore, open_paths: Callable[[web.Request], bool]):
    """Every backend call but the token call needs a live bearer token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if open_paths(request):
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return cmp_error(401, AUTH_REQUIRED, request.path)
        state = tokens.state(token.strip())
        if state == "expired":
            return cmp_error(401, "Token has expired", request.path)
        if state == "unknown":
            return cmp_error(401, "Invalid token", request.path)
        return await handler(request)

    return middleware
