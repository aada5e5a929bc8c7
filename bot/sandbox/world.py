"""The simulated outside world: one MSP as its marketplace and its PSAs see it.

Every simulator (Odin, Ingram, Autotask, ConnectWise, HaloPSA) serves a view of one `SandboxWorld`, so the
Odin and Ingram connectors read the same truth and the PSA simulators hold what the MSP bills. The
MSP's second distributor, Pax8, keeps its own book (`world.pax8`, see bot.sandbox.pax8.book). The
world is plain mutable data; the API facades translate it to each vendor's shapes and record every
write in `write_log`, so duplicates can be counted from outside SeatSync; the counts the marketplace showed, as
the admin routes change them, are kept in `count_history`, so every write can be checked against them.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.sandbox.names import CompanyName
    from bot.sandbox.pax8.book import Pax8Book

from bot.sandbox.halopsa.records import HaloPsaData

Term = Literal["monthly", "annual"]
SubscriptionStatus = Literal["active", "cancelled", "expired", "suspended"]
PsaSystem = Literal["autotask", "connectwise", "halopsa"]
# what a write's `service_id` numbers: a service (Autotask ContractService, ConnectWise addition, HaloPSA line) or an
# Autotask ContractServiceBundle; Autotask numbers each entity on its own, so the two kinds' ids may coincide
WrittenKind = Literal["service", "bundle"]


# --- marketplace -------------------------------------------------------------------------------
@dataclass
class Product:
    """A billable resource type of the marketplace catalogue (a BA resource / a CMP MPN)."""

    resource_id: int  # BA ResourceID, global to the installation (100xxx)
    resource_rate_id: int
    mpn: str  # Ingram CMP manufacturer part number
    name: str
    unit: str = "unit"
    price: Decimal = Decimal("0")  # MSP's price to the customer, per unit per month
    cost: Decimal = Decimal("0")  # MSP's cost, per unit per month


@dataclass
class SubscriptionLine:
    """One resource of one subscription, with its amounts."""

    resource_id: int
    included: int
    additional: int
    used: int = 0
    unit_price: Decimal = Decimal("0")
    unit_cost: Decimal = Decimal("0")

    @property
    def ordered(self) -> int:
        return self.included + self.additional


@dataclass
class Customer:
    account_id: int  # BA AccountID (1000xxx)
    cmp_id: str  # Ingram CMP customer id
    name: str  # the name as the marketplace knows it ("Acme Mfg. Inc.")
    created: datetime
    city: str = ""
    country: str = "US"
    email: str = ""


@dataclass
class Subscription:
    subscription_id: int  # BA/OA subscription id (1001880-style)
    cmp_id: str  # Ingram CMP subscription id
    account_id: int
    name: str
    plan_id: int
    plan_name: str
    term: Term
    status: SubscriptionStatus
    start_date: date
    expiration_date: date
    created: datetime
    last_modified: datetime
    lines: list[SubscriptionLine] = field(default_factory=list)
    auto_renew: bool = True  # CMP renewalStatus; when False the subscription expires at expiration_date


# --- Autotask ----------------------------------------------------------------------------------
@dataclass
class AutotaskCompany:
    id: int
    name: str
    is_active: bool = True
    company_type: int = 1  # 1 = Customer
    create_date: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    last_modified: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))


@dataclass
class AutotaskService:
    """The service catalogue entry (Services entity)."""

    id: int
    name: str
    unit_price: Decimal
    unit_cost: Decimal
    period_type: int = 1  # 1 = monthly
    is_active: bool = True
    last_modified: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))


@dataclass
class AutotaskContract:
    id: int
    company_id: int
    name: str
    number: str = ""
    contract_type: int = 7  # 7 = Recurring Service
    status: int = 1  # 1 = Active, 0 = Inactive
    start_date: date = date(2020, 1, 1)
    end_date: date = date(2030, 12, 31)
    period_type: str = "m"  # contractPeriodType picklist: m monthly, q, s, y
    last_modified: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))


@dataclass
class AutotaskUnitChange:
    """A ContractServiceAdjustment as applied: units change from `effective_date` on."""

    id: int
    contract_id: int
    service_id: int
    contract_service_id: int
    unit_change: int
    effective_date: date
    adjusted_unit_price: Decimal | None
    adjusted_unit_cost: Decimal | None
    created: datetime


@dataclass
class AutotaskContractService:
    id: int
    contract_id: int
    service_id: int
    unit_price: Decimal
    unit_cost: Decimal
    units: int  # units in effect today (the sum of the initial units and applied adjustments)
    invoice_description: str = ""
    internal_description: str = ""
    adjustments: list[AutotaskUnitChange] = field(default_factory=list)
    last_modified: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))


@dataclass
class AutotaskNote:
    """A ContractNote: where SeatSync leaves the idempotency key of each adjustment it posts."""

    id: int
    contract_id: int
    title: str
    description: str
    created: datetime


# --- ConnectWise -------------------------------------------------------------------------------
@dataclass
class ConnectWiseCompany:
    id: int
    identifier: str
    name: str
    status: str = "Active"
    deleted: bool = False
    last_updated: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    types: tuple[str, ...] = ("Client",)  # company types (the `types` array childConditions filter)
    custom_fields: dict[str, str] = field(default_factory=dict)  # caption -> value (connectwise_records)


@dataclass
class ConnectWiseProduct:
    """procurement/catalog item."""

    id: int
    identifier: str
    description: str
    price: Decimal
    cost: Decimal
    product_class: str = "Agreement"
    inactive: bool = False
    last_updated: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))


@dataclass
class ConnectWiseAgreement:
    id: int
    name: str
    company_id: int
    type_name: str = "Microsoft 365"
    status: str = "Active"  # Active | Cancelled | Expired | Inactive
    cancelled: bool = False
    start_date: date = date(2020, 1, 1)
    end_date: date | None = None
    prorate: bool = True  # prorateFlag
    billing_cycle: str = "Monthly"
    last_updated: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    custom_fields: dict[str, str] = field(default_factory=dict)  # caption -> value (connectwise_records)


@dataclass
class ConnectWiseAddition:
    id: int
    agreement_id: int
    product_id: int
    quantity: int
    unit_price: Decimal
    unit_cost: Decimal
    less_included: int = 0
    bill_customer: str = "Billable"
    effective_date: date = date(2020, 1, 1)
    cancelled_date: date | None = None
    description: str = ""
    invoice_description: str = ""
    prorate_current_period: bool = False
    last_updated: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    # CW-only writable fields the world does not model (taxableFlag, serialNumber, uom, ...), by API name
    extra_fields: dict = field(default_factory=dict)
    # the last mid-life quantity change (the ConnectWise simulator prorates it within its period)
    quantity_changed_on: date | None = None
    quantity_before_change: int | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)  # caption -> value (connectwise_records)


# --- cross-cutting -----------------------------------------------------------------------------
@dataclass
class WriteRecord:
    """One write a PSA simulator applied, as seen from outside SeatSync."""

    system: PsaSystem
    service_id: int  # Autotask ContractService id / ConnectWise addition id / HaloPSA recurring-invoice line id
    before: int
    after: int
    at: datetime
    day: date  # the world's business day when the write landed
    key: str | None = None  # the idempotency key, where the write carried one (or its Autotask note, later)
    # the record written: Autotask ContractServiceAdjustment id, ConnectWise addition id, HaloPSA
    # "{recurring invoice id}/{line id}" (see bot.sandbox.halopsa.lines)
    reference: str | None = None
    kind: WrittenKind = "service"
    # a PSA holding future-dated changes (Autotask): `before` once those already taken reach their day (None: the same)
    before_as_scheduled: int | None = None

    @property
    def written(self) -> str:
        """The written record as the write log's readers count it: "12" for service 12, "bundle:12" for bundle 12."""
        return str(self.service_id) if self.kind == "service" else f"{self.kind}:{self.service_id}"


