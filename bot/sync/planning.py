"""Levelling plans: for every linked resource, record the intent to bring the PSA to the target.

An intent is an `Adjustment` row (status pending) with a fresh idempotency key, written before any
PSA call. At most one open intent exists per PSA service: a newer target supersedes an older intent
that has not been sent; an intent that may have been sent (status posting, or failed after a write whose outcome
is unknown) is never superseded here — its write may have landed, and closing it would lose the
record of it. The poster resolves it by reading the PSA first (now, when the target moved), then supersedes it
unsent or confirms it, and plans the count of now (bot.sync.posting). What to do for each link is decided by
`bot.domain.levelling.levelling_choice` (plain facts in, a decision out); this module reads and records.

The approval policy (bot.sync.approvals) may hold a new intent as awaiting_approval: it is open (a
newer target supersedes it, and the newer one is evaluated afresh) but never posted until approved.
A target a person rejected is not proposed again while the marketplace count stays at it. An open intent
whose target the PSA's units went past while it waited (a decrease held for its day or past its contract's end, the
PSA lowered by hand below it) gives way to a new one: the change needed now goes the other way, dated as such.
A decrease dated at the commitment's end carries `hold_until`: pending, but not posted before that day.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

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
    Term,
)
from bot.domain.approval_policy import DEFAULT_MAX_AMOUNT, ApprovalPolicy, hold_reason
from bot.domain.levelling import Levelling, OpenIntent, abandoned, levelling_choice, target_units
from bot.domain.pricing import PriceSource, check_billable, check_computed, resolve_price_source, unit_pricing
from bot.domain.proration import billing_period, effective_date, prorated_amount
from bot.sync.scheduled_changes import Scheduled, as_scheduled, scheduled_changes

log = logging.getLogger(__name__)

OPEN_STATUSES = (AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed,
                 AdjustmentStatus.awaiting_approval)


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
    held_reason: str | None = None  # set: waits for a person's approval
    hold_until: date | None = None  # set: scheduled, not posted before this day

    @property
    def delta(self) -> int:
        return self.units_to - self.units_from


@dataclass(frozen=True)
class LinkFailure:
    """A linked service whose change could not be computed (a stored number no one can bill with); planning
    records nothing for it and goes on with every other link."""

    resource_link_id: int
    company: str
    resource: str
    service: str
    reason: str

    def describe(self) -> str:
        return (f"{self.company}: {self.resource} -> {self.service} (link {self.resource_link_id}) not levelled: "
                f"{self.reason}. Set its price source or policy again (/seats link, /seats policy); "
                "the other links are levelled")


def computation_failure(exc: Exception) -> str:
    if isinstance(exc, ValueError) and not isinstance(exc, ArithmeticError):
        return str(exc)  # bot.domain.money / bot.domain.pricing say which number and why
    return f"a stored number cannot be computed with ({type(exc).__name__})"


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

    def _policy_value(self, link: ResourceLink, company_id: int, name: str):
        """The first value set among link, company and global policies; each field resolves on its own."""
        for key in self._keys(link, company_id):
            policy = self._policies.get(key)
            if policy is not None and getattr(policy, name) is not None:
                return getattr(policy, name)
        return None

    def decrease_timing(self, link: ResourceLink, company_id: int) -> DecreaseTiming:
        return self._policy_value(link, company_id, "decrease_timing") or DecreaseTiming.next_period

    def approval_policy(self, link: ResourceLink, company_id: int) -> ApprovalPolicy:
        hold_committed = self._policy_value(link, company_id, "hold_committed_decreases")
        max_amount = self._policy_value(link, company_id, "approval_max_amount")
        return ApprovalPolicy(max_units=self._policy_value(link, company_id, "approval_max_units"),
                              max_percent=self._policy_value(link, company_id, "approval_max_percent"),
                              max_amount=DEFAULT_MAX_AMOUNT if max_amount is None else max_amount,
                              hold_committed_decreases=True if hold_committed is None else hold_committed,
                              amount_limit_is_default=max_amount is None)

    def drop_prorate_below(self, link: ResourceLink, company_id: int) -> Decimal | None:
        return self._policy_value(link, company_id, "drop_prorate_below")

    def min_margin_percent(self, link: ResourceLink, company_id: int) -> Decimal | None:
        return self._policy_value(link, company_id, "min_margin_percent")


async def plan_levelling(
    *, session: AsyncSession, today: date, now: datetime, trigger: AdjustmentTrigger, actor: str = "system",
    link_ids: list[int] | None = None, dry_run: bool = False, failures: list[LinkFailure] | None = None,
    marketplaces: Collection[str] | None = None,
) -> list[PlannedChange]:
    """Record (or with dry_run, only compute) an intent for every linked service off its target. A link whose
    change cannot be computed is skipped, logged and added to `failures`. `marketplaces`: only the links of
    resources from these (the ones a cycle could read)."""
    settings = await LinkSettings.load(session)
    query = select(ResourceLink).options(
        joinedload(ResourceLink.resource).joinedload(MarketplaceResource.subscription)
        .joinedload(MarketplaceSubscription.company),
        joinedload(ResourceLink.service).joinedload(PsaService.contract),
    )
    if link_ids is not None:
        query = query.where(ResourceLink.id.in_(link_ids))
    if marketplaces is not None:
        query = query.where(ResourceLink.resource_id.in_(
            select(MarketplaceResource.id).where(MarketplaceResource.marketplace.in_(list(marketplaces)))))
    query = query.order_by(ResourceLink.id)  # services are locked in one order by every planner (no deadlock)
    links = list((await session.scalars(query)).unique())
    open_intents = list(await session.scalars(
        select(Adjustment).where(Adjustment.status.in_(OPEN_STATUSES)).order_by(Adjustment.id)))
    if link_ids is None and marketplaces is None and not dry_run:
        # an intent whose link was removed or moved to another service will never be wanted again
        current = {link.id: link.psa_service_id for link in links}
        for intent in open_intents:
            if abandoned(_open_intent(intent), its_service=intent.psa_service_id,
                         linked_service=current.get(intent.resource_link_id)):
                intent.status = AdjustmentStatus.superseded
    open_by_service = {a.psa_service_id: a for a in open_intents if a.status in OPEN_STATUSES}
    declined = await declined_targets(session)
    scheduled = await scheduled_changes(session, today=today)
    planned: list[PlannedChange] = []
    for link in links:
        resource, service = link.resource, link.service
        subscription = resource.subscription
        target = target_units(marketplace_total=resource.total, subscription_status=subscription.status,
                              removed=resource.removed_at is not None or subscription.removed_at is not None)
        pending = open_by_service.get(service.id)
        psa_units = as_scheduled(service.units, scheduled.get(service.id))
        choice = levelling_choice(target=target, psa_units=psa_units, declined_target=declined.get(service.id),
                                  open_intent=None if pending is None else _open_intent(pending))
        if choice is Levelling.RESOLVE_NOW and not dry_run:
            await _resolve_now(session, pending, now)
        elif choice is Levelling.SUPERSEDE and not dry_run:
            await _supersede(session, pending)
        if choice is not Levelling.PLAN:
            continue
        try:
            change = _change(link, target, today, settings, scheduled.get(service.id), replacing=pending)
        except (ValueError, ArithmeticError) as exc:  # one bad row never stops the others
            failure = LinkFailure(link.id, subscription.company.name, resource.name, service.name,
                                  computation_failure(exc))
            log.warning("planning: %s", failure.describe())
            if failures is not None:
                failures.append(failure)
            continue
        if dry_run:
            planned.append(change)
            continue
        if not await _still_the_open_intent(session, service.id, pending):
            continue  # another planner (instance, CLI) recorded one meanwhile: that one stands
        if pending is not None and not await _supersede(session, pending):
            continue  # a person decided on it meanwhile (approve, edit, reject): the next cycle starts from that
        planned.append(change)
        intent = Adjustment(
            idempotency_key=new_idempotency_key(), resource_link_id=link.id, resource_id=resource.id,
            psa_service_id=service.id, psa=service.psa, units_from=change.units_from, units_to=change.units_to,
            delta=change.delta, effective_date=change.effective_date, prorated_amount=change.prorated_amount,
            unit_price=change.unit_price, unit_cost=change.unit_cost,
            status=AdjustmentStatus.awaiting_approval if change.held_reason else AdjustmentStatus.pending,
            held_reason=change.held_reason, hold_until=change.hold_until,
            trigger=trigger, triggered_by=actor, created_at=now, updated_at=now,
        )
        session.add(intent)
        if pending is not None:
            await session.flush()
            pending.superseded_by_id = intent.id
    await session.flush()
    return planned


def _open_intent(intent: Adjustment) -> OpenIntent:
    return OpenIntent(units_to=intent.units_to, status=intent.status, outcome_unknown=intent.outcome_unknown,
                      units_from=intent.units_from)


async def _resolve_now(session: AsyncSession, intent: Adjustment, now: datetime) -> None:
    """Make it due at once (not at its backoff): its target moved, and the count of now waits on it."""
    await session.execute(
        update(Adjustment).where(Adjustment.id == intent.id, Adjustment.status == AdjustmentStatus.failed,
                                 Adjustment.attempts == intent.attempts, Adjustment.next_attempt_at > now)
        .values(next_attempt_at=now).execution_options(synchronize_session=False))


async def _still_the_open_intent(session: AsyncSession, service_id: int, pending: Adjustment | None) -> bool:
    """Lock the service's row until this session commits, then check that its open intent is still the one
    planning read. Another planner (another instance, `seatsync sync --once`, the links import) has its own
    in-process lock; without this both could read "no open intent" and each record one — two posts."""
    await session.execute(update(PsaService).where(PsaService.id == service_id).values(id=PsaService.id)
                          .execution_options(synchronize_session=False))
    latest = await session.scalar(
        select(Adjustment.id).where(Adjustment.psa_service_id == service_id, Adjustment.status.in_(OPEN_STATUSES))
        .order_by(Adjustment.id.desc()).limit(1))
    return latest == (pending.id if pending is not None else None)


async def _supersede(session: AsyncSession, intent: Adjustment) -> bool:
    """Close an open intent as superseded only if it still has the status planning read: a person's approve,
    edit or reject (bot.sync.approvals) or an unlink may have landed since, and must not be overwritten —
    an edit's own new intent would otherwise stay open beside the one planning adds (two posts)."""
    closed = await session.execute(
        update(Adjustment).where(Adjustment.id == intent.id, Adjustment.status == intent.status)
        .values(status=AdjustmentStatus.superseded).execution_options(synchronize_session=False))
    if closed.rowcount != 1:
        return False
    set_committed_value(intent, "status", AdjustmentStatus.superseded)
    return True


