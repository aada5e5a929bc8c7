"""What SeatSync knows of one vendor: the description a vendor package hands the registry.

A vendor is one package, `bot/connectors/marketplace/<key>/` or `bot/connectors/psa/<key>/`, whose `vendor.py`
holds a `Vendor`: its key, kind and label, the connection it needs, how to build its client, what it can do,
how its errors read, and how the demo meets its simulator. Code outside the vendor packages asks these
questions of the registry (`bot.connectors.registry.VENDORS`); it never tests a vendor's name.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.connectors.change_notifications import NotificationFormat
from bot.connectors.fields import WEBHOOK_SECRET, ConnectionFields

if TYPE_CHECKING:
    from bot.connectors.errors import ConnectorError
    from bot.sandbox.day_passes import DayReport
    from bot.sandbox.world import SandboxWorld, Subscription, SubscriptionLine, WriteRecord

Kind = Literal["marketplace", "psa"]
KINDS: tuple[Kind, ...] = ("marketplace", "psa")
# stored in `connection_settings.system` (20 characters), Slack block ids and kept-message keys
KEY = re.compile(r"[a-z][a-z0-9_]{0,19}")


@dataclass(frozen=True)
class IdempotencyKeyTrace:
    """Where a PSA keeps the idempotency key of a change SeatSync posted, so a retry finds it."""

    where: str  # in plain words: "in the agreement addition's description"
    in_every_write: bool  # the key travels in the write itself; else in a record of its own that may not land


@dataclass(frozen=True)
class Capabilities:
    incremental_reads: bool = False  # a read can ask for only what changed since a time (else it reads everything)
    webhooks: NotificationFormat | None = None  # the marketplace pushes change notifications, read this way
    future_dated_changes: bool = False  # PSA: a change dated after today can be posted now (else it waits its day)
    proration_control: bool = False  # PSA: each change says whether the PSA prorates it
    idempotency_key: IdempotencyKeyTrace | None = None  # PSA: where the key of a posted change is found
    # marketplace: each subscription is one product (one resource), so many subscriptions feed one PSA contract
    one_product_per_subscription: bool = False


# (base_url, options, secrets) of a connection
SandboxConnection = tuple[str, dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class DemoSupport:
    """How `seatsync demo` (and its verdict, read from the simulators) meets this vendor in `bot.sandbox`."""

    connection: Callable[[dict[str, Any]], SandboxConnection]  # from `Sandbox.config()`
    simulator: str | None = None  # its simulator's name in the sandbox (fault profiles, the PSA write log)
    # marketplace: the world's subscription line behind (subscription id, resource id) as this vendor shows them
    find_line: Callable[[SandboxWorld, str, str], tuple[Subscription, SubscriptionLine] | None] | None = None
    # marketplace with a book of its own in the world (not `world.subscriptions`): what the line should bill now
    line_target: Callable[[SandboxWorld, str, str], int | None] | None = None
    # how the demo's world must be generated for this vendor to have something to show (`Sandbox.generate`)
    world_options: dict[str, Any] = field(default_factory=dict)
    # marketplace with a book of its own: what a day changed in it, in words (else: the world's subscriptions')
    day_summary: Callable[[DayReport], str] | None = None
    # marketplace: the live demo has its simulator deliver change notifications to SeatSync:
    # (Sandbox.config(), SeatSync's webhook URL, the webhook secret SeatSync stored) -> configured
    register_webhook: Callable[[dict[str, Any], str, str], Awaitable[None]] | None = None
    # PSA: the units a service bills in the world now, by the external id SeatSync reads it under (None: unknown)
    service_units: Callable[[SandboxWorld, str], int | None] | None = None
    # PSA taking future-dated changes: those units once the changes it holds reach their day (else service_units)
    scheduled_units: Callable[[SandboxWorld, str], int | None] | None = None
    # PSA: that external id for a write its simulator logged (else `str(write.service_id)`; Autotask tells its
    # service bundles apart, whose ids may equal a contract service's)
    written_service: Callable[[WriteRecord], str] | None = None
    # marketplace: how the demo's invoice month is planted and released (`seatsync demo --invoice-check`);
    # an object with truth_links, start, after_day, quiet_days, plant_before_sync, plant_after_sync,
    # known_findings and invoice_line_count
    # and invoice_line_count (bot.sandbox.invoice_plants says what each plant is)
    invoice_month: Any = None


@dataclass(frozen=True)
class Vendor:
    key: str  # stored with every row read from it; never changes
    kind: Kind
    label: str  # the one name people see: config, App Home, alerts, failure explanations, the link-time line
    connection: ConnectionFields
    build: Callable[..., Any]  # (connection: Connection, **connector options) -> its Marketplace or Psa client
    capabilities: Capabilities = field(default_factory=Capabilities)
    # its errors in plain words where the generic explanation (bot.sync.failures) would not say enough
    explain_error: Callable[[ConnectorError], str | None] | None = None
    demo: DemoSupport | None = None
    # (its marketplace client) -> its invoice reader (bot.connectors.invoice_sources); None: invoices come as files
    invoices: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if not KEY.fullmatch(self.key):
            raise ValueError(f"vendor key {self.key!r}: lower-case letters, digits and _, at most 20, a letter first")
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        secret_names = {f.name for f in self.connection.secrets}
        if self.capabilities.webhooks is not None and WEBHOOK_SECRET.name not in secret_names:
            raise ValueError(f"{self.key} sends change notifications: its connection needs {WEBHOOK_SECRET.name}")
        if self.demo is not None:
            needed = "find_line" if self.kind == "marketplace" else "service_units"
            if getattr(self.demo, needed) is None and (self.kind == "psa" or self.demo.line_target is None):
                raise ValueError(f"{self.key}: the demo's verdict needs DemoSupport.{needed}")
