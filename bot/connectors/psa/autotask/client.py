"""Autotask PSA connector (REST API v1.0, "ATServicesRest"): implements `Psa` for SeatSync.

Built from a `Connection` (system "autotask"):
- base_url: the REST base used for zone discovery, https://webservices.autotask.net/ATServicesRest for the
  real API (any zone host answers zoneInformation [client]); the sandbox's `cfg["autotask"]["url"]`.
- options: {"username": the API-only user's name (an e-mail address)}; optional "requests_per_hour"
  (the client-side budget, at most the tenant's 10,000 [doc: REST_Thresholds_Limits]).
- secrets: {"integration_code": the API tracking identifier, "secret": the API user's secret}.

The parts: `session` (zone, auth headers, limits, paging), `http` (error reading and
classification), `reads` (companies, contracts, services, units), `posting`
(adjustments with a keyed note), `check` (test_connection).

"Today" decides which ContractServiceUnits row is in effect and whether a contract has expired. It is
the UTC date unless `today` is given (the sandbox runs on its own business clock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import httpx

from bot.connectors.connection import Connection
from bot.connectors.http import CallStats, RetryPolicy, vendor_client
from bot.connectors.psa.autotask.check import check_connection
from bot.connectors.psa.autotask.http import HOURLY_THRESHOLD, SYSTEM
from bot.connectors.psa.autotask.posting import AutotaskPoster
from bot.connectors.psa.autotask.reads import AutotaskReader
from bot.connectors.psa.autotask.records import MAX_IN_VALUES, MAX_PAGE
from bot.connectors.psa.autotask.session import AutotaskSession
from bot.connectors.psa.autotask.vendor import CAPABILITIES
from bot.domain.records import (
    AdjustmentRequest,
    ConnectionCheck,
    PostResult,
    PsaCompanyRecord,
    PsaContractRecord,
    PsaServiceRecord,
)
from bot.log_redaction import register_secret

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


def utc_today() -> date:
    return datetime.now(UTC).date()


class AutotaskClient:
    system = "autotask"
    supports_future_dates = CAPABILITIES.future_dated_changes

    def __init__(self, *, base_url: str, username: str, integration_code: str, secret: str,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 today: Callable[[], date] = utc_today, requests_per_hour: int = HOURLY_THRESHOLD,
                 page_size: int = MAX_PAGE, batch_size: int = MAX_IN_VALUES,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not 1 <= page_size <= MAX_PAGE or not 1 <= batch_size <= MAX_IN_VALUES:
            raise ValueError(f"autotask: page and batch sizes must be 1..{MAX_PAGE}")
        for value in (integration_code, secret):
            register_secret(value)
        self.stats = CallStats()
        self._client = vendor_client(timeout=timeout, transport=transport,
                                     headers={"Accept": "application/json"})
        self.session = AutotaskSession(base_url=base_url, username=username, integration_code=integration_code,
                                       secret=secret, client=self._client, retry=retry, stats=self.stats,
                                       requests_per_hour=min(requests_per_hour, HOURLY_THRESHOLD))
        self._reader = AutotaskReader(self.session, today=today, page_size=page_size, batch_size=batch_size)
        self._poster = AutotaskPoster(self.session, self._reader, today=today)

    @classmethod
    def from_connection(cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
                        retry: RetryPolicy = RetryPolicy(), today: Callable[[], date] = utc_today,
                        transport: httpx.AsyncBaseTransport | None = None, **sizes: int) -> AutotaskClient:
        """`sizes`: page_size / batch_size (tests use small ones to exercise paging on small data)."""
        if connection.system != SYSTEM:
            raise ValueError(f"not an Autotask connection: {connection.system!r}")
        options, secrets = connection.options, connection.secrets
        return cls(base_url=connection.base_url, username=str(options.get("username") or ""),
                   integration_code=secrets.get("integration_code", ""), secret=secrets.get("secret", ""),
                   timeout=timeout, retry=retry, today=today, transport=transport,
                   requests_per_hour=int(options.get("requests_per_hour") or HOURLY_THRESHOLD), **sizes)

    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]:
        return await self._reader.list_companies(modified_since=modified_since)

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]:
        """Recurring Service contracts, all of them: Autotask contracts carry no modification date."""
        return await self._reader.list_contracts(modified_since=modified_since)

    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]:
        """Contract services, all of them: neither they nor their units carry a modification date."""
        return await self._reader.list_services(modified_since=modified_since)

    async def read_units(self, service_external_ids: Sequence[str]) -> dict[str, int]:
        return await self._reader.read_units(service_external_ids)

    async def find_posted(self, request: AdjustmentRequest) -> PostResult | None:
        return await self._poster.find_posted(request)

    async def post_adjustment(self, request: AdjustmentRequest) -> PostResult:
        return await self._poster.post_adjustment(request)

    async def test_connection(self) -> ConnectionCheck:
        return await check_connection(self.session)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AutotaskClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
