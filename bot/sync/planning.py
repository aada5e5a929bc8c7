"""Levelling plans: for every linked resource, record the intent to bring the PSA to the target.

An intent is an `Adjustment` row (status pending) with a fresh idempotency key, written before any
PSA call. At most one open intent exists per PSA service: a newer target supersedes an older intent
that has not been sent; an intent whose outcome is unknown (status posting) is never superseded —
the poster resolves it by reading the PSA first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    DecreaseTiming,
    MarketplaceResource,
    MarketplaceSubscription,
    PriceSourceSetting,
    PsaService,
    ResourceLink,
    SyncPolicy,
)
from bot.sync.levelling import target_units
from bot.sync.pricing import PriceSource, resolve_price_source, unit_pricing
from bot.sync.proration import effective_date, prorated_amount

OPEN_STATUSES = (AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed)


@dataclass(frozen=True)
class PlannedChange:
    """What levelling one link would post; also what a dry run shows."""

    resource_link_id: int
    resource_id: int
    psa_service_id: int
    company: str
    resource: str
    service: str
    units_from: int
    units_to: int
    effective_date: date
    prorated_amount: Decimal | None
    unit_price: Decimal | None
    unit_cost: Decimal | None

    @property
    def delta(self) -> int:
        return self.units_to - self.units_from


def new_idempotency_key() -> str:
    return "ss-" + secrets.token_hex(12)


class LinkSettings:
    """Price sources and sync policies, loaded once, resolved link > company > global."""

    def __init__(self, prices: list[PriceSourceSetting], policies: list[SyncPolicy]) -> None:
        self._prices = {p.scope_key: p for p in prices}
        self._policies = {p.scope_key: p for p in policies}

    @classmethod
    async def load(cls, session: AsyncSession) -> LinkSettings:
        return cls(list(await session.scalars(select(PriceSourceSetting))),
                   list(await session.scalars(select(SyncPolicy))))

    @staticmethod
    def _keys(link: ResourceLink, company_id: int) -> tuple[str, str, str]:
        return (f"link:{link.id}", f"company:{company_id}", "global")

    def price_source(self, link: ResourceLink, company_id: int) -> PriceSource:
        rows = [self._prices.get(key) for key in self._keys(link, company_id)]
        return resolve_price_source(*[
            None if row is None else PriceSource(row.kind, row.markup_percent, row.custom_price, row.custom_cost,
                                                 row.below_cost_confirmed)
            for row in rows
        ])

    def decrease_timing(self, link: ResourceLink, company_id: int) -> DecreaseTiming:
        for key in self._keys(link, company_id):
            policy = self._policies.get(key)
            if policy is not None and policy.decrease_timing is not None:
                return policy.decrease_timing
        return DecreaseTiming.next_period


async def plan_levelling(
    *, session: AsyncSession, today: date, now: datetime, trigger: AdjustmentTrigger, actor: str = "system",
    link_ids: list[int] | None = None, dry_run: bool = False,
) -> list[PlannedChange]:
    """Record (or with dry_run, only compute) an intent for every linked service off its target."""
    settings = await LinkSettings.load(session)
    query = select(ResourceLink).options(
        joinedload(ResourceLink.resource).joinedload(MarketplaceResource.subscription)
        .joinedload(MarketplaceSubscription.company),
        joinedload(ResourceLink.service).joinedload(PsaService.contract),
    )
    if link_ids is not None:
        query = query.where(ResourceLink.id.in_(link_ids))
    links = list((await session.scalars(query)).unique())
    open_intents = list(await session.scalars(
        select(Adjustment).where(Adjustment.status.in_(OPEN_STATUSES)).order_by(Adjustment.id)))
    if link_ids is None and not dry_run:
        # an intent whose link was removed or moved to another service will never be wanted again
        current = {link.id: link.psa_service_id for link in links}
        for intent in open_intents:
            if intent.status is not AdjustmentStatus.posting and (
                    current.get(intent.resource_link_id) != intent.psa_service_id):
                intent.status = AdjustmentStatus.superseded
    open_by_service = {a.psa_service_id: a for a in open_intents if a.status in OPEN_STATUSES}
    planned: list[PlannedChange] = []
    for link in links:
        resource, service = link.resource, link.service
        subscription = resource.subscription
        target = target_units(marketplace_total=resource.total, subscription_status=subscription.status,
                              removed=resource.removed_at is not None or subscription.removed_at is not None)
        pending = open_by_service.get(service.id)
        if pending is not None and (pending.units_to == target or pending.status is AdjustmentStatus.posting):
            continue  # already intended, or its outcome must be resolved before anything new
        if service.units == target:
            if pending is not None and not dry_run:
                pending.status = AdjustmentStatus.superseded  # the PSA already shows the target
            continue
        change = _change(link, target, today, settings)
        planned.append(change)
        if dry_run:
            continue
        intent = Adjustment(
            idempotency_key=new_idempotency_key(), resource_link_id=link.id, resource_id=resource.id,
            psa_service_id=service.id, psa=service.psa, units_from=change.units_from, units_to=change.units_to,
            delta=change.delta, effective_date=change.effective_date, prorated_amount=change.prorated_amount,
            unit_price=change.unit_price, unit_cost=change.unit_cost, status=AdjustmentStatus.pending,
            trigger=trigger, triggered_by=actor, created_at=now, updated_at=now,
        )
        session.add(intent)
        if pending is not None:
            await session.flush()
            pending.status, pending.superseded_by_id = AdjustmentStatus.superseded, intent.id
    await session.flush()
    return planned


def _change(link: ResourceLink, target: int, today: date, settings: LinkSettings) -> PlannedChange:
    resource, service = link.resource, link.service
    subscription = resource.subscription
    company_id = subscription.company_id
    delta = target - service.units
    when = effective_date(delta=delta, today=today, term=subscription.term, anchor=subscription.start_date,
                          decrease_timing=settings.decrease_timing(link, company_id))
    pricing = unit_pricing(settings.price_source(link, company_id), market_price=resource.unit_price,
                           market_cost=resource.unit_cost)
    billed_price = pricing.unit_price if pricing.unit_price is not None else service.unit_price
    amount = None
    if billed_price is not None:
        amount = prorated_amount(units=delta, monthly_unit_price=billed_price, term=subscription.term,
                                 effective=when, anchor=subscription.start_date)
    return PlannedChange(
        resource_link_id=link.id, resource_id=resource.id, psa_service_id=service.id,
        company=subscription.company.name, resource=resource.name, service=service.name,
        units_from=service.units, units_to=target, effective_date=when, prorated_amount=amount,
        unit_price=pricing.unit_price, unit_cost=pricing.unit_cost,
    )
