"""Slack's Web API rate limits, as the Slack facade enforces them.

- `chat.postMessage` is in Slack's "Special" tier: about one message per second per channel, with
  short bursts tolerated (docs.slack.dev/apis/web-api/rate-limits). Modelled as a token bucket per
  channel: `post_message_burst` messages at once, refilled at `post_message_per_second`.
- Other methods are limited per method per workspace by tier: Tier 1 1+/min, Tier 2 20+/min,
  Tier 3 50+/min, Tier 4 100+/min. Modelled as a sliding one-minute window per method, on by default;
  `tiers_enabled=False` switches it off.
- A throttled call gets HTTP 429, `Retry-After: <whole seconds>` and `{"ok": false, "error": "ratelimited"}`.

Tier assignments are from each method's reference page (views.* Tier 4, users.info Tier 4,
usergroups.users.list Tier 2, conversations.info Tier 3, conversations.members Tier 4,
chat.update / chat.delete Tier 3, chat.postEphemeral Tier 4); auth.test is "Special" and not limited here.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

METHOD_TIERS: dict[str, int] = {
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "users.info": 4,
    "usergroups.users.list": 2,
    "usergroups.list": 2,
    "conversations.info": 3,
    "conversations.members": 4,
}


def _default_per_minute() -> dict[str, int]:
    return {method: TIER_PER_MINUTE[tier] for method, tier in METHOD_TIERS.items()}


@dataclass
class SlackRateLimits:
    post_message_per_second: float = 1.0
    post_message_burst: int = 3
    tiers_enabled: bool = True
    per_minute: dict[str, int] = field(default_factory=_default_per_minute)


class SlackRateLimiter:
    def __init__(self, limits: SlackRateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._windows: dict[str, deque[float]] = {}

    def check(self, method: str, channel: str | None = None) -> int | None:
        """Count a call; return None if it may proceed, else the Retry-After in whole seconds."""
        now = float(self.clock())
        if method == "chat.postMessage":
            return self._take_token(channel or "", now)
        limit = self.limits.per_minute.get(method)
        if not self.limits.tiers_enabled or limit is None:
            return None
        window = self._windows.setdefault(method, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= limit:
            return max(1, math.ceil(60.0 - (now - window[0])))
        window.append(now)
        return None

    def _take_token(self, channel: str, now: float) -> int | None:
        rate = self.limits.post_message_per_second
        burst = float(max(1, self.limits.post_message_burst))
        tokens, at = self._buckets.get(channel, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - at) * rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return None
        self._buckets[channel] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / rate))
