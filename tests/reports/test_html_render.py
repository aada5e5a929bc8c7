"""The report page as rendered from real queries on the known dataset (the HTTP side: test_html_http.py)."""

from datetime import UTC, date, datetime

import pytest

from bot.connectors.registry import VENDORS
from bot.db.models import MarketplaceCompany
from bot.reports.catalogue import REPORTS, run_report
from bot.reports.html import CHARTS, ExportLinks, render_report_page
from bot.reports.report import ReportFilters
from tests.db.factories import marketplace_resource
from tests.reports.dataset import INJECTION, TODAY, build_dataset
from tests.reports.html_reading import parse_html, table_rows, text_of

SCRIPT_NAME = "<script>alert(1)</script>"
LINKS = ExportLinks(filtered_csv="/reports/x.csv?sort=total&expires=1&signature=a",
                    filtered_xlsx="/reports/x.xlsx?sort=total&expires=1&signature=b",
                    all_csv="/reports/x.csv?expires=1&signature=c", all_xlsx="/reports/x.xlsx?expires=1&signature=d",
                    carries_filter_text=True)


async def page(session, name, *, row_limit=5_000, links=LINKS, filters=(), **report_filters):
    report = await run_report(name, session=session, filters=ReportFilters(today=TODAY, **report_filters))
    text = await render_report_page(report, filters=list(filters), links=links, nonce="n0nce",
                                    generated_at=datetime(2026, 3, 10, 12, tzinfo=UTC), row_limit=row_limit)
    return text, parse_html(text)


async def add_script_company(session):
    company = MarketplaceCompany(marketplace="ingram", external_id="X-1", name=SCRIPT_NAME)
    session.add(company)
    await marketplace_resource(session, company=company, total=1, name=f"Seat {SCRIPT_NAME}")
    await session.commit()


