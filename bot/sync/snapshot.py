"""Store what the marketplace returned: upsert companies, subscriptions and resources, keep the
count history, and say what changed (seat increases and drops, new and cancelled subscriptions,
price changes).

One query per table loads what is already known, so a 10,000-resource snapshot costs a handful of
round trips, not one per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    ResourceCountChange,
    SubscriptionStatus,
)
from bot.db.one_writer import one_writer_at_a_time
from bot.domain.records import MarketplaceSnapshot, MarketResource, MarketSubscription
from bot.sync.turns import give_a_turn


@dataclass
class CountChange:
    resource_id: int
    name: str
    before: int
    after: int


@dataclass
class SnapshotDiff:
    increases: list[CountChange] = field(default_factory=list)
    decreases: list[CountChange] = field(default_factory=list)
    new_subscriptions: list[str] = field(default_factory=list)
    cancelled_subscriptions: list[str] = field(default_factory=list)
    price_changes: list[int] = field(default_factory=list)  # resource ids
    new_resources: int = 0
    removed_resources: int = 0
    subscriptions_seen: int = 0
    resources_seen: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.increases or self.decreases or self.new_subscriptions or self.cancelled_subscriptions
                    or self.price_changes or self.new_resources or self.removed_resources)

    def as_stats(self) -> dict[str, int]:
        return {"increases": len(self.increases), "decreases": len(self.decreases),
                "new_subscriptions": len(self.new_subscriptions),
                "cancelled_subscriptions": len(self.cancelled_subscriptions),
                "price_changes": len(self.price_changes), "new_resources": self.new_resources,
                "removed_resources": self.removed_resources, "subscriptions_seen": self.subscriptions_seen,
                "resources_seen": self.resources_seen}


async def apply_marketplace_snapshot(
    *, session: AsyncSession, marketplace: str, snapshot: MarketplaceSnapshot, now: datetime,
    sync_run_id: int | None = None,
) -> SnapshotDiff:
    diff = SnapshotDiff()
    await one_writer_at_a_time(session, f"marketplace:{marketplace}")
    companies = await _companies(session, marketplace, snapshot, now)
    known_subs = {
        s.external_id: s for s in await session.scalars(
            select(MarketplaceSubscription).where(MarketplaceSubscription.marketplace == marketplace)
        )
    }
    sub_ids_in_scope = [known_subs[s.external_id].id for s in snapshot.subscriptions if s.external_id in known_subs]
    if snapshot.complete:
        sub_ids_in_scope = [s.id for s in known_subs.values()]
    known_resources: dict[tuple[int, str], MarketplaceResource] = {}
    for chunk in _chunks(sub_ids_in_scope, 900):
        for resource in await session.scalars(
            select(MarketplaceResource).where(MarketplaceResource.subscription_id.in_(chunk))
        ):
            known_resources[(resource.subscription_id, resource.external_id)] = resource

    seen_subs: set[str] = set()
    seen_resources: set[int] = set()
    pairs: list[tuple[MarketplaceSubscription, MarketSubscription]] = []
    for done, incoming in enumerate(snapshot.subscriptions, 1):
        await give_a_turn(session, done)
        company = companies.get(incoming.company_external_id)
        if company is None:
            continue  # a subscription of a customer the marketplace did not list: skip rather than guess
        seen_subs.add(incoming.external_id)
        diff.subscriptions_seen += 1
        subscription = known_subs.get(incoming.external_id)
        if subscription is None:
            subscription = _new_subscription(incoming, marketplace, company, now)
            session.add(subscription)
            known_subs[incoming.external_id] = subscription
            diff.new_subscriptions.append(incoming.external_id)
        else:
            if (incoming.status is SubscriptionStatus.cancelled
                    and subscription.status is not SubscriptionStatus.cancelled):
                diff.cancelled_subscriptions.append(incoming.external_id)
            _update_subscription(subscription, incoming, company, now)
        pairs.append((subscription, incoming))
    await session.flush()  # one round of INSERTs gives every new subscription its id

    new_resources: list[MarketplaceResource] = []
    for done, (subscription, incoming) in enumerate(pairs, 1):
        await give_a_turn(session, done)
        for item in incoming.resources:
            diff.resources_seen += 1
            resource = known_resources.get((subscription.id, item.external_id))
            if resource is None:
                resource = MarketplaceResource(
                    subscription_id=subscription.id, marketplace=marketplace, external_id=item.external_id,
                    name=item.name, unit=item.unit,
                    included=item.included, additional=item.additional, total=item.total,
                    unit_price=item.unit_price, unit_cost=item.unit_cost, currency=item.currency, first_seen_at=now,
                    last_seen_at=now,
                )
                session.add(resource)
                known_resources[(subscription.id, item.external_id)] = resource
                new_resources.append(resource)
                continue
            _update_resource(resource, item, now, sync_run_id, diff, session)
            seen_resources.add(resource.id)
    await session.flush()
    diff.new_resources = len(new_resources)
    for done, resource in enumerate(new_resources, 1):
        await give_a_turn(session, done)
        session.add(_history(resource, None, now, sync_run_id))
        seen_resources.add(resource.id)

    subs_by_id = {s.id: s for s in known_subs.values()}
    for (subscription_id, _external_id), resource in known_resources.items():
        if resource.id in seen_resources or resource.removed_at is not None:
            continue
        subscription = subs_by_id[subscription_id]
        # gone from a subscription we were shown (or from a complete read): it bills nothing now
        if snapshot.complete or subscription.external_id in seen_subs:
            resource.removed_at = now
            diff.removed_resources += 1
            diff.decreases.append(CountChange(resource.id, resource.name, resource.total, 0))
            session.add(ResourceCountChange(resource_id=resource.id, observed_at=now, previous_total=resource.total,
                                            total=0, included=0, additional=0, unit_price=resource.unit_price,
                                            unit_cost=resource.unit_cost, sync_run_id=sync_run_id))
    if snapshot.complete:
        for subscription in known_subs.values():
            if subscription.external_id not in seen_subs and subscription.removed_at is None:
                subscription.removed_at = now
    await session.flush()
    return diff


async def _companies(
    session: AsyncSession, marketplace: str, snapshot: MarketplaceSnapshot, now: datetime
) -> dict[str, MarketplaceCompany]:
    known = {
        c.external_id: c for c in await session.scalars(
            select(MarketplaceCompany).where(MarketplaceCompany.marketplace == marketplace)
        )
    }
    seen: set[str] = set()
    for done, incoming in enumerate(snapshot.companies, 1):
        await give_a_turn(session, done)
        seen.add(incoming.external_id)
        company = known.get(incoming.external_id)
        if company is None:
            company = MarketplaceCompany(marketplace=marketplace, external_id=incoming.external_id,
                                         name=incoming.name, first_seen_at=now, last_seen_at=now)
            session.add(company)
            known[incoming.external_id] = company
        else:
            company.name, company.last_seen_at, company.removed_at = incoming.name, now, None
    if snapshot.complete:
        for external_id, company in known.items():
            if external_id not in seen and company.removed_at is None:
                company.removed_at = now
    await session.flush()
    return known


def _new_subscription(incoming: MarketSubscription, marketplace: str, company: MarketplaceCompany,
                      now: datetime) -> MarketplaceSubscription:
    return MarketplaceSubscription(
        company_id=company.id, marketplace=marketplace, external_id=incoming.external_id, name=incoming.name,
        term=incoming.term, status=incoming.status, start_date=incoming.start_date, end_date=incoming.end_date,
        vendor_modified_at=incoming.modified_at, first_seen_at=now, last_seen_at=now,
    )


def _update_subscription(subscription: MarketplaceSubscription, incoming: MarketSubscription,
                         company: MarketplaceCompany, now: datetime) -> None:
    subscription.company_id = company.id
    subscription.name, subscription.term, subscription.status = incoming.name, incoming.term, incoming.status
    subscription.start_date, subscription.end_date = incoming.start_date, incoming.end_date
    subscription.vendor_modified_at = incoming.modified_at
    subscription.last_seen_at, subscription.removed_at = now, None


def _update_resource(resource: MarketplaceResource, item: MarketResource, now: datetime, sync_run_id: int | None,
                     diff: SnapshotDiff, session: AsyncSession) -> None:
    before = resource.total if resource.removed_at is None else 0
    price_changed = (item.unit_price is not None and resource.unit_price != item.unit_price) or (
        item.unit_cost is not None and resource.unit_cost != item.unit_cost)
    total = item.total
    resource.name, resource.unit = item.name, item.unit
    resource.included, resource.additional, resource.total = item.included, item.additional, total
    if item.unit_price is not None:
        resource.unit_price = item.unit_price
    if item.unit_cost is not None:
        resource.unit_cost = item.unit_cost
    resource.currency = item.currency or resource.currency
    resource.last_seen_at, resource.removed_at = now, None
    if total != before or price_changed:
        session.add(_history(resource, before, now, sync_run_id))
    change = CountChange(resource.id, resource.name, before, total)
    if total > before:
        diff.increases.append(change)
    elif total < before:
        diff.decreases.append(change)
    if price_changed:
        diff.price_changes.append(resource.id)


def _history(resource: MarketplaceResource, before: int | None, now: datetime,
             sync_run_id: int | None) -> ResourceCountChange:
    return ResourceCountChange(resource_id=resource.id, observed_at=now, previous_total=before, total=resource.total,
                               included=resource.included, additional=resource.additional,
                               unit_price=resource.unit_price, unit_cost=resource.unit_cost,
                               sync_run_id=sync_run_id)


def _chunks(values: list[int], size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]
