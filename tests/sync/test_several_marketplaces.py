"""One install reading Ingram and Pax8 side by side into one PSA: every row knows its source, one PSA company
is linked to a company of each, a cycle reads both, and a marketplace that cannot be read makes the cycle partial
while the other's changes still post. Real HTTP to the simulators, real SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    CompanyLink,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    ResourceLink,
    SubscriptionStatus,
    SyncRunStatus,
)
from bot.demo.scripted import link_high_confidence
from bot.demo.workspace import open_workspace, world_options
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.db


@pytest.fixture
async def both(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today, **world_options("ingram", "pax8")).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="ingram,pax8", psa="autotask", clock=clock)
    yield workspace
    await workspace.close()


async def test_a_cycle_reads_every_marketplace_and_each_row_knows_its_source(both):
    report = await both.engine.run_cycle(force_full=True)
    assert report.status is SyncRunStatus.succeeded, report.errors
    assert set(report.marketplaces) == {"ingram", "pax8"}
    book = both.sandbox.world.pax8
    assert report.marketplaces["pax8"].subscriptions_seen == len(book.subscriptions)
    assert report.api_calls["marketplace:pax8"] >= 2
    async with both.sessions() as session:
        settings = await load_app_settings(session=session)
        assert settings.marketplaces == ["ingram", "pax8"]
        counts = dict((await session.execute(select(MarketplaceResource.marketplace, func.count())
                                              .group_by(MarketplaceResource.marketplace))).all())
        assert counts["pax8"] == len(book.subscriptions) and counts["ingram"] > 0
        mixed = await session.scalar(select(func.count()).select_from(MarketplaceResource)
                                     .join(MarketplaceSubscription)
                                     .where(MarketplaceSubscription.marketplace != MarketplaceResource.marketplace))
        assert mixed == 0


async def test_one_psa_company_is_linked_to_a_company_of_each_marketplace(both):
    await both.engine.run_cycle(force_full=True)
    await link_high_confidence(both, say=lambda line: None)
    async with both.sessions() as session:
        rows = (await session.execute(select(CompanyLink.psa_company_id, MarketplaceCompany.marketplace)
                                      .join(MarketplaceCompany))).all()
    sources: dict[int, set[str]] = {}
    for psa_company, marketplace in rows:
        sources.setdefault(psa_company, set()).add(marketplace)
    assert any(found == {"ingram", "pax8"} for found in sources.values())


async def _linked_line(workspace, marketplace: str) -> tuple[int, str, str]:
    """(resource id, subscription id, resource id at the vendor) of a linked, active resource of `marketplace`."""
    async with workspace.sessions() as session:
        return (await session.execute(
            select(MarketplaceResource.id, MarketplaceSubscription.external_id, MarketplaceResource.external_id)
            .join(MarketplaceSubscription).join(ResourceLink, ResourceLink.resource_id == MarketplaceResource.id)
            .where(MarketplaceResource.marketplace == marketplace,
                   MarketplaceSubscription.status == SubscriptionStatus.active,
                   MarketplaceResource.total > 0)
            .order_by(MarketplaceResource.id).limit(1))).one()


async def test_a_marketplace_that_cannot_be_read_makes_the_cycle_partial_and_the_other_posts(both):
    await both.engine.run_cycle(force_full=True)
    linked = await link_high_confidence(both, say=lambda line: None)
    await both.engine.reconcile_links(link_ids=linked, actor="test")
    world = both.sandbox.world
    pax8_resource, pax8_sub, _ = await _linked_line(both, "pax8")
    ingram_resource, ingram_sub, ingram_line = await _linked_line(both, "ingram")
    pax8 = world.pax8.subscriptions[pax8_sub]
    pax8.change(pax8.now.updated, quantity=pax8.now.quantity + 1)
    _, line = VENDORS.get("ingram").demo.find_line(world, ingram_sub, ingram_line)
    line.additional += 1

    both.sandbox.faults["pax8"].error_rates = {401: 1.0}  # Pax8 refuses the credentials: fails at once, no retry
    report = await both.engine.run_cycle(force_full=True)
    assert report.status is SyncRunStatus.partial
    assert report.unread_marketplaces == ["pax8"]
    assert report.errors[0].startswith("marketplace not read: pax8")
    assert set(report.marketplaces) == {"ingram"}
    planned = {change.resource_id for change in report.planned}
    assert ingram_resource in planned and pax8_resource not in planned
    assert report.posting is not None and report.posting.posted >= 1

    both.sandbox.faults["pax8"].error_rates = {}
    report = await both.engine.run_cycle(force_full=True)
    assert report.status is SyncRunStatus.succeeded, report.errors
    assert pax8_resource in {change.resource_id for change in report.planned}
    async with both.sessions() as session:
        posted = await session.scalar(select(Adjustment.units_to).where(
            Adjustment.resource_id == pax8_resource, Adjustment.status == AdjustmentStatus.posted)
            .order_by(Adjustment.id.desc()).limit(1))
    assert posted == pax8.now.billable_quantity
