"""The one-time reconciliation after a link is set, told in one line per link.

"<marketplace> 8 · <PSA> 1 → posted +7 Exchange Online (Plan 1) for Acme Co." — both sides' counts as
they stood (each side under its vendor's label), then what happened: posted, already in step, scheduled (a
change dated later), waiting for approval, why it could not post, or why its change cannot be computed (a
number no one can bill with). The engine does the work (`SyncEngine.reconcile_links`); this module reads the
facts before and the link's adjustment after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.registry import VENDORS
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    ResourceLink,
)
from bot.sync.engine import SyncEngine
from bot.sync.planning import LinkFailure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkFacts:
    link_id: int
    marketplace: str
    psa: str
    marketplace_total: int
    psa_units: int
    resource: str
    customer: str  # the PSA company: who is billed
    service: str = ""  # the PSA service the resource feeds


@dataclass(frozen=True)
class LinkOutcome:
    facts: LinkFacts
    state: str  # posted | in_step | scheduled | awaiting_approval | failed | not_computed | not_run
    delta: int = 0
    effective_date: date | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("posted", "in_step", "scheduled", "awaiting_approval")

    def sentence(self) -> str:
        f = self.facts
        counts = f"{VENDORS.label(f.marketplace)} {f.marketplace_total} · {VENDORS.label(f.psa)} {f.psa_units}"
        what = f"{self.delta:+d} {f.resource} for {f.customer}"
        match self.state:
            case "posted":
                return f"{counts} → posted {what}" + ("" if what.endswith(".") else ".")
            case "in_step":
                return f"{counts} → already in step: {f.resource} for {f.customer}" + (
                    "" if f.customer.endswith(".") else ".")
            case "scheduled":
                return f"{counts} → scheduled {what}, effective {self.effective_date}."
            case "awaiting_approval":
                return (f"{counts} → {what} waits for approval: {self.reason}; nothing is posted until someone on "
                        "the billing team approves it.")
            case "failed":
                return f"{counts} → could not post {what}: {self.reason}. It will be retried."
            case "not_computed":
                return (f"{counts} → nothing posted for {f.resource} for {f.customer}: {self.reason}. It is not "
                        "billed until that is fixed.")
        return f"{counts} → not reconciled yet: {self.reason}. The next sync will level it."


async def link_facts(*, session: AsyncSession, link_ids: list[int]) -> dict[int, LinkFacts]:
    rows = await session.execute(
        select(ResourceLink.id, MarketplaceCompany.marketplace, PsaService.psa, MarketplaceResource.total,
               PsaService.units, MarketplaceResource.name, PsaCompany.name, PsaService.name)
        .join(MarketplaceResource, MarketplaceResource.id == ResourceLink.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
        .join(PsaService, PsaService.id == ResourceLink.psa_service_id)
        .join(PsaContract, PsaContract.id == PsaService.contract_id)
        .join(PsaCompany, PsaCompany.id == PsaContract.company_id)
        .where(ResourceLink.id.in_(link_ids))
    )
    return {row[0]: LinkFacts(*row) for row in rows}


async def reconcile_new_links(*, engine: SyncEngine, link_ids: list[int], actor: str) -> list[LinkOutcome]:
    """Run the one-time reconciliation for freshly set links and say what happened to each."""
    async with engine.sessions() as session:
        facts = await link_facts(session=session, link_ids=link_ids)
    failures: list[LinkFailure] = []
    try:
        planned, posting = await engine.reconcile_links(link_ids=link_ids, actor=actor, failures=failures)
    except Exception as exc:  # the links are saved; the next sync levels them, so say so and carry on
        log.exception("the reconciliation of links %s failed", link_ids)
        return [LinkOutcome(f, "not_run", reason=f"the reconciliation failed ({type(exc).__name__})")
                for f in facts.values()]
    planned_links = {change.resource_link_id for change in planned}
    not_computed = {failure.resource_link_id: failure.reason for failure in failures}
    outcomes: list[LinkOutcome] = []
    async with engine.sessions() as session:
        for link_id in link_ids:
            fact = facts.get(link_id)
            if fact is None:
                continue  # removed meanwhile
            if link_id in not_computed:
                outcomes.append(LinkOutcome(fact, "not_computed", reason=not_computed[link_id]))
                continue
            adjustment = await session.scalar(
                select(Adjustment).where(Adjustment.resource_link_id == link_id,
                                         Adjustment.trigger == AdjustmentTrigger.link)
                .order_by(Adjustment.id.desc()).limit(1))
            if link_id not in planned_links or adjustment is None:
                outcomes.append(LinkOutcome(fact, "in_step"))
                continue
            outcomes.append(_outcome(fact, adjustment, posting.read_error))
    return outcomes


def _outcome(fact: LinkFacts, adjustment: Adjustment, read_error: str | None) -> LinkOutcome:
    delta, when = adjustment.units_to - fact.psa_units, adjustment.effective_date
    match adjustment.status:
        case AdjustmentStatus.posted:
            return LinkOutcome(fact, "posted", delta, when)
        case AdjustmentStatus.superseded:
            return LinkOutcome(fact, "in_step")
        case AdjustmentStatus.awaiting_approval:
            return LinkOutcome(fact, "awaiting_approval", delta, when, adjustment.held_reason or "over a limit")
        case AdjustmentStatus.failed:
            return LinkOutcome(fact, "failed", delta, when, adjustment.last_error or "the PSA refused it")
        case AdjustmentStatus.posting:
            return LinkOutcome(fact, "not_run", delta, when,
                               "the PSA's answer was lost; the next pass reads the PSA and confirms it")
    if read_error:
        return LinkOutcome(fact, "not_run", delta, when, f"the PSA could not be read ({read_error})")
    return LinkOutcome(fact, "scheduled", delta, when)


async def unreconciled(*, session: AsyncSession, link_ids: list[int], reason: str) -> list[LinkOutcome]:
    """The links as they stand when the reconciliation cannot run (no engine configured yet)."""
    facts = await link_facts(session=session, link_ids=link_ids)
    return [LinkOutcome(facts[link_id], "not_run", reason=reason) for link_id in link_ids if link_id in facts]
