"""Linking a marketplace company / subscription / resource to its PSA company / contract / service.

The rules (also enforced by unique constraints, so a race ends in the same clear error):
- a marketplace company maps to one PSA company, a subscription to one contract;
- a resource feeds at most one PSA service, and a PSA service is fed by at most one resource;
- the three levels agree: a resource's subscription is linked to the service's contract, and the
  subscription's company to the contract's company. Linking a resource links the levels above it
  when they are not linked yet.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.audit import record_audit
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    CompanyLink,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    ResourceLink,
    SubscriptionLink,
)

UNSENT_STATUSES = (AdjustmentStatus.pending, AdjustmentStatus.failed, AdjustmentStatus.awaiting_approval)


class LinkError(Exception):
    """A link cannot be made or removed; the message says why in the billing team's words."""


class DuplicateLinkError(LinkError):
    pass


class LinkConflictError(LinkError):
    pass


class NotFoundError(LinkError):
    pass


async def link_company(
    *, session: AsyncSession, marketplace_company_id: int, psa_company_id: int, actor: str,
    now: datetime | None = None,
) -> CompanyLink:
    """`now`: when the link is made, from the caller's clock (shown as "Linked at"; the demo's is simulated)."""
    company = await _get(session, MarketplaceCompany, marketplace_company_id, "marketplace company")
    psa_company = await _get(session, PsaCompany, psa_company_id, "PSA company")
    existing = await session.scalar(
        select(CompanyLink).where(CompanyLink.marketplace_company_id == company.id)
    )
    if existing is not None:
        if existing.psa_company_id == psa_company.id:
            return existing
        other = await session.get(PsaCompany, existing.psa_company_id)
        raise DuplicateLinkError(
            f"{company.name} is already linked to PSA company {other.name if other else existing.psa_company_id}; "
            "unlink it first"
        )
    link = CompanyLink(marketplace_company_id=company.id, psa_company_id=psa_company.id, created_by=actor,
                       **_made_at(now))
    session.add(link)
    await _flush(session, f"{company.name} is already linked to a PSA company")
    record_audit(session=session, actor=actor, action="link_company", subject_type="company_link",
                 subject_id=link.id, after={"marketplace_company": company.name, "psa_company": psa_company.name})
    return link


async def link_subscription(
    *, session: AsyncSession, subscription_id: int, contract_id: int, actor: str, now: datetime | None = None,
) -> SubscriptionLink:
    subscription = await _get(session, MarketplaceSubscription, subscription_id, "subscription")
    contract = await _get(session, PsaContract, contract_id, "contract")
    await link_company(session=session, marketplace_company_id=subscription.company_id,
                       psa_company_id=contract.company_id, actor=actor, now=now)
    existing = await session.scalar(
        select(SubscriptionLink).where(SubscriptionLink.marketplace_subscription_id == subscription.id)
    )
    if existing is not None:
        if existing.psa_contract_id == contract.id:
            return existing
        other = await session.get(PsaContract, existing.psa_contract_id)
        raise DuplicateLinkError(
            f"subscription {subscription.name} is already linked to contract "
            f"{other.name if other else existing.psa_contract_id}; unlink it first"
        )
    link = SubscriptionLink(marketplace_subscription_id=subscription.id, psa_contract_id=contract.id,
                            created_by=actor, **_made_at(now))
    session.add(link)
    await _flush(session, f"subscription {subscription.name} is already linked to a contract")
    record_audit(session=session, actor=actor, action="link_subscription", subject_type="subscription_link",
                 subject_id=link.id, after={"subscription": subscription.name, "contract": contract.name})
    return link


async def link_resource(*, session: AsyncSession, resource_id: int, service_id: int, actor: str,
                        now: datetime | None = None) -> ResourceLink:
    """Link a resource to the PSA service it feeds (and the levels above, when not linked yet)."""
    resource = await _get(session, MarketplaceResource, resource_id, "resource")
    service = await _get(session, PsaService, service_id, "PSA service")
    by_resource = await session.scalar(select(ResourceLink).where(ResourceLink.resource_id == resource.id))
    if by_resource is not None:
        if by_resource.psa_service_id == service.id:
            raise DuplicateLinkError(f"{resource.name} is already linked to {service.name}")
        other = await session.get(PsaService, by_resource.psa_service_id)
        raise DuplicateLinkError(
            f"{resource.name} already feeds PSA service {other.name if other else by_resource.psa_service_id}; "
            "a resource feeds at most one service"
        )
    by_service = await session.scalar(select(ResourceLink).where(ResourceLink.psa_service_id == service.id))
    if by_service is not None:
        other = await session.get(MarketplaceResource, by_service.resource_id)
        raise DuplicateLinkError(
            f"PSA service {service.name} is already fed by {other.name if other else by_service.resource_id}; "
            "a service is fed by at most one resource"
        )
    try:
        await link_subscription(session=session, subscription_id=resource.subscription_id,
                                contract_id=service.contract_id, actor=actor, now=now)
    except DuplicateLinkError as exc:
        raise LinkConflictError(f"cannot link {resource.name} to {service.name}: {exc}") from None
    link = ResourceLink(resource_id=resource.id, psa_service_id=service.id, created_by=actor, **_made_at(now))
    session.add(link)
    await _flush(session, f"{resource.name} or {service.name} is already linked")
    record_audit(session=session, actor=actor, action="link_resource", subject_type="resource_link",
                 subject_id=link.id, after={"resource": resource.name, "resource_id": resource.id,
                                            "service": service.name, "service_id": service.id})
    return link


async def unlink_resource(*, session: AsyncSession, resource_link_id: int, actor: str) -> None:
    link = await session.get(ResourceLink, resource_link_id)
    if link is None:
        raise NotFoundError(f"there is no relation #{resource_link_id} (it may have been removed already)")
    before = {"resource_id": link.resource_id, "service_id": link.psa_service_id, "created_by": link.created_by}
    # Changes planned for this link and not sent yet must not post once it is gone (the outbox job posts
    # without planning); one being sent (`posting`) is left for the poster to resolve.
    cancelled = await session.execute(
        update(Adjustment)
        .where(Adjustment.resource_link_id == link.id, Adjustment.status.in_(UNSENT_STATUSES))
        .values(status=AdjustmentStatus.superseded)
    )
    before["changes_cancelled"] = cancelled.rowcount
    await session.delete(link)
    await session.flush()
    record_audit(session=session, actor=actor, action="unlink_resource", subject_type="resource_link",
                 subject_id=resource_link_id, before=before)


async def resource_links(*, session: AsyncSession) -> list[ResourceLink]:
    result = await session.scalars(
        select(ResourceLink).options(selectinload(ResourceLink.resource), selectinload(ResourceLink.service))
        .order_by(ResourceLink.id)
    )
    return list(result)


async def _get(session: AsyncSession, model, object_id: int, label: str):
    obj = await session.get(model, object_id)
    if obj is None:
        raise NotFoundError(f"there is no {label} #{object_id}")
    return obj


async def _flush(session: AsyncSession, duplicate_message: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise DuplicateLinkError(duplicate_message) from None


def _made_at(now: datetime | None) -> dict[str, datetime]:
    return {} if now is None else {"created_at": now}
