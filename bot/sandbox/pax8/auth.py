"""Pax8 authentication: `POST /v1/token` (OAuth 2 client credentials with an `audience`) and the bearer
check in front of every other call, with the call budget (`limits`).

The token call (auth spec, shared/apis/pax8.md 1): a JSON body `{client_id, client_secret, audience,
grant_type: "client_credentials"}`, all four required; 200 `{"access_token": <JWT>, "expires_in": 86400,
"token_type": "Bearer"}`; 401 `{"error": "access_denied", "error_description": "Unauthorized"}` for a
wrong client id or secret, and for an audience this partner credential may not ask for (the three
vendor audiences, `api://p8p.client`, `api://provisioning` and `api://usage`, serve vendor surfaces;
only `https://api.pax8.com` opens the partner endpoints and the webhooks API). A body that is not a
token request is OAuth 2's 400 (see `errors`).

The token is JWT-shaped like Auth0's (Pax8 recommends Auth0 libraries): RS256 header, `iss`, `aud`, `azp`,
`gty`, `iat`, `exp`; its signature is random, since the sandbox knows its tokens by value. Each call
issues a new token; older ones stay valid until they expire (24 hours). An expired, unknown or
missing bearer token gets the partner API's 401 `Error` (webhooks API: its own 401 shape).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.sandbox.pax8.errors import partner_error, token_error, webhook_error
from bot.sandbox.pax8.limits import CallBudget, too_many
from bot.sandbox.world import Credentials

Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_LIFETIME_S = 86400
PARTNER_AUDIENCE = "https://api.pax8.com"
AUDIENCES = (PARTNER_AUDIENCE, "api://p8p.client", "api://provisioning", "api://usage")
ISSUER = "https://login.pax8.com/"
CLIENT_KEY = web.RequestKey("pax8_client_id", str)


@dataclass
class TokenStore:
    clock: Clock
    lifetime_s: int = TOKEN_LIFETIME_S
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (client id, expiry)

    def issue(self, client_id: str, audience: str) -> str:
        now = self.clock()
        for token in [t for t, (_, expiry) in self._tokens.items() if expiry <= now]:
            del self._tokens[token]
        token = _jwt_shaped(client_id, audience, int(now), int(now) + self.lifetime_s)
        self._tokens[token] = (client_id, now + self.lifetime_s)
        return token

    def client_of(self, token: str) -> tuple[str | None, str]:
        """(client id, 'valid' | 'expired' | 'unknown')."""
        found = self._tokens.get(token)
        if found is None:
            return None, "unknown"
        client_id, expiry = found
        return client_id, "valid" if self.clock() < expiry else "expired"


def _jwt_shaped(client_id: str, audience: str, issued: int, expires: int) -> str:
    def segment(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()

    header = segment({"alg": "RS256", "typ": "JWT", "kid": "sandbox-pax8"})
    payload = segment({"iss": ISSUER, "sub": f"{client_id}@clients", "aud": audience, "azp": client_id,
                       "gty": "client-credentials", "iat": issued, "exp": expires, "jti": secrets.token_hex(8)})
    return f"{header}.{payload}.{secrets.token_urlsafe(64)}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def issue_token(request: web.Request, credentials: Credentials, tokens: TokenStore,
                      budget: CallBudget) -> web.Response:
    try:
        body = await request.json() if request.can_read_body else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return token_error(400, "invalid_request", "The request body must be a JSON token request")
    missing = [name for name in ("client_id", "client_secret", "audience", "grant_type")
               if not isinstance(body.get(name), str) or not body[name]]
    if missing:
        return token_error(400, "invalid_request", f"Missing required parameter: {missing[0]}")
    if body["grant_type"] != "client_credentials":
        return token_error(400, "unsupported_grant_type", "Unsupported grant type: " + body["grant_type"])
    wait = budget.admit(body["client_id"])
    if wait is not None:
        return too_many(partner_error, request.path)
    if not (_same(body["client_id"], credentials.pax8_client_id)
            and _same(body["client_secret"], credentials.pax8_client_secret)
            and body["audience"] == PARTNER_AUDIENCE):
        return token_error(401, "access_denied", "Unauthorized")
    token = tokens.issue(body["client_id"], body["audience"])
    return web.json_response({"access_token": token, "expires_in": tokens.lifetime_s, "token_type": "Bearer"})


def bearer_middleware(tokens: TokenStore, budget: CallBudget, is_open: Callable[[web.Request], bool],
                      is_webhooks_api: Callable[[web.Request], bool]):
    """Every call but the token call needs a live bearer token, then a place in its client's budget."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_open(request):
            return await handler(request)
        refuse = webhook_error if is_webhooks_api(request) else partner_error
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return refuse(401, "Full authentication is required to access this resource", request.path)
        client_id, state = tokens.client_of(token.strip())
        if state == "expired":
            return refuse(401, "The access token has expired", request.path)
        if client_id is None:
            return refuse(401, "The access token is not valid", request.path)
        if budget.admit(client_id) is not None:
            return too_many(refuse, request.path)
        request[CLIENT_KEY] = client_id
        return await handler(request)

    return middleware
