"""Typed connector errors that a billing lead can act on.

Each carries the system, the HTTP status where there was one, and the vendor's own message with
secrets and tokens redacted. `retryable` says whether trying again later may succeed; permanent
rejections (bad data, proration off) are not retryable and need a person.
`outcome_unknown` marks a write whose fate is not known (timeout, dropped reply, 5xx after the request
was sent): the caller must read the PSA back before writing again.
"""

from __future__ import annotations

from bot.log_redaction import redact


class ConnectorError(Exception):
    retryable = False
    kind = "error"

    def __init__(self, system: str, message: str, *, status: int | None = None,
                 outcome_unknown: bool = False) -> None:
        self.system = system
        self.status = status
        self.vendor_message = redact(message)
        self.outcome_unknown = outcome_unknown
        super().__init__(self.describe())

    def describe(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.system}: {self.summary}{status}: {self.vendor_message}"

    @property
    def summary(self) -> str:
        return self.kind


class AuthenticationError(ConnectorError):
    kind = "authentication failed"

    @property
    def summary(self) -> str:
        return "credentials rejected"


class PermissionDeniedError(ConnectorError):
    kind = "permission denied"

    @property
    def summary(self) -> str:
        return "the API user lacks a permission"


class NotFoundError(ConnectorError):
    kind = "not found"


class RateLimitedError(ConnectorError):
    retryable = True
    kind = "rate limited"

    def __init__(self, system: str, message: str, *, status: int | None = 429, retry_after: float | None = None,
                 outcome_unknown: bool = False) -> None:
        self.retry_after = retry_after
        super().__init__(system, message, status=status, outcome_unknown=outcome_unknown)


class RejectedError(ConnectorError):
    """The vendor refused the request and said why; repeating it unchanged will fail again."""

    kind = "rejected"


class ServerError(ConnectorError):
    retryable = True
    kind = "server error"


class UnreachableError(ConnectorError):
    retryable = True
    kind = "unreachable"


class DeadlinePassedError(ConnectorError):
    """A read could not be sent before its cycle's deadline (the vendor was slow or kept refusing)."""

    retryable = True
    kind = "out of time"


class MalformedReplyError(ConnectorError):
    retryable = True
    kind = "malformed reply"
