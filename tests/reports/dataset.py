"""A small known dataset for the report tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.links import link_resource
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    MarketplaceCompany,
)
from tests.db.factories import marketplace_resource, psa_service

TODAY = date(2026, 3, 10)
INJECTION = '=HYPERLINK("http://x")'


@dataclass
class Dataset:
    acme: MarketplaceCompany
    evil: MarketplaceCompany


async def build_dataset(session: AsyncSession) -> Dataset:
    """Acme: Exchange (8 bought, 5 billed, linked) and Teams (4, unlinked); a company with a formula for a
    name: one unlinked resource of 2; one PSA service nothing feeds; adjustments posted 2 and 40 days ago,
    and one failure needing action."""
    acme = MarketplaceCompany(marketplace="ingram", external_id="A-1", name="Acme Mfg. Inc.")
    evil = MarketplaceCompany(marketplace="ingram", external_id="E-1", name=INJECTION)
    session.add_all([acme, evil])
    exchange = await marketplace_resource(session, company=acme, total=8, name="Exchange Online (Plan 1)")
    teams = await marketplace_resource(session, subscription=exchange.subscription, total=4, name="Teams Essentials")
    await marketplace_resource(session, company=evil, total=2, name="Defender")
    service = await psa_service(session, units=5, name="Exchange Online")
    await psa_service(session, units=3, name="Backup 1TB")
    link = await link_resource(session=session, resource_id=exchange.id, service_id=service.id, actor="U1")

    def adjustment(key: str, status: AdjustmentStatus, at: datetime, **fields) -> Adjustment:
        return Adjustment(idempotency_key=key, resource_link_id=link.id, resource_id=exchange.id,
                          psa_service_id=service.id, psa="autotask", units_from=4, units_to=5, delta=1,
                          effective_date=at.date(), prorated_amount=Decimal("6.13"), unit_price=Decimal("9.50"),
                          status=status, trigger=AdjustmentTrigger.sync, created_at=at,
                          **{"triggered_by": "system", **fields})

    session.add_all([
        adjustment("k-recent", AdjustmentStatus.posted, datetime(2026, 3, 8, 9, tzinfo=UTC),
                   posted_at=datetime(2026, 3, 8, 9, tzinfo=UTC)),
        adjustment("k-old", AdjustmentStatus.posted, datetime(2026, 1, 29, 9, tzinfo=UTC),
                   posted_at=datetime(2026, 1, 29, 9, tzinfo=UTC), triggered_by="U7"),
        adjustment("k-failed", AdjustmentStatus.failed, datetime(2026, 3, 9, 9, tzinfo=UTC), attempts=3,
                   last_error="contract is inactive", needs_action=True,
                   next_attempt_at=datetime(2026, 3, 9, 10, tzinfo=UTC)),
    ])
    await session.commit()
    assert teams.id
    return Dataset(acme=acme, evil=evil)
