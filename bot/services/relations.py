"""Relations as the billing team handles them in Slack: set one (link + its price source), list, clear.

A relation is a resource link (`ResourceLink`) with the company and subscription levels it implies.
`set_relation` links and sets the link's price source in the caller's transaction, so a refused price
source leaves no link behind. `set_relations` / `clear_relations` do many, each row in its own
transaction, so one conflict never undoes the others; every row reports what happened.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from weakref import WeakKeyDictionary

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings
from bot.db.links import LinkError, link_resource, unlink_resource
from bot.db.models import (
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PriceSourceKind,
    PsaCompany,
    PsaContract,
    PsaService,
    ResourceLink,
    Scope,
)
from bot.db.policies import set_price_source
from bot.db.tenancy import current_tenant_id
from bot.domain.picker_ranking import rank_names
from bot.domain.pricing import PriceSourceError
from bot.services.suggestions import LinkSuggestion, suggest_links


@dataclass(frozen=True)
class PriceChoice:
    """A link-level price source as entered; `kind=None` leaves the company / global setting in force."""

    kind: PriceSourceKind | None = None
    markup_percent: Decimal | None = None
    custom_price: Decimal | None = None
    custom_cost: Decimal | None = None
    below_cost_confirmed: bool = False


@dataclass(frozen=True)
class Relation:
    link_id: int
    company: str
    psa_company: str
    subscription: str
    contract: str
    resource: str
    service: str
    marketplace: str = ""  # the resource's source (a vendor key)
    source: str = ""  # its label, said only where several marketplaces are active

    @property
    def label(self) -> str:
        return f"{self.company}: {self.resource} → {self.service}"


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row of a bulk change; `error` in the billing team's words when it failed."""

    label: str
    ok: bool
    error: str | None = None
    link_id: int | None = None


async def cost_below_psa(*, session: AsyncSession, service_id: int, price: PriceChoice) -> Decimal | None:
    """The PSA service's current cost when a custom cost is below it (a person must confirm), else None."""
    if price.kind is not PriceSourceKind.custom or price.custom_cost is None:
        return None
    psa_cost = await session.scalar(select(PsaService.unit_cost).where(PsaService.id == service_id))
    return psa_cost if psa_cost is not None and price.custom_cost < psa_cost else None


async def set_relation(*, session: AsyncSession, resource_id: int, service_id: int, price: PriceChoice | None,
                       actor: str, now: datetime | None = None) -> ResourceLink:
    """Link the resource to the service (and the levels above) and set its price source; the caller
    commits. Raises LinkError or PriceSourceError; roll back then. `now`: the caller's clock."""
    link = await link_resource(session=session, resource_id=resource_id, service_id=service_id, actor=actor,
                               now=now)
    if price is not None and price.kind is not None:
        await set_price_source(session=session, scope=Scope.link, link_id=link.id, kind=price.kind, actor=actor,
                               markup_percent=price.markup_percent, custom_price=price.custom_price,
                               custom_cost=price.custom_cost, below_cost_confirmed=price.below_cost_confirmed)
    return link


async def set_relations(*, sessions: async_sessionmaker[AsyncSession], pairs: Sequence[tuple[int, int]],
                        labels: dict[tuple[int, int], str], actor: str,
                        now: datetime | None = None) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    for resource_id, service_id in pairs:
        label = labels.get((resource_id, service_id), f"resource #{resource_id} → service #{service_id}")
        async with sessions() as session:
            try:
                link = await set_relation(session=session, resource_id=resource_id, service_id=service_id,
                                          price=None, actor=actor, now=now)
                await session.commit()
            except (LinkError, PriceSourceError) as exc:
                await session.rollback()
                outcomes.append(RowOutcome(label, ok=False, error=str(exc)))
                continue
        outcomes.append(RowOutcome(label, ok=True, link_id=link.id))
    return outcomes


async def clear_relations(*, sessions: async_sessionmaker[AsyncSession], link_ids: Sequence[int],
                          labels: dict[int, str], actor: str) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    for link_id in link_ids:
        label = labels.get(link_id, f"relation #{link_id}")
        async with sessions() as session:
            try:
                await unlink_resource(session=session, resource_link_id=link_id, actor=actor)
                await session.commit()
            except LinkError as exc:
                await session.rollback()
                outcomes.append(RowOutcome(label, ok=False, error=str(exc)))
                continue
        outcomes.append(RowOutcome(label, ok=True, link_id=link_id))
    return outcomes


