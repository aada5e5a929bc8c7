"""A large MSP written straight into SeatSync's database, as if a sync had read it: for limits and speed.

`count` marketplace companies (legal names from `bot.sandbox.names`), each with one monthly
subscription holding one resource, and as many Autotask companies spelled the way people type them
("Acme Mfg."), each with one active contract holding one service. Nothing is linked. Rows go in with
one INSERT per table, so ten thousand companies take a second, not a minute. Used by the tests of limits
and by the benchmarks (bench/slack_options.py, bench/suggestions_loop.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import insert, select
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
from bot.sandbox.names import autotask_spelling, new_company_name

PRODUCTS = ("Microsoft 365 Business Standard", "Exchange Online (Plan 1)", "Microsoft 365 E3",
            "Microsoft Defender for Business", "Teams Essentials")


@dataclass(frozen=True)
class ManyCompanies:
    marketplace_names: list[str]
    psa_names: list[str]  # psa_names[i] is how the PSA spells marketplace_names[i]


async def insert_many_companies(*, session: AsyncSession, count: int, now: datetime,
                                seed: int = 11) -> ManyCompanies:
    """`now`: when a sync read them (first and last seen)."""
    rng = random.Random(seed)
    taken: set[tuple[str, str]] = set()
    names = [new_company_name(rng, taken) for _ in range(count)]
    legal = [name.legal for name in names]
    spelled = [autotask_spelling(name, rng) for name in names]
    await session.execute(insert(MarketplaceCompany), [
        {"marketplace": "ingram", "external_id": f"mc-{i}", "name": legal[i], "first_seen_at": now,
         "last_seen_at": now} for i in range(count)])
    company_ids = await _ids(session, MarketplaceCompany, "mc-")
    await session.execute(insert(MarketplaceSubscription), [
        {"company_id": company_ids[f"mc-{i}"], "marketplace": "ingram", "external_id": f"ms-{i}",
         "name": PRODUCTS[i % len(PRODUCTS)], "term": Term.monthly, "status": SubscriptionStatus.active,
         "start_date": date(2026, 1, 1), "first_seen_at": now, "last_seen_at": now} for i in range(count)])
    subscription_ids = await _ids(session, MarketplaceSubscription, "ms-")
    await session.execute(insert(MarketplaceResource), [
        {"subscription_id": subscription_ids[f"ms-{i}"], "marketplace": "ingram", "external_id": f"mr-{i}",
         "name": PRODUCTS[i % len(PRODUCTS)],
         "included": 0, "additional": 5 + i % 20, "total": 5 + i % 20, "unit_price": Decimal("12.50"),
         "unit_cost": Decimal("10.00"), "currency": "USD", "first_seen_at": now, "last_seen_at": now}
        for i in range(count)])
    await session.execute(insert(PsaCompany), [
        {"psa": "autotask", "external_id": f"pc-{i}", "name": spelled[i], "last_seen_at": now}
        for i in range(count)])
    psa_company_ids = await _ids(session, PsaCompany, "pc-")
    await session.execute(insert(PsaContract), [
        {"company_id": psa_company_ids[f"pc-{i}"], "psa": "autotask", "external_id": f"pk-{i}",
         "name": f"{PRODUCTS[i % len(PRODUCTS)]} contract", "status": ContractStatus.active,
         "start_date": date(2026, 1, 1), "last_seen_at": now} for i in range(count)])
    contract_ids = await _ids(session, PsaContract, "pk-")
    await session.execute(insert(PsaService), [
        {"contract_id": contract_ids[f"pk-{i}"], "psa": "autotask", "external_id": f"ps-{i}",
         "name": PRODUCTS[i % len(PRODUCTS)], "units": 5, "unit_price": Decimal("15.00"),
         "unit_cost": Decimal("10.00"), "last_seen_at": now} for i in range(count)])
    await session.commit()
    return ManyCompanies(marketplace_names=legal, psa_names=spelled)


async def _ids(session: AsyncSession, model, prefix: str) -> dict[str, int]:
    rows = await session.execute(select(model.external_id, model.id).where(model.external_id.startswith(prefix)))
    return dict(rows.all())
