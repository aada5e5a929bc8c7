"""Held changes grouped for Slack: one message per marketplace company per day the changes were held.

A group is every change the approval policy held (`held_reason` set) for one company on one (UTC) day,
in id order, cut into parts of `GROUP_SIZE` so a message stays within Slack's block limit; its key is
"approval:<company id>:<day>:<part>". Membership never shrinks (a decided change keeps its reason), so
a change stays in the same message from being held to being posted. The message is kept up to date
(bot.notify.kept_messages) while any change in it is unsettled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaService,
    SlackMessage,
    SlackMessageState,
)

GROUP_SIZE = 20
KEY_PREFIX = "approval:"
SETTLED = (AdjustmentStatus.posted, AdjustmentStatus.superseded)


@dataclass(frozen=True)
class EditedChange:
    adjustment_id: int
    units_to: int
    effective_date: date
    prorated_amount: Decimal | None
    status: AdjustmentStatus
    hold_until: date | None
    last_error: str | None


@dataclass(frozen=True)
class HeldChange:
    adjustment_id: int
    resource: str
    service: str
    units_from: int
    units_to: int
    effective_date: date
    prorated_amount: Decimal | None
    held_reason: str
    status: AdjustmentStatus
    decided_by: str | None
    decision_note: str | None
    hold_until: date | None
    last_error: str | None
    edit: EditedChange | None = None

    @property
    def delta(self) -> int:
        return self.units_to - self.units_from

    @property
    def awaiting(self) -> bool:
        return self.status is AdjustmentStatus.awaiting_approval

    @property
    def settled(self) -> bool:
        """Nothing about it will change any more: posted, replaced, rejected, or its edit posted."""
        if self.edit is not None:
            return self.edit.status in SETTLED
        return self.status in SETTLED or self.status is AdjustmentStatus.rejected

    def state(self) -> str:
        edit = f">{self.edit.adjustment_id}:{self.edit.status.value}" if self.edit else ""
        return f"{self.adjustment_id}:{self.status.value}{edit}:{self.last_error or ''}"


@dataclass(frozen=True)
class ApprovalGroup:
    key: str
    company: str
    day: date
    changes: list[HeldChange]

    @property
    def awaiting(self) -> int:
        return sum(1 for change in self.changes if change.awaiting)

    @property
    def settled(self) -> bool:
        return all(change.settled for change in self.changes)

    def signature(self) -> dict[str, Any]:
        """What the message last showed; a message is only updated when this differs."""
        return {"ids": [c.adjustment_id for c in self.changes], "states": [c.state() for c in self.changes]}


@dataclass(frozen=True)
class KeptApprovalMessage:
    key: str
    channel: str
    payload: dict[str, Any]
    delivered: bool  # Slack has the message as `payload` describes (no error on the last post or update)


def group_key(company_id: int, day: date, part: int) -> str:
    return f"{KEY_PREFIX}{company_id}:{day.isoformat()}:{part}"


def _parse_key(key: str) -> tuple[int, date] | None:
    try:
        company_id, day, _part = key.removeprefix(KEY_PREFIX).split(":")
        return int(company_id), date.fromisoformat(day)
    except ValueError:
        return None


async def open_approval_messages(*, session: AsyncSession) -> dict[str, KeptApprovalMessage]:
    rows = await session.scalars(select(SlackMessage).where(SlackMessage.key.startswith(KEY_PREFIX),
                                                            SlackMessage.state == SlackMessageState.open))
    return {row.key: KeptApprovalMessage(row.key, row.channel, dict(row.payload or {}),
                                         delivered=row.ts is not None and row.last_error is None) for row in rows}


async def approval_groups(*, session: AsyncSession, open_keys: set[str] | frozenset[str] = frozenset(),
                          adjustment_id: int | None = None) -> list[ApprovalGroup]:
    """The groups holding a change that awaits approval, the groups named by `open_keys` (messages still
    open), and the group of `adjustment_id`."""
    awaiting = await session.execute(
        select(MarketplaceSubscription.company_id, Adjustment.created_at)
        .join(MarketplaceResource, MarketplaceResource.id == Adjustment.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .where((Adjustment.status == AdjustmentStatus.awaiting_approval) | (Adjustment.id == adjustment_id)))
    days = {(company_id, created_at.astimezone(UTC).date()) for company_id, created_at in awaiting}
    days |= {parsed for parsed in map(_parse_key, open_keys) if parsed is not None}
    groups: list[ApprovalGroup] = []
    for company_id, day in sorted(days):
        for group in await _groups_of_day(session, company_id, day):
            if (group.awaiting or group.key in open_keys
                    or any(c.adjustment_id == adjustment_id for c in group.changes)):
                groups.append(group)
    return groups


async def _groups_of_day(session: AsyncSession, company_id: int, day: date) -> list[ApprovalGroup]:
    start = datetime.combine(day, time.min, UTC)
    rows = list(await session.execute(
        select(Adjustment, MarketplaceResource.name, PsaService.name, MarketplaceCompany.name)
        .join(MarketplaceResource, MarketplaceResource.id == Adjustment.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
        .join(PsaService, PsaService.id == Adjustment.psa_service_id)
        .where(MarketplaceSubscription.company_id == company_id, Adjustment.held_reason.is_not(None),
               Adjustment.created_at >= start, Adjustment.created_at < start + timedelta(days=1))
        .order_by(Adjustment.id)))
    edit_ids = [row[0].superseded_by_id for row in rows
                if row[0].status is AdjustmentStatus.rejected and row[0].superseded_by_id is not None]
    edits = {a.id: a for a in await session.scalars(select(Adjustment).where(Adjustment.id.in_(edit_ids)))}
    changes = [_held(adjustment, resource, service, edits.get(adjustment.superseded_by_id or -1)
                     if adjustment.status is AdjustmentStatus.rejected else None)
               for adjustment, resource, service, _company in rows]
    company = rows[0][3] if rows else ""
    return [ApprovalGroup(group_key(company_id, day, part + 1), company, day, changes[i:i + GROUP_SIZE])
            for part, i in enumerate(range(0, len(changes), GROUP_SIZE))]


def _held(adjustment: Adjustment, resource: str, service: str, edit: Adjustment | None) -> HeldChange:
    return HeldChange(
        adjustment_id=adjustment.id, resource=resource, service=service, units_from=adjustment.units_from,
        units_to=adjustment.units_to, effective_date=adjustment.effective_date,
        prorated_amount=adjustment.prorated_amount, held_reason=adjustment.held_reason or "",
        status=adjustment.status, decided_by=adjustment.decided_by, decision_note=adjustment.decision_note,
        hold_until=adjustment.hold_until, last_error=adjustment.last_error,
        edit=None if edit is None else EditedChange(edit.id, edit.units_to, edit.effective_date,
                                                    edit.prorated_amount, edit.status, edit.hold_until,
                                                    edit.last_error),
    )
