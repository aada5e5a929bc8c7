"""The domain's closed vocabularies. The database stores them as strings with CHECK constraints on every backend
(`bot.db.models.base.enum_column`).

Vendors are not one of them: which marketplaces and PSAs exist is the registry's to say
(`bot.connectors.registry`), so a vendor column is a plain string, checked in code.
"""

from __future__ import annotations

from enum import StrEnum


class Term(StrEnum):
    monthly = "monthly"
    annual = "annual"
    other = "other"


class SubscriptionStatus(StrEnum):
    active = "active"
    pending = "pending"
    suspended = "suspended"
    cancelled = "cancelled"
    expired = "expired"


class ContractStatus(StrEnum):
    active = "active"
    inactive = "inactive"
    cancelled = "cancelled"
    expired = "expired"


class AdjustmentStatus(StrEnum):
    pending = "pending"  # intent recorded, not sent yet
    posting = "posting"  # sent; the outcome is not known yet
    posted = "posted"  # confirmed by reading the PSA back
    failed = "failed"  # the PSA said no; retried with backoff unless needs_action
    superseded = "superseded"  # a newer intent for the same service replaced it before it posted
    awaiting_approval = "awaiting_approval"  # held by the approval policy until a billing-team member decides
    rejected = "rejected"  # a person said no; not proposed again until the marketplace count changes


class AdjustmentTrigger(StrEnum):
    link = "link"  # the one-time reconciliation when a resource is linked
    sync = "sync"  # levelling during a sync cycle
    manual = "manual"  # someone asked for it (sync now, retry)
    import_ = "import"  # links import


class Scope(StrEnum):
    global_ = "global"
    company = "company"
    link = "link"


class PriceSourceKind(StrEnum):
    keep_psa = "keep_psa"
    marketplace_price = "marketplace_price"
    marketplace_cost_markup = "marketplace_cost_markup"
    custom = "custom"


class DecreaseTiming(StrEnum):
    next_period = "next_period"
    today = "today"
    commitment_end = "commitment_end"  # annual/NCE terms: at the term's end, held (scheduled) until then


class SyncRunStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    partial = "partial"  # finished, but some posts failed or a connector could not be read
    failed = "failed"


class ConnectorState(StrEnum):
    ok = "ok"
    failing = "failing"  # the last attempt failed
    stale = "stale"  # no success for longer than the threshold


class SlackMessageState(StrEnum):
    open = "open"  # the condition it reports still holds
    resolved = "resolved"  # turned green (posted, recovered, approved...)



class TenantStatus(StrEnum):
    """A tenant (one MSP's Slack workspace or Grid enterprise): installed, or uninstalled and kept until purged."""

    active = "active"
    uninstalled = "uninstalled"