async def test_names_are_text_never_markup(session):
    await build_dataset(session)
    await add_script_company(session)
    text, root = await page(session, "subscriptions", filters=[("company", "<b>x</b>")])
    scripts = list(root.iter("script"))
    assert len(scripts) == 1 and scripts[0].get("nonce") == "n0nce"  # only the page's own
    assert "alert(1)" not in text_of(scripts[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<b>x</b>" not in text
    companies = [row[1] for row in table_rows(root)]
    assert SCRIPT_NAME in companies
    assert INJECTION in companies  # shown as it is: a web page does not run formulas, so no leading '
    assert [text_of(c) for c in root.iter("code")] == ["company=<b>x</b>"]
    chart_labels = {e.get("data-label") for e in root.iter() if e.get("data-label")}
    assert {SCRIPT_NAME, INJECTION} <= chart_labels


async def test_the_table_has_every_column_and_row_with_numbers_marked_for_sorting(session):
    await build_dataset(session)
    _, root = await page(session, "subscriptions", sort="total")
    headers = list(root.iter("th"))
    assert [text_of(h) for h in headers][:3] == ["Account ID", "Company", "Subscription ID"]
    assert [h.get("data-key") for h in headers][-4:] == ["included", "additional", "total", "linked"]
    assert [h.get("data-searchable") is not None for h in headers] == [True] * 7 + [False] * 5  # Unit, Source: words
    assert [row[5] for row in table_rows(root)] == ["Defender", "Teams Essentials", "Exchange Online (Plan 1)"]
    totals = [td for td in root.find(".//tbody").iter("td") if td.get("data-sort") is not None]
    assert {td.get("class") for td in totals} == {"num"} and len(totals) == 3 * 3
    assert root.find(".//tfoot") is None  # the subscriptions report has no totals row
    assert text_of(root.find(".//span[@id='shown']")) == "3 shown"


async def test_the_unbilled_page_has_its_totals_row(session):
    await build_dataset(session)
    _, root = await page(session, "unbilled", sort="company")
    assert [row[1] for row in table_rows(root)] == [INJECTION, "Acme Mfg. Inc."]
    (totals,) = table_rows(root, "tfoot")
    assert totals[1:4] == ["Total", "seats", "6"] and totals[7:] == ["76.50", "USD"]


async def test_a_large_report_is_capped_and_says_so_while_charts_count_every_row(session):
    await build_dataset(session)
    _, root = await page(session, "subscriptions", row_limit=2)
    assert len(table_rows(root)) == 2
    notice = root.find(".//p[@id='capped']")
    assert "first 2 of 3 rows" in " ".join(text_of(notice).split())
    assert notice.find("a").get("href") == LINKS.filtered_csv
    pie = next(e for e in root.iter("svg") if "pie" in e.get("class"))
    assert sum(int(s.get("data-value")) for s in pie.iter("path")) == 14  # 8 + 4 + 2, all three rows
    assert text_of(root.find(".//span[@id='row-total']")) == "3 rows"


async def test_export_links_are_the_ones_given_and_the_filter_box_knows_whether_to_carry_its_text(session):
    await build_dataset(session)
    _, root = await page(session, "linked")
    hrefs = {a.get("id"): a.get("href") for a in root.iter("a") if a.get("id")}
    assert hrefs == {"export-filtered-csv": LINKS.filtered_csv, "export-filtered-xlsx": LINKS.filtered_xlsx,
                     "export-all-csv": LINKS.all_csv, "export-all-xlsx": LINKS.all_xlsx}
    box = root.find(".//input[@id='filter']")
    assert box.get("data-param") == "q" and box.get("data-carry") == "yes"
    no_carry = ExportLinks(**{**LINKS.__dict__, "carries_filter_text": False})
    _, root = await page(session, "linked", links=no_carry)
    assert root.find(".//input[@id='filter']").get("data-carry") == "no"


@pytest.mark.parametrize("name", sorted(REPORTS))
async def test_every_report_renders_with_its_charts(session, name):
    await build_dataset(session)
    _, root = await page(session, name)
    charts = [svg for svg in root.iter("svg")]
    # the dataset is one marketplace's: nothing to split by source
    assert [svg.get("aria-label") for svg in charts] == [spec.title for spec in CHARTS[name] if not spec.split_only]
    assert root.find(".//h1") is not None and root.find(".//table[@id='report']") is not None


async def test_the_charts_on_the_subscriptions_page_sum_licences_and_count_resources(session):
    await build_dataset(session)
    _, root = await page(session, "subscriptions")
    pie, by_company, by_subscription = root.iter("svg")
    assert {s.get("data-label"): s.get("data-value") for s in pie.iter("path")} == {
        "Acme Mfg. Inc.": "12", INJECTION: "2"}
    assert {b.get("data-label"): b.get("data-value") for b in by_company.iter("rect") if b.get("class") == "bar"} == {
        "Acme Mfg. Inc.": "2", INJECTION: "1"}
    assert len([b for b in by_subscription.iter("rect") if b.get("class") == "bar"]) == 2


async def test_an_empty_report_says_so(session):
    _, root = await page(session, "unlinked")
    assert table_rows(root) == []
    assert "No rows match" in text_of(root.find(".//p[@class='empty']"))
    assert all("empty" in svg.get("class") for svg in root.iter("svg"))


@pytest.mark.parametrize("name", sorted(REPORTS))
async def test_every_report_page_marks_the_columns_its_filter_box_and_q_look_in(session, name):
    # the page's filter box looks in the columns marked searchable; with none it would hide every row
    # while the `q` export link (the server's text filter) still found some
    _, root = await page(session, name)
    assert any(h.get("data-searchable") is not None for h in root.iter("th"))


async def test_one_row_is_one_row(session):
    await marketplace_resource(session, total=3, name="Teams Essentials")
    await session.commit()

    _, root = await page(session, "unlinked")

    meta = " ".join(text_of(root.find(".//p[@class='meta']")).split())
    assert "· 1 row ·" in meta and "1 rows" not in meta
    assert text_of(root.find(".//span[@id='shown']")) == "1 shown"


async def test_a_log_page_says_which_dates_it_shows_never_no_filters(session):
    await build_dataset(session)

    _, root = await page(session, "adjustments")
    meta = " ".join(text_of(root.find(".//p[@class='meta']")).split())
    assert "no filters" not in meta
    assert "posted or effective 2026-02-08 to 2026-03-10 (the default: the last 30 days)" in meta

    _, root = await page(session, "adjustments", filters=[("date_from", "2026-01-01")], date_from=date(2026, 1, 1))
    meta = " ".join(text_of(root.find(".//p[@class='meta']")).split())
    assert "posted or effective 2026-01-01 to 2026-03-10" in meta and "default" not in meta
    _, root = await page(session, "linked")
    assert "no filters" in " ".join(text_of(root.find(".//p[@class='meta']")).split())  # not a log: true


async def test_with_a_second_marketplace_the_pages_split_seats_and_adjustments_by_source(session):
    await build_dataset(session)
    company = MarketplaceCompany(marketplace="pax8", external_id="P-1", name="Acme Manufacturing")
    resource = await marketplace_resource(session, company=company, total=5, name="Microsoft 365 E3")
    for row in (resource.subscription, resource):
        row.marketplace = "pax8"
    await session.commit()
    ingram, pax8 = VENDORS.label("ingram"), VENDORS.label("pax8")

    _, root = await page(session, "subscriptions")
    by_source = next(svg for svg in root.iter("svg") if svg.get("aria-label") == "Seats by source")
    assert {s.get("data-label"): s.get("data-value") for s in by_source.iter("path")} == {ingram: "14", pax8: "5"}

    _, root = await page(session, "adjustments")  # every adjustment is Ingram's: one source, no split drawn
    assert "Adjustments by source" not in [svg.get("aria-label") for svg in root.iter("svg")]
