import pytest
from sqlalchemy import select

from bot.db.audit import audit_events_for
from bot.db.engine import session_factory
from bot.db.links import (
    DuplicateLinkError,
    LinkConflictError,
    NotFoundError,
    link_company,
    link_resource,
    unlink_resource,
)
from bot.db.models import CompanyLink, ResourceLink, SubscriptionLink
from tests.db.factories import marketplace_resource, psa_service


async def test_linking_a_resource_links_the_levels_above(session):
    resource = await marketplace_resource(session)
    service = await psa_service(session)
    link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
    await session.commit()
    assert link.id
    assert (await session.scalar(select(SubscriptionLink))).psa_contract_id == service.contract_id
    assert (await session.scalar(select(CompanyLink))).psa_company_id == service.contract.company_id
    events = await audit_events_for(session=session, subject_type="resource_link", subject_id=link.id)
    assert [e.action for e in events] == ["link_resource"] and events[0].actor == "U1"


async def test_a_resource_feeds_at_most_one_service(session):
    resource = await marketplace_resource(session)
    first = await psa_service(session)
    second = await psa_service(session, contract=first.contract, name="Teams Essentials")
    await link_resource(session=session, resource_id=resource.id, service_id=first.id, actor="U1")
    with pytest.raises(DuplicateLinkError, match="already feeds PSA service Exchange Online"):
        await link_resource(session=session, resource_id=resource.id, service_id=second.id, actor="U1")
    with pytest.raises(DuplicateLinkError, match="already linked to"):
        await link_resource(session=session, resource_id=resource.id, service_id=first.id, actor="U1")


async def test_a_service_is_fed_by_at_most_one_resource(session):
    first = await marketplace_resource(session)
    second = await marketplace_resource(session, subscription=first.subscription, name="Teams Essentials")
    service = await psa_service(session)
    await link_resource(session=session, resource_id=first.id, service_id=service.id, actor="U1")
    with pytest.raises(DuplicateLinkError, match="is already fed by Exchange Online"):
        await link_resource(session=session, resource_id=second.id, service_id=service.id, actor="U1")


async def test_levels_must_agree(session):
    resource = await marketplace_resource(session)
    other = await marketplace_resource(session, subscription=resource.subscription, name="Defender")
    service_a = await psa_service(session)
    service_b = await psa_service(session)  # another company and contract
    await link_resource(session=session, resource_id=resource.id, service_id=service_a.id, actor="U1")
    with pytest.raises(LinkConflictError, match="already linked to"):
        await link_resource(session=session, resource_id=other.id, service_id=service_b.id, actor="U1")


async def test_unique_constraint_backs_the_rule(session):
    """Even bypassing the service functions, the database refuses a second link (a race ends the same way)."""
    from sqlalchemy.exc import IntegrityError

    resource = await marketplace_resource(session)
    service = await psa_service(session)
    other_service = await psa_service(session)
    session.add_all([ResourceLink(resource_id=resource.id, psa_service_id=service.id, created_by="a"),
                     ResourceLink(resource_id=resource.id, psa_service_id=other_service.id, created_by="b")])
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_company_relink_to_other_company_refused(session):
    resource = await marketplace_resource(session)
    a = await psa_service(session)
    b = await psa_service(session)
    await link_company(session=session, marketplace_company_id=resource.subscription.company_id,
                       psa_company_id=a.contract.company_id, actor="U1")
    with pytest.raises(DuplicateLinkError, match="unlink it first"):
        await link_company(session=session, marketplace_company_id=resource.subscription.company_id,
                           psa_company_id=b.contract.company_id, actor="U1")


async def test_unlink_is_audited_and_missing_is_clear(session):
    resource = await marketplace_resource(session)
    service = await psa_service(session)
    link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
    await unlink_resource(session=session, resource_link_id=link.id, actor="U2")
    assert await session.scalar(select(ResourceLink)) is None
    events = await audit_events_for(session=session, subject_type="resource_link", subject_id=link.id)
    assert [e.action for e in events] == ["link_resource", "unlink_resource"]
    assert events[1].before["resource_id"] == resource.id
    with pytest.raises(NotFoundError, match="no relation"):
        await unlink_resource(session=session, resource_link_id=link.id, actor="U2")
    with pytest.raises(NotFoundError, match="no resource #424242"):
        await link_resource(session=session, resource_id=424242, service_id=service.id, actor="U1")


async def test_custom_cost_below_the_psa_cost_needs_confirmation(session):
    from decimal import Decimal

    from bot.db.models import PriceSourceKind, Scope
    from bot.db.policies import set_price_source
    from bot.domain.pricing import PriceSourceError

    resource = await marketplace_resource(session)
    service = await psa_service(session)  # unit cost 6.40
    link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
    with pytest.raises(PriceSourceError, match="below the PSA's current cost"):
        await set_price_source(session=session, scope=Scope.link, link_id=link.id, kind=PriceSourceKind.custom,
                               custom_price=Decimal("9"), custom_cost=Decimal("5"), actor="U1")
    setting = await set_price_source(session=session, scope=Scope.link, link_id=link.id, kind=PriceSourceKind.custom,
                                     custom_price=Decimal("9"), custom_cost=Decimal("5"), below_cost_confirmed=True,
                                     actor="U1")
    assert setting.below_cost_confirmed and setting.scope_key == f"link:{link.id}"


async def test_a_link_rolled_back_by_its_caller_is_not_kept(engine, session):
    """The duplicate check's SAVEPOINT must stay inside the caller's transaction (with Python's sqlite3, a
    savepoint opened before any write starts a transaction of its own, and its release commits)."""
    resource = await marketplace_resource(session)
    service = await psa_service(session)
    await session.commit()
    async with session_factory(engine)() as caller:
        await link_resource(session=caller, resource_id=resource.id, service_id=service.id, actor="U1")
        await caller.rollback()  # e.g. the price source set next was refused
    async with session_factory(engine)() as reader:
        assert list(await reader.scalars(select(ResourceLink))) == []
        assert list(await reader.scalars(select(CompanyLink))) == []
