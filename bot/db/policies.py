"""Price sources and sync policies at their three scopes (global, marketplace company, link)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.audit import record_audit
from bot.db.models import (
    DecreaseTiming,
    PriceSourceKind,
    PriceSourceSetting,
    PsaService,
    ResourceLink,
    Scope,
    SyncPolicy,
)
from bot.sync.pricing import PriceSource, validate_price_source


def scope_key(scope: Scope, *, company_id: int | None = None, link_id: int | None = None) -> str:
    if scope is Scope.global_:
        return "global"
    if scope is Scope.company:
        if company_id is None:
            raise ValueError("a company-scoped setting needs the marketplace company")
        return f"company:{company_id}"
    if link_id is None:
        raise ValueError("a link-scoped setting needs the link")
    return f"link:{link_id}"


async def set_price_source(
    *, session: AsyncSession, scope: Scope, kind: PriceSourceKind, actor: str, company_id: int | None = None,
    link_id: int | None = None, markup_percent: Decimal | None = None, custom_price: Decimal | None = None,
    custom_cost: Decimal | None = None, below_cost_confirmed: bool = False,
) -> PriceSourceSetting:
    """Set a price source; refused (PriceSourceError) when incomplete, or when a custom cost is below the
    linked PSA service's current cost and `below_cost_confirmed` is not set (the Slack side asks first)."""
    key = scope_key(scope, company_id=company_id, link_id=link_id)
    psa_cost = None
    if link_id is not None:
        psa_cost = await session.scalar(
            select(PsaService.unit_cost).join(ResourceLink, ResourceLink.psa_service_id == PsaService.id)
            .where(ResourceLink.id == link_id))
    validate_price_source(PriceSource(kind, markup_percent, custom_price, custom_cost, below_cost_confirmed),
                          psa_cost=psa_cost)
    row = await session.scalar(select(PriceSourceSetting).where(PriceSourceSetting.scope_key == key))
    before = None if row is None else {"kind": row.kind.value, "markup_percent": str(row.markup_percent),
                                       "custom_price": str(row.custom_price), "custom_cost": str(row.custom_cost)}
    if row is None:
        row = PriceSourceSetting(scope_key=key, scope=scope, marketplace_company_id=company_id,
                                 resource_link_id=link_id, kind=kind, updated_by=actor)
        session.add(row)
    row.kind, row.markup_percent, row.custom_price, row.custom_cost = kind, markup_percent, custom_price, custom_cost
    row.below_cost_confirmed, row.updated_by = below_cost_confirmed, actor
    await session.flush()
    record_audit(session=session, actor=actor, action="set_price_source", subject_type="price_source",
                 subject_id=key, before=before,
                 after={"kind": kind.value, "markup_percent": str(markup_percent), "custom_price": str(custom_price),
                        "custom_cost": str(custom_cost), "below_cost_confirmed": below_cost_confirmed})
    return row


async def set_decrease_timing(
    *, session: AsyncSession, scope: Scope, timing: DecreaseTiming | None, actor: str, company_id: int | None = None,
    link_id: int | None = None,
) -> SyncPolicy:
    key = scope_key(scope, company_id=company_id, link_id=link_id)
    row = await session.scalar(select(SyncPolicy).where(SyncPolicy.scope_key == key))
    before = None if row is None or row.decrease_timing is None else {"decrease_timing": row.decrease_timing.value}
    if row is None:
        row = SyncPolicy(scope_key=key, scope=scope, marketplace_company_id=company_id, resource_link_id=link_id,
                         updated_by=actor)
        session.add(row)
    row.decrease_timing, row.updated_by = timing, actor
    await session.flush()
    record_audit(session=session, actor=actor, action="set_decrease_timing", subject_type="sync_policy",
                 subject_id=key, before=before, after={"decrease_timing": timing.value if timing else None})
    return row
