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

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.connectors.errors import AuthenticationError

Clock = Callable[[], float]
FetchToken = Callable[[], Awaitable[tuple[str, float | None]]]

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


@dataclass(frozen=True)
class BearerToken:
    value: str
    refresh_at: float  # clock time from which a new token is fetched instead


class TokenCache:
    """One live token shared by concurrent calls; only one login runs at a time."""

    def __init__(self, fetch: FetchToken, clock: Clock) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: BearerToken | None = None
        self._lock = asyncio.Lock()
        self.logins = 0

    async def get(self) -> str:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= token.refresh_at:
                token = await self._login()
            return token.value

    def reset(self) -> None:
        self._token = None

    def discard(self, value: str) -> None:
        """Forget a token the API refused, unless another call already replaced it."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _login(self) -> BearerToken:
        started = self._clock()
        value, lifetime = await self._fetch()
        lifetime = ASSUMED_LIFETIME_S if lifetime is None or lifetime <= 0 else lifetime
        early = min(MAX_EARLY_REFRESH_S, lifetime / 5)
        self._token = BearerToken(value=value, refresh_at=started + lifetime - early)
        self.logins += 1
        return self._token
