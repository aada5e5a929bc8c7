"""Ingram CMP authentication: the bearer token cache and the three ways a login can be refused.

`POST {base}/token` with `X-Subscription-Key`, `Authorization: Basic base64(user:password)` and
`{"marketplace": "<code>"}` answers `TokenInfo {token, expiresInSeconds}` (spec 1.6; its example
lifetime is 1500 s). The token is cached and replaced shortly before it expires (a fifth of its
lifetime, at most a minute, early), so a long read does not meet expired-token 401s; a 401 that
comes anyway (the platform dropped the session) makes the caller discard it and log in once more.

A refused login is one of three things, and each needs a different fix:
- the API gateway refused the subscription key (its own `{statusCode, message}` body);
- the backend refused the user name or password ("Bad credentials");
- the backend refused the marketplace code for that user (its message names the marketplace).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.connectors.errors import AuthenticationError

Clock = Callable[[], float]
FetchToken = Callable[[], Awaitable[tuple[str, float | None]]]

ASSUMED_LIFETIME_S = 1500.0  # spec 1.6 example, used when a reply leaves expiresInSeconds out
MAX_EARLY_REFRESH_S = 60.0
GATEWAY_PREFIX = "API gateway: "


class SubscriptionKeyRejectedError(AuthenticationError):
    @property
    def summary(self) -> str:
        return "the API subscription key (X-Subscription-Key) was rejected"


class MarketplaceRejectedError(AuthenticationError):
    @property
    def summary(self) -> str:
        return "the marketplace code was rejected"


def from_gateway(error: AuthenticationError) -> bool:
    return error.vendor_message.startswith(GATEWAY_PREFIX)


def login_error(error: AuthenticationError) -> AuthenticationError:
    """The specific kind of a refused `POST /token`."""
    if from_gateway(error):
        return SubscriptionKeyRejectedError(error.system, error.vendor_message, status=error.status)
    if "marketplace" in error.vendor_message.lower():
        return MarketplaceRejectedError(error.system, error.vendor_message, status=error.status)
    return error


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
        """Log in afresh on the next call (a connection test must prove the credentials)."""
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
