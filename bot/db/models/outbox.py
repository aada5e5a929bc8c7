"""Adjustments: the outbox of unit changes to post to the PSA, exactly once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.models.base import VENDOR_KEY_LENGTH, Base, enum_column, utcnow
from bot.db.models.marketplace import MarketplaceResource
from bot.db.models.psa import PsaService
from bot.db.models.tenants import TenantOwned
from bot.domain.enums import AdjustmentStatus, AdjustmentTrigger


class Adjustment(TenantOwned, Base):
    __tablename__ = "adjustments"
    __table_args__ = (
        Index("ix_adjustments_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_adjustments_service_status", "psa_service_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    resource_link_id: Mapped[int | None] = mapped_column(ForeignKey("resource_links.id", ondelete="SET NULL"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("marketplace_resources.id", ondelete="RESTRICT"), index=True)
    psa_service_id: Mapped[int] = mapped_column(ForeignKey("psa_services.id", ondelete="RESTRICT"))
    psa: Mapped[str] = mapped_column(String(VENDOR_KEY_LENGTH))  # the PSA vendor's key
    units_from: Mapped[int]
    units_to: Mapped[int]
    delta: Mapped[int]
    effective_date: Mapped[date]
    prorated_amount: Mapped[Decimal | None]
    unit_price: Mapped[Decimal | None]
    unit_cost: Mapped[Decimal | None]
    status: Mapped[AdjustmentStatus] = mapped_column(
        enum_column(AdjustmentStatus, "adjustment_status"), default=AdjustmentStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # The claim (bot.sync.claims): the process posting it and until when; a live claim is never taken over.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_expires_at: Mapped[datetime | None]
    # failed after a write whose fate is unknown (a timeout, a lost reply): it may have landed, so it is resolved
    # by reading the PSA, never closed unread
    outcome_unknown: Mapped[bool] = mapped_column(default=False, server_default=false())
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # the PSA's own words, secrets redacted
    needs_action: Mapped[bool] = mapped_column(default=False)  # permanent rejection: a person must fix the cause
    psa_reference: Mapped[str | None] = mapped_column(String(64))  # the PSA record id of the posted change
    trigger: Mapped[AdjustmentTrigger] = mapped_column(enum_column(AdjustmentTrigger, "adjustment_trigger"))
    triggered_by: Mapped[str] = mapped_column(String(64), default="system")
    # held: not posted before this day (a commitment-end decrease, scheduled)
    hold_until: Mapped[date | None]
    # why the approval policy held it ("decrease on an annual term", "12 units is over the 10-unit limit")
    held_reason: Mapped[str | None] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(64))  # who approved or rejected it
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)  # a rejection's reason, an edit's description
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("adjustments.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    posted_at: Mapped[datetime | None]

    resource: Mapped[MarketplaceResource] = relationship()
    service: Mapped[PsaService] = relationship()
