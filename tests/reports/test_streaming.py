"""Report rows stream from the database: the first row arrives before the others are fetched."""

import tracemalloc

from sqlalchemy import insert

from bot.db.models import (
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    SubscriptionStatus,
    Term,
)
from bot.reports.catalogue import run_report
from bot.reports.report import ReportFilters
from tests.conftest import PINNED_NOW

ROWS = 20_000
BUDGET = 5 * 2**20  # fetching all 20,000 rows up front costs about 15 MiB of Python objects


async def test_the_first_row_comes_without_the_rest_in_memory(session):
    now = PINNED_NOW
    session.add(MarketplaceCompany(id=1, marketplace="ingram", external_id="C-1", name="Big Customer"))
    session.add(MarketplaceSubscription(id=1, company_id=1, marketplace="ingram", external_id="S-1",
                                        name="Microsoft 365", term=Term.monthly, status=SubscriptionStatus.active))
    await session.flush()
    await session.execute(insert(MarketplaceResource), [
        {"subscription_id": 1, "marketplace": "ingram", "external_id": f"R-{n:06}", "name": f"Resource number {n:06}",
         "total": n % 50,
         "first_seen_at": now, "last_seen_at": now} for n in range(ROWS)])
    await session.commit()

    tracemalloc.start()
    try:
        report = await run_report("subscriptions", session=session, filters=ReportFilters())
        first = await anext(report.rows)
        grown = tracemalloc.get_traced_memory()[0]
        rest = sum([1 async for _ in report.rows])
    finally:
        tracemalloc.stop()
    assert first[4] == "R-000000" and rest == ROWS - 1
    assert grown < BUDGET, f"{grown / 2**20:.1f} MiB held after the first row"
