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

from bot.connectors.errors import AuthenticationError
from bot.connectors.tokens import Clock, FetchToken
from bot.connectors.tokens import TokenCache as SharedTokenCache

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


class TokenCache(SharedTokenCache):
    """The shared token cache with this vendor's token lifetime and early renewal."""

    def __init__(self, fetch: FetchToken, clock: Clock) -> None:
        super().__init__(fetch, clock, assumed_lifetime_s=ASSUMED_LIFETIME_S, max_early_refresh_s=MAX_EARLY_REFRESH_S)
