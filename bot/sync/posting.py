"""Post the outbox to the PSA, exactly once.

For each due intent:
1. claim it (a conditional UPDATE to `posting`, attempts + 1) and commit — the intent is durable
   before any PSA call, and two posters can never both claim it;
2. read the PSA first: if an earlier attempt's outcome is unknown, look for the idempotency key;
   read the service's units — already at the target means nothing to send (an earlier reply was
   lost, or someone levelled it by hand); units moved by hand mean the change is re-based on them;
3. post the difference carrying the key, read the units back, and record the confirmation.
A timeout, a dropped reply, a 429 or a 500 at any point leaves the intent claimed or failed, and the
next attempt starts again at step 2, so a change is never lost and never posted twice.

Never due: an intent awaiting approval (or rejected), and one held until a later day (`hold_until`, a
decrease scheduled at its commitment's end). A change whose credit was dropped (prorated amount 0) is
sent with `prorate` off.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from bot.connectors.errors import ConnectorError
from bot.connectors.interfaces import Psa
from bot.db.models import Adjustment, AdjustmentStatus, PsaContract, PsaService
from bot.domain import AdjustmentRequest, PostResult
from bot.sync.failures import explain_failure

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
FIRST_RETRY_S = 90  # the first retry comes within two minutes
MAX_RETRY_S = 3600
CLAIMABLE_STATUSES = (AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: ~90 s, 3 min, 6 min... capped at one hour."""
    base = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.0))


@dataclass
class PostedChange:
    adjustment_id: int
    service: str
    units_from: int
    units_to: int
    outcome: str  # posted | confirmed | not_needed | failed


@dataclass
class PostingReport:
    posted: int = 0  # sent to the PSA and confirmed
    confirmed: int = 0  # an earlier attempt had landed (its reply was lost): confirmed without a second post
    not_needed: int = 0  # the PSA already showed the target (a hand edit): nothing sent
    rebased: int = 0  # units had moved in the PSA since the intent; posted the difference from them
    failed: int = 0
    needs_action: int = 0
    read_error: str | None = None
    changes: list[PostedChange] = field(default_factory=list)

    def as_stats(self) -> dict[str, int]:
        return {"posted": self.posted, "confirmed": self.confirmed, "not_needed": self.not_needed,
                "rebased": self.rebased, "failed": self.failed, "needs_action": self.needs_action}


def due_filter(now: datetime):
    return (
        Adjustment.status.in_([AdjustmentStatus.pending, AdjustmentStatus.posting])
        | ((Adjustment.status == AdjustmentStatus.failed) & (Adjustment.next_attempt_at <= now))
    )


def not_held(today: date):
    """Scheduled intents wait for their day (the business day, in the MSP's time zone)."""
    return Adjustment.hold_until.is_(None) | (Adjustment.hold_until <= today)


async def post_due_adjustments(
    *, sessions: async_sessionmaker[AsyncSession], psa: Psa, clock: Clock, only_ids: list[int] | None = None,
    concurrency: int = 4, in_pass_attempts: int = 4, ignore_backoff: bool = False, hold_after: date | None = None,
    today: date | None = None,
) -> PostingReport:
    """Post every due intent. `hold_after`: keep intents dated later than this day for their day (a PSA
    that cannot take future-dated changes); `ignore_backoff`: retry failures now (sync now, demo);
    `today`: the business day scheduled intents are compared with (UTC's date when not given)."""
    report = PostingReport()
    now = clock()
    today = today or now.date()
    async with sessions() as session:
        query = select(Adjustment.id, PsaService.external_id).join(
            PsaService, PsaService.id == Adjustment.psa_service_id)
        if ignore_backoff:
            query = query.where(Adjustment.status.in_(
                [AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed]))
        else:
            query = query.where(due_filter(now))
        query = query.where(not_held(today))
        if only_ids is not None:
            query = query.where(Adjustment.id.in_(only_ids))
        if hold_after is not None:
            query = query.where(Adjustment.effective_date <= hold_after)
        # A change dated after its contract ends (an annual term's decrease at the anniversary) cannot go
        # on that contract; it waits, scheduled, until the contract is renewed or the link moves.
        query = query.join(PsaContract, PsaContract.id == PsaService.contract_id).where(
            PsaContract.end_date.is_(None) | (Adjustment.effective_date <= PsaContract.end_date))
        due = list((await session.execute(query.order_by(Adjustment.id))).all())
    if not due:
        return report
    try:
        units = await psa.read_units(sorted({external_id for _, external_id in due}))
    except ConnectorError as exc:
        report.read_error = exc.describe()
        log.warning("cannot read PSA units before posting; nothing posted this pass: %s", exc.describe())
        return report
    gate = asyncio.Semaphore(concurrency)

    async def one(adjustment_id: int, external_id: str) -> None:
        async with gate:
            await _post_one(sessions=sessions, psa=psa, clock=clock, adjustment_id=adjustment_id,
                            units_hint=units.get(external_id), attempts_left=in_pass_attempts, report=report)

    await asyncio.gather(*(one(adjustment_id, external_id) for adjustment_id, external_id in due))
    return report


