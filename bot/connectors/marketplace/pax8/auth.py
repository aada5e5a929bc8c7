"""Pax8 authentication: how a bearer token is obtained, and one shared token per client.

Today's grant is the partner's own API credential (shared/apis/pax8.md 1): `POST {token_url}` with the JSON
body `{client_id, client_secret, audience, grant_type: "client_credentials"}`, answered by
`{access_token, expires_in: 86400, token_type: "Bearer"}`; a refusal is 401 `{error, error_description}`,
the same words for a wrong client id, a wrong secret or an audience the credential may not ask for.

The grant is a field of the connection (`options.grant`), not of the data model. A delegated install (a hosted
SeatSync the partner consents to: OAuth 2 authorization code with Pax8's mandatory `audience`; shared/apis/pax8.md 1)
stores `grant = "authorization_code"`, the integrator app's `client_id` among the options and its `client_secret`
and the consent's `refresh_token` among the (encrypted) secrets; `DelegatedGrant` then gets each access token with
the refresh token, and `TokenCache` and the client do not change. `authorize_url` is where the admin's browser is
sent to consent and `exchange_code` turns the code the browser brings back into the refresh token to store. Pax8
does not publish the code grant's token endpoint nor its refresh tokens' lifetime or rotation: these follow Auth0's
`/oauth/token` (Pax8 recommends Auth0's libraries), as the sandbox does. What a hosted install needs besides is
`DELEGATED_GRANT_TODO`.

The token is cached and replaced an hour before it expires (Pax8's own CLI keeps its 24 h token for 23 h);
concurrent calls share one login; a 401 on a call discards the token once and logs in again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from bot.connectors.errors import AuthenticationError
from bot.connectors.marketplace.pax8.records import SYSTEM
from bot.connectors.tokens import Clock, FetchToken
from bot.connectors.tokens import TokenCache as SharedTokenCache
from bot.log_redaction import register_secret

PARTNER_AUDIENCE = "https://api.pax8.com"  # the partner endpoints (and the webhooks API)
VENDOR_AUDIENCES = ("api://p8p.client", "api://provisioning", "api://usage")  # vendor surfaces only
CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
GRANTS = (CLIENT_CREDENTIALS, AUTHORIZATION_CODE)  # the connection's `grant` option
AUTHORIZE_URL = "https://login.pax8.com/authorize"
DELEGATED_SCOPE = "Manage:Pax8Data"  # devx's example scope; Pax8's full list was not captured
ASSUMED_LIFETIME_S = 86400.0  # the auth spec's expires_in
MAX_EARLY_REFRESH_S = 3600.0
DELEGATED_GRANT_TODO = (
    "a web route that sends the admin to authorize_url with a signed, expiring state naming the tenant, and its "
    "callback that checks the state, calls exchange_code and saves the refresh token as a secret of the tenant's "
    "pax8 connection (grant=authorization_code); the config modal's 'Connect Pax8' button instead of pasted "
    "credentials; storing a rotated refresh token (DelegatedGrant.rotated is called with it, nobody saves it yet); "
    "confirming against Pax8 the code-grant token endpoint, the scope list and the refresh tokens' lifetime and "
    "rotation, which Pax8 does not publish; the integrator webhook (integrationId) that serves every consenting "
    "partner")


class ClientRejectedError(AuthenticationError):
    """The token endpoint refused the client id / secret pair (Pax8 does not say which of the two)."""

    @property
    def summary(self) -> str:
        return "the API client id or secret was rejected"


class ConsentRefusedError(AuthenticationError):
    """The token endpoint refused the partner's consent (its refresh token): revoked, or never granted here."""

    @property
    def summary(self) -> str:
        return "the partner's consent (refresh token) was refused"


class TokenRefusedError(AuthenticationError):
    """A token was issued but the partner API refuses it (a token for another audience or environment)."""

    @property
    def summary(self) -> str:
        return "the access token was refused"


@dataclass(frozen=True)
class ClientCredentialsGrant:
    """The partner's own API credential: what `POST /token` is sent."""

    client_id: str
    client_secret: str
    audience: str = PARTNER_AUDIENCE

    def body(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "audience": self.audience,
                "grant_type": CLIENT_CREDENTIALS}


@dataclass
class DelegatedGrant:
    """A hosted install the partner consented to: each access token comes from the consent's refresh token, sent
    with the integrator app's credentials. A reply that carries another refresh token (rotation) replaces it, and
    `rotated` is told, so that it can be stored."""

    client_id: str
    client_secret: str
    refresh_token: str
    audience: str = PARTNER_AUDIENCE
    rotated: Callable[[str], None] | None = None

    def body(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "audience": self.audience,
                "refresh_token": self.refresh_token, "grant_type": REFRESH_TOKEN}

    def replied(self, body: dict) -> None:
        new = body.get("refresh_token")
        if isinstance(new, str) and new and new != self.refresh_token:
            register_secret(new)
            self.refresh_token = new
            if self.rotated is not None:
                self.rotated(new)


def authorize_url(*, client_id: str, redirect_uri: str, state: str, audience: str = PARTNER_AUDIENCE,
                  scope: str = DELEGATED_SCOPE, base: str = AUTHORIZE_URL) -> str:
    """Where the admin's browser goes to consent (Pax8's parameter names: `clientId`, and `audience` is required)."""
    return base + "?" + urlencode({"response_type": "code", "clientId": client_id, "scope": scope, "state": state,
                                   "redirect_uri": redirect_uri, "audience": audience})


async def exchange_code(http: httpx.AsyncClient, token_url: str, *, client_id: str, client_secret: str, code: str,
                        redirect_uri: str, audience: str = PARTNER_AUDIENCE) -> str:
    """The refresh token for the code the consent screen sent back (single-use); ConsentRefusedError if refused."""
    reply = await http.post(token_url, json={
        "client_id": client_id, "client_secret": client_secret, "audience": audience, "code": code,
        "redirect_uri": redirect_uri, "grant_type": AUTHORIZATION_CODE})
    body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
    refresh = body.get("refresh_token") if isinstance(body, dict) else None
    if reply.status_code != 200 or not isinstance(refresh, str) or not refresh:
        words = body.get("error_description") if isinstance(body, dict) else None
        raise ConsentRefusedError(SYSTEM, str(words or f"HTTP {reply.status_code}"), status=reply.status_code)
    return refresh


class TokenCache(SharedTokenCache):
    """The shared token cache with this vendor's token lifetime and early renewal."""

    def __init__(self, fetch: FetchToken, clock: Clock) -> None:
        super().__init__(fetch, clock, assumed_lifetime_s=ASSUMED_LIFETIME_S, max_early_refresh_s=MAX_EARLY_REFRESH_S)
