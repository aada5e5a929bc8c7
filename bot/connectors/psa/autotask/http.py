"""Autotask's flavour of the shared HTTP layer: its error bodies, its limits, and how its failures read.

What Autotask answers, and where we learned it (see also shared/apis/autotask.md A6):
- Error bodies are {"errors": ["...", ...]}, an array of strings [client: django-autotask]; n8n also
  accepts {"message": ...} objects inside it [client: n8n-nodes-autotask errorHandler.ts], and ASP.NET's
  own replies (unknown route) are {"Message": "..."} [issue: Anteris-Dev/autotask-client#12].
- Most validation and business-rule failures are HTTP 500 with the reason in errors[] [client][doc], so
  a 500 that carries a specific message is a refusal (repeating the request will fail again), while a
  500 with no message or a generic one ("Internal Server Error", a timeout) says nothing about whether
  a write landed.
- An unknown API user or a wrong integration code is also a 500, not a 401 [issue:
  apigrate/autotask-restapi#19]; we read "authenticat..." in a 500 as bad credentials.
- "does not have the adequate permissions" can come under a 500 instead of a 403 [client: django-autotask].
- The thread-limit refusal names code Itgenatr005 ("thread threshold of 3 threads has been exceeded") and
  may come with a status other than 429, so it is recognised by its text [client: n8n PR #107,
  retryHandler.ts]; the hourly-threshold refusal likewise. Neither was processed, so both are retried
  like a 429, writes included.
Limits [doc: REST_Thresholds_Limits, ThreadLimiting]: 10,000 requests per rolling hour per database,
shared by every integration of the tenant; at most 3 concurrent requests per (integration, endpoint).
"""

from __future__ import annotations

import httpx

from bot.connectors.errors import AuthenticationError, PermissionDeniedError, RateLimitedError, RejectedError
from bot.connectors.http import RequestLimiter, RetrySignal, VendorHttp

SYSTEM = "autotask"
THREAD_LIMIT = 3  # concurrent requests per endpoint
HOURLY_THRESHOLD = 10_000  # requests per rolling hour, per database
HOUR_S = 3600.0

_THROTTLED = ("itgenatr005", "thread threshold", "request threshold")
_PERMISSION = "does not have the adequate permissions"
_GENERIC = (
    "internal server error", "an error has occurred", "service unavailable", "bad gateway", "gateway timeout",
    "timeout", "timed out", "temporarily unavailable", "try again", "object reference not set",
    "unexpected error", "deadlock",
)


def autotask_error_message(response: httpx.Response) -> str:
    """The vendor's own error text from an Autotask error body ("" when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    lowered = {str(key).lower(): value for key, value in body.items()}
    errors = lowered.get("errors")
    if isinstance(errors, list):
        texts = [_error_text(entry) for entry in errors]
        return "; ".join(text for text in texts if text)
    if isinstance(errors, str):
        return errors
    message = lowered.get("message")
    return message if isinstance(message, str) else ""


def _error_text(entry: object) -> str:
    if isinstance(entry, str):
        return entry.strip()
    if isinstance(entry, dict):
        message = next((v for k, v in entry.items() if str(k).lower() == "message"), None)
        return str(message).strip() if message is not None else ""
    return ""


def is_generic_failure(message: str) -> bool:
    """True when a 5xx message says nothing specific (so a write's outcome is unknown)."""
    lowered = message.lower().strip()
    return not lowered or any(marker in lowered for marker in _GENERIC)


class AutotaskHttp(VendorHttp):
    """VendorHttp that reads Autotask's failures by their text as well as their status."""

    def _classify(self, response: httpx.Response, idempotent: bool) -> Exception:
        status = response.status_code
        message = self._message(response)
        lowered = message.lower()
        if status != 429 and any(marker in lowered for marker in _THROTTLED):
            return RetrySignal(RateLimitedError(self.system, message, status=status))
        if status >= 400 and _PERMISSION in lowered:
            return PermissionDeniedError(self.system, message, status=status)
        if status == 500 and self.error_message(response):
            if "authenticat" in lowered:
                return AuthenticationError(self.system, message, status=status)
            if not is_generic_failure(message):
                return RejectedError(self.system, message, status=status)
        return super()._classify(response, idempotent)


class EndpointLimiter(RequestLimiter):
    """At most `max_concurrent` requests in flight on one endpoint; each one also passes `tenant_hour`,
    the limiter every endpoint shares for the hourly threshold."""

    def __init__(self, *, max_concurrent: int, tenant_hour: RequestLimiter) -> None:
        super().__init__(max_concurrent=max_concurrent)
        self._tenant_hour = tenant_hour

    async def acquire(self) -> None:
        await super().acquire()
        try:
            await self._tenant_hour.acquire()
        except BaseException:
            super().release()
            raise

    def windows(self) -> list[tuple[int, float]]:
        return super().windows() + self._tenant_hour.windows()

    def release(self) -> None:
        try:
            self._tenant_hour.release()
        finally:
            super().release()


def tenant_hour_limiter(requests_per_hour: int) -> RequestLimiter:
    # The concurrency bound here is only a formality: the per-endpoint limiters bound concurrency.
    return RequestLimiter(max_concurrent=10_000, per_window=requests_per_hour, window_s=HOUR_S)
