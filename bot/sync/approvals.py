"""Decisions on held changes: approve, reject, or edit then approve. Every decision is audited.

A held change is an intent in status awaiting_approval (see bot.domain.approval_policy for why it was
held). Each decision is a conditional UPDATE on that status, so two people clicking at once cannot
both decide: the second is told who decided first.
- approve: the intent becomes pending and posts through the normal outbox (a scheduled one on its day);
- reject: the intent is closed with the reason; planning does not propose the same target again for
  that service while the marketplace count stays at it (bot.sync.planning.declined_targets);
- edit: the proposal is closed as rejected ("edited to …") and a new intent carrying the person's units
  and date (its prorated amount recomputed) is recorded already approved; the proposal's
  `superseded_by_id` points at it. The marketplace count the edit overrode is then declined like a
  rejected one, so levelling does not undo the edit until the count moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.db.audit import record_audit
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    MarketplaceSubscription,
)
from bot.domain import money
from bot.sync.planning import change_amount, computation_failure, new_idempotency_key

MAX_REASON = 500
MAX_UNITS = 1_000_000
EARLIEST_BACKDATE = timedelta(days=31)  # an edit may date a change at most a month back
LATEST_AHEAD = timedelta(days=400)  # and a little over a year ahead (an annual term's end)


class ApprovalError(ValueError):
    """The decision cannot be taken; the message says why in plain words."""


@dataclass(frozen=True)
class Decided:
    """The outcome of a decision: the intent that will post (for an edit, the new one), if any."""

    adjustment_id: int
    to_post: int | None


async def approve_change(*, session: AsyncSession, adjustment_id: int, actor: str, now: datetime) -> Decided:
    """Awaiting → pending (posted by the outbox). The caller commits, then posts `to_post` at once."""
    adjustment = await _awaiting(session, adjustment_id)
    await _claim(session, adjustment, actor=actor, now=now, status=AdjustmentStatus.pending, note=None)
    record_audit(session=session, actor=actor, action="approve_adjustment", subject_type="adjustment",
                 subject_id=adjustment_id, before={"status": AdjustmentStatus.awaiting_approval.value},
                 after={"status": AdjustmentStatus.pending.value, "units_to": adjustment.units_to})
    return Decided(adjustment_id, to_post=adjustment_id)


async def reject_change(*, session: AsyncSession, adjustment_id: int, actor: str, reason: str,
                        now: datetime) -> Decided:
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalError("say why the change is rejected")
    if len(reason) > MAX_REASON:
        raise ApprovalError(f"keep the reason under {MAX_REASON} characters")
    adjustment = await _awaiting(session, adjustment_id)
    await _claim(session, adjustment, actor=actor, now=now, status=AdjustmentStatus.rejected, note=reason)
    record_audit(session=session, actor=actor, action="reject_adjustment", subject_type="adjustment",
                 subject_id=adjustment_id, before={"status": AdjustmentStatus.awaiting_approval.value},
                 after={"status": AdjustmentStatus.rejected.value, "reason": reason,
                        "declined_units": adjustment.units_to})
    return Decided(adjustment_id, to_post=None)


async def edit_change(*, session: AsyncSession, adjustment_id: int, units_to: int, effective: date, actor: str,
                      now: datetime, today: date) -> Decided:
    """Replace the held change by the person's units and date (prorate recomputed), approved at once."""
    if isinstance(units_to, bool) or not isinstance(units_to, int) or not 0 <= units_to <= MAX_UNITS:
        raise ApprovalError(f"units must be a whole number from 0 to {MAX_UNITS:,}")
    if effective < today - EARLIEST_BACKDATE:
        raise ApprovalError(f"the date can be at most a month back (from {today - EARLIEST_BACKDATE} on)")
    if effective > today + LATEST_AHEAD:
        raise ApprovalError(f"the date can be at most {LATEST_AHEAD.days} days ahead")
    adjustment = await _awaiting(session, adjustment_id)
    if units_to == adjustment.units_from:
        raise ApprovalError(f"the service already has {units_to} units; reject the change instead")
    subscription = await session.get(MarketplaceSubscription, adjustment.resource.subscription_id)
    service = adjustment.service
    billed_price = adjustment.unit_price if adjustment.unit_price is not None else service.unit_price
    delta = units_to - adjustment.units_from
    try:  # many units at a large price, or a price stored by hand, would not fit the Money column
        money.usable(billed_price, field="the unit price")
        amount = change_amount(delta=delta, billed_price=billed_price, term=subscription.term, effective=effective,
                               anchor=subscription.start_date)
        money.usable(amount, field="the prorated amount", negative=True)
    except (ValueError, ArithmeticError) as exc:
        raise ApprovalError(f"the change cannot be computed: {computation_failure(exc)}") from None
    edited = Adjustment(
        idempotency_key=new_idempotency_key(), resource_link_id=adjustment.resource_link_id,
        resource_id=adjustment.resource_id, psa_service_id=adjustment.psa_service_id, psa=adjustment.psa,
        units_from=adjustment.units_from, units_to=units_to, delta=delta, effective_date=effective,
        prorated_amount=amount,
        unit_price=adjustment.unit_price, unit_cost=adjustment.unit_cost, status=AdjustmentStatus.pending,
        # a scheduled (commitment-end) change stays scheduled to the day the person chose
        hold_until=effective if adjustment.hold_until is not None and effective > today else None,
        decided_by=actor, decided_at=now,
        decision_note=f"edited from {adjustment.units_to} units effective {adjustment.effective_date.isoformat()}",
        trigger=AdjustmentTrigger.manual, triggered_by=actor, created_at=now, updated_at=now,
    )
    session.add(edited)
    await session.flush()
    note = f"edited to {units_to} units effective {effective.isoformat()}"
    await _claim(session, adjustment, actor=actor, now=now, status=AdjustmentStatus.rejected, note=note,
                 superseded_by_id=edited.id)
    record_audit(session=session, actor=actor, action="edit_adjustment", subject_type="adjustment",
                 subject_id=adjustment_id,
                 before={"status": AdjustmentStatus.awaiting_approval.value, "units_to": adjustment.units_to,
                         "effective_date": adjustment.effective_date.isoformat(),
                         "prorated_amount": _text(adjustment.prorated_amount)},
                 after={"status": AdjustmentStatus.pending.value, "adjustment_id": edited.id, "units_to": units_to,
                        "effective_date": effective.isoformat(), "prorated_amount": _text(edited.prorated_amount)})
    return Decided(adjustment_id, to_post=edited.id)


