"""What the live demo says about each change: the customer billed, the PSA service, the counts and the money.

A PSA service is often named like the marketplace product it is fed by, and one product is sold to many
customers, so a line names the customer (the PSA company) and the service on its contract, never the product
alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.connectors.registry import VENDORS
from bot.db.models import Adjustment, AdjustmentStatus, PsaCompany, PsaContract, PsaService
from bot.sync.link_reconciliation import LinkOutcome
from bot.sync.posting import PostingReport
from bot.wording import counted

if TYPE_CHECKING:
    from bot.sandbox.day_passes import DayReport

WEBHOOK_ACTOR = "webhook"  # who a webhook's sync records as having triggered its changes (SyncEngine)
WEBHOOK_STATUS_WORDS = {AdjustmentStatus.posted: "posted", AdjustmentStatus.failed: "failed for now",
                        AdjustmentStatus.awaiting_approval: "held for approval", AdjustmentStatus.pending: "planned"}
OUTCOME_WORDS = {"posted": "posted", "confirmed": "confirmed (had landed)", "not_needed": "not needed",
                 "stale": "replanned (the count moved)", "failed": "failed for now"}


def day_line(day: DayReport, keys: tuple[str, ...]) -> str:
    """What the day changed in the book of each marketplace read (`keys`), named by marketplace when there are
    several: a vendor with a book of its own says it (`DemoSupport.day_summary`), the others share the world's."""
    summaries = []
    for key in keys:
        support = VENDORS.get(key).demo
        summary = support.day_summary(day) if support is not None and support.day_summary is not None else (
            f"{len(day.increases)} seat increases, {len(day.decreases)} drops, {len(day.new_subscriptions)} new and "
            f"{len(day.cancelled_subscriptions)} cancelled subscriptions")
        summaries.append(summary if len(keys) == 1 else f"{VENDORS.label(key)}: {summary}")
    return f"{day.day}: " + "; ".join(summaries)



def link_time_lines(outcomes: Iterable[LinkOutcome], *, approvals_channel: str | None) -> list[str]:
    """A headline, then one line per link the reconciliation did something with (in-step links are counted)."""
    outcomes = list(outcomes)
    by_state: dict[str, int] = {}
    for outcome in outcomes:
        by_state[outcome.state] = by_state.get(outcome.state, 0) + 1
    held = by_state.get("awaiting_approval", 0)
    where = f" (approve, edit or reject them in #billing-alerts, {approvals_channel})" if held and approvals_channel \
        else ""
    lines = [f"link-time reconciliation of {counted(len(outcomes), 'link')}: {by_state.get('posted', 0)} posted, "
             f"{held} held for approval{where}, {by_state.get('in_step', 0)} already in step"
             + "".join(f", {count} {state.replace('_', ' ')}" for state, count in by_state.items()
                       if state not in ("posted", "awaiting_approval", "in_step"))]
    for outcome in outcomes:
        if outcome.state == "in_step":
            continue
        facts = outcome.facts
        what = f"{facts.customer} · {facts.service} (marketplace {facts.marketplace_total}, PSA {facts.psa_units})"
        match outcome.state:
            case "posted":
                lines.append(f"  posted {outcome.delta:+d}: {what}")
            case "awaiting_approval":
                lines.append(f"  held {outcome.delta:+d} for approval: {what}: {outcome.reason}")
            case _:
                lines.append(f"  {outcome.state.replace('_', ' ')}: {what}: {outcome.sentence()}")
    return lines


async def posted_lines(sessions: async_sessionmaker[AsyncSession], report: PostingReport | None) -> list[str]:
    """One line per change a posting pass handled: its outcome, customer, PSA service and contract, counts and
    prorated amount."""
    changes = report.changes if report else []
    if not changes:
        return []
    async with sessions() as session:
        rows = {row.id: row for row in await session.execute(
            select(Adjustment.id, PsaCompany.name.label("customer"), PsaService.name.label("service"),
                   PsaContract.name.label("contract"), Adjustment.effective_date, Adjustment.prorated_amount)
            .join(PsaService, PsaService.id == Adjustment.psa_service_id)
            .join(PsaContract, PsaContract.id == PsaService.contract_id)
            .join(PsaCompany, PsaCompany.id == PsaContract.company_id)
            .where(Adjustment.id.in_([change.adjustment_id for change in changes])))}
    lines = []
    for change in changes:
        row = rows.get(change.adjustment_id)
        outcome = OUTCOME_WORDS.get(change.outcome, change.outcome)
        counts = f"{change.units_from} → {change.units_to} ({change.units_to - change.units_from:+d})"
        if row is None:  # removed meanwhile (an unlink)
            lines.append(f"  {outcome}: {change.service} {counts}")
            continue
        amount = "" if row.prorated_amount is None else f", prorated {row.prorated_amount:,.2f}"
        lines.append(f"  {outcome}: {row.customer} · {row.service} on {row.contract}: {counts}, "
                     f"effective {row.effective_date.isoformat()}{amount}")
    return lines


async def webhook_posted_lines(sessions: async_sessionmaker[AsyncSession], *, after: int | None
                               ) -> tuple[list[str], int]:
    """One line per change a webhook's sync recorded since adjustment id `after` (None: none, only where to start
    from), and the last id seen."""
    async with sessions() as session:
        if after is None:
            return [], await session.scalar(select(func.max(Adjustment.id))) or 0
        rows = (await session.execute(
            select(Adjustment.id, Adjustment.status, Adjustment.units_from, Adjustment.units_to,
                   PsaCompany.name.label("customer"), PsaService.name.label("service"))
            .join(PsaService, PsaService.id == Adjustment.psa_service_id)
            .join(PsaContract, PsaContract.id == PsaService.contract_id)
            .join(PsaCompany, PsaCompany.id == PsaContract.company_id)
            .where(Adjustment.id > after, Adjustment.triggered_by == WEBHOOK_ACTOR)
            .order_by(Adjustment.id))).all()
    lines = [f"  webhook → {WEBHOOK_STATUS_WORDS.get(row.status, row.status.value)}: {row.customer} · {row.service}: "
             f"{row.units_from} → {row.units_to} ({row.units_to - row.units_from:+d})" for row in rows]
    return lines, max([after, *(row.id for row in rows)])
