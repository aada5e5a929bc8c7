"""Plain data the connectors return and the sync engine consumes: no I/O, no vendor shapes.

Marketplace connectors normalise into `MarketCompany` / `MarketSubscription` / `MarketResource`;
PSA connectors into `PsaCompanyRecord` / `PsaContractRecord` / `PsaServiceRecord`. The engine never
sees which vendor produced them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from bot.domain.enums import ContractStatus, SubscriptionStatus, Term


def billable_total(included: float | int, additional: float | int) -> int:
    """The count SeatSync bills for a resource: what the plan includes plus what was ordered on top.

    Some marketplaces report the included and the additional amounts apart (the ordered amount is their
    sum); others report one quantity (taken as additional, with nothing included).
    Fractional amounts are rounded up: a PSA bills whole units, and billing less than was bought is
    the loss SeatSync exists to prevent.
    """
    if included < 0 or additional < 0:
        raise ValueError(f"amounts cannot be negative (included={included}, additional={additional})")
    return math.ceil(included + additional)


# Units that count things one bills per piece: a resource in one of these is counted as seats. Anything else
# (GB, TB, minutes, "usage") is a quantity of its own unit and is never added to seats.
SEAT_UNITS = frozenset({"unit", "units", "seat", "seats", "user", "users", "licence", "licences", "license",
                        "licenses", "item", "items", "each", "device", "devices", "mailbox", "mailboxes"})


def is_seat_unit(unit: str | None) -> bool:
    return (unit or "unit").strip().lower() in SEAT_UNITS


@dataclass(frozen=True)
class MarketResource:
    external_id: str  # BA ResourceID, or the CMP product MPN
    name: str
    included: int
    additional: int
    unit: str = "unit"
    unit_price: Decimal | None = None  # price to the customer per unit per month
    unit_cost: Decimal | None = None  # the MSP's cost per unit per month
    currency: str | None = None

    @property
    def total(self) -> int:
        return billable_total(self.included, self.additional)


@dataclass(frozen=True)
class MarketCompany:
    external_id: str
    name: str


@dataclass(frozen=True)
class MarketSubscription:
    external_id: str
    company_external_id: str
    name: str
    term: Term
    status: SubscriptionStatus
    start_date: date | None
    end_date: date | None
    modified_at: datetime | None
    resources: tuple[MarketResource, ...] = ()


@dataclass(frozen=True)
class MarketplaceSnapshot:
    """What one read of the marketplace returned. `complete` is False for an incremental read,
    in which case absent subscriptions are unchanged rather than gone."""

    companies: list[MarketCompany]
    subscriptions: list[MarketSubscription]
    complete: bool = True
    read_at: datetime | None = None


@dataclass(frozen=True)
class PsaCompanyRecord:
    external_id: str
    name: str
    is_active: bool = True


@dataclass(frozen=True)
class PsaContractRecord:
    external_id: str
    company_external_id: str
    name: str
    status: ContractStatus
    start_date: date | None = None
    end_date: date | None = None
    prorates: bool | None = None


@dataclass(frozen=True)
class PsaServiceRecord:
    external_id: str  # the PSA's id of the contract service (agreement addition)
    contract_external_id: str
    name: str
    units: int
    catalog_id: str | None = None  # the PSA's catalogue id of the product
    unit_price: Decimal | None = None
    unit_cost: Decimal | None = None
    is_active: bool = True


@dataclass(frozen=True)
class AdjustmentRequest:
    """One unit change to post: level the service from `units_from` to `units_to`."""

    idempotency_key: str
    service_external_id: str
    contract_external_id: str
    catalog_id: str | None
    units_from: int
    units_to: int
    effective_date: date
    unit_price: Decimal | None = None  # None: keep the PSA's price
    unit_cost: Decimal | None = None
    prorate: bool = True
    description: str = ""  # a human line for the PSA note ("SeatSync: Exchange Online 1 -> 8")

    @property
    def delta(self) -> int:
        return self.units_to - self.units_from


@dataclass(frozen=True)
class PostResult:
    psa_reference: str | None  # the id of the PSA record that carries the change
    # the service's units read back after the post; None: not read back one by one, the posting pass reads every
    # such service back in one batched read_units after its posts (a PSA whose post is several calls, Autotask)
    units_after: int | None


@dataclass
class ConnectionCheck:
    """The result of a connector's test_connection(): ok, or exactly what is wrong."""

    ok: bool
    system: str
    detail: str
    facts: dict[str, str] = field(default_factory=dict)  # e.g. zone URL, codebase, record counts
