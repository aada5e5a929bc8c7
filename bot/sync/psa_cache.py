"""Refresh the PSA cache (companies, contracts, services with units and prices) from connector reads.

Slack pickers and reports read this cache. A complete read marks what the PSA no longer returns as
removed; an incremental read (records changed since a time) only upserts. A service's unit price is also kept
as it moves (`psa_service_prices`: a row when the service first appears and at each change), so the month-end
invoice check reads a past month's price, not today's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import PsaCompany, PsaContract, PsaService, PsaServicePrice
from bot.db.one_writer import one_writer_at_a_time
from bot.domain.records import PsaCompanyRecord, PsaContractRecord, PsaServiceRecord
from bot.sync.turns import give_a_turn


@dataclass
class PsaRefresh:
    companies: int = 0
    contracts: int = 0
    services: int = 0
    units_changed: int = 0  # services whose units differ from the cached value (hand edits or our posts)

    def as_stats(self) -> dict[str, int]:
        return {"psa_companies": self.companies, "psa_contracts": self.contracts, "psa_services": self.services,
                "psa_units_changed": self.units_changed}


async def apply_psa_records(
    *, session: AsyncSession, psa: str, now: datetime, complete: bool,
    companies: Sequence[PsaCompanyRecord], contracts: Sequence[PsaContractRecord],
    services: Sequence[PsaServiceRecord],
) -> PsaRefresh:
    refresh = PsaRefresh(len(companies), len(contracts), len(services))
    await one_writer_at_a_time(session, f"psa:{psa}")
    known_companies = {c.external_id: c for c in await session.scalars(select(PsaCompany).where(PsaCompany.psa == psa))}
    for done, record in enumerate(companies, 1):
        await give_a_turn(session, done)
        row = known_companies.get(record.external_id)
        if row is None:
            row = PsaCompany(psa=psa, external_id=record.external_id, name=record.name, is_active=record.is_active,
                             last_seen_at=now)
            session.add(row)
            known_companies[record.external_id] = row
        row.name, row.is_active, row.last_seen_at, row.removed_at = record.name, record.is_active, now, None
    await session.flush()

    known_contracts = {
        c.external_id: c for c in await session.scalars(select(PsaContract).where(PsaContract.psa == psa))
    }
    for done, record in enumerate(contracts, 1):
        await give_a_turn(session, done)
        company = known_companies.get(record.company_external_id)
        if company is None:
            continue  # the company is outside what we read (e.g. inactive and filtered): skip the orphan
        row = known_contracts.get(record.external_id)
        if row is None:
            row = PsaContract(psa=psa, external_id=record.external_id, company_id=company.id, name=record.name,
                              status=record.status, last_seen_at=now)
            session.add(row)
            known_contracts[record.external_id] = row
        row.company_id, row.name, row.status = company.id, record.name, record.status
        row.start_date, row.end_date, row.prorates = record.start_date, record.end_date, record.prorates
        row.last_seen_at, row.removed_at = now, None
    await session.flush()

    known_services = {s.external_id: s for s in await session.scalars(select(PsaService).where(PsaService.psa == psa))}
    priced = set((await session.scalars(select(PsaServicePrice.psa_service_id).join(
        PsaService, PsaService.id == PsaServicePrice.psa_service_id).where(PsaService.psa == psa).distinct())).all())
    new_prices: list[tuple[PsaService, Decimal | None, datetime]] = []
    for done, record in enumerate(services, 1):
        await give_a_turn(session, done)
        contract = known_contracts.get(record.contract_external_id)
        if contract is None:
            continue
        row = known_services.get(record.external_id)
        if row is None:
            row = PsaService(psa=psa, external_id=record.external_id, contract_id=contract.id, name=record.name,
                             units=record.units, last_seen_at=now)
            session.add(row)
            known_services[record.external_id] = row
            new_prices.append((row, record.unit_price, now))
        else:
            if row.units != record.units:
                refresh.units_changed += 1
            if row.unit_price != record.unit_price:
                if row.id not in priced:  # cached before prices were kept: the old price held until now
                    new_prices.append((row, row.unit_price, row.last_seen_at))
                new_prices.append((row, record.unit_price, now))
        row.contract_id, row.name, row.units, row.catalog_id = contract.id, record.name, record.units, record.catalog_id
        row.unit_price, row.unit_cost, row.is_active = record.unit_price, record.unit_cost, record.is_active
        row.last_seen_at, row.removed_at = now, None

    if new_prices:
        await session.flush()
        for done, (row, price, seen_at) in enumerate(new_prices, 1):
            await give_a_turn(session, done)
            session.add(PsaServicePrice(psa_service_id=row.id, unit_price=price, seen_at=seen_at))
    if complete:
        for table, seen in ((known_companies, {r.external_id for r in companies}),
                            (known_contracts, {r.external_id for r in contracts}),
                            (known_services, {r.external_id for r in services})):
            for external_id, row in table.items():
                if external_id not in seen and row.removed_at is None:
                    row.removed_at = now
    await session.flush()
    return refresh
