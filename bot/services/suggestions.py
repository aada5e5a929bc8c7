"""Link suggestions: which marketplace resource likely feeds which PSA service, level by level.

Companies pair by name, each marketplace's with the PSA's on their own (existing company links are kept;
one PSA company may be paired with a company of every marketplace), then each company pair's subscriptions
pair with its contracts, then each subscription's resources with the contract's services. A marketplace whose
subscriptions each hold one product (`Capabilities.one_product_per_subscription`: Pax8) has no subscription
name to match a contract by: its resources pair with the services of all the PSA company's contracts, and the
contract is the one of the service chosen (several subscriptions of a product pair with several services, one
each). Only unlinked resources and services are suggested. A suggestion is high-confidence when every level's
score is.

Sources stay apart below the company level too: a contract already linked to subscriptions of some marketplaces is
offered to those marketplaces only (the contract that bills an Ingram subscription is not the Pax8 one, however
alike the product names); a contract linked to none is offered to every one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.registry import VENDORS
from bot.db.models import (
    CompanyLink,
    ContractStatus,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    ResourceLink,
    SubscriptionLink,
    SubscriptionStatus,
)
from bot.domain.matching import HIGH_CONFIDENCE, pair_names

LINKED = 100.0  # the score of a level already linked by a person


@dataclass(frozen=True)
class LinkSuggestion:
    resource_id: int
    service_id: int
    company: str
    psa_company: str
    subscription: str
    contract: str
    resource: str
    service: str
    company_score: float
    subscription_score: float
    resource_score: float
    marketplace: str = ""  # the resource's source (a vendor key)

    @property
    def score(self) -> float:
        return min(self.company_score, self.subscription_score, self.resource_score)

    @property
    def high_confidence(self) -> bool:
        return self.score >= HIGH_CONFIDENCE


@dataclass
class _World:
    """Everything pairing needs, read from the database first, so the pairing can run off the event loop."""

    companies: list
    psa_companies: list
    company_links: dict[int, int]
    subscription_links: dict[int, int]
    linked_resources: set[int]
    linked_services: set[int]
    subscriptions: dict[int, list]
    contracts: dict[int, list]
    resources: dict[int, list]
    services: dict[int, list]
    one_product: frozenset[str] = frozenset()  # marketplaces whose subscriptions each hold one product
    contract_sources: dict[int, set[str]] | None = None  # the marketplaces of the subscriptions linked to a contract


async def suggest_links(*, session: AsyncSession, psa: str, threshold: float = 70.0) -> list[LinkSuggestion]:
    world = await _read(session, psa)
    # Pairing thousands of names takes seconds of CPU: in a thread, so Slack's acks are not held up meanwhile.
    return await asyncio.to_thread(_suggest, world, threshold)


async def _read(session: AsyncSession, psa: str) -> _World:
    companies = list(await session.scalars(select(MarketplaceCompany).where(MarketplaceCompany.removed_at.is_(None))))
    psa_companies = list(await session.scalars(
        select(PsaCompany).where(PsaCompany.psa == psa, PsaCompany.removed_at.is_(None))))
    company_links = {link.marketplace_company_id: link.psa_company_id
                     for link in await session.scalars(select(CompanyLink))}
    subscription_links = {link.marketplace_subscription_id: link.psa_contract_id
                          for link in await session.scalars(select(SubscriptionLink))}
    linked_resources = set(await session.scalars(select(ResourceLink.resource_id)))
    linked_services = set(await session.scalars(select(ResourceLink.psa_service_id)))
    subscriptions = _group(await session.scalars(select(MarketplaceSubscription).where(
        MarketplaceSubscription.removed_at.is_(None),
        MarketplaceSubscription.status.in_([SubscriptionStatus.active, SubscriptionStatus.pending,
                                            SubscriptionStatus.suspended]))), "company_id")
    contracts = _group(await session.scalars(select(PsaContract).where(
        PsaContract.psa == psa, PsaContract.removed_at.is_(None), PsaContract.status == ContractStatus.active)),
        "company_id")
    resources = _group(await session.scalars(select(MarketplaceResource).where(
        MarketplaceResource.removed_at.is_(None))), "subscription_id")
    services = _group(await session.scalars(select(PsaService).where(
        PsaService.psa == psa, PsaService.removed_at.is_(None), PsaService.is_active.is_(True))), "contract_id")
    one_product = frozenset(v.key for v in VENDORS.by_kind("marketplace")
                            if v.capabilities.one_product_per_subscription)
    contract_sources: dict[int, set[str]] = defaultdict(set)
    for contract_id, marketplace in await session.execute(
            select(SubscriptionLink.psa_contract_id, MarketplaceSubscription.marketplace)
            .join(MarketplaceSubscription, MarketplaceSubscription.id == SubscriptionLink.marketplace_subscription_id)):
        contract_sources[contract_id].add(marketplace)
    return _World(companies, psa_companies, company_links, subscription_links, linked_resources, linked_services,
                  subscriptions, contracts, resources, services, one_product, dict(contract_sources))


def _suggest(world: _World, threshold: float) -> list[LinkSuggestion]:
    companies, psa_companies = world.companies, world.psa_companies
    company_links, subscription_links = world.company_links, world.subscription_links
    linked_resources, linked_services = world.linked_resources, world.linked_services
    subscriptions, contracts = world.subscriptions, world.contracts
    resources, services = world.resources, world.services
    company_pairs: dict[int, tuple[int, float]] = {m: (p, LINKED) for m, p in company_links.items()}
    source = {c.id: c.marketplace for c in companies}
    for marketplace in sorted(set(source.values())):
        # each marketplace pairs with the PSA on its own: a PSA company may be linked once per marketplace
        taken = {p for m, p in company_links.items() if source.get(m) == marketplace}
        for match in pair_names([(c.id, c.name) for c in companies
                                 if c.id not in company_links and c.marketplace == marketplace],
                                [(c.id, c.name) for c in psa_companies if c.id not in taken], threshold=threshold):
            company_pairs[match.left] = (match.right, match.score)
    names = {c.id: c.name for c in companies} | {-c.id: c.name for c in psa_companies}

    suggestions: list[LinkSuggestion] = []
    contract_sources = world.contract_sources or {}
    for company_id, (psa_company_id, company_score) in company_pairs.items():
        marketplace = source.get(company_id)
        subs = subscriptions.get(company_id, [])
        ctrs = [c for c in contracts.get(psa_company_id, [])
                if marketplace in contract_sources.get(c.id, {marketplace})]
        if marketplace in world.one_product:
            suggestions += [replace(s, marketplace=marketplace) for s in _per_product(
                world, subs, ctrs, names[company_id], names[-psa_company_id], company_score, threshold)]
            continue
        by_contract = {c.id: c for c in ctrs}
        sub_pairs = [(s, by_contract[subscription_links[s.id]], LINKED) for s in subs
                     if subscription_links.get(s.id) in by_contract]
        linked_subs = {s.id for s, _, _ in sub_pairs}
        used_contracts = {c.id for _, c, _ in sub_pairs}
        by_sub = {s.id: s for s in subs}
        free_subs = [(s.id, s.name) for s in subs if s.id not in linked_subs and s.id not in subscription_links]
        free_contracts = [(c.id, c.name) for c in ctrs if c.id not in used_contracts]
        for match in pair_names(free_subs, free_contracts, threshold=threshold):
            sub_pairs.append((by_sub[match.left], by_contract[match.right], match.score))
        for subscription, contract, subscription_score in sub_pairs:
            free_resources = [r for r in resources.get(subscription.id, []) if r.id not in linked_resources]
            free_services = [s for s in services.get(contract.id, []) if s.id not in linked_services]
            by_resource = {r.id: r for r in free_resources}
            by_service = {s.id: s for s in free_services}
            for match in pair_names([(r.id, r.name) for r in free_resources],
                                    [(s.id, s.name) for s in free_services], threshold=threshold):
                resource, service = by_resource[match.left], by_service[match.right]
                suggestions.append(LinkSuggestion(
                    resource_id=resource.id, service_id=service.id, company=names[company_id],
                    psa_company=names[-psa_company_id], subscription=subscription.name, contract=contract.name,
                    resource=resource.name, service=service.name, company_score=company_score,
                    subscription_score=subscription_score, resource_score=match.score, marketplace=marketplace or "",
                ))
    suggestions.sort(key=lambda s: (-s.score, s.company, s.resource))
    return suggestions


def _per_product(world: _World, subs: list, ctrs: list, company: str, psa_company: str, company_score: float,
                 threshold: float) -> list[LinkSuggestion]:
    """Resources of one-product subscriptions against the services of every contract of the PSA company (a
    subscription already linked to a contract keeps to that contract's services)."""
    by_contract = {c.id: c for c in ctrs}
    free_services = {s.id: s for c in ctrs for s in world.services.get(c.id, []) if s.id not in world.linked_services}
    found: list[LinkSuggestion] = []
    for pinned in (True, False):
        left = []
        for sub in subs:
            contract_id = world.subscription_links.get(sub.id)
            if (contract_id is not None) != pinned or (pinned and contract_id not in by_contract):
                continue
            left += [(r.id, r.name) for r in world.resources.get(sub.id, []) if r.id not in world.linked_resources]
        if not left:
            continue
        resources = {r.id: (r, sub) for sub in subs for r in world.resources.get(sub.id, [])}
        for match in pair_names(left, [(s.id, s.name) for s in free_services.values()], threshold=threshold):
            resource, sub = resources[match.left]
            service = free_services[match.right]
            pinned_to = world.subscription_links.get(sub.id)
            if pinned_to is not None and service.contract_id != pinned_to:
                continue
            del free_services[service.id]
            found.append(LinkSuggestion(
                resource_id=resource.id, service_id=service.id, company=company, psa_company=psa_company,
                subscription=sub.name, contract=by_contract[service.contract_id].name, resource=resource.name,
                service=service.name, company_score=company_score,
                subscription_score=LINKED if pinned_to is not None else match.score, resource_score=match.score))
    return found


def _group(rows, attribute: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return grouped
