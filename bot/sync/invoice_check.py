"""The month-end check of a stored invoice: its lines against the PSA's billed units and prices for that month,
the adjustments SeatSync posted, and the links (the rules are `bot.domain.invoice_check`'s).

What the PSA billed for a month comes from the PSA cache (what the last sync read from the PSA, not SeatSync's
own log), taken back to the month's first day: a service's units then are its units now less every change
posted since with a later effective date. A past month is thus checked against that month's units, never
today's. Prices are the month's too: the price the PSA showed at the end of the month's first day, from the
cache's price history (`psa_service_prices`); before the history's first row, that row's price (the oldest
known). (Limit: a person's change of units made in the PSA by hand after the month is not taken back.) The
minimum margin is the margin guard's, resolved link > company > global.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.invoices import current_invoices, invoice_lines
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    Invoice,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    PsaServicePrice,
    ResourceLink,
    Term,
)
from bot.domain.invoice_check import (
    BilledService,
    CheckResult,
    InvoiceLine,
    LinkedService,
    PostedAdjustment,
    check_invoice,
    not_reconcilable,
)
from bot.domain.invoices import check_month
from bot.sync.planning import LinkSettings


@dataclass(frozen=True)
class _LinkId:
    """What the settings' resolution reads of a link: its id."""

    id: int


@dataclass(frozen=True)
class InvoiceCheck:
    month: date
    source: str | None
    invoice: Invoice | None
    result: CheckResult


async def check_month_invoices(*, session: AsyncSession, month: date) -> list[InvoiceCheck]:
    """Every source's invoice of `month` checked; one `not_reconcilable` entry when there is none to check."""
    currents = await current_invoices(session, month=month)
    if not currents:
        return [InvoiceCheck(month, None, None, not_reconcilable(
            f"no invoice for {month:%B %Y} has been received yet"))]
    checks = []
    for current in currents:
        if current.invoice is None:
            checks.append(InvoiceCheck(month, None, None, not_reconcilable(current.reason)))
        else:
            checks.append(InvoiceCheck(month, current.invoice.source, current.invoice,
                                       await check_stored_invoice(session=session, invoice=current.invoice)))
    return checks


async def check_stored_invoice(*, session: AsyncSession, invoice: Invoice) -> CheckResult:
    return await check_lines(session=session, marketplace=invoice.marketplace, first=invoice.month,
                             lines=await invoice_lines(session, invoice.id))


async def check_lines(*, session: AsyncSession, marketplace: str, first: date, lines: list[InvoiceLine]
                      ) -> CheckResult:
    """The check of invoice lines billing the month starting `first` (a stored invoice's, or a draft preview's)."""
    month = check_month(first)
    links, billed = await linked_services(session=session, marketplace=marketplace, first=month.first)
    adjustments = await posted_adjustments(session=session, service_ids=[int(s) for s in billed],
                                           start=month.prorated_first, end=month.prorated_last)
    known = frozenset((await session.scalars(select(MarketplaceSubscription.external_id).where(
        MarketplaceSubscription.marketplace == marketplace))).all())
    return check_invoice(month=month, lines=lines, links=links, billed=billed, adjustments=adjustments,
                         known_subscriptions=known)


async def linked_services(*, session: AsyncSession, marketplace: str, first: date
                          ) -> tuple[list[LinkedService], dict[str, BilledService]]:
    settings = await LinkSettings.load(session)
    rows = (await session.execute(
        select(ResourceLink.id, MarketplaceResource.external_id, MarketplaceSubscription.external_id,
               MarketplaceSubscription.term, MarketplaceCompany.external_id, MarketplaceCompany.id,
               PsaService.id, PsaService.name, PsaService.units, PsaService.unit_price, PsaCompany.name)
        .join(MarketplaceResource, ResourceLink.resource_id == MarketplaceResource.id)
        .join(MarketplaceSubscription, MarketplaceResource.subscription_id == MarketplaceSubscription.id)
        .join(MarketplaceCompany, MarketplaceSubscription.company_id == MarketplaceCompany.id)
        .join(PsaService, ResourceLink.psa_service_id == PsaService.id)
        .join(PsaContract, PsaService.contract_id == PsaContract.id)
        .join(PsaCompany, PsaContract.company_id == PsaCompany.id)
        .where(MarketplaceSubscription.marketplace == marketplace)
        .order_by(ResourceLink.id))).all()
    later = await changes_after(session=session, service_ids=[row[6] for row in rows], after=first)
    month_prices = await prices_as_of(session=session, service_ids=[row[6] for row in rows],
                                      moment=datetime.combine(first + timedelta(days=1), time(0), tzinfo=UTC))
    links, billed = [], {}
    for (link_id, product_id, subscription_id, term, company_id, company_pk, service_id, service_name, units, price,
         company_name) in rows:
        key = str(service_id)
        links.append(LinkedService(subscription_id=subscription_id, company_id=company_id, product_id=product_id,
                                   service_id=key, annual=term == Term.annual))
        billed[key] = BilledService(service_id=key, company_name=company_name, service_name=service_name,
                                    units=max(0, units - later.get(service_id, 0)),
                                    unit_price=month_prices.get(service_id, price),
                                    min_margin_percent=settings.min_margin_percent(_LinkId(link_id), company_pk))
    return links, billed


async def changes_after(*, session: AsyncSession, service_ids: list[int], after: date) -> dict[int, int]:
    """Per service, the units posted with an effective date after `after` (to take its units back to then)."""
    moved: dict[int, int] = defaultdict(int)
    for chunk in _chunks(service_ids):
        rows = await session.execute(select(Adjustment.psa_service_id, Adjustment.delta).where(
            Adjustment.psa_service_id.in_(chunk), Adjustment.status == AdjustmentStatus.posted,
            Adjustment.effective_date > after))
        for service_id, delta in rows:
            moved[service_id] += delta
    return moved


async def prices_as_of(*, session: AsyncSession, service_ids: list[int], moment: datetime
                       ) -> dict[int, Decimal | None]:
    """Per service with a price history, its unit price at `moment` (the oldest known before the history starts)."""
    found: dict[int, Decimal | None] = {}
    for chunk in _chunks(service_ids):
        rows = await session.execute(select(PsaServicePrice.psa_service_id, PsaServicePrice.unit_price,
                                            PsaServicePrice.seen_at)
                                     .where(PsaServicePrice.psa_service_id.in_(chunk))
                                     .order_by(PsaServicePrice.psa_service_id, PsaServicePrice.seen_at,
                                               PsaServicePrice.id))
        for service_id, price, seen_at in rows:
            if service_id not in found or seen_at <= moment:
                found[service_id] = price
    return found


async def posted_adjustments(*, session: AsyncSession, service_ids: list[int], start: date, end: date
                             ) -> list[PostedAdjustment]:
    found: list[PostedAdjustment] = []
    for chunk in _chunks(service_ids):
        rows = await session.execute(select(Adjustment.psa_service_id, Adjustment.delta, Adjustment.effective_date)
                                     .where(Adjustment.psa_service_id.in_(chunk),
                                            Adjustment.status == AdjustmentStatus.posted,
                                            Adjustment.effective_date >= start, Adjustment.effective_date <= end))
        found += [PostedAdjustment(str(service_id), delta, day) for service_id, delta, day in rows]
    return found


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]
