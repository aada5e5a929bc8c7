"""Pax8 authentication: `POST /v1/token` (OAuth 2 client credentials with an `audience`) and the bearer
check in front of every other call, with the call budget (`limits`).

The token call (auth spec, shared/apis/pax8.md 1): a JSON body `{client_id, client_secret, audience,
grant_type: "client_credentials"}`, all four required; 200 `{"access_token": <JWT>, "expires_in": 86400,
"token_type": "Bearer"}`; 401 `{"error": "access_denied", "error_description": "Unauthorized"}` for a
wrong client id or secret, and for an audience this partner credential may not ask for (the three
vendor audiences, `api://p8p.client`, `api://provisioning` and `api://usage`, serve vendor surfaces;
only `https://api.pax8.com` opens the partner endpoints and the webhooks API). A body that is not a
token request is OAuth 2's 400 (see `errors`).

Delegated access (a hosted app the partner consents to; devx developingdelegationapplications): the consent screen
is `GET /login/authorize` (real `https://login.pax8.com/authorize`) with `response_type=code`, `clientId`, `scope`,
`state`, `redirect_uri` and the mandatory `audience`; the sandbox consents at once and redirects to `redirect_uri`
with `code` and `state`. The same token call then takes `grant_type: "authorization_code"` (with `code` and
`redirect_uri`; the code is single-use and lives 10 minutes) and answers with a `refresh_token` besides, and
`grant_type: "refresh_token"` (with `refresh_token`) for a new access token. Pax8 does not publish its code-grant
token endpoint nor its refresh tokens' lifetime or rotation ([unconf] in shared/apis/pax8.md): the sandbox follows
Auth0's `/oauth/token` (JSON body, `client_id` / `client_secret` of the integrator's app, `audience`) with
non-rotating refresh tokens that live until revoked. The sandbox's one API client is also the integrator's app.

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
from urllib.parse import urlencode

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
CODE_LIFETIME_S = 600
GRANT_FIELDS = {  # what each grant's token request must carry
    "client_credentials": ("client_id", "client_secret", "audience"),
    "authorization_code": ("client_id", "client_secret", "audience", "code", "redirect_uri"),
    "refresh_token": ("client_id", "client_secret", "audience", "refresh_token"),
}
CLIENT_KEY = web.RequestKey("pax8_client_id", str)


@dataclass
class TokenStore:
    clock: Clock
    lifetime_s: int = TOKEN_LIFETIME_S
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (client id, expiry)
    _codes: dict[str, tuple[str, str, str, float]] = field(default_factory=dict)  # code -> (client, aud, uri, expiry)
    _refresh: dict[str, tuple[str, str]] = field(default_factory=dict)  # refresh token -> (client id, audience)

    def consent(self, client_id: str, audience: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = (client_id, audience, redirect_uri, self.clock() + CODE_LIFETIME_S)
        return code

    def redeem(self, code: str, client_id: str, audience: str, redirect_uri: str) -> str | None:
        """A refresh token for a code issued to this client, audience and redirect URI (once), else None."""
        found = self._codes.pop(code, None)
        if found is None or found[:3] != (client_id, audience, redirect_uri) or found[3] <= self.clock():
            return None
        refresh = secrets.token_urlsafe(48)
        self._refresh[refresh] = (client_id, audience)
        return refresh

    def refreshes(self, refresh_token: str, client_id: str, audience: str) -> bool:
        return self._refresh.get(refresh_token) == (client_id, audience)

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
    grant = body.get("grant_type")
    if not isinstance(grant, str) or not grant:
        return token_error(400, "invalid_request", "Missing required parameter: grant_type")
    if grant not in GRANT_FIELDS:
        return token_error(400, "unsupported_grant_type", "Unsupported grant type: " + grant)
    missing = [name for name in GRANT_FIELDS[grant] if not isinstance(body.get(name), str) or not body[name]]
    if missing:
        return token_error(400, "invalid_request", f"Missing required parameter: {missing[0]}")
    wait = budget.admit(body["client_id"])
    if wait is not None:
        return too_many(partner_error, request.path)
    if not (_same(body["client_id"], credentials.pax8_client_id)
            and _same(body["client_secret"], credentials.pax8_client_secret)
            and body["audience"] == PARTNER_AUDIENCE):
        return token_error(401, "access_denied", "Unauthorized")
    reply: dict = {}
    if grant == "authorization_code":
        refresh = tokens.redeem(body["code"], body["client_id"], body["audience"], body["redirect_uri"])
        if refresh is None:
            return token_error(403, "invalid_grant", "Invalid authorization code")
        reply["refresh_token"] = refresh
    elif grant == "refresh_token" and not tokens.refreshes(body["refresh_token"], body["client_id"], body["audience"]):
        return token_error(403, "invalid_grant", "Unknown or invalid refresh token.")
    token = tokens.issue(body["client_id"], body["audience"])
    return web.json_response({"access_token": token, **reply, "expires_in": tokens.lifetime_s,
                              "token_type": "Bearer"})


async def authorize(request: web.Request, credentials: Credentials, tokens: TokenStore) -> web.Response:
    """The consent screen: the sandbox's partner consents at once; the browser is sent back with a code."""
    query = request.query
    missing = [name for name in ("response_type", "clientId", "redirect_uri", "audience") if not query.get(name)]
    if missing:
        return token_error(400, "invalid_request", f"Missing required parameter: {missing[0]}")
    if query["response_type"] != "code":
        return token_error(400, "unsupported_response_type", "Unsupported response type: " + query["response_type"])
    if not _same(query["clientId"], credentials.pax8_client_id):
        return token_error(403, "unauthorized_client", "Unknown client")
    if query["audience"] != PARTNER_AUDIENCE:
        return token_error(403, "access_denied", "Service not found: " + query["audience"])
    code = tokens.consent(query["clientId"], query["audience"], query["redirect_uri"])
    back = {"code": code, **({"state": query["state"]} if query.get("state") else {})}
    separator = "&" if "?" in query["redirect_uri"] else "?"
    raise web.HTTPFound(query["redirect_uri"] + separator + urlencode(back))


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