async def held_change(*, session: AsyncSession, adjustment_id: int) -> Adjustment:
    """The change if it still awaits a decision (ApprovalError otherwise), with its service loaded."""
    return await _awaiting(session, adjustment_id)


async def _awaiting(session: AsyncSession, adjustment_id: int) -> Adjustment:
    adjustment = await session.scalar(
        select(Adjustment).where(Adjustment.id == adjustment_id)
        .options(joinedload(Adjustment.service), joinedload(Adjustment.resource)))
    if adjustment is None:
        raise ApprovalError("that change no longer exists")
    if adjustment.status is not AdjustmentStatus.awaiting_approval:
        raise ApprovalError(already_decided(adjustment))
    return adjustment


def already_decided(adjustment: Adjustment) -> str:
    who = f" by <@{adjustment.decided_by}>" if adjustment.decided_by else ""
    if adjustment.status is AdjustmentStatus.superseded:
        return "that change was replaced by a newer one (the marketplace count moved); see the latest message"
    if adjustment.status is AdjustmentStatus.rejected:
        edited = adjustment.superseded_by_id is not None
        return f"that change was already {'edited' if edited else 'rejected'}{who}"
    return f"that change was already approved{who}"


async def _claim(session: AsyncSession, adjustment: Adjustment, *, actor: str, now: datetime,
                 status: AdjustmentStatus, note: str | None, superseded_by_id: int | None = None) -> None:
    values = {"status": status, "decided_by": actor, "decided_at": now, "decision_note": note, "updated_at": now}
    if superseded_by_id is not None:
        values["superseded_by_id"] = superseded_by_id
    claimed = await session.execute(
        update(Adjustment)
        .where(Adjustment.id == adjustment.id, Adjustment.status == AdjustmentStatus.awaiting_approval)
        .values(**values).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        await session.rollback()
        fresh = await session.get(Adjustment, adjustment.id, populate_existing=True)
        raise ApprovalError(already_decided(fresh) if fresh else "that change no longer exists")
    await session.refresh(adjustment)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