@dataclass
class CountChange:
    """A marketplace line's count and its subscription's status from `at` on (an admin route changed it)."""

    at: datetime
    subscription_id: int
    resource_id: int
    total: int
    status: str


@dataclass
class Credentials:
    """What each simulator accepts; fixed for a given seed."""

    odin_sample_account: int
    ingram_subscription_key: str
    ingram_username: str
    ingram_password: str
    ingram_marketplace: str
    autotask_integration_code: str
    autotask_username: str
    autotask_secret: str
    connectwise_company_id: str
    connectwise_public_key: str
    connectwise_private_key: str
    connectwise_client_id: str
    halopsa_tenant: str
    halopsa_client_id: str
    halopsa_client_secret: str
    slack_bot_token: str
    slack_signing_secret: str
    admin_token: str
    webhook_secret: str
    pax8_client_id: str = ""
    pax8_client_secret: str = ""
    odin_username: str = ""  # the reseller's gateway user id and password (bot/sandbox/odin_gateway.py)
    odin_password: str = ""

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        def token(purpose: str, length: int = 32) -> str:
            return hashlib.sha256(f"seatsync-sandbox:{seed}:{purpose}".encode()).hexdigest()[:length]

        return cls(
            odin_sample_account=0,  # set by the generator to a real customer account
            odin_username=f"reseller-{token('odin-user', 8)}",
            odin_password=token("odin-password", 24),
            ingram_subscription_key=token("ingram-key"),
            ingram_username=f"api-{token('ingram-user', 8)}@msp.example.com",
            ingram_password=token("ingram-password", 24),
            ingram_marketplace="us",
            autotask_integration_code=token("autotask-code", 27).upper(),
            autotask_username=f"{token('autotask-user', 10)}@msp.example.com",
            autotask_secret=token("autotask-secret", 24),
            connectwise_company_id="sandboxmsp",
            connectwise_public_key=token("cw-public", 16),
            connectwise_private_key=token("cw-private", 16),
            connectwise_client_id=_uuid_from(token("cw-client")),
            halopsa_tenant="sandboxmsp",
            halopsa_client_id=_uuid_from(token("halo-client")),
            halopsa_client_secret=f"{_uuid_from(token('halo-secret-1'))}-{_uuid_from(token('halo-secret-2'))}",
            slack_bot_token=f"xoxb-{seed}-sandbox-{token('slack-bot', 24)}",
            slack_signing_secret=token("slack-signing"),
            admin_token=token("admin"),
            webhook_secret=token("webhook"),
            pax8_client_id=token("pax8-client", 32),
            pax8_client_secret=token("pax8-secret", 64),
        )


