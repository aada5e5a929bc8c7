"""Small builders of database rows for tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import column, insert
from sqlalchemy import table as sa_table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.db.models import (
    Base,
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


async def legacy_row(connection: AsyncConnection, table: str, **values: object) -> int:
    """A row written in the shape of an older revision (no tenant, whatever columns it had then), bypassing today's
    models and their defaults: its id."""
    today = Base.metadata.tables[table].c
    shape = sa_table(table, column("id"), *(column(name, today[name].type if name in today else None)
                                            for name in values))
    return (await connection.execute(insert(shape).values(**values).returning(shape.c.id))).scalar_one()


def legacy_now(connection: AsyncConnection) -> datetime:
    """A time for a legacy row's timestamps."""
    return datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


async def legacy_marketplace_resource(connection: AsyncConnection) -> int:
    """A resource row as revisions before 0005 hold it (no `marketplace` column, no tenant), for migration tests
    run at an older revision: its id."""
    n = next(_ids)
    now = legacy_now(connection)
    company = await legacy_row(connection, "marketplace_companies", marketplace="ingram", external_id=f"C{n}",
                               name=f"Acme Mfg. Inc. {n}", first_seen_at=now, last_seen_at=now)
    subscription = await legacy_row(
        connection, "marketplace_subscriptions", company_id=company, marketplace="ingram", external_id=f"S{n}",
        name=f"Microsoft 365 #{n}", term="monthly", status="active", start_date=date(2026, 1, 1), first_seen_at=now,
        last_seen_at=now)
    return await legacy_row(
        connection, "marketplace_resources", subscription_id=subscription, external_id=f"R{n}",
        name="Exchange Online (Plan 1)", unit="unit", included=0, additional=8, total=8,
        unit_price=Decimal("8.00"), unit_cost=Decimal("6.40"), currency="USD", first_seen_at=now, last_seen_at=now)


async def legacy_psa_service(connection: AsyncConnection, *, psa: str = "autotask") -> int:
    """A PSA service with its company and contract, as revisions before 0007 hold them (no tenant): its id."""
    n = next(_ids)
    now = legacy_now(connection)
    company = await legacy_row(connection, "psa_companies", psa=psa, external_id=f"{n}", name=f"Acme Co. {n}",
                               is_active=True, last_seen_at=now)
    contract = await legacy_row(connection, "psa_contracts", company_id=company, psa=psa, external_id=f"{n}",
                                name=f"Managed services {n}", status="active", last_seen_at=now)
    return await legacy_row(connection, "psa_services", contract_id=contract, psa=psa, external_id=f"{n}",
                            name="Exchange Online (Plan 1)", units=1, is_active=True, last_seen_at=now)


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
