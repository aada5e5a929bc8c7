"""GET /reports/{name}.html over real HTTP, and the export links the page hands out."""

import csv
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from bot.app_factory import create_context
from bot.db.app_settings import AppSettings, save_app_settings
from bot.reports.signing import report_link_key, verify
from tests.conftest import PINNED_NOW
from tests.reports.dataset import INJECTION, build_dataset
from tests.reports.html_reading import parse_html, table_rows, text_of
from tests.reports.test_http import link
from web.app import create_app


@pytest.fixture
async def client(aiohttp_client, settings, session, clock):
    await build_dataset(session)
    return await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))


async def get_page(client, url):
    response = await client.get(url)
    return response, parse_html(await response.text())


def export_hrefs(root):
    return {a.get("id"): a.get("href") for a in root.iter("a") if (a.get("id") or "").startswith("export-")}


async def csv_rows(client, url):
    response = await client.get(url)
    assert response.status == 200, await response.text()
    return list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))


async def test_a_signed_link_serves_the_page_with_a_strict_policy(client, settings):
    response, root = await get_page(client, link(settings, "/reports/subscriptions.html", {"sort": "total"}))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", policy).group(1)
    assert "default-src 'none'" in policy and f"style-src 'nonce-{nonce}'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert [s.get("nonce") for s in root.iter("script")] == [nonce]
    assert [s.get("nonce") for s in root.iter("style")] == [nonce]
    assert not [e for e in root.iter() if e.get("src")]  # nothing loaded from elsewhere
    assert [e.get("href") for e in root.iter("link")] == ["data:,"]  # not even a favicon
    assert [row[5] for row in table_rows(root)] == ["Defender", "Teams Essentials", "Exchange Online (Plan 1)"]
    second, _ = await get_page(client, link(settings, "/reports/subscriptions.html"))
    assert second.headers["Content-Security-Policy"] != policy  # a fresh nonce each time


@pytest.mark.parametrize("mangle, reason", [
    pytest.param(lambda url: url.replace("sort=company", "sort=amount"), "altered", id="tampered-query"),
    pytest.param(lambda url: url.replace("/unbilled.html", "/linked.html"), "altered", id="tampered-path"),
    pytest.param(lambda url: url + "&q=acme", "altered", id="filter-text-on-a-page"),
    pytest.param(lambda url: url.split("?")[0] + "?sort=company", "not signed", id="unsigned"),
])
async def test_a_bad_page_link_gets_a_403_page_saying_why(client, settings, mangle, reason):
    response, root = await get_page(client, mangle(link(settings, "/reports/unbilled.html", {"sort": "company"})))
    assert response.status == 403
    assert response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert text_of(root.find(".//h1")) == "403 Forbidden"
    assert reason in text_of(root.find(".//p[@id='why']"))
    assert root.find(".//table") is None


async def test_an_expired_page_link_says_so(client, settings):
    response, root = await get_page(
        client, link(settings, "/reports/unbilled.html", now=PINNED_NOW - timedelta(days=8)))
    assert response.status == 403 and "expired" in text_of(root.find(".//p[@id='why']"))


async def test_unknown_reports_and_bad_filters_get_pages_too(client, settings):
    response, root = await get_page(client, link(settings, "/reports/payroll.html"))
    assert response.status == 404 and "payroll" in text_of(root.find(".//p[@id='why']"))
    response, root = await get_page(client, link(settings, "/reports/linked.html", {"sort": "<i>nope</i>"}))
    assert response.status == 400 and "unknown sort column '<i>nope</i>'" in text_of(root.find(".//p[@id='why']"))
    assert "<i>" not in await response.text()


