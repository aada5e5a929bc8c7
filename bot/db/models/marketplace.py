"""The marketplace snapshot: what the MSP bought, as last read, plus each resource's count history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.models.base import VENDOR_KEY_LENGTH, Base, enum_column, utcnow
from bot.db.models.tenants import TenantOwned
from bot.domain.enums import SubscriptionStatus, Term


class MarketplaceCompany(TenantOwned, Base):
    __tablename__ = "marketplace_companies"
    __table_args__ = (UniqueConstraint("tenant_id", "marketplace", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # a marketplace vendor's key
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]  # no longer returned by the marketplace

    subscriptions: Mapped[list[MarketplaceSubscription]] = relationship(back_populates="company")


class MarketplaceSubscription(TenantOwned, Base):
    __tablename__ = "marketplace_subscriptions"
    __table_args__ = (UniqueConstraint("tenant_id", "marketplace", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("marketplace_companies.id", ondelete="RESTRICT"), index=True)
    marketplace: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # a marketplace vendor's key
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    term: Mapped[Term] = mapped_column(enum_column(Term, "term"))
    status: Mapped[SubscriptionStatus] = mapped_column(enum_column(SubscriptionStatus, "subscription_status"))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]  # expiration / renewal date
    vendor_modified_at: Mapped[datetime | None]  # the marketplace's own last-modified stamp
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    company: Mapped[MarketplaceCompany] = relationship(back_populates="subscriptions")
    resources: Mapped[list[MarketplaceResource]] = relationship(back_populates="subscription")


class MarketplaceResource(TenantOwned, Base):
    """A billable resource of a subscription; `total` is the count SeatSync bills (see bot.domain.records)."""

    __tablename__ = "marketplace_resources"
    __table_args__ = (UniqueConstraint("subscription_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("marketplace_subscriptions.id", ondelete="RESTRICT"), index=True
    )
    # its source: the marketplace vendor's key, always its subscription's (set on insert when left out)
    marketplace: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH), index=True)
    external_id: Mapped[str] = mapped_column(String(64))  # the marketplace's id of the resource
    name: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(32), default="unit")
    included: Mapped[int] = mapped_column(default=0)
    additional: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    unit_price: Mapped[Decimal | None]
    unit_cost: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    subscription: Mapped[MarketplaceSubscription] = relationship(back_populates="resources")


@event.listens_for(MarketplaceResource, "before_insert")
def _resource_source(mapper, connection, target: MarketplaceResource) -> None:
    """A resource's source is its subscription's: filled in when the row is written without it."""
    if target.marketplace:
        return
    parent = target.__dict__.get("subscription")
    if parent is not None and parent.marketplace:
        target.marketplace = parent.marketplace
    else:
        target.marketplace = connection.scalar(select(MarketplaceSubscription.marketplace)
                                               .where(MarketplaceSubscription.id == target.subscription_id))


class ResourceCountChange(TenantOwned, Base):
    """Count history: one row each time a resource's total (or price) was seen to change."""

    __tablename__ = "resource_count_history"
    __table_args__ = (Index("ix_resource_count_history_resource_observed", "resource_id", "observed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("marketplace_resources.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    previous_total: Mapped[int | None]
    total: Mapped[int]
    included: Mapped[int]
    additional: Mapped[int]
    unit_price: Mapped[Decimal | None]
    unit_cost: Mapped[Decimal | None]
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
