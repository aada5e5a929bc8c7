"""The month-end pre-invoice checklist and the daily digest, as data (Slack renders them).

Checklist, in the order a billing team works before invoicing:
1. unlinked marketplace subscriptions (unbilled revenue),
2. marketplace companies with no PSA company linked (companies/contracts to create),
3. what is linked, and the adjustments posted since the month began (to confirm),
4. failures still pending — must be zero before invoicing,
(5. what will be posted: bot.sync.preview)
6. the distributor's invoice of the month checked against what the PSA bills (bot.sync.invoice_check), with
   its money: under-billed, over-billed, unlinked, billed for nothing, missing on prices; never "clean" when
   no invoice was there to check.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.registry import VENDORS
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    CompanyLink,
    MarketplaceCompany,
    MarketplaceSubscription,
    ResourceLink,
    SubscriptionLink,
    SubscriptionStatus,
    SyncRun,
    SyncRunStatus,
)
from bot.domain.invoice_check import CheckState
from bot.sync.invoice_check import check_month_invoices

LIVE = (SubscriptionStatus.active, SubscriptionStatus.pending, SubscriptionStatus.suspended)


@dataclass
class Checklist:
    month_end: date
    unlinked_subscriptions: int
    unlinked_examples: list[str] = field(default_factory=list)
    companies_without_psa: int = 0
    company_examples: list[str] = field(default_factory=list)
    linked_resources: int = 0
    adjustments_this_month: int = 0
    failures_pending: int = 0
    needs_action: int = 0
    # unlinked subscriptions per source, labelled (said only when more than one marketplace has some)
    unlinked_by_source: dict[str, int] = field(default_factory=dict)
    invoice: InvoiceStep | None = None

    @property
    def ready_to_invoice(self) -> bool:
        return self.failures_pending == 0 and self.unlinked_subscriptions == 0


@dataclass(frozen=True)
class InvoiceStep:
    """The month's invoice check in a few numbers (the `invoice-check` report has the rows)."""

    month: date
    checked: bool  # False: no invoice to check (none received, or credited and not reissued yet)
    reason: str
    lines: int = 0
    findings: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)


async def invoice_step(*, session: AsyncSession, month: date) -> InvoiceStep:
    checks = await check_month_invoices(session=session, month=month)
    done = [check.result for check in checks if check.result.state is not CheckState.not_reconcilable]
    if not done:
        return InvoiceStep(month=month, checked=False, reason="; ".join(c.result.reason for c in checks))
    totals: dict[str, Decimal] = {}
    for result in done:
        for kind, money in result.totals.items():
            totals[kind] = totals.get(kind, Decimal(0)) + money
    return InvoiceStep(month=month, checked=True, reason="", lines=sum(r.lines for r in done),
                       findings=sum(len(r.findings) for r in done), totals=totals)


@dataclass
class Digest:
    since: datetime
    adjustments_posted: int
    units_added: int
    units_removed: int
    failures_pending: int
    new_unlinked_subscriptions: int
    last_sync_at: datetime | None
    last_sync_status: str | None


def checklist_due(today: date, days_before_month_end: int) -> bool:
    """True on the day the scheduled checklist is posted: N days before the month's last day."""
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return today == last - timedelta(days=days_before_month_end)


async def month_end_checklist(*, session: AsyncSession, today: date, examples: int = 5) -> Checklist:
    month_start = today.replace(day=1)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    unlinked = (select(MarketplaceSubscription.name, MarketplaceCompany.name, MarketplaceSubscription.marketplace)
                .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
                .outerjoin(SubscriptionLink, SubscriptionLink.marketplace_subscription_id == MarketplaceSubscription.id)
                .where(SubscriptionLink.id.is_(None), MarketplaceSubscription.removed_at.is_(None),
                       MarketplaceSubscription.status.in_(LIVE)))
    unlinked_rows = list(await session.execute(unlinked.order_by(MarketplaceCompany.name).limit(examples)))
    no_psa = (select(MarketplaceCompany.name)
              .outerjoin(CompanyLink, CompanyLink.marketplace_company_id == MarketplaceCompany.id)
              .where(CompanyLink.id.is_(None), MarketplaceCompany.removed_at.is_(None)))
    sub = unlinked.subquery()
    by_source = dict((await session.execute(select(sub.c.marketplace, func.count()).group_by(sub.c.marketplace))).all())
    several = len(by_source) > 1
    return Checklist(
        month_end=month_end,
        unlinked_subscriptions=await _count(session, unlinked),
        unlinked_examples=[f"{company}{f' ({VENDORS.label(source)})' if several else ''}: {name}"
                           for name, company, source in unlinked_rows],
        unlinked_by_source={VENDORS.label(source): count for source, count in sorted(by_source.items())}
        if several else {},
        companies_without_psa=await _count(session, no_psa),
        company_examples=list(await session.scalars(no_psa.order_by(MarketplaceCompany.name).limit(examples))),
        linked_resources=await _count(session, select(ResourceLink.id)),
        adjustments_this_month=await _count(session, select(Adjustment.id).where(
            Adjustment.status == AdjustmentStatus.posted, Adjustment.effective_date >= month_start)),
        failures_pending=await _count(session, select(Adjustment.id).where(
            Adjustment.status == AdjustmentStatus.failed)),
        needs_action=await _count(session, select(Adjustment.id).where(
            Adjustment.status == AdjustmentStatus.failed, Adjustment.needs_action.is_(True))),
        invoice=await invoice_step(session=session, month=month_start),
    )


async def daily_digest(*, session: AsyncSession, since: datetime) -> Digest:
    posted = list(await session.scalars(select(Adjustment.delta).where(
        Adjustment.status == AdjustmentStatus.posted, Adjustment.posted_at >= since)))
    last = (await session.execute(
        select(SyncRun.finished_at, SyncRun.status).where(SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.id.desc()).limit(1))).first()
    new_unlinked = (select(MarketplaceSubscription.id)
                    .outerjoin(SubscriptionLink,
                               SubscriptionLink.marketplace_subscription_id == MarketplaceSubscription.id)
                    .where(SubscriptionLink.id.is_(None), MarketplaceSubscription.first_seen_at >= since,
                           MarketplaceSubscription.status.in_(LIVE)))
    return Digest(
        since=since,
        adjustments_posted=len(posted),
        units_added=sum(d for d in posted if d > 0),
        units_removed=-sum(d for d in posted if d < 0),
        failures_pending=await _count(session, select(Adjustment.id).where(
            Adjustment.status == AdjustmentStatus.failed)),
        new_unlinked_subscriptions=await _count(session, new_unlinked),
        last_sync_at=last[0] if last else None,
        last_sync_status=SyncRunStatus(last[1]).value if last else None,
    )


async def _count(session: AsyncSession, query) -> int:
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0

