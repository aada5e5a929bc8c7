"""The two interfaces the sync engine talks to; it never knows which vendor is behind them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.connectors.http import CallStats
from bot.domain.records import (
    AdjustmentRequest,
    ConnectionCheck,
    MarketCompany,
    MarketSubscription,
    PostResult,
    PsaCompanyRecord,
    PsaContractRecord,
    PsaServiceRecord,
)


@runtime_checkable
class Marketplace(Protocol):
    """Reads what the MSP bought. Read-only: SeatSync never changes the marketplace."""

    system: str  # the vendor's key in the registry (bot.connectors.registry)
    stats: CallStats

    async def list_companies(self, *, modified_since: datetime | None = None) -> list[MarketCompany]:
        """Every customer; with `modified_since` (an incremental read, asked after `list_subscriptions`), a
        connector may return only the customers it has not returned before (an incremental snapshot keeps
        the stored ones)."""
        ...

    async def list_subscriptions(self, *, modified_since: datetime | None = None) -> list[MarketSubscription]:
        """Every subscription with its resources; only those changed since `modified_since` when the
        API can filter that way (a connector that cannot returns all of them)."""
        ...

    async def get_subscription(self, external_id: str) -> MarketSubscription: ...

    async def test_connection(self) -> ConnectionCheck: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Psa(Protocol):
    """Reads what the MSP bills and posts unit changes."""

    system: str  # the vendor's key in the registry
    stats: CallStats
    # can a change dated after today be posted now? (else it waits for its day); its vendor's
    # `Capabilities.future_dated_changes`
    supports_future_dates: bool

    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]: ...

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]: ...

    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]: ...

    # Optional, not part of the protocol: `watch_services(services: Mapping[str, str]) -> None`, the linked
    # services (service external id -> contract external id), handed over before each read by the engine, for a
    # PSA whose incremental reads would otherwise miss an edit to them (ConnectWise's additions).

    async def read_units(self, service_external_ids: Sequence[str]) -> dict[str, int]:
        """The units in effect today for each service (batched); services not found are absent."""
        ...

    async def find_posted(self, request: AdjustmentRequest) -> PostResult | None:
        """Look for the request's idempotency key in the PSA; a PostResult when it was already posted."""
        ...

    async def post_adjustment(self, request: AdjustmentRequest) -> PostResult:
        """Post one unit change carrying the idempotency key, then read the units back to confirm (or leave
        `units_after` None for the posting pass's one batched read-back of every such post)."""
        ...

    async def test_connection(self) -> ConnectionCheck: ...

    async def aclose(self) -> None: ...