def _uuid_from(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


@dataclass
class GroundTruth:
    """How the generator meant the two sides to correspond (for demo links and assertions)."""

    company_for_account: dict[int, dict[str, int]] = field(default_factory=dict)  # account -> {psa: company id}
    contract_for_subscription: dict[int, dict[str, int]] = field(default_factory=dict)
    # (subscription_id, resource_id) -> {"autotask": contract service id, "connectwise": addition id,
    #                                     "halopsa": recurring-invoice line id}
    service_for_line: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    # lines billed in Autotask as a service bundle, not a contract service: the ContractServiceBundle id
    # (bot.sandbox.autotask_bundle_seed); such a line has no "autotask" in service_for_line
    bundle_for_line: dict[tuple[int, int], int] = field(default_factory=dict)
    # relations the MSP had already set up before SeatSync (same keys as service_for_line)
    prelinked: list[tuple[int, int]] = field(default_factory=list)
    # the customers only the PSAs know (no marketplace account): their name and {psa: company id}
    psa_only: list[tuple[CompanyName, dict[str, int]]] = field(default_factory=list)


@dataclass
class SandboxWorld:
    seed: int
    today: date
    credentials: Credentials
    products: dict[int, Product] = field(default_factory=dict)  # by resource_id
    customers: dict[int, Customer] = field(default_factory=dict)  # by account_id
    subscriptions: dict[int, Subscription] = field(default_factory=dict)  # by subscription_id
    autotask_companies: dict[int, AutotaskCompany] = field(default_factory=dict)
    autotask_services: dict[int, AutotaskService] = field(default_factory=dict)
    autotask_contracts: dict[int, AutotaskContract] = field(default_factory=dict)
    autotask_contract_services: dict[int, AutotaskContractService] = field(default_factory=dict)
    # service bundles: the ServiceBundles catalogue, and bundles on contracts (ContractServiceBundles), each
    # modelled like its single-service counterpart (`service_id` holds the serviceBundleID); autotask_bundles
    autotask_service_bundles: dict[int, AutotaskService] = field(default_factory=dict)
    autotask_contract_service_bundles: dict[int, AutotaskContractService] = field(default_factory=dict)
    autotask_notes: dict[int, AutotaskNote] = field(default_factory=dict)
    connectwise_companies: dict[int, ConnectWiseCompany] = field(default_factory=dict)
    connectwise_products: dict[int, ConnectWiseProduct] = field(default_factory=dict)
    connectwise_agreements: dict[int, ConnectWiseAgreement] = field(default_factory=dict)
    connectwise_additions: dict[int, ConnectWiseAddition] = field(default_factory=dict)
    halopsa: HaloPsaData = field(default_factory=HaloPsaData)
    truth: GroundTruth = field(default_factory=GroundTruth)
    write_log: list[WriteRecord] = field(default_factory=list)
    count_history: list[CountChange] = field(default_factory=list)
    webhook_url: str | None = None
    _ids: dict[str, int] = field(default_factory=dict)
    # Autotask: the zone path the tenant lives in ("" = the default REST base; see autotask.move_zone) and
    # the business day `AutotaskContractService.units` was last brought up to date (see autotask_units).
    autotask_zone: str = ""
    # Ingram CMP: whether a seat change (a line's amounts only) moves the subscription's lastModifiedDate.
    # No public source says it does; `False` plays the case where it does not (bot/sandbox/ingram.py).
    seat_change_bumps_last_modified: bool = True
    autotask_units_day: date | None = None
    # the same MSP's Pax8 account (bot.sandbox.pax8); None in hand-built worlds
    pax8: Pax8Book | None = None
    # Ingram CMP's rated-data reports (bot.sandbox.ingram_reports), and the seat changes of the month being rated
    ingram_reports: list[Any] = field(default_factory=list)
    ingram_ledger: Any = None
    # Ingram CMP's orders (bot.sandbox.ingram_orders.IngramOrder), oldest first: one per seat change, new
    # subscription, renewal and cancellation the simulators make (`GET /orders`)
    ingram_orders: list[Any] = field(default_factory=list)
    # every request the Ingram CMP simulator received, as "METHOD /operation/{id}" (the newest 100,000), so calls
    # can be counted from outside SeatSync
    ingram_requests: deque[str] = field(default_factory=lambda: deque(maxlen=100_000))

    def touch_subscription(self, subscription_id: int, *, seats_only: bool = False) -> None:
        """A subscription changed now: its `last_modified` moves, unless only seats moved and the
        `seat_change_bumps_last_modified` knob says such a change leaves it."""
        if seats_only and not self.seat_change_bumps_last_modified:
            return
        self.subscriptions[subscription_id].last_modified = self.now()

    def next_id(self, kind: str, start: int = 1) -> int:
        """A fresh id for records the simulators create (adjustments, notes, additions...)."""
        if kind not in self._ids:
            existing = {
                "autotask_adjustment": [
                    a.id for cs in self.autotask_contract_services.values() for a in cs.adjustments
                ],
                "autotask_note": list(self.autotask_notes),
                "autotask_bundle_adjustment": [
                    a.id for b in self.autotask_contract_service_bundles.values() for a in b.adjustments
                ],
                "autotask_contract_service_bundle": list(self.autotask_contract_service_bundles),
                "connectwise_addition": list(self.connectwise_additions),
            }.get(kind, [])
            self._ids[kind] = max([start - 1, *existing])
        self._ids[kind] += 1
        return self._ids[kind]

    def now(self) -> datetime:
        """The world's clock: its business day, at the current time of day (UTC)."""
        real = datetime.now(UTC)
        return real.replace(year=self.today.year, month=self.today.month, day=self.today.day)

    def record_write(
        self, system: PsaSystem, service_id: int, before: int, after: int, key: str | None,
        reference: str | None = None, kind: WrittenKind = "service", before_as_scheduled: int | None = None,
    ) -> None:
        self.write_log.append(
            WriteRecord(system=system, service_id=service_id, before=before, after=after, at=datetime.now(UTC),
                        day=self.today, key=key, reference=reference, kind=kind,
                        before_as_scheduled=before_as_scheduled)
        )

    def label_write(self, system: PsaSystem, reference: str, key: str) -> None:
        """A key that reached the PSA after the write it belongs to (an Autotask adjustment's note)."""
        for write in reversed(self.write_log):
            if write.system == system and write.reference == reference:
                if write.key is None:
                    write.key = key
                return

    def record_counts(self, subscription_id: int) -> None:
        """Keep the counts of every line of a subscription as they are now (after an admin route changed them)."""
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            return
        now = datetime.now(UTC)
        for line in subscription.lines:
            self.count_history.append(CountChange(at=now, subscription_id=subscription_id,
                                                  resource_id=line.resource_id, total=line.ordered,
                                                  status=subscription.status))

    def line(self, subscription_id: int, resource_id: int) -> SubscriptionLine | None:
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            return None
        return next((ln for ln in sub.lines if ln.resource_id == resource_id), None)
