"""Failed adjustments grouped by cause, for the Slack alerts: one alert per cause, not one per failure.

A cause is the PSA plus its message with the particulars taken out (ids, amounts, dates become `#`),
so "Contract 31 is inactive" and "Contract 57 is inactive" are one cause, while a refusal and a
timeout are two. The key is stable across runs and processes: it names the alert's kept message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaService,
)

KEY_PREFIX = "failure:"
_PARTICULARS = re.compile(r"\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")
# Adjustments in these states are out of the failure log for good (posted, or no longer wanted).
SETTLED = (AdjustmentStatus.posted, AdjustmentStatus.superseded, AdjustmentStatus.rejected)


@dataclass(frozen=True)
class FailedAdjustment:
    id: int
    company: str
    resource: str
    service: str
    units_from: int
    units_to: int
    delta: int
    attempts: int
    needs_action: bool
    message: str
    recorded_on: date


@dataclass
class FailureCause:
    key: str
    psa: str
    message: str  # the PSA's words, in plain language (from the most recent failure of this cause)
    adjustments: list[FailedAdjustment] = field(default_factory=list)

    @property
    def needs_action(self) -> bool:
        return any(a.needs_action for a in self.adjustments)

    @property
    def first_recorded_on(self) -> date:
        return min(a.recorded_on for a in self.adjustments)


@dataclass(frozen=True)
class AdjustmentOutcome:
    id: int
    status: AdjustmentStatus
    attempts: int
    company: str
    resource: str
    delta: int


def normalise_error(message: str) -> str:
    return _SPACES.sub(" ", _PARTICULARS.sub("#", message.lower())).strip()


def cause_key(psa: str, message: str) -> str:
    digest = hashlib.sha256(f"{psa}\n{normalise_error(message)}".encode()).hexdigest()[:24]
    return f"{KEY_PREFIX}{psa}:{digest}"


def _described():
    return (
        select(Adjustment, MarketplaceCompany.name, MarketplaceResource.name, PsaService.name)
        .join(MarketplaceResource, MarketplaceResource.id == Adjustment.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
        .join(PsaService, PsaService.id == Adjustment.psa_service_id)
    )


async def failure_causes(*, session: AsyncSession) -> list[FailureCause]:
    """Every failed adjustment, grouped by cause; causes in the order their first failure was recorded."""
    causes: dict[str, FailureCause] = {}
    rows = await session.execute(_described().where(Adjustment.status == AdjustmentStatus.failed)
                                 .order_by(Adjustment.id))
    for adjustment, company, resource, service in rows:
        message = adjustment.last_error or "no message was recorded"
        psa = adjustment.psa
        key = cause_key(psa, message)
        cause = causes.setdefault(key, FailureCause(key=key, psa=psa, message=message))
        cause.message = message
        cause.adjustments.append(FailedAdjustment(
            id=adjustment.id, company=company, resource=resource, service=service,
            units_from=adjustment.units_from, units_to=adjustment.units_to, delta=adjustment.delta,
            attempts=adjustment.attempts, needs_action=adjustment.needs_action, message=message,
            recorded_on=adjustment.created_at.date()))
    return list(causes.values())


async def adjustment_outcomes(*, session: AsyncSession, ids: Sequence[int]) -> list[AdjustmentOutcome]:
    """Where these adjustments stand now (an alert's adjustments, to tell whether it can turn green)."""
    if not ids:
        return []
    rows = await session.execute(_described().where(Adjustment.id.in_(list(ids))).order_by(Adjustment.id))
    return [AdjustmentOutcome(id=a.id, status=a.status, attempts=a.attempts, company=company, resource=resource,
                              delta=a.delta)
            for a, company, resource, _ in rows]
