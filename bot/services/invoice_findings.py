"""A stored invoice's check as Slack shows it, and what people do about its findings.

- `checked_invoice`: the invoice, its check (`bot.sync.invoice_check`), the decisions that still hold
  (`bot.db.invoices.kept_decisions`: a decision holds while its finding is unchanged, across a re-check and
  across the corrected invoice that replaces this one) and whether a newer invoice replaced it.
- `decide_finding`: accepted, fixed, or ignored with a reason; refused when the finding is not (or no longer)
  in the invoice's check. Every decision is a new row and an audit event.
- `link_target`: for an unlinked line, the marketplace company, subscription and resource SeatSync knows of it,
  to open the link wizard pre-filled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.registry import VENDORS
from bot.db.audit import record_audit
from bot.db.invoices import DECISIONS, decide, kept_decisions
from bot.db.models import (
    Invoice,
    InvoiceDecision,
    InvoiceLineRow,
    InvoiceSupersession,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
)
from bot.domain.invoice_check import CheckResult, Finding
from bot.sync.invoice_check import check_stored_invoice

MAX_REASON = 500


class FindingDecisionError(ValueError):
    """A decision that cannot be taken, in words for the person who tried."""


@dataclass(frozen=True)
class CheckedInvoice:
    invoice: Invoice
    label: str  # the source as people call it ("Pax8"), or the file source's name
    result: CheckResult
    decided: dict[str, InvoiceDecision] = field(default_factory=dict)
    replaced_by: str | None = None  # the number of the invoice that replaced this one

    def finding(self, key: str) -> Finding | None:
        return next((f for f in self.result.findings if f.key == key), None)


@dataclass(frozen=True)
class LinkTarget:
    company: int | None
    subscription: int | None
    resource: int | None
    hint: str  # the company's name as the invoice has it, for the wizard's first picker


def source_label(source: str) -> str:
    return VENDORS.label(source) if source in VENDORS else source


async def checked_invoice(*, session: AsyncSession, invoice_id: int) -> CheckedInvoice | None:
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        return None
    result = await check_stored_invoice(session=session, invoice=invoice)
    decided = await kept_decisions(session, invoice.id, result.findings)
    newer = await session.scalar(select(Invoice.number).join(
        InvoiceSupersession, InvoiceSupersession.superseded_by_id == Invoice.id)
        .where(InvoiceSupersession.invoice_id == invoice.id).limit(1))
    return CheckedInvoice(invoice=invoice, label=source_label(invoice.source), result=result, decided=decided,
                          replaced_by=newer)


async def decide_finding(*, session: AsyncSession, invoice_id: int, finding_key: str, decision: str,
                         reason: str | None, actor: str, now: datetime) -> InvoiceDecision:
    """Record `decision` about the finding `finding_key` of the invoice as it is checked now; the caller commits."""
    if decision not in DECISIONS:
        raise FindingDecisionError(f"a decision is one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()[:MAX_REASON] or None
    checked = await checked_invoice(session=session, invoice_id=invoice_id)
    if checked is None:
        raise FindingDecisionError("that invoice is not stored")
    if checked.replaced_by is not None:
        raise FindingDecisionError(f"this invoice was replaced by {checked.replaced_by}; decide on the new one")
    finding = checked.finding(finding_key)
    if finding is None:
        raise FindingDecisionError("this finding is no longer in the invoice's check (the PSA or the links "
                                   "changed since); nothing was decided")
    try:
        row = await decide(session, invoice_id=invoice_id, finding_key=finding_key, decision=decision,
                           reason=reason, actor=actor, now=now, fingerprint=finding.fingerprint)
    except ValueError as exc:
        raise FindingDecisionError(str(exc)) from None
    record_audit(session=session, actor=actor, action=f"invoice_finding_{decision}", subject_type="invoice",
                 subject_id=invoice_id,
                 after={"finding": finding_key, "decision": decision, "reason": reason,
                        "money": f"{finding.money:.2f}", "company": finding.company_name,
                        "product": finding.product_name})
    return row


async def link_target(*, session: AsyncSession, invoice: Invoice, finding: Finding) -> LinkTarget:
    """What SeatSync knows of an unlinked line's company, subscription and resource (by the marketplace's ids)."""
    marketplace = invoice.marketplace
    company_id = await session.scalar(select(InvoiceLineRow.company_id).where(
        InvoiceLineRow.invoice_id == invoice.id, InvoiceLineRow.line_id.in_(finding.line_ids[:50])).limit(1))
    company = subscription = resource = None
    if finding.subscription_id:
        subscription = await session.scalar(select(MarketplaceSubscription).where(
            MarketplaceSubscription.marketplace == marketplace,
            MarketplaceSubscription.external_id == finding.subscription_id))
    if subscription is not None:
        company = subscription.company_id
        resources = (await session.scalars(select(MarketplaceResource).where(
            MarketplaceResource.subscription_id == subscription.id))).all()
        named = [r for r in resources if r.name == finding.product_name]
        chosen = named if named else resources
        resource = chosen[0].id if len(chosen) == 1 else None
    elif company_id:
        company = await session.scalar(select(MarketplaceCompany.id).where(
            MarketplaceCompany.marketplace == marketplace, MarketplaceCompany.external_id == company_id))
    return LinkTarget(company=company, subscription=subscription.id if subscription else None, resource=resource,
                      hint=finding.company_name)
