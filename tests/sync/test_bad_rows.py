"""One bad row never stops billing: a stored number no cycle can bill with (written before the edges checked
numbers, or by hand in SQL) fails its own link, with the reason in the cycle's report, and every other link
is levelled. Real cycles against the simulators, the row poisoned straight in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from bot.db.models import (
    MarketplaceResource,
    PriceSourceKind,
    PsaService,
    ResourceLink,
    Scope,
    SyncRun,
    SyncRunStatus,
)
from bot.db.policies import set_approval_policy, set_price_source
from bot.sync.margin import BELOW_COST, link_margins
from tests.sync.engine_setup import adjustments, link_line, pick_lines

# PostgreSQL keeps NaN in a numeric(14, 4) column but refuses infinities; SQLite stores a REAL infinity
NOT_FINITE = {"sqlite": "9e999", "postgresql": "'NaN'"}


@dataclass(frozen=True)
class Poison:
    table: str
    column: str
    value: str | None  # SQL; None: the dialect's non-finite value
    reason: str  # what the link's failure says
    settings: str  # what sets the row (and what the team uses to fix it): "price" or "policy"


POISONS = {
    "custom-price-not-finite": Poison("price_source_settings", "custom_price", None, "the custom price must be a "
                                      "finite number", "price"),
    "markup-not-finite": Poison("price_source_settings", "markup_percent", None, "the markup must be a finite "
                                "number", "price"),
    "markup-out-of-range": Poison("price_source_settings", "markup_percent", "999999", "the markup must be from "
                                  "-100 up to 1000, not 999999", "price"),
    "custom-price-missing": Poison("price_source_settings", "custom_price", "NULL", "a custom price source needs "
                                   "a price", "price"),
    "amount-too-large-to-store": Poison("price_source_settings", "custom_price", "9999999999.9999",
                                        "the prorated amount must be below 10,000,000,000 in size", "price"),
    "approval-limit-not-finite": Poison("sync_policies", "approval_max_amount", None, "the approval amount limit "
                                        "must be a finite number", "policy"),
}


async def set_valid_row(workspace, poison: Poison, link_id: int, *, kind: PriceSourceKind) -> None:
    async with workspace.sessions() as session:
        if poison.settings == "price":
            await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=kind, actor="U1",
                                   markup_percent=Decimal(20) if kind is PriceSourceKind.marketplace_cost_markup
                                   else None, custom_price=Decimal("12.00") if kind is PriceSourceKind.custom
                                   else None)
        else:
            await set_approval_policy(session=session, scope=Scope.link, link_id=link_id, actor="U1",
                                      max_amount=Decimal(500000) if kind else None)
        await session.commit()


async def poison_row(workspace, poison: Poison, link_id: int) -> None:
    async with workspace.sessions() as session:
        dialect = (await session.connection()).dialect.name
        value = poison.value or NOT_FINITE[dialect]
        await session.execute(text(f"UPDATE {poison.table} SET {poison.column} = {value} "  # noqa: S608 - test SQL
                                   f"WHERE scope_key = 'link:{link_id}'"))
        await session.commit()


@pytest.mark.parametrize("name", list(POISONS))
async def test_a_row_no_one_can_bill_with_fails_its_link_and_the_cycle_bills_the_others(workspace, name):
    poison = POISONS[name]
    marketplace, psa = workspace.names
    bad, good = pick_lines(workspace.sandbox.world, psa, 2)
    for line in (bad, good):
        line.set_market_total(5)
        line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    bad_link, good_link = [await link_line(workspace, line, marketplace) for line in (bad, good)]
    kind = PriceSourceKind.marketplace_cost_markup if poison.column == "markup_percent" else PriceSourceKind.custom
    await set_valid_row(workspace, poison, bad_link, kind=kind)
    await poison_row(workspace, poison, bad_link)
    bad.set_market_total(105)  # 100 seats more: at 9,999,999,999.99 a seat, an amount no column holds
    good.set_market_total(9)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert report.status is SyncRunStatus.partial
    failure, = report.link_failures
    assert failure.resource_link_id == bad_link and poison.reason in failure.reason, failure.reason
    assert good.psa_units == 9 and [(w.before, w.after) for w in good.writes()] == [(5, 9)]
    assert bad.psa_units == 5 and bad.writes() == []
    assert [(a.resource_link_id, a.units_to) for a in await adjustments(workspace)] == [(good_link, 9)]
    async with workspace.sessions() as session:
        run = await session.get(SyncRun, report.run_id)
    assert run.status is SyncRunStatus.partial and failure.describe() in run.error
    assert f"(link {bad_link}) not levelled: " in run.error and poison.reason in run.error

    good.set_market_total(11)  # the next cycle, and a dry run, go on in the same way
    dry = await workspace.engine.run_cycle(trigger="test", dry_run=True)
    assert [(c.resource_link_id, c.units_to) for c in dry.planned] == [(good_link, 11)]
    assert [f.resource_link_id for f in dry.link_failures] == [bad_link]
    again = await workspace.engine.run_cycle(trigger="test")
    assert [f.resource_link_id for f in again.link_failures] == [bad_link] and good.psa_units == 11

    await set_valid_row(workspace, poison, bad_link, kind=kind)  # the team sets it again: the link bills
    fixed = await workspace.engine.run_cycle(trigger="test")
    assert fixed.status is SyncRunStatus.succeeded and fixed.link_failures == []
    assert bad.psa_units == 105 and [(w.before, w.after) for w in bad.writes()] == [(5, 105)]


async def test_a_poisoned_global_row_fails_every_link_but_the_cycle_still_ends(workspace):
    """A bad global setting concerns every link: each fails with the reason, and the cycle ends partial (it does
    not raise, and the run is not left running)."""
    marketplace, psa = workspace.names
    lines = pick_lines(workspace.sandbox.world, psa, 2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    links = [await link_line(workspace, line, marketplace) for line in lines]
    async with workspace.sessions() as session:
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1", max_percent=Decimal(50))
        await session.commit()
        dialect = (await session.connection()).dialect.name
        await session.execute(text(f"UPDATE sync_policies SET approval_max_percent = {NOT_FINITE[dialect]} "  # noqa: S608
                                   "WHERE scope_key = 'global'"))
        await session.commit()
    for line in lines:
        line.set_market_total(line.psa_units + 3)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert report.status is SyncRunStatus.partial
    assert sorted(f.resource_link_id for f in report.link_failures) == sorted(links)
    assert all("the approval percent limit must be a finite number" in f.reason for f in report.link_failures)
    async with workspace.sessions() as session:
        statuses = set(await session.scalars(select(SyncRun.status)))
    assert SyncRunStatus.running not in statuses


async def test_the_margin_guard_skips_a_poisoned_link_and_judges_the_others(workspace):
    marketplace, psa = workspace.names
    lines = pick_lines(workspace.sandbox.world, psa, 2)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    links = [await link_line(workspace, line, marketplace) for line in lines]
    async with workspace.sessions() as session:
        for link_id in links:
            link = await session.get(ResourceLink, link_id)
            resource = await session.get(MarketplaceResource, link.resource_id)
            resource.unit_cost = Decimal("11.00")
            await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=PriceSourceKind.custom,
                                   custom_price=Decimal("10.00"), actor="U1")
        await session.commit()
    await poison_row(workspace, POISONS["custom-price-not-finite"], links[0])

    async with workspace.sessions() as session:
        margins = await link_margins(session=session)

    assert [(m.link_id, m.problem) for m in margins] == [(links[1], BELOW_COST)]


# --- absurd numbers in the vendors' replies, over HTTP from the simulators -------------------------------------

ABSURD_PRICE = Decimal(10) ** 20  # finite, so the simulators can serve it; far beyond any column


def set_psa_price(line, price: Decimal) -> None:
    world = line.world
    if line.psa == "autotask":
        world.autotask_contract_services[line.service_id].unit_price = price
    elif line.psa == "halopsa":
        # Halo's update re-posts the line's price as read, and the simulator refuses 10^12 or more in an update:
        # an absurd price for SeatSync (10^10 or more) that Halo itself keeps
        world.halopsa.line(line.service_id).unit_price = min(price, Decimal(10) ** 11)
    else:
        world.connectwise_additions[line.service_id].unit_price = price
        world.connectwise_additions[line.service_id].last_updated = world.now()


async def stored_prices(workspace, link_id: int) -> tuple:
    async with workspace.sessions() as session:
        link = await session.get(ResourceLink, link_id)
        resource = await session.get(MarketplaceResource, link.resource_id)
        service = await session.get(PsaService, link.psa_service_id)
        return resource.unit_price, service.unit_price


async def test_an_absurd_vendor_price_is_dropped_and_every_link_is_levelled(workspace, caplog):
    marketplace, psa = workspace.names
    bad, good = pick_lines(workspace.sandbox.world, psa, 2)
    for line in (bad, good):
        line.set_market_total(5)
        line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    bad_link = await link_line(workspace, bad, marketplace)
    await link_line(workspace, good, marketplace)
    market_price_before, _ = await stored_prices(workspace, bad_link)
    bad.market.unit_price = ABSURD_PRICE
    set_psa_price(bad, ABSURD_PRICE)
    bad.set_market_total(7)
    good.set_market_total(8)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert report.status is SyncRunStatus.succeeded, report.errors
    assert (bad.psa_units, good.psa_units) == (7, 8)
    market_price, psa_price = await stored_prices(workspace, bad_link)
    assert market_price == market_price_before  # the reply's price was dropped; the one read before stands
    assert psa_price is None  # the PSA's price is unknown rather than absurd
    assert "100000000000000000000" in caplog.text and "must be below 10,000,000,000" in caplog.text


async def test_an_absurd_vendor_count_is_a_clear_error_and_the_next_read_bills(workspace):
    """A seat count cannot be dropped like a price (a resource left out reads as removed, levelled to zero): the
    read is refused as malformed, naming the record; nothing is levelled on a half-read world; once the vendor
    answers sanely the next cycle bills."""
    marketplace, psa = workspace.names
    bad, good = pick_lines(workspace.sandbox.world, psa, 2)
    for line in (bad, good):
        line.set_market_total(5)
        line.set_psa_units(5)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    for line in (bad, good):
        await link_line(workspace, line, marketplace)
    bad.set_market_total(2_000_000_000)  # absurd, yet within XML-RPC's 32-bit integers (Odin)
    good.set_market_total(8)

    report = await workspace.engine.run_cycle(trigger="test", force_full=True)

    assert report.status is SyncRunStatus.failed and report.planned == []
    error, = report.errors
    assert error.startswith("marketplace not read: ") and "malformed reply" in error
    assert "is 2000000000" in error and "outside 0 to 1,000,000,000" in error
    assert good.psa_units == 5 and good.writes() == []

    bad.set_market_total(6)
    report = await workspace.engine.run_cycle(trigger="test", force_full=True)
    assert report.status is SyncRunStatus.succeeded and (bad.psa_units, good.psa_units) == (6, 8)