async def declined_targets(session: AsyncSession) -> dict[int, int]:
    """Per PSA service, the target a person turned down: the latest intent planning proposed for the service
    when it was rejected, or replaced by an edit (an edit closes the proposal as rejected, pointing
    `superseded_by_id` at the edited intent, which is not a proposal)."""
    edits = (select(Adjustment.superseded_by_id)
             .where(Adjustment.status == AdjustmentStatus.rejected, Adjustment.superseded_by_id.is_not(None)))
    latest = (select(func.max(Adjustment.id)).where(Adjustment.id.not_in(edits))
              .group_by(Adjustment.psa_service_id))
    rows = await session.execute(select(Adjustment.psa_service_id, Adjustment.units_to).where(
        Adjustment.id.in_(latest), Adjustment.status == AdjustmentStatus.rejected))
    return {service_id: units_to for service_id, units_to in rows}


def change_amount(*, delta: int, billed_price: Decimal | None, term: Term, effective: date,
                  anchor: date | None) -> Decimal | None:
    """The prorated amount of a change; None when no price is known."""
    if billed_price is None:
        return None
    return prorated_amount(units=delta, monthly_unit_price=billed_price, term=term, effective=effective,
                           anchor=anchor)


def is_small_credit(amount: Decimal | None, drop_below: Decimal | None) -> bool:
    return amount is not None and drop_below is not None and amount < 0 and -amount < drop_below


