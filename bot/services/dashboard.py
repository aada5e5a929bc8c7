"""App Home's numbers: links, the last sync and connector health, failures, held changes, top customers,
and the Slack messages that could not be delivered. A handful of aggregate queries, cheap enough to run
each time someone opens the Home tab."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.app_settings import load_app_settings
from bot.db.connector_health import connector_health, is_down
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    ConnectorState,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    ResourceLink,
    SlackMessage,
    SubscriptionStatus,
    SyncRun,
)
from bot.domain.records import SEAT_UNITS

LIVE = (SubscriptionStatus.active, SubscriptionStatus.pending, SubscriptionStatus.suspended)
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class LastSync:
    run_id: int
    status: str
    trigger: str
    triggered_by: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class ConnectorLine:
    system: str
    state: str  # ok | failing | stale
    last_success_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class CustomerLicences:
    company: str
    licences: int
    linked_licences: int


@dataclass(frozen=True)
class Undelivered:
    key: str
    channel: str
    error: str
    at: datetime


@dataclass
class Dashboard:
    now: datetime
    marketplace: str | None
    psa: str | None
    linked_resources: int
    unlinked_resources: int
    unlinked_subscriptions: int
    failures_pending: int
    needs_action: int
    awaiting_approval: int
    last_sync: LastSync | None
    connectors: list[ConnectorLine] = field(default_factory=list)
    marketplaces: list[str] = field(default_factory=list)  # every active one; `marketplace` is the first
    unlinked_by_source: dict[str, int] = field(default_factory=dict)  # unlinked live resources per marketplace
    top_customers: list[CustomerLicences] = field(default_factory=list)
    undelivered: list[Undelivered] = field(default_factory=list)


def _live_resources():
    return (select(MarketplaceResource.id, MarketplaceResource.total, MarketplaceResource.unit,
                   MarketplaceResource.marketplace, MarketplaceSubscription.company_id,
                   MarketplaceSubscription.id.label("subscription_id"),
                   ResourceLink.id.label("link_id"))
            .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
            .outerjoin(ResourceLink, ResourceLink.resource_id == MarketplaceResource.id)
            .where(MarketplaceResource.removed_at.is_(None), MarketplaceSubscription.removed_at.is_(None),
                   MarketplaceSubscription.status.in_(LIVE)))


async def home_dashboard(*, session: AsyncSession, now: datetime) -> Dashboard:
    settings = await load_app_settings(session=session)
    live = _live_resources().subquery()
    linked, unlinked, unlinked_subscriptions = (await session.execute(select(
        func.count(live.c.link_id),
        func.count(live.c.id) - func.count(live.c.link_id),
        func.count(func.distinct(live.c.subscription_id)).filter(live.c.link_id.is_(None)),
    ))).one()
    by_status = dict((await session.execute(
        select(Adjustment.status, func.count()).where(Adjustment.status.in_(
            (AdjustmentStatus.failed, AdjustmentStatus.awaiting_approval))).group_by(Adjustment.status))).all())
    needs_action = await session.scalar(select(func.count()).select_from(Adjustment).where(
        Adjustment.status == AdjustmentStatus.failed, Adjustment.needs_action.is_(True))) or 0
    stale_after = timedelta(minutes=settings.connector_stale_minutes)
    unlinked_by_source = dict((await session.execute(
        select(live.c.marketplace, func.count()).where(live.c.link_id.is_(None)).group_by(live.c.marketplace))).all())
    return Dashboard(
        now=now, marketplace=settings.marketplace, psa=settings.psa,
        linked_resources=linked or 0, unlinked_resources=unlinked or 0,
        unlinked_subscriptions=unlinked_subscriptions or 0,
        failures_pending=by_status.get(AdjustmentStatus.failed, 0), needs_action=needs_action,
        awaiting_approval=by_status.get(AdjustmentStatus.awaiting_approval, 0),
        last_sync=await _last_sync(session),
        connectors=[ConnectorLine(row.system, _state(row, now, stale_after), row.last_success_at, row.last_error)
                    for row in await connector_health(session=session)],
        marketplaces=list(settings.marketplaces), unlinked_by_source=unlinked_by_source,
        top_customers=await _top_customers(session, live),
        undelivered=[Undelivered(m.key, m.channel, m.last_error or "", m.updated_at)
                     for m in await undelivered_messages(session=session, limit=5)],
    )


def _state(row, now: datetime, stale_after: timedelta) -> str:
    if row.state is ConnectorState.failing:
        return "failing"
    if row.state is ConnectorState.stale or is_down(row, now=now, stale_after=stale_after):
        return "stale"
    return "ok"


async def _last_sync(session: AsyncSession) -> LastSync | None:
    run = await session.scalar(select(SyncRun).where(SyncRun.dry_run.is_(False)).order_by(SyncRun.id.desc()).limit(1))
    if run is None:
        return None
    return LastSync(run_id=run.id, status=run.status.value, trigger=run.trigger, triggered_by=run.triggered_by,
                    started_at=run.started_at, finished_at=run.finished_at, error=run.error)


async def _top_customers(session: AsyncSession, live) -> list[CustomerLicences]:
    """Seats per customer: resources counted per piece only (a customer's GB of storage is no seat count)."""
    seats = func.lower(func.coalesce(live.c.unit, "unit")).in_(sorted(SEAT_UNITS))
    licences = func.sum(live.c.total).filter(seats)
    linked = func.sum(live.c.total).filter(seats, live.c.link_id.is_not(None))
    rows = await session.execute(
        select(MarketplaceCompany.name, licences, linked)
        .join(live, live.c.company_id == MarketplaceCompany.id)
        .group_by(MarketplaceCompany.id, MarketplaceCompany.name).having(licences > 0)
        .order_by(licences.desc(), MarketplaceCompany.name).limit(TOP_CUSTOMERS))
    return [CustomerLicences(name, int(total or 0), int(linked_total or 0)) for name, total, linked_total in rows]


async def undelivered_messages(*, session: AsyncSession, limit: int = 10) -> list[SlackMessage]:
    """Kept messages Slack refused (for App Home: "I could not post in #billing-alerts: not_in_channel")."""
    return list(await session.scalars(
        select(SlackMessage).where(SlackMessage.last_error.is_not(None))
        .order_by(SlackMessage.updated_at.desc()).limit(limit)))
