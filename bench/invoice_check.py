"""Benchmark: the month-end check of an invoice of 10,000 lines, from the database (aim: under 10 s).

A large MSP is written straight into a fresh SQLite database (`tests/many_companies.py`: `--lines` companies, one
subscription and one resource each, every resource linked to its PSA service); an invoice of one seat line per
subscription (plus a prorate on every tenth) is stored through `bot.db.invoices.store_invoice`; then
`bot.sync.invoice_check.check_stored_invoice` reads the lines, the links, the PSA units taken back to the month, the
prices in force then (a price history row per service, and a later one for every third) and the posted
adjustments, and runs the check. Prints one JSON line: the seconds to store and to check (the median
of `--runs` checks) and the findings.

    python bench/invoice_check.py [--lines 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.db.engine import create_engine, session_factory  # noqa: E402
from bot.db.invoices import store_invoice  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import MarketplaceResource, PsaService, PsaServicePrice, ResourceLink  # noqa: E402
from bot.domain.invoice_check import InvoiceLine, LineKind  # noqa: E402
from bot.domain.invoices import ReceivedInvoice  # noqa: E402
from bot.sync.invoice_check import check_stored_invoice  # noqa: E402
from tests.many_companies import insert_many_companies  # noqa: E402

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
SEEN = datetime(2026, 10, 1, 9, tzinfo=UTC)
REPRICED = datetime(2026, 12, 3, 9, tzinfo=UTC)
MONTH = date(2026, 12, 1)


def invoice(count: int) -> ReceivedInvoice:
    lines = []
    for i in range(count):
        quantity = Decimal(5 + i % 20)
        lines.append(InvoiceLine(line_id=f"l-{i}", kind=LineKind.subscription, company_id=f"mc-{i}",
                                 company_name=f"Company {i}", product_id=f"mr-{i}", product_name="M365",
                                 subscription_id=f"ms-{i}", period_start=MONTH, period_end=date(2026, 12, 31),
                                 quantity=quantity, unit_cost=Decimal("10.00"), cost_total=quantity * 10))
        if i % 10 == 0:
            lines.append(InvoiceLine(line_id=f"p-{i}", kind=LineKind.prorate, company_id=f"mc-{i}",
                                     company_name=f"Company {i}", product_id=f"mr-{i}", product_name="M365",
                                     subscription_id=f"ms-{i}", period_start=date(2026, 11, 16),
                                     period_end=date(2026, 11, 30), quantity=Decimal(1), unit_cost=Decimal("10.00"),
                                     cost_total=Decimal("5.00")))
    return ReceivedInvoice(source_id="bench-invoice", month=MONTH, lines=tuple(lines[:count]), number="BENCH-1")


async def run(count: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await upgrade(db)
        sessions = session_factory(db)
        async with sessions() as session:
            await insert_many_companies(session=session, count=count, now=NOW)
            resources = dict((await session.execute(select(MarketplaceResource.external_id,
                                                           MarketplaceResource.id))).all())
            services = dict((await session.execute(select(PsaService.external_id, PsaService.id))).all())
            await session.execute(insert(ResourceLink), [
                {"resource_id": resources[f"mr-{i}"], "psa_service_id": services[f"ps-{i}"], "created_by": "bench",
                 "created_at": NOW} for i in range(count)])
            # the cache's price history, as a PSA read writes it: each service first seen in October, every
            # third repriced after the invoice month began (the check reads the price in force then)
            prices = (await session.execute(select(PsaService.id, PsaService.unit_price))).all()
            history = [{"psa_service_id": service_id, "unit_price": price, "seen_at": SEEN}
                       for service_id, price in prices]
            history += [{"psa_service_id": service_id, "unit_price": (price or 0) + 1, "seen_at": REPRICED}
                        for n, (service_id, price) in enumerate(prices) if n % 3 == 0]
            await session.execute(insert(PsaServicePrice), history)
            await session.commit()
        received = invoice(count)
        started = time.perf_counter()
        async with sessions() as session:
            stored = await store_invoice(session, source="bench", marketplace="ingram", received=received, now=NOW,
                                         actor="bench")
            await session.commit()
        store_s = time.perf_counter() - started
        timings, result = [], None
        for _ in range(runs):
            started = time.perf_counter()
            async with sessions() as session:
                result = await check_stored_invoice(session=session, invoice=stored.invoice)
            timings.append(time.perf_counter() - started)
        await db.dispose()
    assert result is not None
    return {"lines": result.lines, "compared": result.compared, "findings": len(result.findings),
            "store_s": round(store_s, 2), "check_s": round(statistics.median(timings), 2),
            "under_billed": f"{result.totals['under_billed']:.2f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.lines, args.runs))))


if __name__ == "__main__":
    main()