def _change(link: ResourceLink, target: int, today: date, settings: LinkSettings,
            scheduled: Scheduled | None, *, replacing: Adjustment | None = None) -> PlannedChange:
    """`scheduled`: the service's posted changes still to come (bot.sync.scheduled_changes): the change starts from
    the units they leave, and is dated no earlier than the last of them, so seats bought back before a scheduled
    decrease's day cancel it there (dated today, they would bill the seats twice until then). More seats than
    today's are the exception: the extra ones bill from today, so the change goes from today's units, dated today
    (the PSA shows it at once); the next cycle finds the decrease still to come and cancels it at its day.
    `replacing`: the open intent this change supersedes. A decrease replacing an unsent decrease from the same units
    keeps that one's day when it is earlier: the customer's seats went down then, and on or after that day a decrease
    dated from today falls a period later (ConnectWise and HaloPSA bill it on its day, so seats bought back on the
    day billed the old count a whole period more; Autotask, holding the decrease already, billed the new count)."""
    resource, service = link.resource, link.service
    subscription = resource.subscription
    company_id = subscription.company_id
    beyond_today = scheduled is not None and scheduled.units < 0 and target > service.units
    units_from = service.units if beyond_today else as_scheduled(service.units, scheduled)
    delta = target - units_from
    timing = settings.decrease_timing(link, company_id)
    when = effective_date(delta=delta, today=today, term=subscription.term, anchor=subscription.start_date,
                          decrease_timing=timing, term_end=subscription.end_date)
    if scheduled is not None and not beyond_today:
        when = max(when, scheduled.last_day)
    if replacing is not None and delta < 0 and replacing.delta < 0 and replacing.units_from == units_from:
        when = min(when, replacing.effective_date)
    source, approval = settings.price_source(link, company_id), settings.approval_policy(link, company_id)
    drop_below = settings.drop_prorate_below(link, company_id)
    check_billable(source, market_price=resource.unit_price, market_cost=resource.unit_cost,
                   psa_price=service.unit_price,
                   limits={"the approval percent limit": approval.max_percent,
                           "the approval amount limit": approval.max_amount, "the prorate threshold": drop_below})
    pricing = unit_pricing(source, market_price=resource.unit_price, market_cost=resource.unit_cost)
    billed_price = pricing.unit_price if pricing.unit_price is not None else service.unit_price
    amount = change_amount(delta=delta, billed_price=billed_price, term=subscription.term, effective=when,
                           anchor=subscription.start_date)
    check_computed(unit_price=pricing.unit_price, unit_cost=pricing.unit_cost, prorated_amount=amount)
    if is_small_credit(amount, drop_below):
        # The credit is waived by dating the decrease at the next period's start, where nothing is left to
        # prorate: for SeatSync's records and for a PSA that prorates on its own (one without proration control
        # per change). Recorded as 0.00, not None: the price is known.
        when = max(when, billing_period(subscription.term, today, anchor=subscription.start_date)[1])
        amount = Decimal("0.00")
    waits = delta < 0 and timing is DecreaseTiming.commitment_end and when > today
    reason = hold_reason(approval, units_from=units_from, units_to=target, prorated_amount=amount,
                         term=subscription.term)
    return PlannedChange(
        resource_link_id=link.id, resource_id=resource.id, psa_service_id=service.id,
        company=subscription.company.name, resource=resource.name, service=service.name,
        units_from=units_from, units_to=target, effective_date=when, prorated_amount=amount,
        unit_price=pricing.unit_price, unit_cost=pricing.unit_cost, held_reason=reason,
        hold_until=when if waits else None,
    )
