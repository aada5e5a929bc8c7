"""Post the outbox to the PSA, exactly once.

For each due intent:
1. claim it (`bot.sync.claims`: a conditional UPDATE to `posting` naming this process, with an expiry) and
   commit — the intent is durable before any PSA call, two posters can never both claim it, and a live claim
   (another process posting it now) is never taken over;
2. read the PSA first: if an earlier attempt may have reached it (the intent was left `posting` by a process that
   died, or an attempt failed), look for the idempotency key; read the service's units — already at the target
   means nothing to send (an earlier reply was lost, or someone levelled it by hand); units moved by hand mean the
   change is re-based on them, or planned again from them when they lie past the target (the change goes the other
   way, and its date follows its direction);
3. no stale targets: the intent's target is checked against the marketplace count SeatSync read last. If that
   moved since the intent was planned (a resumed intent killed mid-post, a retry after an unknown outcome), the
   intent is superseded unsent and a new one is planned for the count of now;
4. renew the claim (the fence) and post the difference carrying the key, within half the claim's time; read the
   units back, and record the confirmation under the same claim.
A timeout, a dropped reply, a 429, a 500 or a kill at any point leaves the intent claimed (until its claim expires)
or failed, and the next attempt starts again at step 2, so a change is never lost and never posted twice.
What to do at each of steps 2-4 is decided by `bot.sync.posting_decisions` (plain facts in, one decision out);
this module holds the claim, does the reads and the write the decisions ask for, and records the outcome.

Due: pending; failed once its backoff is over; posting whose claim expired (its process died). Never due: an
intent awaiting approval (or rejected), and one held until a later day (`hold_until`, a decrease scheduled at its
commitment's end). A change whose credit was dropped (prorated amount 0) is sent with `prorate` off.
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
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaContract,
    PsaService,
)
from bot.domain.levelling import target_units
from bot.domain.records import AdjustmentRequest, PostResult
from bot.sync.claims import (
    DEFAULT_CLAIM_TTL,
    Claim,
    claim_free_or_expired,
    claim_is_live,
    process_instance_id,
    renew_claim,
    settle_claim,
    take_claim,
)
from bot.sync.failures import explain_failure
from bot.sync.planning import OPEN_STATUSES, plan_levelling
from bot.sync.posting_decisions import (
    Doubt,
    Post,
    PostingFacts,
    Read,
    Settle,
    SupersedeReversed,
    SupersedeStale,
    after_connector_error,
    count_moved,
    doubt_after_reading,
    doubt_at_claim,
    doubt_when_sending,
    first_facts,
    next_step,
    planned_for,
)
from bot.sync.scheduled_changes import Scheduled, as_of_today, as_scheduled, scheduled_changes

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
    outcome: str  # posted | confirmed | not_needed | stale | failed


@dataclass
class PostingReport:
    posted: int = 0  # sent to the PSA and confirmed
    confirmed: int = 0  # an earlier attempt had landed (its reply was lost): confirmed without a second post
    not_needed: int = 0  # the PSA already showed the target (a hand edit): nothing sent
    rebased: int = 0  # units had moved in the PSA since the intent; posted the difference from them
    stale: int = 0  # the marketplace count moved since the intent was planned, or the PSA's units went past its
    # target (the change goes the other way now): superseded unsent, planned anew
    failed: int = 0
    needs_action: int = 0
    claimed_elsewhere: int = 0  # another process claimed it first (or holds it): left to that process
    lost_claims: int = 0  # the claim expired and was taken over before the write: nothing sent by this pass
    read_error: str | None = None
    changes: list[PostedChange] = field(default_factory=list)
    replan_links: set[int] = field(default_factory=set)  # links whose count moved under an intent
    stale_intents: dict[int, int] = field(default_factory=dict)  # superseded as stale: id -> PSA service id
    unread_services: dict[int, str] = field(default_factory=dict)  # posted, to read back: service id -> external id

    def as_stats(self) -> dict[str, int]:
        return {"posted": self.posted, "confirmed": self.confirmed, "not_needed": self.not_needed,
                "rebased": self.rebased, "stale": self.stale, "failed": self.failed,
                "needs_action": self.needs_action, "claimed_elsewhere": self.claimed_elsewhere,
                "lost_claims": self.lost_claims}

    def absorb(self, other: PostingReport) -> None:
        """Add a further pass's outcomes (the pass that posts what re-planning recorded)."""
        for name in ("posted", "confirmed", "not_needed", "rebased", "stale", "failed", "needs_action",
                     "claimed_elsewhere", "lost_claims"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.read_error = self.read_error or other.read_error
        self.changes.extend(other.changes)


def due_filter(now: datetime):
    """Pending; failed once its backoff is over; posting whose claim expired (the process holding it died)."""
    return (
        (Adjustment.status == AdjustmentStatus.pending)
        | ((Adjustment.status == AdjustmentStatus.failed) & (Adjustment.next_attempt_at <= now))
        | ((Adjustment.status == AdjustmentStatus.posting) & claim_free_or_expired(now))
    )


def due_ignoring_backoff(now: datetime):
    return (Adjustment.status.in_([AdjustmentStatus.pending, AdjustmentStatus.failed])
            | ((Adjustment.status == AdjustmentStatus.posting) & claim_free_or_expired(now)))


def not_held(today: date):
    """Scheduled intents wait for their day (the business day, in the MSP's time zone)."""
    return Adjustment.hold_until.is_(None) | (Adjustment.hold_until <= today)


@dataclass(frozen=True)
class PostingRun:
    """What every intent of one pass shares."""

    sessions: async_sessionmaker[AsyncSession]
    psa: Psa
    clock: Clock
    owner: str
    claim_ttl: timedelta
    attempts_left: int
    today: date  # the business day: posted changes dated after it are still to come in the PSA's units


async def post_due_adjustments(
    *, sessions: async_sessionmaker[AsyncSession], psa: Psa, clock: Clock, only_ids: list[int] | None = None,
    concurrency: int = 4, in_pass_attempts: int = 4, ignore_backoff: bool = False, hold_after: date | None = None,
    today: date | None = None, owner: str | None = None, claim_ttl: timedelta = DEFAULT_CLAIM_TTL,
) -> PostingReport:
    """Post every due intent. `hold_after`: keep intents dated later than this day for their day (a PSA
    that cannot take future-dated changes); `ignore_backoff`: retry failures now (sync now, demo);
    `today`: the business day scheduled intents are compared with (UTC's date when not given); `owner`: the
    claims' owner (this process's instance id when not given); `claim_ttl`: how long a claim lives unrenewed.
    Links whose count moved under an intent are planned again, and what that plans is posted in this pass."""
    today = today or clock().date()
    run = PostingRun(sessions=sessions, psa=psa, clock=clock, owner=owner or process_instance_id(),
                     claim_ttl=claim_ttl, attempts_left=in_pass_attempts, today=today)
    filters = _Filters(only_ids=only_ids, ignore_backoff=ignore_backoff, hold_after=hold_after, today=today)
    report = await _pass(run, filters, concurrency)
    if report.replan_links and report.read_error is None:
        replanned = await _plan_the_count_of_now(run, report, today)
        if replanned:
            report.absorb(await _pass(run, replace(filters, only_ids=replanned), concurrency))
    return report


async def _plan_the_count_of_now(run: PostingRun, report: PostingReport, today: date) -> list[int]:
    """Plan the links whose count moved under an intent (each stale intent pointing at its successor); returns the
    pending intents that planning recorded."""
    async with run.sessions() as session:
        await plan_levelling(session=session, today=today, now=run.clock(), trigger=AdjustmentTrigger.sync,
                             link_ids=sorted(report.replan_links))
        await session.commit()
        successors = list(await session.scalars(
            select(Adjustment).where(Adjustment.resource_link_id.in_(report.replan_links),
                                     Adjustment.status.in_(OPEN_STATUSES))))
        for successor in successors:
            stale = [i for i, service in report.stale_intents.items() if service == successor.psa_service_id]
            if stale:
                await session.execute(update(Adjustment).where(Adjustment.id.in_(stale))
                                      .values(superseded_by_id=successor.id))
        await session.commit()
    return [intent.id for intent in successors if intent.status is AdjustmentStatus.pending]


@dataclass(frozen=True)
class _Filters:
    only_ids: list[int] | None
    ignore_backoff: bool
    hold_after: date | None
    today: date


async def _pass(run: PostingRun, filters: _Filters, concurrency: int) -> PostingReport:
    report = PostingReport()
    now = run.clock()
    async with run.sessions() as session:
        query = select(Adjustment.id, PsaService.external_id).join(
            PsaService, PsaService.id == Adjustment.psa_service_id)
        query = query.where(due_ignoring_backoff(now) if filters.ignore_backoff else due_filter(now))
        query = query.where(not_held(filters.today))
        if filters.only_ids is not None:
            query = query.where(Adjustment.id.in_(filters.only_ids))
        if filters.hold_after is not None:
            query = query.where(Adjustment.effective_date <= filters.hold_after)
        # A change dated after its contract ends (an annual term's decrease at the anniversary) cannot go
        # on that contract; it waits, scheduled, until the contract is renewed or the link moves.
        query = query.join(PsaContract, PsaContract.id == PsaService.contract_id).where(
            PsaContract.end_date.is_(None) | (Adjustment.effective_date <= PsaContract.end_date))
        due = list((await session.execute(query.order_by(Adjustment.id))).all())
    if not due:
        return report
    try:
        units = await run.psa.read_units(sorted({external_id for _, external_id in due}))
    except ConnectorError as exc:
        report.read_error = exc.describe()
        log.warning("cannot read PSA units before posting; nothing posted this pass: %s", exc.describe())
        return report
    gate = asyncio.Semaphore(concurrency)

    async def one(adjustment_id: int, external_id: str) -> None:
        async with gate:
            await _post_one(run, adjustment_id=adjustment_id, units_hint_of_the_pass=units.get(external_id),
                            report=report)

    await asyncio.gather(*(one(adjustment_id, external_id) for adjustment_id, external_id in due))
    await _read_back(run, report)
    return report


async def _read_back(run: PostingRun, report: PostingReport) -> None:
    """The services whose posts were not read back one by one, read back together, into the PSA cache. Nothing
    depends on it for exactly-once (every post reads the PSA first); if it fails, the next read refreshes them."""
    if not report.unread_services:
        return
    try:
        units = await run.psa.read_units(sorted(report.unread_services.values()))
    except ConnectorError as exc:
        log.warning("cannot read back %s posted services; the next PSA read will: %s", len(report.unread_services),
                    exc.describe())
        return
    now = run.clock()
    async with run.sessions() as session:
        for service_id, external_id in sorted(report.unread_services.items()):
            if external_id in units:
                await session.execute(update(PsaService).where(PsaService.id == service_id)
                                      .values(units=units[external_id], last_seen_at=now))
        await session.commit()


class _WriteDeadline(Exception):
    """The write did not finish within the claim's write deadline; it was abandoned, its outcome unknown."""


async def _post_one(run: PostingRun, *, adjustment_id: int, units_hint_of_the_pass: int | None,
                    report: PostingReport) -> None:
    clock = run.clock
    async with run.sessions() as session:
        adjustment = await session.get(Adjustment, adjustment_id, options=[
            joinedload(Adjustment.service).joinedload(PsaService.contract),
        ])
        if adjustment is None:
            return
        previous_status, attempts = adjustment.status, adjustment.attempts
        if previous_status not in CLAIMABLE_STATUSES:
            return  # decided meanwhile (superseded, unlinked, rejected, posted) since this pass chose it
        if claim_is_live(adjustment, clock()):
            report.claimed_elsewhere += 1  # another process is posting it now
            return
        claim = await take_claim(session, adjustment, owner=run.owner, now=clock(), ttl=run.claim_ttl)
        if claim is None:
            report.claimed_elsewhere += 1  # another poster took it first
            return
        await session.commit()
        # a change dated today shows in today's units at once: it is planned from them (bot.sync.planning._change)
        scheduled = None if adjustment.effective_date <= run.today else (await scheduled_changes(
            session, today=run.today, service_ids=[adjustment.psa_service_id], excluding=adjustment.id,
        )).get(adjustment.psa_service_id)
        doubt = doubt_at_claim(was_posting=previous_status is AdjustmentStatus.posting, attempts=attempts,
                               recorded_outcome_unknown=adjustment.outcome_unknown)
        planned = planned_for(units_to=adjustment.units_to, by_a_person=adjustment.trigger is AdjustmentTrigger.manual)
        outcome = _Outcome(session=session, adjustment=adjustment, claim=claim, clock=clock, report=report)
        poster = _Poster(run=run, session=session, adjustment=adjustment, claim=claim, outcome=outcome,
                         request=_request(adjustment), planned=planned, doubt=doubt, scheduled=scheduled)
        await poster.post(units_hint_of_the_pass)


def _request(adjustment: Adjustment) -> AdjustmentRequest:
    return AdjustmentRequest(
        idempotency_key=adjustment.idempotency_key, service_external_id=adjustment.service.external_id,
        contract_external_id=adjustment.service.contract.external_id, catalog_id=adjustment.service.catalog_id,
        units_from=adjustment.units_from, units_to=adjustment.units_to, effective_date=adjustment.effective_date,
        unit_price=adjustment.unit_price, unit_cost=adjustment.unit_cost,
        prorate=adjustment.service.contract.prorates is not False and adjustment.prorated_amount != 0,
        description=f"SeatSync: {adjustment.service.name} {adjustment.units_from} -> {adjustment.units_to}",
    )


@dataclass
class _Poster:
    """Carries out, under its claim, what `bot.sync.posting_decisions` decides for one intent."""

    run: PostingRun
    session: AsyncSession
    adjustment: Adjustment
    claim: Claim
    outcome: _Outcome
    request: AdjustmentRequest
    planned: int | None
    doubt: Doubt
    scheduled: Scheduled | None = None  # the service's other posted changes still to come: the units read count them
    sending: bool = False  # the attempt under way has reached the write

    async def post(self, units_hint: int | None) -> None:
        error: ConnectorError | None = None
        for _ in range(self.run.attempts_left):
            self.sending = False
            try:
                facts, found = await self._facts(units_hint)
                decision = next_step(facts)
                if isinstance(decision, Post):
                    await self._send(decision)
                else:
                    await self._resolve(decision, facts, found)
                return
            except _WriteDeadline as exc:
                await self.outcome.fail(permanent=False, in_doubt=True, reason=str(exc))  # retried later, reading first
                return
            except ConnectorError as exc:
                error = exc
                after = after_connector_error(self.doubt, sending=self.sending, outcome_unknown=exc.outcome_unknown,
                                              retryable=exc.retryable)
                self.doubt, units_hint = after.doubt, None  # read again before any retry
                if not after.try_again:
                    break
        assert error is not None
        await self.outcome.fail(permanent=not error.retryable, in_doubt=self.doubt.in_doubt,
                                reason=explain_failure(error))

    async def _facts(self, units_hint: int | None) -> tuple[PostingFacts, PostResult | None]:
        """Read what the decision needs, in the order it asks (the key, the units, the marketplace count)."""
        adjustment, request = self.adjustment, self.request
        facts = first_facts(units_from=adjustment.units_from, units_to=adjustment.units_to, planned=self.planned,
                            doubt=self.doubt, units_hint=as_scheduled(units_hint, self.scheduled))
        found: PostResult | None = None
        while isinstance(step := next_step(facts), Read):
            if step is Read.KEY:
                found = await self.run.psa.find_posted(request)
                facts = replace(facts, key_found=found is not None)
            elif step is Read.UNITS:
                read = await self.run.psa.read_units([request.service_external_id])
                self.doubt = doubt_after_reading(self.doubt)
                units = as_scheduled(read.get(request.service_external_id), self.scheduled)
                facts = replace(facts, units_read=True, units=units, doubt=self.doubt)
            else:
                facts = replace(facts, count_now=await _target_now(self.session, adjustment))
        return facts, found

    async def _resolve(self, decision: Settle | SupersedeStale | SupersedeReversed, facts: PostingFacts,
                       found: PostResult | None) -> None:
        outcome = self.outcome
        if isinstance(decision, SupersedeStale):
            await outcome.supersede_stale(as_of_today(facts.units, self.scheduled), (
                f"not sent: the marketplace count moved from {decision.planned_for} to {decision.count_now} before "
                "it was posted; replaced by a change for the count of now"))
        elif isinstance(decision, SupersedeReversed):
            adjustment = self.adjustment
            await outcome.supersede_stale(as_of_today(facts.units, self.scheduled), (
                f"not sent: the PSA showed {decision.units} when it was posted, not {adjustment.units_from}, so the "
                f"change to {adjustment.units_to} goes the other way; replaced by a change planned from "
                f"{decision.units}, dated as its direction is"))
        elif decision is Settle.SERVICE_GONE:
            await outcome.fail(permanent=True, in_doubt=False,
                               reason="the PSA service no longer exists (deleted or moved); relink the resource")
        else:
            result = found if decision is Settle.FOUND else PostResult(None, as_of_today(facts.units, self.scheduled))
            await outcome.settle(self.request, result, "not_needed" if decision is Settle.NOT_NEEDED else "confirmed")
            await outcome.replan_if_moved(self.planned)

    async def _send(self, decision: Post) -> None:
        """Renew the claim (the fence), then write the difference from the units read, and record it."""
        self.request = replace(self.request, units_from=decision.units_from)
        if not await renew_claim(self.session, self.claim, now=self.run.clock()):
            self.outcome.report.lost_claims += 1
            log.warning("intent %s: the claim expired and was taken over before the write; not sent here",
                        self.adjustment.id)
            return
        self.doubt, self.sending = doubt_when_sending(self.doubt), True
        result = await _write(self.run.psa, self.request, self.claim)
        await self.outcome.settle(self.request, result, "posted")


async def _write(psa: Psa, request: AdjustmentRequest, claim: Claim) -> PostResult:
    """The PSA write, abandoned past the claim's write deadline so the claim (renewed just before) outlives it."""
    try:
        async with asyncio.timeout(claim.write_deadline):
            return await psa.post_adjustment(request)
    except TimeoutError:
        raise _WriteDeadline(
            f"the PSA did not answer within {claim.write_deadline:g} s (the claim's write deadline); whether the "
            "change landed is unknown, so the next attempt reads the PSA first") from None


async def _target_now(session: AsyncSession, adjustment: Adjustment) -> int:
    """The target for the marketplace count SeatSync read last (as planning computes it)."""
    row = (await session.execute(
        select(MarketplaceResource.total, MarketplaceResource.removed_at, MarketplaceSubscription.status,
               MarketplaceSubscription.removed_at)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .where(MarketplaceResource.id == adjustment.resource_id))).one()
    total, resource_removed, status, subscription_removed = row
    return target_units(marketplace_total=total, subscription_status=status,
                        removed=resource_removed is not None or subscription_removed is not None)


@dataclass
class _Outcome:
    """Records how one claimed intent ended, under its claim; a claim lost meanwhile changes nothing."""

    session: AsyncSession
    adjustment: Adjustment
    claim: Claim
    clock: Clock
    report: PostingReport

    async def settle(self, request: AdjustmentRequest, result: PostResult, outcome: str) -> None:
        adjustment, report = self.adjustment, self.report
        now = self.clock()
        values: dict = {"last_error": None, "needs_action": False, "next_attempt_at": None, "outcome_unknown": False,
                        "updated_at": now}
        units_from, delta, amount = adjustment.units_from, adjustment.delta, adjustment.prorated_amount
        rebased = request.units_from != adjustment.units_from
        if rebased:
            new_delta = request.units_to - request.units_from
            if amount is not None and delta:
                amount = (amount / delta * new_delta).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # as proration
            units_from, delta = request.units_from, new_delta
            values.update(units_from=units_from, delta=delta, prorated_amount=amount)
        if outcome == "not_needed":
            values["status"] = AdjustmentStatus.superseded
        else:
            values.update(status=AdjustmentStatus.posted, posted_at=now,
                          psa_reference=result.psa_reference or adjustment.psa_reference)
        service = await self._cache_units(result.units_after, now)
        if result.units_after is None:
            report.unread_services[adjustment.psa_service_id] = request.service_external_id
        if not await settle_claim(self.session, self.claim, values):
            await self._lost(f"{outcome} (recorded by the process that took the claim over)")
            return
        report.rebased += int(rebased)
        if outcome == "not_needed":
            report.not_needed += 1
        elif outcome == "posted":
            report.posted += 1
        else:
            report.confirmed += 1
        await self.session.commit()
        report.changes.append(PostedChange(adjustment.id, service.name if service else "?", units_from,
                                           adjustment.units_to, outcome))

    async def supersede_stale(self, current: int, note: str) -> None:
        """Close the intent unsent and plan the count of now from `current`, today's units read (`note`: why)."""
        adjustment = self.adjustment
        now = self.clock()
        await self._cache_units(current, now)
        if not await settle_claim(self.session, self.claim, {"status": AdjustmentStatus.superseded,
                                                             "outcome_unknown": False, "decision_note": note,
                                                             "updated_at": now}):
            await self._lost("stale")
            return
        await self.session.commit()
        self.report.stale += 1
        self.report.stale_intents[adjustment.id] = adjustment.psa_service_id
        if adjustment.resource_link_id is not None:
            self.report.replan_links.add(adjustment.resource_link_id)
        self.report.changes.append(PostedChange(adjustment.id, adjustment.service.name, adjustment.units_from,
                                                adjustment.units_to, "stale"))

    async def replan_if_moved(self, planned: int | None) -> None:
        """After a resolution without a write: a count that moved meanwhile needs a change of its own."""
        link_id = self.adjustment.resource_link_id
        if link_id is not None and planned is not None and count_moved(
                planned, await _target_now(self.session, self.adjustment)):
            self.report.replan_links.add(link_id)

    async def fail(self, *, permanent: bool, in_doubt: bool, reason: str) -> None:
        """`in_doubt`: a write may have landed unheard of (planning then leaves the intent to the poster)."""
        adjustment, report = self.adjustment, self.report
        now = self.clock()
        # Still retried (at the capped pace when permanent), so it posts itself once the cause is fixed.
        values = {"status": AdjustmentStatus.failed, "last_error": reason, "needs_action": permanent,
                  "outcome_unknown": in_doubt,
                  "next_attempt_at": now + (timedelta(seconds=MAX_RETRY_S) if permanent
                                            else retry_delay(self.claim.attempt)),
                  "updated_at": now}
        if not await settle_claim(self.session, self.claim, values):
            await self._lost("failed")
            return
        await self.session.commit()
        report.failed += 1
        report.needs_action += int(permanent)
        report.changes.append(PostedChange(adjustment.id, adjustment.service.name, adjustment.units_from,
                                           adjustment.units_to, "failed"))

    async def _cache_units(self, units: int | None, now: datetime) -> PsaService | None:
        """The units read, into the PSA cache (None: not read back yet, left for the pass's batched read). Written
        before the intent's row, as planning locks them (service, then intent): two transactions taking the same
        rows in opposite orders could deadlock on PostgreSQL."""
        service = await self.session.get(PsaService, self.adjustment.psa_service_id)
        if service is not None and units is not None:
            service.units, service.last_seen_at = units, now
            await self.session.flush()
        return service

    async def _lost(self, what: str) -> None:
        await self.session.rollback()
        self.report.lost_claims += 1
        log.warning("intent %s: its claim was taken over before the outcome (%s) could be recorded",
                    self.adjustment.id, what)
