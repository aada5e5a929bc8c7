"""What the link wizard offers at each level, and what the picks made so far mean.

The wizard walks six levels: marketplace company → PSA company → subscription → contract → resource
→ service. `Picks` holds the ids chosen so far (changing one level forgets the levels below it).
`level_choices` answers a picker's options request: candidates in the scope of the picks above,
ranked (`bot.domain.picker_ranking`) by what the user typed, else by the name they should resemble.
`resolve_picks` reads the picks back from the database, checks that each still exists and belongs
under the one above, and fills in the levels already decided by an existing link (a marketplace
company maps to one PSA company, a subscription to one contract).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings
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
from bot.db.tenancy import current_tenant_id
from bot.domain.name_index import NameIndex
from bot.domain.picker_ranking import rank_names

MAX_OPTIONS = 100  # Slack's limit per options answer


class Level(StrEnum):
    company = "company"
    psa_company = "psa_company"
    subscription = "subscription"
    contract = "contract"
    resource = "resource"
    service = "service"


LEVELS: tuple[Level, ...] = tuple(Level)
ENDED_SUBSCRIPTIONS = (SubscriptionStatus.cancelled, SubscriptionStatus.expired)


@dataclass(frozen=True)
class Filters:
    show_expired: bool = False  # contracts (and subscriptions) that ended
    show_linked: bool = False  # resources and services already in a relation
    marketplace: str | None = None  # only the companies of this marketplace (a vendor key); None: every one


@dataclass(frozen=True)
class Picks:
    company: int | None = None
    psa_company: int | None = None
    subscription: int | None = None
    contract: int | None = None
    resource: int | None = None
    service: int | None = None

    def get(self, level: Level) -> int | None:
        return getattr(self, level.value)

    def choose(self, level: Level, object_id: int | None) -> Picks:
        """This level picked; every level below it forgotten."""
        below = LEVELS[LEVELS.index(level) + 1:]
        return replace(self, **{level.value: object_id}, **{lower.value: None for lower in below})

    def next_level(self) -> Level | None:
        return next((level for level in LEVELS if self.get(level) is None), None)

    @property
    def complete(self) -> bool:
        return self.next_level() is None

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Picks:
        return cls(**{level.value: int(data[level.value]) for level in LEVELS if data.get(level.value) is not None})


@dataclass(frozen=True)
class Choice:
    """One option of a picker: `note` says why it may not be a good pick (linked, expired)."""

    id: int
    name: str
    score: float | None = None
    note: str = ""


@dataclass
class ResolvedPicks:
    """The picks as they stand in the database, with names, and what an existing link already decided."""

    picks: Picks
    names: dict[Level, str] = field(default_factory=dict)
    fixed_by_link: set[Level] = field(default_factory=set)  # chosen because a link allows only that one
    dropped: dict[Level, str] = field(default_factory=dict)  # a pick that is no longer valid, and why
    marketplace_total: int | None = None
    psa_units: int | None = None
    psa_cost: Decimal | None = None
    psa_price: Decimal | None = None

    def name(self, level: Level) -> str | None:
        return self.names.get(level)


async def level_choices(*, session: AsyncSession, level: Level, picks: Picks, filters: Filters, typed: str = "",
                        hint: str | None = None, today: date, limit: int = MAX_OPTIONS) -> list[Choice]:
    """The options for one picker, best first, at most `limit`."""
    rows, reference = await _candidates(session, level, picks, filters, hint=hint, today=today)
    names = rows.names if isinstance(rows, CompanyRows) else [name for _, name, _ in rows]
    ranked = rank_names(names, typed=typed, reference=reference, limit=limit)
    return [Choice(id=rows[r.index][0], name=rows[r.index][1], score=r.score, note=rows[r.index][2])
            for r in ranked]


async def _candidates(session: AsyncSession, level: Level, picks: Picks, filters: Filters, *, hint: str | None,
                      today: date) -> tuple[Sequence[tuple[int, str, str]], str | None]:
    """(id, name, note) rows in name order, and the name the likely match should resemble."""
    settings = await load_app_settings(session=session)
    if level is Level.company:
        # every active marketplace's companies; with several, each says its source (its vendor's label)
        sources = [m for m in settings.marketplaces if filters.marketplace in (None, m)]
        query = select(MarketplaceCompany.id, MarketplaceCompany.name, MarketplaceCompany.marketplace).where(
            MarketplaceCompany.removed_at.is_(None))
        if settings.marketplaces or filters.marketplace:
            query = query.where(MarketplaceCompany.marketplace.in_(sources))
        query = query.order_by(MarketplaceCompany.name, MarketplaceCompany.id)
        labelled = len(settings.marketplaces) > 1
        return await _company_rows(session, (level, *sources), query, stamp=_change_stamp(MarketplaceCompany),
                                   note=VENDORS.label if labelled else None), hint
    if level is Level.psa_company:
        query = select(PsaCompany.id, PsaCompany.name).where(PsaCompany.removed_at.is_(None),
                                                            PsaCompany.is_active.is_(True))
        if settings.psa:
            query = query.where(PsaCompany.psa == settings.psa)
        reference = await _name(session, MarketplaceCompany, picks.company)
        query = query.order_by(PsaCompany.name, PsaCompany.id)
        return await _company_rows(session, (level, settings.psa), query, stamp=_change_stamp(PsaCompany)), reference
    if level is Level.subscription:
        query = select(MarketplaceSubscription.id, MarketplaceSubscription.name, MarketplaceSubscription.status).where(
            MarketplaceSubscription.company_id == picks.company, MarketplaceSubscription.removed_at.is_(None))
        if not filters.show_expired:
            query = query.where(MarketplaceSubscription.status.not_in(ENDED_SUBSCRIPTIONS))
        rows = await session.execute(query.order_by(MarketplaceSubscription.name, MarketplaceSubscription.id))
        return [(i, name, status.value if status in ENDED_SUBSCRIPTIONS else "") for i, name, status in rows], None
    if level is Level.contract:
        query = select(PsaContract.id, PsaContract.name, PsaContract.status, PsaContract.end_date).where(
            PsaContract.company_id == picks.psa_company, PsaContract.removed_at.is_(None))
        if not filters.show_expired:
            query = query.where(PsaContract.status == ContractStatus.active,
                                PsaContract.end_date.is_(None) | (PsaContract.end_date >= today))
        rows = await session.execute(query.order_by(PsaContract.name, PsaContract.id))
        reference = await _name(session, MarketplaceSubscription, picks.subscription)
        return [(i, name, contract_note(status, end, today)) for i, name, status, end in rows], reference
    linked = select(ResourceLink.resource_id if level is Level.resource else ResourceLink.psa_service_id)
    if level is Level.resource:
        query = select(MarketplaceResource.id, MarketplaceResource.name, MarketplaceResource.id.in_(linked)).where(
            MarketplaceResource.subscription_id == picks.subscription, MarketplaceResource.removed_at.is_(None))
        if not filters.show_linked:
            query = query.where(MarketplaceResource.id.not_in(linked))
        rows = await session.execute(query.order_by(MarketplaceResource.name, MarketplaceResource.id))
        return [(i, name, "linked" if is_linked else "") for i, name, is_linked in rows], None
    query = select(PsaService.id, PsaService.name, PsaService.id.in_(linked)).where(
        PsaService.contract_id == picks.contract, PsaService.removed_at.is_(None), PsaService.is_active.is_(True))
    if not filters.show_linked:
        query = query.where(PsaService.id.not_in(linked))
    rows = await session.execute(query.order_by(PsaService.name, PsaService.id))
    reference = await _name(session, MarketplaceResource, picks.resource)
    return [(i, name, "linked" if is_linked else "") for i, name, is_linked in rows], reference


def contract_note(status: ContractStatus, end_date: date | None, today: date) -> str:
    if status is not ContractStatus.active:
        return status.value
    if end_date is not None and end_date < today:
        return f"ended {end_date.isoformat()}"
    return ""


class CompanyRows(list):
    """A company list's (id, name, note) rows, with its names prepared for ranking. Read again with the very same
    names, the list keeps the names prepared before (and the rankings they keep); any other names, a new index."""

    def __init__(self, rows: list[tuple[int, str, str]], *, before: CompanyRows | None = None) -> None:
        super().__init__(rows)
        names = [name for _, name, _ in rows]
        self.names = before.names if before is not None and before.names.names == names else NameIndex(names)


@dataclass
class _KeptList:
    rows: CompanyRows
    stamp: tuple  # the list's change stamp when it was read (`_change_stamp`)
    read_at: float  # time.monotonic()
    checked_at: float  # when the stamp last matched


class _CompanyLists:
    """The company lists of one database, per tenant: someone typing asks for the same ten thousand names on every
    key, and companies change only when a sync stores them. A kept list is trusted for TTL_S; then its change stamp
    is read (one row), and the list is read again only when the stamp moved, or in any case after REREAD_S (a sync
    on an instance whose clock runs behind could store a rename the stamp does not show). Re-reading 10,000 names
    every 10 s held the serving loop ~100-170 ms each time, the tail of four people typing at once
    (bench/README.md). Lower levels are small and carry link state, so they are always read fresh."""

    TTL_S = 10.0
    REREAD_S = 300.0

    def __init__(self) -> None:
        self.lists: dict[tuple, _KeptList] = {}
        # a read under way, which the requests arriving meanwhile await instead of reading the same list again:
        # four people typing into a fresh picker would otherwise each read and prepare ten thousand names
        self.reading: dict[tuple, asyncio.Future[CompanyRows]] = {}


_COMPANY_LISTS: WeakKeyDictionary[Engine, _CompanyLists] = WeakKeyDictionary()


def _change_stamp(model: type[MarketplaceCompany] | type[PsaCompany]):
    """What moves whenever a sync stores a change to a company list: the count (a company added), the latest
    last_seen_at (the store sets it on every company it saw, renamed or (de)activated ones included) and the
    latest removed_at (a company gone)."""
    return select(func.count(model.id), func.max(model.last_seen_at), func.max(model.removed_at))


async def _company_rows(session: AsyncSession, key: tuple, query, *, stamp, note: Any = None) -> CompanyRows:
    engine = session.bind.sync_engine if isinstance(session.bind, AsyncEngine) else None
    cache = None if engine is None else _COMPANY_LISTS.setdefault(engine, _CompanyLists())
    key = (current_tenant_id(), *key)
    now = time.monotonic()
    if cache is None:
        return await _read_company_rows(session, query, note=note, before=None)
    kept = cache.lists.get(key)
    if kept is not None and now - kept.checked_at < cache.TTL_S:
        return kept.rows
    if (under_way := cache.reading.get(key)) is not None:
        if kept is not None:
            return kept.rows  # checked or read again just now: meanwhile the names of a few seconds ago, not a wait
        try:
            return await asyncio.shield(under_way)
        except Exception:  # noqa: BLE001 - the other request's read failed (or was cancelled): this one reads itself
            return await _read_company_rows(session, query, note=note, before=None)
    reading = cache.reading[key] = asyncio.get_running_loop().create_future()
    try:
        current = tuple((await session.execute(stamp)).one())  # before the list: a change after it shows next time
        if kept is not None and current == kept.stamp and now - kept.read_at < cache.REREAD_S:
            kept.checked_at = now
            rows = kept.rows
        else:
            rows = await _read_company_rows(session, query, note=note, before=kept.rows if kept is not None else None)
            cache.lists[key] = _KeptList(rows=rows, stamp=current, read_at=now, checked_at=now)
    except BaseException as error:
        reading.set_exception(error if isinstance(error, Exception) else RuntimeError("the read was cancelled"))
        reading.exception()  # retrieved here, so an unawaited failure is not reported as never retrieved
        raise
    else:
        reading.set_result(rows)
        return rows
    finally:
        cache.reading.pop(key, None)


async def _read_company_rows(session: AsyncSession, query, *, note: Any, before: CompanyRows | None) -> CompanyRows:
    return CompanyRows([(row[0], row[1], note(row[2]) if note is not None and len(row) > 2 else "")
                        for row in await session.execute(query)], before=before)


async def _name(session: AsyncSession, model, object_id: int | None) -> str | None:
    if object_id is None:
        return None
    return await session.scalar(select(model.name).where(model.id == object_id))


async def resolve_picks(*, session: AsyncSession, picks: Picks, today: date) -> ResolvedPicks:
    """Check each pick against the one above (stopping at the first that no longer holds) and fill in the
    PSA company / contract an existing link already decided."""
    resolved = ResolvedPicks(picks=Picks())
    current = Picks()
    company = await _live(session, MarketplaceCompany, picks.company)
    if company is None:
        return _stop(resolved, current, Level.company, picks, "that marketplace company is no longer there")
    current, resolved.names[Level.company] = current.choose(Level.company, company.id), company.name

    linked_psa = await session.scalar(
        select(CompanyLink.psa_company_id).where(CompanyLink.marketplace_company_id == company.id))
    psa_company_id = linked_psa if linked_psa is not None else picks.psa_company
    psa_company = await _live(session, PsaCompany, psa_company_id)
    if psa_company is None:
        return _stop(resolved, current, Level.psa_company, picks, "that PSA company is no longer there")
    current, resolved.names[Level.psa_company] = current.choose(Level.psa_company, psa_company.id), psa_company.name
    if linked_psa is not None:
        resolved.fixed_by_link.add(Level.psa_company)

    subscription = await _live(session, MarketplaceSubscription, picks.subscription)
    if subscription is None or subscription.company_id != company.id:
        return _stop(resolved, current, Level.subscription, picks,
                     "that subscription is no longer there" if subscription is None
                     else f"that subscription is not {company.name}'s")
    current = current.choose(Level.subscription, subscription.id)
    resolved.names[Level.subscription] = subscription.name

    linked_contract = await session.scalar(select(SubscriptionLink.psa_contract_id).where(
        SubscriptionLink.marketplace_subscription_id == subscription.id))
    contract = await _live(session, PsaContract, linked_contract if linked_contract is not None else picks.contract)
    if contract is None or contract.company_id != psa_company.id:
        return _stop(resolved, current, Level.contract, picks,
                     "that contract is no longer there" if contract is None
                     else f"that contract is not {psa_company.name}'s")
    if contract_note(contract.status, contract.end_date, today):
        return _stop(resolved, current, Level.contract, picks,
                     f"contract {contract.name} has {_ended(contract, today)}; "
                     + ("renew it in the PSA or unlink the subscription first" if linked_contract is not None
                        else "pick a current one"))
    current = current.choose(Level.contract, contract.id)
    resolved.names[Level.contract] = contract.name
    if linked_contract is not None:
        resolved.fixed_by_link.add(Level.contract)

    resource = await _live(session, MarketplaceResource, picks.resource)
    if resource is None or resource.subscription_id != subscription.id:
        return _stop(resolved, current, Level.resource, picks,
                     "that resource is no longer there" if resource is None
                     else f"that resource is not in {subscription.name}")
    current = current.choose(Level.resource, resource.id)
    resolved.names[Level.resource] = resource.name
    resolved.marketplace_total = resource.total

    service = await _live(session, PsaService, picks.service)
    if service is None or service.contract_id != contract.id or not service.is_active:
        return _stop(resolved, current, Level.service, picks,
                     "that service is no longer there" if service is None or not service.is_active
                     else f"that service is not on contract {contract.name}")
    current = current.choose(Level.service, service.id)
    resolved.names[Level.service] = service.name
    resolved.psa_units, resolved.psa_cost, resolved.psa_price = service.units, service.unit_cost, service.unit_price
    resolved.picks = current
    return resolved


def _stop(resolved: ResolvedPicks, current: Picks, level: Level, picks: Picks, why: str) -> ResolvedPicks:
    if picks.get(level) is not None:
        resolved.dropped[level] = why
    resolved.picks = current
    return resolved


def _ended(contract: PsaContract, today: date) -> str:
    if contract.status is not ContractStatus.active:
        return f"the status {contract.status.value}"
    return f"ended ({contract.end_date.isoformat() if contract.end_date else '?'})"


async def _live(session: AsyncSession, model, object_id: int | None):
    if object_id is None:
        return None
    row = await session.get(model, object_id)
    if row is None or row.removed_at is not None:
        return None
    return row


async def link_conflicts(*, session: AsyncSession, picks: Picks) -> dict[Level, str]:
    """Why the picked resource or service cannot be linked now: one of them is already in a relation."""
    problems: dict[Level, str] = {}
    if picks.resource is not None:
        fed = await session.scalar(
            select(PsaService.name).join(ResourceLink, ResourceLink.psa_service_id == PsaService.id)
            .where(ResourceLink.resource_id == picks.resource))
        if fed is not None:
            problems[Level.resource] = f"this resource already feeds {fed}; unlink it first or pick another"
    if picks.service is not None:
        feeder = await session.scalar(
            select(MarketplaceResource.name).join(ResourceLink, ResourceLink.resource_id == MarketplaceResource.id)
            .where(ResourceLink.psa_service_id == picks.service))
        if feeder is not None:
            problems[Level.service] = f"this service is already fed by {feeder}; unlink it first or pick another"
    return problems
