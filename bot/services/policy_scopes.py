"""The sync policy as `/seats policy` shows and sets it: at one scope (global, a marketplace company, one
link), the values set there and the value in force, with where it comes from.

Each field resolves on its own, link > company > global > the built-in default, exactly as the engine
resolves it (`bot.sync.planning.LinkSettings`). Saving goes through the audited setters of
`bot.db.policies`, only for the groups of fields that changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    DecreaseTiming,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaService,
    ResourceLink,
    Scope,
    SyncPolicy,
)
from bot.db.policies import (
    scope_key,
    set_approval_policy,
    set_decrease_timing,
    set_drop_prorate_below,
    set_min_margin_percent,
)
from bot.domain.approval_policy import DEFAULT_MAX_AMOUNT
from bot.domain.picker_ranking import rank_names
from bot.services.link_choices import MAX_OPTIONS, Choice, Filters, Level, Picks, level_choices

# the SyncPolicy columns the modal shows, in its order
APPROVAL_FIELDS = ("approval_max_units", "approval_max_percent", "approval_max_amount", "hold_committed_decreases")
POLICY_FIELDS = (*APPROVAL_FIELDS, "decrease_timing", "drop_prorate_below", "min_margin_percent")
DEFAULTS: dict[str, Any] = {"decrease_timing": DecreaseTiming.next_period, "hold_committed_decreases": True,
                            "approval_max_amount": DEFAULT_MAX_AMOUNT}


class PolicyTargetGone(LookupError):
    """The company or link the policy was being set for is not there any more."""


@dataclass(frozen=True)
class PolicyTarget:
    """Where a policy is set: global, one marketplace company, or one link (with its company)."""

    scope: Scope
    company_id: int | None = None
    link_id: int | None = None
    company_name: str | None = None
    link_label: str | None = None

    @property
    def key(self) -> str:
        return scope_key(self.scope, company_id=self.company_id, link_id=self.link_id)

    @property
    def title(self) -> str:
        if self.scope is Scope.global_:
            return "every company (global)"
        if self.scope is Scope.company:
            return self.company_name or f"company {self.company_id}"
        return self.link_label or f"link {self.link_id}"


@dataclass(frozen=True)
class FieldValue:
    here: Any  # set at this scope; None: inherited
    effective: Any  # what applies here; None: no limit / off
    source: str  # "here", "global", "company", "default"


@dataclass(frozen=True)
class ScopedPolicy:
    target: PolicyTarget
    fields: dict[str, FieldValue]


async def find_target(*, session: AsyncSession, scope: Scope, company_id: int | None = None,
                      link_id: int | None = None) -> PolicyTarget:
    """The target with its names, read back; a link's company is the link's own. PolicyTargetGone when the
    company was removed or the link deleted."""
    if scope is Scope.global_:
        return PolicyTarget(Scope.global_)
    if scope is Scope.company:
        name = None if company_id is None else await session.scalar(
            select(MarketplaceCompany.name).where(MarketplaceCompany.id == company_id,
                                                  MarketplaceCompany.removed_at.is_(None)))
        if name is None:
            raise PolicyTargetGone("that company is not in the marketplace any more")
        return PolicyTarget(Scope.company, company_id=company_id, company_name=name)
    row = None if link_id is None else (await session.execute(
        _link_rows().where(ResourceLink.id == link_id))).first()
    if row is None:
        raise PolicyTargetGone("that relation is not there any more")
    found_link, found_company, company_name, resource, service = row
    return PolicyTarget(Scope.link, company_id=found_company, link_id=found_link, company_name=company_name,
                        link_label=f"{company_name}: {resource} → {service}")


async def scoped_policy(*, session: AsyncSession, target: PolicyTarget) -> ScopedPolicy:
    chain = [("here", target.key)]
    if target.scope is Scope.link:
        chain.append(("company", scope_key(Scope.company, company_id=target.company_id)))
    if target.scope is not Scope.global_:
        chain.append(("global", "global"))
    rows = {row.scope_key: row for row in await session.scalars(
        select(SyncPolicy).where(SyncPolicy.scope_key.in_([key for _, key in chain])))}
    fields: dict[str, FieldValue] = {}
    for name in POLICY_FIELDS:
        here_row = rows.get(target.key)
        here = None if here_row is None else getattr(here_row, name)
        effective, source = DEFAULTS.get(name), "default"
        for label, key in chain:
            value = None if rows.get(key) is None else getattr(rows[key], name)
            if value is not None:
                effective, source = value, label
                break
        fields[name] = FieldValue(here=here, effective=effective, source=source)
    return ScopedPolicy(target=target, fields=fields)


async def save_policy(*, session: AsyncSession, target: PolicyTarget, values: dict[str, Any],
                      actor: str) -> list[str]:
    """Set `values` (every POLICY_FIELDS name; None = inherit) at the target, through the audited setters, for
    the groups that changed; the names of the fields changed. Raises PolicyError (a bad value) or
    PolicyTargetGone. The caller commits."""
    target = await find_target(session=session, scope=target.scope, company_id=target.company_id,
                               link_id=target.link_id)
    current = (await scoped_policy(session=session, target=target)).fields
    changed = [name for name in POLICY_FIELDS if not _same(current[name].here, values[name])]
    where = {"scope": target.scope, "actor": actor, "company_id": target.company_id if target.scope is Scope.company
             else None, "link_id": target.link_id}
    if set(changed) & set(APPROVAL_FIELDS):
        await set_approval_policy(session=session, **where, max_units=values["approval_max_units"],
                                  max_percent=values["approval_max_percent"],
                                  max_amount=values["approval_max_amount"],
                                  hold_committed_decreases=values["hold_committed_decreases"])
    if "decrease_timing" in changed:
        await set_decrease_timing(session=session, **where, timing=values["decrease_timing"])
    if "drop_prorate_below" in changed:
        await set_drop_prorate_below(session=session, **where, threshold=values["drop_prorate_below"])
    if "min_margin_percent" in changed:
        await set_min_margin_percent(session=session, **where, percent=values["min_margin_percent"])
    return changed


def _same(stored: Any, new: Any) -> bool:
    if isinstance(stored, Decimal) and isinstance(new, Decimal):
        return stored == new  # 5.0000 from the database is 5 typed
    return stored == new and type(stored) is type(new)


async def company_choices(*, session: AsyncSession, typed: str, today) -> list[Choice]:
    """Marketplace companies for the picker, ranked by what was typed (as the link wizard ranks them)."""
    return await level_choices(session=session, level=Level.company, picks=Picks(), filters=Filters(), typed=typed,
                               today=today, limit=MAX_OPTIONS)


async def best_company(*, session: AsyncSession, name: str, today) -> Choice | None:
    """The company `/seats policy <name>` most likely means; None when nothing resembles it."""
    choices = await level_choices(session=session, level=Level.company, picks=Picks(), filters=Filters(),
                                  typed=name, today=today, limit=1)
    return choices[0] if choices else None


async def company_links(*, session: AsyncSession, company_id: int, typed: str,
                        limit: int = MAX_OPTIONS) -> list[tuple[int, str, float | None]]:
    """(link id, "resource → service", score) for one company's current relations, best match first."""
    rows = list(await session.execute(_link_rows().where(MarketplaceCompany.id == company_id)
                                      .order_by(MarketplaceResource.name, ResourceLink.id)))
    labels = [f"{resource} → {service}" for _, _, _, resource, service in rows]
    return [(rows[r.index][0], labels[r.index], r.score) for r in rank_names(labels, typed=typed, limit=limit)]


def _link_rows():
    return (select(ResourceLink.id, MarketplaceCompany.id, MarketplaceCompany.name, MarketplaceResource.name,
                   PsaService.name)
            .join(MarketplaceResource, MarketplaceResource.id == ResourceLink.resource_id)
            .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
            .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
            .join(PsaService, PsaService.id == ResourceLink.psa_service_id))
