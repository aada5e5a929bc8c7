"""What stands between a reseller and BA in the Odin simulator: credentials, HTTP basic auth, allowed methods, rate.

A reseller does not reach a provider's BA host directly; the seed documents describe its access as a gateway
URL with a user id and a password. What the public sources show, and what the simulator does with it:
- Credentials in the `Execute` struct: the public Python BA client sends `Username` and `Password` members
  beside `Server`/`Method`/`Params` (and reads `AccountGetMyCustomersList` with them). The simulator
  requires both, as strings, on every call: a missing, unknown or wrong one is a BA fault (code -1,
  base64 text like every BA fault). Its wording is a simulator choice (none was found published), the same
  for an unknown user and a wrong password, as gateways answer: "Access denied: invalid user name or
  password." (`AUTH_FAILED`).
- HTTP basic auth: "HTTPS with basic auth could be configured" in front of BA (shared/apis/marketplaces.md
  1.1). With `OdinGateway.basic_auth=True` every request needs `Authorization: Basic` with the same user
  and password; otherwise HTTP 401 with `WWW-Authenticate: Basic realm="BA"` and an HTML page, before the
  XML is read (a proxy answers so).
- Allowed methods: a gateway user may call only the methods the provider allowed it. `allowed_methods`
  (None = every simulated method) is that list; another method is a BA fault "Method 'X' is not allowed for
  user 'U'." (`NOT_ALLOWED`, wording a simulator choice).
- Rate: BA publishes no limit. The simulator allows `GatewayQuota(calls=250, renewal_period_s=1.0)` per user
  (a sliding window, as the Ingram gateway's); over it, HTTP 429 with `Retry-After` (whole seconds) and an HTML
  page, before the XML is read. The connector keeps to 200 calls a second by default.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.sandbox.ingram_gateway import GatewayQuota, RateLimiter
from bot.sandbox.world import Credentials

AUTH_FAILED = "Access denied: invalid user name or password."
MISSING_CREDENTIALS = "Access denied: the Username and Password members are required."
DEFAULT_QUOTA = GatewayQuota(calls=250, renewal_period_s=1.0)


class GatewayRefusal(Exception):
    """An HTTP-level refusal (basic auth, rate); `status`, `message` and extra headers for the page."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class OdinGateway:
    basic_auth: bool = False
    allowed_methods: frozenset[str] | None = None  # None: every simulated method
    quota: GatewayQuota = field(default_factory=lambda: DEFAULT_QUOTA)
    clock: Callable[[], float] = time.monotonic
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.quota, self.clock)

    def admit_http(self, request: web.Request, credentials: Credentials) -> None:
        """Basic auth (when configured), then the user's rate; raises GatewayRefusal."""
        user = credentials.odin_username
        if self.basic_auth:
            given = _basic(request.headers.get("Authorization", ""))
            if given is None or not (_same(given[0], credentials.odin_username)
                                     and _same(given[1], credentials.odin_password)):
                raise GatewayRefusal(401, "This server could not verify that you are authorized to access it.",
                                     {"WWW-Authenticate": 'Basic realm="BA"'})
            user = given[0]
        wait = self.limiter.admit(user)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise GatewayRefusal(429, f"Too many requests for user {user}: try again in {seconds} seconds.",
                                 {"Retry-After": str(seconds)})

    def allows(self, method: str) -> bool:
        return self.allowed_methods is None or method in self.allowed_methods


def check_credentials(envelope: dict, credentials: Credentials) -> str | None:
    """None when the struct's Username/Password are right, else the fault's text."""
    user, password = envelope.get("Username"), envelope.get("Password")
    if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
        return MISSING_CREDENTIALS
    if not (_same(user, credentials.odin_username) and _same(password, credentials.odin_password)):
        return AUTH_FAILED
    return None


def not_allowed(method: str, user: str) -> str:
    return f"Method '{method}' is not allowed for user '{user}'."


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
