"""A bearer token shared by a client's concurrent calls, fetched again a little before it expires.

Each vendor says how long a token lives when its reply does not, and how early to renew it; the cache is the
same for every OAuth2 client-credentials marketplace (Ingram, Pax8).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
FetchToken = Callable[[], Awaitable[tuple[str, float | None]]]  # (token, lifetime in seconds or None)


@dataclass(frozen=True)
class BearerToken:
    value: str
    refresh_at: float  # clock time from which a new token is fetched instead


class TokenCache:
    """One live token shared by concurrent calls; only one login runs at a time. A token is renewed a fifth of
    its lifetime early, at most `max_early_refresh_s`; a reply without a lifetime counts `assumed_lifetime_s`."""

    def __init__(self, fetch: FetchToken, clock: Clock, *, assumed_lifetime_s: float,
                 max_early_refresh_s: float) -> None:
        self._fetch = fetch
        self._clock = clock
        self._assumed_lifetime_s = assumed_lifetime_s
        self._max_early_refresh_s = max_early_refresh_s
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
        lifetime = self._assumed_lifetime_s if lifetime is None or lifetime <= 0 else lifetime
        early = min(self._max_early_refresh_s, lifetime / 5)
        self._token = BearerToken(value=value, refresh_at=started + lifetime - early)
        self.logins += 1
        return self._token
