"""What would be posted to the PSA, without writing anything: the pre-invoice checklist's preview.

Two sources, from the database only (no vendor call): the open intents in the outbox (due now,
scheduled for a later day, awaiting approval, or failed and retrying), and what levelling would propose
now from the last read of both sides (planning in dry-run mode). Each row says what would happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaService,
)
from bot.sync.planning import plan_levelling

WILL_POST = "will post"
SCHEDULED = "scheduled"
AWAITING_APPROVAL = "awaiting approval"
RETRYING = "failed, retrying"
WOULD_POST = "would post"
WOULD_HOLD = "would hold for approval"


@dataclass(frozen=True)
class PreviewRow:
    company: str
    resource: str
    service: str
    units_from: int
    units_to: int
    effective_date: date
    prorated_amount: Decimal | None
    state: str  # one of the constants above
    note: str | None = None  # why held, the scheduled day, the PSA's error
    adjustment_id: int | None = None  # None for a change not recorded yet

    @property
    def delta(self) -> int:
        return self.units_to - self.units_from


@dataclass
class PostingPreview:
    rows: list[PreviewRow] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def prorated_total(self) -> Decimal:
        """The prorated amounts of everything that will or would post on its own (not held, not failed)."""
        return sum((row.prorated_amount for row in self.rows
                    if row.prorated_amount is not None and row.state in (WILL_POST, SCHEDULED, WOULD_POST)),
                   Decimal(0))


OPEN = (AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed,
        AdjustmentStatus.awaiting_approval)


async def posting_preview(*, session: AsyncSession, today: date, now: datetime) -> PostingPreview:
    """Writes nothing (planning runs as a dry run). An open intent that a newer target would replace is left
    out, so each service shows once."""
    planned = await plan_levelling(session=session, today=today, now=now, trigger=AdjustmentTrigger.sync,
                                   dry_run=True)
    replaced = {change.psa_service_id for change in planned}
    rows = await session.execute(
        select(Adjustment, MarketplaceCompany.name, MarketplaceResource.name, PsaService.name)
        .join(MarketplaceResource, MarketplaceResource.id == Adjustment.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
        .join(PsaService, PsaService.id == Adjustment.psa_service_id)
        .where(Adjustment.status.in_(OPEN))
        .order_by(MarketplaceCompany.name, Adjustment.id))
    preview = PostingPreview()
    for adjustment, company, resource, service in rows:
        if adjustment.psa_service_id in replaced and adjustment.status is not AdjustmentStatus.posting:
            continue
        state, note = _state(adjustment, today)
        preview.rows.append(PreviewRow(company, resource, service, adjustment.units_from, adjustment.units_to,
                                       adjustment.effective_date, adjustment.prorated_amount, state, note,
                                       adjustment.id))
    for change in sorted(planned, key=lambda c: (c.company, c.resource_link_id)):
        state = WOULD_HOLD if change.held_reason else WOULD_POST
        note = change.held_reason or (f"scheduled for {change.hold_until.isoformat()}" if change.hold_until else None)
        preview.rows.append(PreviewRow(change.company, change.resource, change.service, change.units_from,
                                       change.units_to, change.effective_date, change.prorated_amount, state, note))
    return preview


def _state(adjustment: Adjustment, today: date) -> tuple[str, str | None]:
    if adjustment.status is AdjustmentStatus.awaiting_approval:
        return AWAITING_APPROVAL, adjustment.held_reason
    if adjustment.status is AdjustmentStatus.failed:
        return RETRYING, adjustment.last_error
    if adjustment.hold_until is not None and adjustment.hold_until > today:
        return SCHEDULED, f"not posted before {adjustment.hold_until.isoformat()}"
    return WILL_POST, None