def _relations_query():
    psa_company = aliased(PsaCompany)
    return (
        select(ResourceLink.id, MarketplaceCompany.name, psa_company.name, MarketplaceSubscription.name,
               PsaContract.name, MarketplaceResource.name, PsaService.name, MarketplaceResource.marketplace)
        .join(MarketplaceResource, MarketplaceResource.id == ResourceLink.resource_id)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
        .join(PsaService, PsaService.id == ResourceLink.psa_service_id)
        .join(PsaContract, PsaContract.id == PsaService.contract_id)
        .join(psa_company, psa_company.id == PsaContract.company_id)
    )


async def _with_sources(session: AsyncSession, relations: list[Relation]) -> list[Relation]:
    """Each relation's source in words, when more than one marketplace is active (else nothing to tell apart)."""
    if len((await load_app_settings(session=session)).marketplaces) < 2:
        return relations
    return [replace(r, source=VENDORS.label(r.marketplace)) for r in relations]


async def relations_page(*, session: AsyncSession, offset: int, limit: int) -> tuple[list[Relation], int]:
    """Current relations by company and resource name, one page, and how many there are in all."""
    total = await session.scalar(select(func.count()).select_from(ResourceLink)) or 0
    query = _relations_query().order_by(MarketplaceCompany.name, MarketplaceResource.name, ResourceLink.id)
    rows = await session.execute(query.offset(offset).limit(limit))
    return await _with_sources(session, [Relation(*row) for row in rows]), total


async def relations_by_id(*, session: AsyncSession, link_ids: Sequence[int]) -> dict[int, Relation]:
    if not link_ids:
        return {}
    rows = await session.execute(_relations_query().where(ResourceLink.id.in_(list(link_ids))))
    return {r.link_id: r for r in await _with_sources(session, [Relation(*row) for row in rows])}


async def relation_choices(*, session: AsyncSession, typed: str,
                           limit: int = 100) -> list[tuple[Relation, float | None]]:
    """Current relations for the unlink picker, ranked by what was typed (company, resource or service)."""
    rows = await session.execute(_relations_query().order_by(MarketplaceCompany.name, MarketplaceResource.name,
                                                              ResourceLink.id))
    relations = await _with_sources(session, [Relation(*row) for row in rows])
    ranked = rank_names([f"{r.company} {r.resource} {r.service}" for r in relations], typed=typed, limit=limit)
    return [(relations[r.index], r.score) for r in ranked]


async def pair_labels(*, session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """"Company: resource → service" for (resource id, service id) pairs, as a relation would be labelled."""
    resource_ids, service_ids = {r for r, _ in pairs}, {s for _, s in pairs}
    resources = {row[0]: (row[1], row[2]) for row in await session.execute(
        select(MarketplaceResource.id, MarketplaceResource.name, MarketplaceCompany.name)
        .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
        .join(MarketplaceCompany, MarketplaceCompany.id == MarketplaceSubscription.company_id)
        .where(MarketplaceResource.id.in_(resource_ids)))}
    services = dict((await session.execute(
        select(PsaService.id, PsaService.name).where(PsaService.id.in_(service_ids)))).all())
    labels: dict[tuple[int, int], str] = {}
    for resource_id, service_id in pairs:
        resource, company = resources.get(resource_id, (f"resource #{resource_id}", "?"))
        service = services.get(service_id, f"service #{service_id}")
        labels[(resource_id, service_id)] = f"{company}: {resource} → {service}"
    return labels


class SuggestionCache:
    """Suggestions for the relations modal, computed at most once per `ttl_s`: pairing thousands of company
    names takes seconds, and paging through them must not. Cleared when relations change here; a row that
    went stale otherwise fails on save with the reason."""

    def __init__(self, *, ttl_s: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._lock = asyncio.Lock()
        self._value: list[LinkSuggestion] | None = None
        self._at = 0.0

    async def get(self, sessions: async_sessionmaker[AsyncSession]) -> list[LinkSuggestion]:
        async with self._lock:
            if self._value is None or self.clock() - self._at > self.ttl_s:
                async with sessions() as session:
                    self._value = await suggested_relations(session=session)
                self._at = self.clock()
            return self._value

    def clear(self) -> None:
        self._value = None


_CACHES: WeakKeyDictionary[async_sessionmaker, dict[int, SuggestionCache]] = WeakKeyDictionary()


def suggestion_cache(sessions: async_sessionmaker[AsyncSession]) -> SuggestionCache:
    """The cache of one database (one session factory per process) and the current tenant."""
    return _CACHES.setdefault(sessions, {}).setdefault(current_tenant_id(), SuggestionCache())


async def suggested_relations(*, session: AsyncSession) -> list[LinkSuggestion]:
    """Link suggestions for the active PSA (or the one whose companies are cached), best first."""
    settings = await load_app_settings(session=session)
    psa = settings.psa or await session.scalar(select(PsaCompany.psa).limit(1))
    if psa is None:
        return []
    return await suggest_links(session=session, psa=psa)