async def test_the_export_links_are_freshly_signed_and_serve_the_same_report(client, settings):
    page_url = link(settings, "/reports/subscriptions.html", {"company": "acme", "sort": "total"})
    _, root = await get_page(client, page_url)
    hrefs = export_hrefs(root)
    assert set(hrefs) == {"export-filtered-csv", "export-filtered-xlsx", "export-all-csv", "export-all-xlsx"}
    key = report_link_key(settings.secret_key)
    for href in hrefs.values():
        parts = urlsplit(href)
        assert verify(parts.path, parse_qsl(parts.query), key=key, now=PINNED_NOW) in (
            [("company", "acme"), ("sort", "total")], [])
    filtered = await csv_rows(client, hrefs["export-filtered-csv"])
    assert [r[5] for r in filtered[1:]] == ["Teams Essentials", "Exchange Online (Plan 1)"]
    everything = await csv_rows(client, hrefs["export-all-csv"])
    assert len(everything) == 1 + 3 and "'" + INJECTION in [r[1] for r in everything]
    for name in ("export-filtered-xlsx", "export-all-xlsx"):
        response = await client.get(hrefs[name])
        assert response.status == 200 and (await response.read())[:2] == b"PK"


async def test_export_links_never_outlive_the_page_link(client, settings, session):
    _, root = await get_page(client, link(settings, "/reports/linked.html", ttl=timedelta(hours=2)))
    expiry = {int(parse_qs(urlsplit(h).query)["expires"][0]) for h in export_hrefs(root).values()}
    (expires,) = expiry
    assert expires == (PINNED_NOW + timedelta(hours=2)).timestamp()
    path, query = link(settings, "/reports/linked.html", ttl=timedelta(hours=2)).split("?")
    far = int((PINNED_NOW + timedelta(days=30)).timestamp())
    response, root = await get_page(client, f"{path}?expires={far}&{query}")  # a second expires, put first
    assert response.status == 200
    (expires,) = {int(parse_qs(urlsplit(h).query)["expires"][0]) for h in export_hrefs(root).values()}
    assert expires == (PINNED_NOW + timedelta(hours=2)).timestamp()

    await save_app_settings(session=session, settings=AppSettings(report_link_days=1), actor="U1")
    await session.commit()
    _, root = await get_page(client, link(settings, "/reports/linked.html", ttl=timedelta(days=7)))
    (expires,) = {int(parse_qs(urlsplit(h).query)["expires"][0]) for h in export_hrefs(root).values()}
    assert expires == (PINNED_NOW + timedelta(days=1)).timestamp()


async def test_filter_box_text_narrows_a_file_link_and_nothing_else(client, settings):
    base = link(settings, "/reports/subscriptions.csv", {"sort": "total"})
    rows = await csv_rows(client, base + "&q=acme")
    assert [r[1] for r in rows[1:]] == ["Acme Mfg. Inc.", "Acme Mfg. Inc."]
    rows = await csv_rows(client, base + "&q=%3DHYPER")
    assert [r[1] for r in rows[1:]] == ["'" + INJECTION]
    assert len(await csv_rows(client, base + "&q=%20%20")) == 1 + 3  # blank text filters nothing
    assert len(await csv_rows(client, base + "&q=no-such-name")) == 1
    for bad, why in [("&q=a&q=b", "given twice"), ("&q=" + "x" * 201, "longer than 200")]:
        response = await client.get(base + bad)
        assert response.status == 400 and why in await response.text()
    texted = link(settings, "/reports/subscriptions.csv", {"text": "acme"})
    response = await client.get(texted + "&q=teams")
    assert response.status == 400 and "already filters by text" in await response.text()
    tampered = base.replace("sort=total", "sort=company") + "&q=acme"
    assert (await client.get(tampered)).status == 403


async def test_a_page_filtered_by_text_does_not_carry_the_filter_box(client, settings):
    _, root = await get_page(client, link(settings, "/reports/subscriptions.html", {"text": "acme"}))
    assert root.find(".//input[@id='filter']").get("data-carry") == "no"
    assert "not added" in text_of(root.find(".//p[@class='hint']"))


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
async def test_filter_box_text_with_a_nul_is_400_not_a_database_error(client, settings, extension):
    # PostgreSQL refuses a NUL in any text parameter; `q` is the one parameter anyone holding a link can set
    base = link(settings, f"/reports/subscriptions.{extension}")
    response = await client.get(base + "&q=acme%00")
    assert response.status == 400 and "control character" in await response.text()
