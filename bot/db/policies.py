"""Price sources and sync policies at their three scopes (global, marketplace company, link).

The setters are the last gate before the database: every number is finite and within bot.domain.money's bounds
(amounts from 0 to under 10^10 with at most 4 decimals, percentages in their ranges), whoever calls them.
"""

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
from bot.domain import money
from bot.domain.pricing import PriceSource, validate_price_source


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
    """When decreases take effect: today, at the next period's start, or at the commitment's end (annual and
    other committed terms: dated at the anniversary and held, scheduled, until that day). None: inherit."""
    if timing is not None and not isinstance(timing, DecreaseTiming):
        raise PolicyError(f"unknown decrease timing {timing!r} (use {', '.join(t.value for t in DecreaseTiming)})")
    return await _set_policy(session=session, scope=scope, actor=actor, company_id=company_id, link_id=link_id,
                             action="set_decrease_timing", values={"decrease_timing": timing})


class PolicyError(ValueError):
    """A sync policy value cannot be used; the message says what to fix."""


MAX_PERCENT = money.MAX_PERCENT


def _checked(check, value, **rules):
    """`check(value, **rules)` from bot.domain.money, its NumberError as a PolicyError; None (inherit) passes."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    try:
        return check(value, **rules)
    except money.NumberError as exc:
        raise PolicyError(str(exc)) from None


async def set_approval_policy(
    *, session: AsyncSession, scope: Scope, actor: str, company_id: int | None = None, link_id: int | None = None,
    max_units: int | None = None, max_percent: Decimal | None = None, max_amount: Decimal | None = None,
    hold_committed_decreases: bool | None = None,
) -> SyncPolicy:
    """The approval limits at one scope; each None means "not set here" (the wider scope's value applies).
    A change over any set limit waits for a person; a change exactly at a limit posts on its own."""
    if max_units is not None and (isinstance(max_units, bool) or not isinstance(max_units, int)
                                  or not 0 <= max_units <= money.MAX_COUNT):
        raise PolicyError(f"the unit limit must be a whole number from 0 to {money.MAX_COUNT:,}, not {max_units!r}")
    _checked(money.percent, max_percent, field="the percent limit")
    _checked(money.amount, max_amount, field="the amount limit")
    return await _set_policy(session=session, scope=scope, actor=actor, company_id=company_id, link_id=link_id,
                             action="set_approval_policy",
                             values={"approval_max_units": max_units, "approval_max_percent": max_percent,
                                     "approval_max_amount": max_amount,
                                     "hold_committed_decreases": hold_committed_decreases})


async def set_drop_prorate_below(
    *, session: AsyncSession, scope: Scope, threshold: Decimal | None, actor: str, company_id: int | None = None,
    link_id: int | None = None,
) -> SyncPolicy:
    """Credits (favourable prorates) smaller than `threshold` are dropped: the change posts with a prorated
    amount of 0 and without asking the PSA to prorate. None: inherit."""
    _checked(money.amount, threshold, field="the prorate threshold")
    return await _set_policy(session=session, scope=scope, actor=actor, company_id=company_id, link_id=link_id,
                             action="set_drop_prorate_below", values={"drop_prorate_below": threshold})


async def set_min_margin_percent(
    *, session: AsyncSession, scope: Scope, percent: Decimal | None, actor: str, company_id: int | None = None,
    link_id: int | None = None,
) -> SyncPolicy:
    """The margin guard alerts when a linked resource's margin falls below this. None: inherit."""
    _checked(money.percent, percent, field="the minimum margin", low=money.MIN_MARGIN, high=money.MAX_MARGIN,
             high_included=False)
    return await _set_policy(session=session, scope=scope, actor=actor, company_id=company_id, link_id=link_id,
                             action="set_min_margin_percent", values={"min_margin_percent": percent})


def _audited(value: object) -> object:
    if value is None or isinstance(value, bool | int):
        return value
    return value.value if isinstance(value, DecreaseTiming) else str(value)


async def _set_policy(*, session: AsyncSession, scope: Scope, actor: str, company_id: int | None,
                      link_id: int | None, action: str, values: dict[str, object]) -> SyncPolicy:
    key = scope_key(scope, company_id=company_id, link_id=link_id)
    row = await session.scalar(select(SyncPolicy).where(SyncPolicy.scope_key == key))
    before = None if row is None else {name: _audited(getattr(row, name)) for name in values}
    if row is None:
        row = SyncPolicy(scope_key=key, scope=scope, marketplace_company_id=company_id, resource_link_id=link_id,
                         updated_by=actor)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by = actor
    await session.flush()
    record_audit(session=session, actor=actor, action=action, subject_type="sync_policy", subject_id=key,
                 before=before, after={name: _audited(value) for name, value in values.items()})
    return row