async def _post_one(
    *, sessions: async_sessionmaker[AsyncSession], psa: Psa, clock: Clock, adjustment_id: int,
    units_hint: int | None, attempts_left: int, report: PostingReport,
) -> None:
    async with sessions() as session:
        adjustment = await session.get(Adjustment, adjustment_id,
                                       options=[joinedload(Adjustment.service).joinedload(PsaService.contract)])
        if adjustment is None:
            return
        previous_status, attempts = adjustment.status, adjustment.attempts
        if previous_status not in CLAIMABLE_STATUSES:
            return  # decided meanwhile (superseded, unlinked, rejected, posted) since this pass chose it
        claimed = await session.execute(
            update(Adjustment)
            .where(Adjustment.id == adjustment_id, Adjustment.status == previous_status,
                   Adjustment.attempts == attempts)
            .values(status=AdjustmentStatus.posting, attempts=attempts + 1, updated_at=clock())
        )
        if claimed.rowcount != 1:
            return  # another poster took it
        await session.commit()
        request = AdjustmentRequest(
            idempotency_key=adjustment.idempotency_key, service_external_id=adjustment.service.external_id,
            contract_external_id=adjustment.service.contract.external_id, catalog_id=adjustment.service.catalog_id,
            units_from=adjustment.units_from, units_to=adjustment.units_to, effective_date=adjustment.effective_date,
            unit_price=adjustment.unit_price, unit_cost=adjustment.unit_cost,
            prorate=adjustment.service.contract.prorates is not False and adjustment.prorated_amount != 0,
            description=f"SeatSync: {adjustment.service.name} {adjustment.units_from} -> {adjustment.units_to}",
        )
        # An earlier attempt may have landed without our hearing of it: a crash mid-post leaves
        # `posting`, a lost reply leaves `failed` with attempts > 0.
        outcome_unknown = previous_status is AdjustmentStatus.posting or attempts > 0
        ever_sent = outcome_unknown
        error: ConnectorError | None = None
        current = units_hint
        for attempt in range(attempts_left):
            try:
                if attempt > 0 or outcome_unknown or current is None:
                    if outcome_unknown:
                        found = await psa.find_posted(request)
                        if found is not None:
                            await _settle(session, adjustment, request, found, "confirmed", clock, report)
                            return
                    current = (await psa.read_units([request.service_external_id])).get(request.service_external_id)
                if current is None:
                    await _fail(session, adjustment, clock, report, permanent=True,
                                reason="the PSA service no longer exists (deleted or moved); relink the resource")
                    return
                if current == request.units_to:
                    outcome = "confirmed" if ever_sent else "not_needed"
                    await _settle(session, adjustment, request, PostResult(None, current), outcome, clock, report)
                    return
                if current != request.units_from:
                    request = replace(request, units_from=current)
                ever_sent = outcome_unknown = True
                result = await psa.post_adjustment(request)
                await _settle(session, adjustment, request, result, "posted", clock, report)
                return
            except ConnectorError as exc:
                error = exc
                if exc.outcome_unknown:
                    outcome_unknown = True
                elif not exc.retryable:
                    break
                current = None  # read again before any retry
        assert error is not None
        await _fail(session, adjustment, clock, report, permanent=not error.retryable,
                    reason=explain_failure(error))


async def _settle(session: AsyncSession, adjustment: Adjustment, request: AdjustmentRequest, result: PostResult,
                  outcome: str, clock: Clock, report: PostingReport) -> None:
    now = clock()
    if request.units_from != adjustment.units_from:
        report.rebased += 1
        new_delta = request.units_to - request.units_from
        if adjustment.prorated_amount is not None and adjustment.delta:
            adjustment.prorated_amount = (adjustment.prorated_amount / adjustment.delta * new_delta).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)  # as proration rounds
        adjustment.units_from, adjustment.delta = request.units_from, new_delta
    if outcome == "not_needed":
        adjustment.status = AdjustmentStatus.superseded
        report.not_needed += 1
    else:
        adjustment.status = AdjustmentStatus.posted
        adjustment.posted_at = now
        adjustment.psa_reference = result.psa_reference or adjustment.psa_reference
        if outcome == "posted":
            report.posted += 1
        else:
            report.confirmed += 1
    adjustment.last_error, adjustment.needs_action, adjustment.next_attempt_at = None, False, None
    adjustment.updated_at = now
    service = await session.get(PsaService, adjustment.psa_service_id)
    if service is not None:
        service.units, service.last_seen_at = result.units_after, now
    await session.commit()
    report.changes.append(PostedChange(adjustment.id, service.name if service else "?", adjustment.units_from,
                                       adjustment.units_to, outcome))


async def _fail(session: AsyncSession, adjustment: Adjustment, clock: Clock, report: PostingReport, *,
                permanent: bool, reason: str) -> None:
    now = clock()
    # Still retried (at the capped pace when permanent), so it posts itself once the cause is fixed.
    attempts = adjustment.attempts  # the claim's UPDATE already counted this attempt (and synced the object)
    adjustment.status = AdjustmentStatus.failed
    adjustment.last_error = reason
    adjustment.needs_action = permanent
    adjustment.next_attempt_at = now + (timedelta(seconds=MAX_RETRY_S) if permanent else retry_delay(attempts))
    adjustment.updated_at = now
    await session.commit()
    report.failed += 1
    report.needs_action += int(permanent)
    report.changes.append(PostedChange(adjustment.id, adjustment.service.name, adjustment.units_from,
                                       adjustment.units_to, "failed"))
