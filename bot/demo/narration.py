"""What the live demo says about each change: the customer billed, the PSA service, the counts and the money.

A PSA service is often named like the marketplace product it is fed by, and one product is sold to many
customers, so a line names the customer (the PSA company) and the service on its contract, never the product
alone."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Adjustment, PsaCompany, PsaContract, PsaService
from bot.sync.link_reconciliation import LinkOutcome
from bot.sync.posting import PostingReport
from bot.wording import counted

OUTCOME_WORDS = {"posted": "posted", "confirmed": "confirmed (had landed)", "not_needed": "not needed",
                 "stale": "replanned (the count moved)", "failed": "failed for now"}


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
