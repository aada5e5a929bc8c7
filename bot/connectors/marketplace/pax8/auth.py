"""Pax8 authentication: how a bearer token is obtained, and one shared token per client.

Today's grant is the partner's own API credential (shared/apis/pax8.md 1): `POST {token_url}` with the JSON
body `{client_id, client_secret, audience, grant_type: "client_credentials"}`, answered by
`{access_token, expires_in: 86400, token_type: "Bearer"}`; a refusal is 401 `{error, error_description}`,
the same words for a wrong client id, a wrong secret or an audience the credential may not ask for.

The grant is a field of the connection (`options.grant`), not of the data model: a delegated install
(OAuth 2 authorization code with Pax8's mandatory `audience`, for a hosted SeatSync) would store
`grant = "authorization_code"` with its refresh token among the secrets and add a `TokenGrant` that
exchanges it; `TokenCache` and the client do not change. What it needs besides is listed in
`DELEGATED_GRANT_TODO`.

The token is cached and replaced an hour before it expires (Pax8's own CLI keeps its 24 h token for 23 h);
concurrent calls share one login; a 401 on a call discards the token once and logs in again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.connectors.errors import AuthenticationError
from bot.connectors.tokens import Clock, FetchToken
from bot.connectors.tokens import TokenCache as SharedTokenCache

PARTNER_AUDIENCE = "https://api.pax8.com"  # the partner endpoints (and the webhooks API)
VENDOR_AUDIENCES = ("api://p8p.client", "api://provisioning", "api://usage")  # vendor surfaces only
CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
GRANTS = (CLIENT_CREDENTIALS,)  # the grants this client can use today
ASSUMED_LIFETIME_S = 86400.0  # the auth spec's expires_in
MAX_EARLY_REFRESH_S = 3600.0
DELEGATED_GRANT_TODO = (
    "the authorize redirect (https://login.pax8.com/authorize with response_type=code, clientId, scope, state, "
    "redirect_uri and audience) and its callback route storing the refresh token as a secret of this connection; "
    "the code-grant token endpoint and refresh-token lifetime, which Pax8 does not publish; a TokenGrant that "
    "refreshes (and stores a rotated refresh token); the integrator webhook (integrationId) that serves every "
    "consenting partner")


class ClientRejectedError(AuthenticationError):
    """The token endpoint refused the client id / secret pair (Pax8 does not say which of the two)."""

    @property
    def summary(self) -> str:
        return "the API client id or secret was rejected"


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


class TokenCache(SharedTokenCache):
    """The shared token cache with this vendor's token lifetime and early renewal."""

    def __init__(self, fetch: FetchToken, clock: Clock) -> None:
        super().__init__(fetch, clock, assumed_lifetime_s=ASSUMED_LIFETIME_S, max_early_refresh_s=MAX_EARLY_REFRESH_S)
