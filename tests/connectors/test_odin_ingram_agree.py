"""Both marketplace connectors read the same truth: the same world through Odin BA (XML-RPC) and
Ingram CMP (REST) gives the same companies, subscriptions and resource totals.

What legitimately differs is checked to differ in the documented way only: a resource is named by
BA ResourceID on one side and by MPN on the other (the world's catalogue ties the two); BA reports
no cost and no modification date; CMP reports one quantity where BA splits included/additional.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.connectors.connection import Connection
from bot.connectors.http import RetryPolicy
from bot.connectors.interfaces import Marketplace
from bot.connectors.marketplace.ingram.client import IngramClient
from bot.connectors.marketplace.odin.client import OdinClient
from bot.domain.records import MarketCompany, MarketSubscription
from bot.sandbox.app import Sandbox
from bot.sandbox.generator import advance_day

FAST_RETRY = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, max_total_s=10)


@pytest.fixture(params=[(1, date(2026, 11, 16)), (11, date(2025, 3, 15))], ids=["seed-1", "seed-11"])
async def sandbox(request) -> AsyncIterator[Sandbox]:
    seed, today = request.param
    sandbox = await Sandbox.generate(seed=seed, scale="small", today=today).start()
    yield sandbox
    await sandbox.stop()


async def read_both(sandbox: Sandbox) -> tuple[tuple[list[MarketCompany], list[MarketSubscription]], ...]:
    cfg = sandbox.config()
    odin = OdinClient.from_connection(
        Connection("odin", cfg["odin"]["url"], {},
                   {"username": cfg["odin"]["username"], "password": cfg["odin"]["password"]}), retry=FAST_RETRY)
    ingram_cfg = cfg["ingram"]
    ingram = IngramClient.from_connection(
        Connection("ingram", ingram_cfg["url"],
                   {"username": ingram_cfg["username"], "marketplace": ingram_cfg["marketplace"]},
                   {"subscription_key": ingram_cfg["subscription_key"], "password": ingram_cfg["password"]}),
        retry=FAST_RETRY)
    assert isinstance(odin, Marketplace) and isinstance(ingram, Marketplace)
    assert (odin.system, ingram.system) == ("odin", "ingram")
    try:
        return ((await odin.list_companies(), await odin.list_subscriptions()),
                (await ingram.list_companies(), await ingram.list_subscriptions()))
    finally:
        await odin.aclose()
        await ingram.aclose()


def assert_same_truth(sandbox: Sandbox, odin_read, ingram_read) -> None:
    (odin_companies, odin_subs), (ingram_companies, ingram_subs) = odin_read, ingram_read
    world = sandbox.world
    assert sorted(odin_companies, key=lambda c: c.external_id) == sorted(ingram_companies,
                                                                         key=lambda c: c.external_id)
    assert len(odin_companies) == len(world.customers)

    def head(s: MarketSubscription) -> tuple:
        return (s.external_id, s.company_external_id, s.name, s.term, s.status, s.start_date, s.end_date)

    assert sorted(map(head, odin_subs)) == sorted(map(head, ingram_subs))
    assert len(odin_subs) == len(world.subscriptions)

    mpn_of = {str(p.resource_id): p.mpn for p in world.products.values()}
    ingram_by_id = {s.external_id: s for s in ingram_subs}
    resources = 0
    for sub in odin_subs:
        odin_lines = {mpn_of[r.external_id]: (r.name, r.total, r.unit_price, r.currency) for r in sub.resources}
        ingram_lines = {r.external_id: (r.name, r.total, r.unit_price, r.currency)
                        for r in ingram_by_id[sub.external_id].resources}
        assert odin_lines == ingram_lines, sub.external_id
        resources += len(odin_lines)
    assert resources == sum(len(s.lines) for s in world.subscriptions.values())
    assert sum(r.total for s in odin_subs for r in s.resources) == \
        sum(r.total for s in ingram_subs for r in s.resources) == \
        sum(ln.ordered for s in world.subscriptions.values() for ln in s.lines)
    # the documented differences, and only those
    assert all(r.unit_cost is None for s in odin_subs for r in s.resources)
    assert all(r.unit_cost is not None and r.included == 0 for s in ingram_subs for r in s.resources)
    assert any(r.included > 0 for s in odin_subs for r in s.resources)
    assert all(s.modified_at is None for s in odin_subs) and all(s.modified_at for s in ingram_subs)


async def test_odin_and_ingram_read_the_same_world(sandbox):
    assert_same_truth(sandbox, *await read_both(sandbox))


async def test_they_still_agree_after_days_of_changes(sandbox):
    for _ in range(5):
        advance_day(sandbox.world)
    assert_same_truth(sandbox, *await read_both(sandbox))
