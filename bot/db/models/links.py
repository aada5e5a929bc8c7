"""Links at the three levels, and the settings that hang off them (price source, sync policy).

Uniqueness rules live in the schema as well as in the service functions (bot.db.links): a marketplace
company maps to one PSA company, a subscription to one contract, and a resource feeds at most one
PSA service while a PSA service is fed by at most one resource.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.models.base import Base, enum_column, utcnow
from bot.db.models.marketplace import MarketplaceCompany, MarketplaceResource, MarketplaceSubscription
from bot.db.models.psa import PsaCompany, PsaContract, PsaService
from bot.db.models.tenants import TenantOwned
from bot.domain.enums import DecreaseTiming, PriceSourceKind, Scope


class CompanyLink(TenantOwned, Base):
    __tablename__ = "company_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_company_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_companies.id", ondelete="RESTRICT"), unique=True
    )
    psa_company_id: Mapped[int] = mapped_column(ForeignKey("psa_companies.id", ondelete="RESTRICT"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    marketplace_company: Mapped[MarketplaceCompany] = relationship()
    psa_company: Mapped[PsaCompany] = relationship()


class SubscriptionLink(TenantOwned, Base):
    __tablename__ = "subscription_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_subscription_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_subscriptions.id", ondelete="RESTRICT"), unique=True
    )
    psa_contract_id: Mapped[int] = mapped_column(ForeignKey("psa_contracts.id", ondelete="RESTRICT"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscription: Mapped[MarketplaceSubscription] = relationship()
    contract: Mapped[PsaContract] = relationship()


class ResourceLink(TenantOwned, Base):
    __tablename__ = "resource_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("marketplace_resources.id", ondelete="RESTRICT"), unique=True)
    psa_service_id: Mapped[int] = mapped_column(ForeignKey("psa_services.id", ondelete="RESTRICT"), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reconciled_at: Mapped[datetime | None]  # when the one-time link reconciliation settled

    resource: Mapped[MarketplaceResource] = relationship()
    service: Mapped[PsaService] = relationship()


class _ScopedSetting:
    """Columns shared by settings that resolve link > company > global.

    `scope_key` ("global", "company:<id>", "link:<id>") carries the uniqueness (per tenant), because NULLs never
    collide in a UNIQUE constraint on either backend.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(40))
    scope: Mapped[Scope] = mapped_column(enum_column(Scope, "scope"))
    marketplace_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketplace_companies.id", ondelete="CASCADE")
    )
    resource_link_id: Mapped[int | None] = mapped_column(ForeignKey("resource_links.id", ondelete="CASCADE"))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PriceSourceSetting(_ScopedSetting, TenantOwned, Base):
    __tablename__ = "price_source_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "scope_key"),)

    kind: Mapped[PriceSourceKind] = mapped_column(enum_column(PriceSourceKind, "price_source_kind"))
    markup_percent: Mapped[Decimal | None]
    custom_price: Mapped[Decimal | None]
    custom_cost: Mapped[Decimal | None]
    # a custom cost below the PSA's current cost must have been confirmed by a person
    below_cost_confirmed: Mapped[bool] = mapped_column(default=False)


class SyncPolicy(_ScopedSetting, TenantOwned, Base):
    __tablename__ = "sync_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "scope_key"),)

    decrease_timing: Mapped[DecreaseTiming | None] = mapped_column(enum_column(DecreaseTiming, "decrease_timing"))
    # Approval policy: a change over any set limit waits for a person. Each column resolves link > company >
    # global on its own; NULL means "not set here".
    approval_max_units: Mapped[int | None]
    approval_max_percent: Mapped[Decimal | None]
    approval_max_amount: Mapped[Decimal | None]
    hold_committed_decreases: Mapped[bool | None]  # decreases on annual/committed terms always wait
    # a favourable (credit) prorate smaller than this is dropped: the change posts with no prorated amount
    drop_prorate_below: Mapped[Decimal | None]
    min_margin_percent: Mapped[Decimal | None]  # the margin guard alerts below this
