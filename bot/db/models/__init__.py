"""Every table of SeatSync, importable from one place (Alembic reads `Base.metadata` from here)."""

from bot.db.models.base import Base, utcnow
from bot.db.models.invoices import Invoice, InvoiceDecision, InvoiceLineRow, InvoiceSupersession
from bot.db.models.links import CompanyLink, PriceSourceSetting, ResourceLink, SubscriptionLink, SyncPolicy
from bot.db.models.marketplace import (
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    ResourceCountChange,
)
from bot.db.models.outbox import Adjustment
from bot.db.models.psa import PsaCompany, PsaContract, PsaService, PsaServicePrice
from bot.db.models.slack_installs import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES
from bot.db.models.system import (
    AppSetting,
    AuditEvent,
    ConnectionSetting,
    ConnectorHealth,
    SchedulerLease,
    SlackDelivery,
    SlackMessage,
    SyncRun,
    VendorRateBudget,
)
from bot.db.models.tenants import GLOBAL_TABLES, Tenant, TenantOwned
from bot.domain.enums import (
    AdjustmentStatus,
    AdjustmentTrigger,
    ConnectorState,
    ContractStatus,
    DecreaseTiming,
    PriceSourceKind,
    Scope,
    SlackMessageState,
    SubscriptionStatus,
    SyncRunStatus,
    TenantStatus,
    Term,
)

__all__ = [
    "SLACK_BOTS", "SLACK_INSTALLATIONS", "SLACK_OAUTH_STATES",
    "Adjustment", "AdjustmentStatus", "AdjustmentTrigger", "AppSetting", "AuditEvent", "Base", "CompanyLink",
    "ConnectionSetting", "ConnectorHealth", "ConnectorState", "ContractStatus", "DecreaseTiming",
    "Invoice", "InvoiceDecision", "InvoiceLineRow", "InvoiceSupersession",
    "MarketplaceCompany", "MarketplaceResource", "MarketplaceSubscription", "PriceSourceKind", "PriceSourceSetting",
    "PsaCompany", "PsaContract", "PsaService", "PsaServicePrice", "ResourceCountChange", "ResourceLink",
    "SchedulerLease",
    "Scope", "SlackDelivery", "SlackMessage", "SlackMessageState", "SubscriptionLink", "SubscriptionStatus",
    "SyncPolicy", "SyncRun", "SyncRunStatus", "GLOBAL_TABLES", "Tenant", "TenantOwned", "TenantStatus", "Term",
    "VendorRateBudget", "utcnow",
]
