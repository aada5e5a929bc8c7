"""Link suggestions keep marketplaces apart: a PSA contract that already bills one distributor's subscription is not
offered to another distributor's subscription or resource, even when the product's name is the same. One PSA company
is linked to an Ingram company and a Pax8 company (the MSP buys from both for one customer)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.db.models import (
    CompanyLink,
    ContractStatus,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    SubscriptionLink,
    SubscriptionStatus,
    Term,
)
from bot.services.suggestions import suggest_links
from tests.conftest import PINNED_NOW

PRODUCT = "Microsoft 365 E3"


async def _customer_of_two_distributors(session, *, pax8_contract: bool) -> dict[str, int]:
    now = PINNED_NOW
    psa_company = PsaCompany(psa="autotask", external_id="p-1", name="Acme Co.", last_seen_at=now)
    ingram = MarketplaceCompany(marketplace="ingram", external_id="i-1", name="Acme Manufacturing Inc.",
                                first_seen_at=now, last_seen_at=now)
    pax8 = MarketplaceCompany(marketplace="pax8", external_id="x-1", name="ACME Manufacturing",
                              first_seen_at=now, last_seen_at=now)
    session.add_all([psa_company, ingram, pax8])
    await session.flush()
    ingram_sub = MarketplaceSubscription(company_id=ingram.id, marketplace="ingram", external_id="is-1",
                                         name="Microsoft 365 for Acme", term=Term.monthly,
                                         status=SubscriptionStatus.active, start_date=date(2026, 1, 1),
                                         first_seen_at=now, last_seen_at=now)
    pax8_sub = MarketplaceSubscription(company_id=pax8.id, marketplace="pax8", external_id="xs-1", name=PRODUCT,
                                       term=Term.annual, status=SubscriptionStatus.active,
                                       start_date=date(2026, 3, 1), first_seen_at=now, last_seen_at=now)
    ingram_contract = PsaContract(company_id=psa_company.id, psa="autotask", external_id="k-1",
                                  name="Microsoft 365 for Acme", status=ContractStatus.active,
                                  start_date=date(2026, 1, 1), last_seen_at=now)
    session.add_all([ingram_sub, pax8_sub, ingram_contract])
    await session.flush()
    resource = {"included": 0, "additional": 10, "total": 10, "unit_price": Decimal("36.00"),
                "unit_cost": Decimal("30.00"), "currency": "USD", "first_seen_at": now, "last_seen_at": now}
    ingram_resource = MarketplaceResource(subscription_id=ingram_sub.id, marketplace="ingram", external_id="ir-1",
                                          name=PRODUCT, **resource)
    pax8_resource = MarketplaceResource(subscription_id=pax8_sub.id, marketplace="pax8", external_id="xr-1",
                                        name=PRODUCT, **resource)
    ingram_service = PsaService(contract_id=ingram_contract.id, psa="autotask", external_id="s-1", name=PRODUCT,
                                units=10, unit_price=Decimal("40.00"), unit_cost=Decimal("30.00"), last_seen_at=now)
    session.add_all([ingram_resource, pax8_resource, ingram_service])
    session.add_all([CompanyLink(marketplace_company_id=ingram.id, psa_company_id=psa_company.id, created_by="test"),
                     CompanyLink(marketplace_company_id=pax8.id, psa_company_id=psa_company.id, created_by="test")])
    # the billing team tied Ingram's subscription to its contract; its resource is not linked yet
    session.add(SubscriptionLink(marketplace_subscription_id=ingram_sub.id, psa_contract_id=ingram_contract.id,
                                 created_by="test"))
    ids = {"ingram_resource": 0, "pax8_resource": 0, "ingram_service": 0, "pax8_service": 0}
    if pax8_contract:
        contract = PsaContract(company_id=psa_company.id, psa="autotask", external_id="k-2", name="Pax8 licences",
                               status=ContractStatus.active, start_date=date(2026, 3, 1), last_seen_at=now)
        session.add(contract)
        await session.flush()
        service = PsaService(contract_id=contract.id, psa="autotask", external_id="s-2", name=f"{PRODUCT} (annual)",
                             units=10, unit_price=Decimal("40.00"), unit_cost=Decimal("30.00"), last_seen_at=now)
        session.add(service)
        await session.flush()
        ids["pax8_service"] = service.id
    await session.commit()
    ids.update(ingram_resource=ingram_resource.id, pax8_resource=pax8_resource.id, ingram_service=ingram_service.id)
    return ids


async def test_a_pax8_resource_is_not_offered_the_service_of_a_contract_that_bills_ingram(session):
    ids = await _customer_of_two_distributors(session, pax8_contract=False)

    suggestions = await suggest_links(session=session, psa="autotask")

    pairs = {(s.resource_id, s.service_id) for s in suggestions}
    assert (ids["pax8_resource"], ids["ingram_service"]) not in pairs
    assert pairs == {(ids["ingram_resource"], ids["ingram_service"])}


async def test_each_distributors_resource_pairs_within_its_own_contracts(session):
    ids = await _customer_of_two_distributors(session, pax8_contract=True)

    suggestions = await suggest_links(session=session, psa="autotask")

    pairs = {(s.resource_id, s.service_id) for s in suggestions}
    assert pairs == {(ids["ingram_resource"], ids["ingram_service"]), (ids["pax8_resource"], ids["pax8_service"])}
