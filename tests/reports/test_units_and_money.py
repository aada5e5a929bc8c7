"""Reports a billing lead can trust: seats and storage are never added together, counts say what they count,
money has two decimals and a currency, and codes read in words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from bot.db.models import Adjustment
from bot.reports.catalogue import run_report
from bot.reports.formats import csv_chunks
from bot.reports.html import ExportLinks, render_report_page
from bot.reports.report import ReportFilters
from bot.reports.summary import summarise_report
from tests.db.factories import marketplace_resource
from tests.reports.dataset import INJECTION, TODAY, build_dataset
from tests.reports.html_reading import parse_html, table_rows

LINKS = ExportLinks(filtered_csv="/x.csv", filtered_xlsx="/x.xlsx", all_csv="/a.csv", all_xlsx="/a.xlsx",
                    carries_filter_text=True)


async def with_storage(session):
    """The known dataset, plus 900 GB of backup storage for Acme at 0.06 a GB, not linked."""
    dataset = await build_dataset(session)
    storage = await marketplace_resource(session, company=dataset.acme, total=900, name="Cloud Backup Storage")
    storage.unit, storage.unit_price = "GB", Decimal("0.06")
    await session.commit()
    return dataset


async def table(session, name, **filters):
    report = await run_report(name, session=session, filters=ReportFilters(today=TODAY, **filters))
    rows = await report.all_rows()
    return report, [dict(zip(report.keys, row, strict=True)) for row in rows]


async def page_rows(session, name):
    report = await run_report(name, session=session, filters=ReportFilters(today=TODAY))
    text = await render_report_page(report, filters=[], links=LINKS, nonce="n", generated_at=datetime(2026, 3, 10,
                                                                                                      tzinfo=UTC))
    return parse_html(text)


async def test_unbilled_keeps_each_unit_apart_and_values_each_at_its_own_price(session):
    await with_storage(session)

    report, rows = await table(session, "unbilled", sort="company")

    acme = {row["unit"]: row for row in rows if row["company"] == "Acme Mfg. Inc."}
    assert set(acme) == {"seats", "GB"}
    assert (acme["seats"]["unlinked"], acme["seats"]["drifted"]) == (4, 3)
    assert (acme["seats"]["unlinked_amount"], acme["seats"]["drifted_amount"]) == (Decimal("32.00"), Decimal("28.50"))
    assert (acme["GB"]["unlinked"], acme["GB"]["unlinked_amount"]) == (900, Decimal("54.00"))
    assert {row["currency"] for row in rows} == {"USD"}
    totals = dict(zip(report.keys, report.totals, strict=True))
    assert totals["unlinked"] is None and totals["drifted"] is None  # 4 seats + 900 GB is no number
    assert totals["amount"] == Decimal("130.50") and totals["currency"] == "USD"
    _, seats_only = await table(session, "unbilled", text="Acme")
    assert len(seats_only) == 2


async def test_counts_of_licences_count_seats_only_and_say_so(session):
    await with_storage(session)

    unlinked = await summarise_report(session=session, name="unlinked", filters=ReportFilters(today=TODAY))
    unbilled = await summarise_report(session=session, name="unbilled", filters=ReportFilters(today=TODAY))

    assert (unlinked.licences, unlinked.licences_label) == (6, "seats not linked")  # 4 + 2, not the 900 GB
    assert (unbilled.licences, unbilled.licences_label) == (9, "seats not billed")  # 4 + 3 + 2
    root = await page_rows(session, "subscriptions")
    pie = root.find(".//*[@class='chart pie']")
    assert pie.find("title").text == "Seats per customer"
    assert {s.get("data-label"): s.get("data-value") for s in pie.iter("path")} == {"Acme Mfg. Inc.": "12",
                                                                                    INJECTION: "2"}
    unbilled_pie = (await page_rows(session, "unbilled")).find(".//*[@class='chart pie']")
    assert unbilled_pie.find("title").text == "Unbilled amount per customer"


async def test_money_has_two_decimals_and_a_currency_and_codes_read_in_words(session):
    await build_dataset(session)
    kept = await session.scalar(select(Adjustment).where(Adjustment.idempotency_key == "k-recent"))
    kept.unit_price = None  # the link keeps the PSA's price: the intent carries none
    await session.commit()

    _, adjustments = await table(session, "adjustments")
    _, linked = await table(session, "linked")

    assert adjustments[0]["unit_price"] == Decimal("9.50")  # the PSA's price, shown, not an empty cell
    assert adjustments[0]["currency"] == "USD" and adjustments[0]["trigger"] == "sync"
    assert linked[0]["price_source"] == "PSA price"
    csv_text = b"".join([chunk async for chunk in csv_chunks(
        await run_report("unlinked", session=session, filters=ReportFilters(today=TODAY)))]).decode("utf-8-sig")
    assert ",8.00,USD" in csv_text and "8.0000" not in csv_text
    cells = table_rows(await page_rows(session, "adjustments"))[0]
    assert "6.13" in cells and "9.50" in cells and "USD" in cells and "6.1300" not in cells
