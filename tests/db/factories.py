"""Small builders of database rows for tests."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    ContractStatus,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    SubscriptionStatus,
    Term,
)

_ids = itertools.count(1)


async def marketplace_resource(
    session: AsyncSession, *, company: MarketplaceCompany | None = None,
    subscription: MarketplaceSubscription | None = None, total: int = 8, name: str = "Exchange Online (Plan 1)",
) -> MarketplaceResource:
    n = next(_ids)
    if subscription is None:
        if company is None:
            company = MarketplaceCompany(
                marketplace="ingram", external_id=f"C{n}", name=f"Acme Mfg. Inc. {n}"
            )
            session.add(company)
        subscription = MarketplaceSubscription(
            company=company, marketplace="ingram", external_id=f"S{n}", name=f"Microsoft 365 #{n}",
            term=Term.monthly, status=SubscriptionStatus.active, start_date=date(2026, 1, 1),
        )
        session.add(subscription)
    resource = MarketplaceResource(
        subscription=subscription, external_id=f"R{n}", name=name, included=0, additional=total, total=total,
        unit_price=Decimal("8.00"), unit_cost=Decimal("6.40"), currency="USD",
    )
    session.add(resource)
    await session.flush()
    return resource


async def legacy_marketplace_resource(session: AsyncSession) -> int:
    """A resource row as revisions before 0005 hold it (no `marketplace` column), for migration tests run at an
    older revision: its id."""
    n = next(_ids)
    company = MarketplaceCompany(marketplace="ingram", external_id=f"C{n}", name=f"Acme Mfg. Inc. {n}")
    subscription = MarketplaceSubscription(
        company=company, marketplace="ingram", external_id=f"S{n}", name=f"Microsoft 365 #{n}",
        term=Term.monthly, status=SubscriptionStatus.active, start_date=date(2026, 1, 1))
    session.add_all([company, subscription])
    await session.flush()
    table = MarketplaceResource.__table__
    return (await session.execute(insert(table).values(
        subscription_id=subscription.id, external_id=f"R{n}", name="Exchange Online (Plan 1)", unit="unit",
        included=0, additional=8, total=8, unit_price=Decimal("8.00"), unit_cost=Decimal("6.40"), currency="USD",
    ).returning(table.c.id))).scalar_one()


async def psa_service(
    session: AsyncSession, *, company: PsaCompany | None = None, contract: PsaContract | None = None,
    units: int = 1, psa: str = "autotask", name: str = "Exchange Online (Plan 1)",
) -> PsaService:
    n = next(_ids)
    if contract is None:
        if company is None:
            company = PsaCompany(psa=psa, external_id=f"{n}", name=f"Acme Co. {n}")
            session.add(company)
        contract = PsaContract(company=company, psa=psa, external_id=f"{n}", name=f"M365 contract {n}",
                               status=ContractStatus.active)
        session.add(contract)
    service = PsaService(contract=contract, psa=psa, external_id=f"{n}", catalog_id="77", name=name, units=units,
                         unit_price=Decimal("9.50"), unit_cost=Decimal("6.40"))
    session.add(service)
    await session.flush()
    return service
