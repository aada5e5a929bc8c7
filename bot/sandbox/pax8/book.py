"""The MSP's Pax8 account as plain data: companies, catalogue, subscriptions with their history, invoices.

A subscription's changing part (quantity, status, prices, term dates) lives in `SubscriptionState`
snapshots, oldest first; the last one is the subscription as it is now. Pax8's
`GET /subscriptions/{id}/history` serves these snapshots, and invoices are computed from them, so an
invoice always agrees with the quantities and prices the subscription had over its period.

Money is per unit per month for every billing term (the basis of the sandbox catalogue); an Annual
billing term is invoiced twelve months at once (see `bot.sandbox.pax8.invoices`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.sandbox.pax8.invoices import InvoiceLine

# Pax8's Subscription.status values in which the MSP is billed for the seats
BILLABLE_STATUSES = frozenset({"Active", "PendingCancel", "Activated"})
# ... and in which the subscription is still alive (a day pass may change it)
LIVE_STATUSES = frozenset({"Active", "PendingCancel", "PendingManual", "PendingAutomated", "WaitingForDetails",
                           "Trial", "PendingActivation", "Activated"})


@dataclass
class Pax8Company:
    id: str  # uuid
    name: str  # as the MSP typed it into Pax8 (bot.sandbox.pax8.spelling)
    account_id: int | None  # the world customer behind it, or None for a Pax8-only customer
    street: str
    city: str
    state: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    phone: str
    website: str
    updated: datetime
    external_id: str | None = None
    status: str = "Active"  # Active | Inactive | Deleted
    self_service_allowed: bool = False
    order_approval_required: bool = False
    bill_on_behalf_of_enabled: bool = False


@dataclass(frozen=True)
class Commitment:
    """A commitment term a product can be bought on (Pax8's `Commitment` of product dependencies)."""

    id: str  # uuid
    term: str  # "1-Year", "Monthly"
    months: int
    allow_quantity_decrease: bool
    allow_early_cancellation: bool


@dataclass
class Pax8Product:
    id: str  # uuid
    name: str
    vendor_name: str
    sku: str  # Pax8's own SKU
    vendor_sku: str  # the vendor's (Microsoft's NCE product:sku id, or the vendor's part number)
    short_description: str
    unit_of_measure: str  # "User", "GB", "Each", "Device"
    partner_buy_rate: Decimal  # per unit per month on an annual commitment
    suggested_retail_price: Decimal
    requires_commitment: bool
    commitments: tuple[Commitment, ...] = ()
    resource_id: int | None = None  # the world catalogue product it is, when there is one
    usage_based: bool = False  # billed in arrears from usage (Azure): quantity 1, price 0


@dataclass(frozen=True)
class SubscriptionState:
    """A subscription's changing fields from `updated` on (one `history` snapshot)."""

    updated: datetime
    quantity: int
    status: str
    price: Decimal  # customer price per unit per month
    partner_cost: Decimal  # the MSP's cost per unit per month
    billing_term: str  # Monthly | Annual | Trial | ...
    start_date: datetime
    end_date: datetime | None = None
    commitment_end: datetime | None = None

    @property
    def billable_quantity(self) -> int:
        return self.quantity if self.status in BILLABLE_STATUSES and self.billing_term != "Trial" else 0


@dataclass
class Pax8Subscription:
    id: str  # uuid
    company_id: str
    product_id: str
    created: datetime
    billing_start: date
    vendor_subscription_id: str
    commitment: Commitment | None = None
    history: list[SubscriptionState] = field(default_factory=list)

    @property
    def now(self) -> SubscriptionState:
        return self.history[-1]

    def state_at(self, moment: datetime) -> SubscriptionState | None:
        """The snapshot in force at `moment` (None before the subscription existed)."""
        found = None
        for state in self.history:
            if state.updated > moment:
                break
            found = state
        return found

    def change(self, updated: datetime, **fields) -> SubscriptionState:
        """Record a new snapshot: the current one with `fields` changed."""
        state = replace(self.now, updated=max(updated, self.now.updated), **fields)
        self.history.append(state)
        return state


@dataclass
class UsageSummary:
    """One resource group's usage of a usage-based subscription (usage lines are derived per day)."""

    id: str  # uuid
    subscription_id: str
    company_id: str
    product_id: str
    resource_group: str
    meters: tuple[tuple[str, str, str, Decimal, Decimal], ...]  # (meter product id, name, unit, price, cost)


@dataclass
class Pax8Truth:
    """How the generator meant Pax8 records to correspond to the PSAs' (like `world.truth`)."""

    company_for_pax8: dict[str, dict[str, int]] = field(default_factory=dict)  # company uuid -> {psa: id}
    contract_for_subscription: dict[str, dict[str, int]] = field(default_factory=dict)
    service_for_subscription: dict[str, dict[str, int]] = field(default_factory=dict)
    prelinked: list[str] = field(default_factory=list)  # subscription uuids tied by hand in both PSAs
    # subscriptions billed in Autotask as a service bundle: the ContractServiceBundle id (not in service_for_...)
    bundle_for_subscription: dict[str, int] = field(default_factory=dict)


@dataclass
class Pax8Book:
    seed: int
    partner_account_id: str  # the MSP's own Pax8 account (accountId of webhooks)
    partner_name: str
    companies: dict[str, Pax8Company] = field(default_factory=dict)
    products: dict[str, Pax8Product] = field(default_factory=dict)
    subscriptions: dict[str, Pax8Subscription] = field(default_factory=dict)
    usage_summaries: dict[str, UsageSummary] = field(default_factory=dict)
    # invoice months released so far (first day of the month), oldest first, and their lines as released
    invoice_months: list[date] = field(default_factory=list)
    invoices: dict[date, list[InvoiceLine]] = field(default_factory=dict)
    # corrected invoices of a month, oldest first: each one credits the one before it (invoices.credit_and_reissue)
    reissues: dict[date, list[list[InvoiceLine]]] = field(default_factory=dict)
    truth: Pax8Truth = field(default_factory=Pax8Truth)

    def product_for(self, subscription: Pax8Subscription) -> Pax8Product:
        return self.products[subscription.product_id]
