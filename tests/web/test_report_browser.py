"""A report page in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium).

The aiohttp app runs for real on 127.0.0.1; selenium's calls block, so each runs in a thread while the
event loop serves the browser. Skipped, saying which binary is missing, where Chromium is not installed
(.ci/run installs it when it can).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from pathlib import Path

import pytest

from bot.app_factory import create_context
from bot.db.models import MarketplaceCompany
from tests.db.factories import marketplace_resource
from tests.reports.dataset import INJECTION, build_dataset
from tests.reports.test_http import link
from web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCRIPT_NAME = "<script>alert(1)</script>"
RESOURCE, TOTAL = 5, 9  # columns of the subscriptions report (Source and Unit between them)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(downloads: Path):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.skip(f"no headless Chromium: {' and '.join(missing)} not found "
                    "(apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("no headless Chromium driver: the selenium package is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


class Page:
    """The few things the test does with the page, each run off the event loop."""

    def __init__(self, driver) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.by = driver, By

    async def run(self, function, *args):
        return await asyncio.to_thread(function, *args)

    async def open(self, url: str) -> None:
        await self.run(self.driver.get, url)

    async def visible_column(self, index: int) -> list[str]:
        def read() -> list[str]:
            rows = self.driver.find_elements(self.by.CSS_SELECTOR, "#report tbody tr")
            return [row.find_elements(self.by.TAG_NAME, "td")[index].text for row in rows if row.is_displayed()]

        return await self.run(read)

    async def click_header(self, title: str) -> str:
        def click() -> str:
            header = self.driver.find_element(self.by.XPATH, f"//th[button[normalize-space()='{title}']]")
            header.find_element(self.by.TAG_NAME, "button").click()
            return header.get_attribute("aria-sort")

        return await self.run(click)

    async def type_filter(self, text: str) -> str:
        def type_() -> str:
            box = self.driver.find_element(self.by.ID, "filter")
            box.clear()
            box.send_keys(text)
            return self.driver.find_element(self.by.ID, "shown").text

        return await self.run(type_)

    async def element(self, css: str):
        return await self.run(self.driver.find_element, self.by.CSS_SELECTOR, css)

    async def elements(self, css: str):
        return await self.run(self.driver.find_elements, self.by.CSS_SELECTOR, css)


def alert_open(driver) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert  # noqa: B018 (the lookup is the test)
    except NoAlertPresentException:
        return False
    return True


async def downloaded_file(directory: Path) -> Path:
    """The first finished download in `directory` (Chromium writes a hidden file, then `*.crdownload`)."""
    async with asyncio.timeout(20):
        while True:
            names = await asyncio.to_thread(os.listdir, directory)
            done = [name for name in names if not name.startswith(".") and not name.endswith(".crdownload")]
            if done:
                return directory / done[0]
            await asyncio.sleep(0.1)


async def test_a_report_page_sorts_filters_charts_and_exports_in_chromium(
    aiohttp_server, aiohttp_client, settings, session, browser, downloads, clock):
    await build_dataset(session)
    company = MarketplaceCompany(marketplace="ingram", external_id="X-1", name=SCRIPT_NAME)
    session.add(company)
    await marketplace_resource(session, company=company, total=1, name="Seat pack")
    await session.commit()
    server = await aiohttp_server(create_app(create_context(settings, clock=clock), run_scheduler=False),
                                  host="127.0.0.1")
    page = Page(browser)

    await page.open(f"http://127.0.0.1:{server.port}{link(settings, '/reports/subscriptions.html')}")
    assert await page.run(lambda: browser.title) == "Marketplace subscriptions · SeatSync"
    assert await page.visible_column(RESOURCE) == [
        "Exchange Online (Plan 1)", "Teams Essentials", "Defender", "Seat pack"]
    companies = await page.visible_column(1)
    assert SCRIPT_NAME in companies and INJECTION in companies  # shown as text; no alert() ran
    assert not await page.run(alert_open, browser)

    # sort: a click sorts ascending (numbers as numbers), a second click descending, text by collation
    assert await page.click_header("Total") == "ascending"
    assert await page.visible_column(TOTAL) == ["1", "2", "4", "8"]
    assert await page.click_header("Total") == "descending"
    assert await page.visible_column(TOTAL) == ["8", "4", "2", "1"]
    assert await page.click_header("Resource") == "ascending"
    assert await page.visible_column(RESOURCE) == [
        "Defender", "Exchange Online (Plan 1)", "Seat pack", "Teams Essentials"]

    # filter: rows whose names or ids hold the text stay visible, the others hide
    assert await page.type_filter("ACME") == "2 shown"
    assert await page.visible_column(RESOURCE) == ["Exchange Online (Plan 1)", "Teams Essentials"]
    assert await page.type_filter("nothing like this") == "0 shown"
    assert await page.type_filter("acme") == "2 shown"

    # the chart is drawn and laid out
    pie = await page.element("svg.chart.pie")
    assert await page.run(pie.is_displayed) and (await page.run(lambda: pie.size))["width"] > 100
    slices = await page.elements("svg.chart.pie .slice")
    assert sorted([await page.run(s.get_attribute, "data-label") for s in slices]) == sorted(
        ["Acme Mfg. Inc.", INJECTION, SCRIPT_NAME])
    assert len(await page.elements("svg.chart.bar")) == 2

    # "export filtered" carries the filter box's text; clicking it downloads the matching rows
    export = await page.element("#export-filtered-csv")
    href = await page.run(export.get_attribute, "href")
    assert href.endswith("&q=acme")
    await page.run(export.click)
    downloaded = await downloaded_file(downloads)
    assert downloaded.name.startswith("seatsync-subscriptions-") and downloaded.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(downloaded.read_text(encoding="utf-8-sig"))))
    assert [r[RESOURCE] for r in rows[1:]] == ["Exchange Online (Plan 1)", "Teams Essentials"]
    client = await aiohttp_client(server)
    response = await client.get(href.removeprefix(f"http://127.0.0.1:{server.port}"))
    assert response.status == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"

    # nothing the page tried was blocked by its Content-Security-Policy, and no script failed
    errors = [e for e in await page.run(browser.get_log, "browser") if e["level"] == "SEVERE"]
    assert errors == []


LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff Regional Medical Partners, L.L.C."  # the longest label a bar shows


async def test_a_report_fits_a_laptop_screen_totals_follow_the_filter_and_labels_show_whole(
    aiohttp_server, settings, session, browser, clock):
    await build_dataset(session)
    company = MarketplaceCompany(marketplace="ingram", external_id="W-1", name=LONG_NAME)
    session.add(company)
    await marketplace_resource(session, company=company, total=3, name="Microsoft 365 Business Premium (NCE)")
    await session.commit()
    server = await aiohttp_server(create_app(create_context(settings, clock=clock), run_scheduler=False),
                                  host="127.0.0.1")
    page = Page(browser)
    await page.run(browser.set_window_size, 1366, 768)  # a common laptop screen

    # totals: the unbilled page's totals row adds up the rows the filter box leaves visible
    await page.open(f"http://127.0.0.1:{server.port}{link(settings, '/reports/unbilled.html')}")
    amount = await page.run(browser.execute_script, "return [...document.querySelectorAll('thead th')]"
                                                    ".findIndex(th => th.dataset.key === 'amount');")
    everything = await page.visible_column(amount)
    assert len(everything) == 3

    async def total() -> str:
        cell = await page.element(f"tfoot td:nth-child({amount + 1})")
        return await page.run(lambda: cell.text)

    assert await total() == "100.50"  # 60.50 + 16.00 + 3 x 8.00: every row
    assert await page.type_filter("acme") == "1 shown"
    assert await total() == "60.50"
    await page.run(browser.execute_script, "const box = document.getElementById('filter'); box.value = '';"
                                           "box.dispatchEvent(new Event('input'));")  # cleared
    assert await page.run(lambda: browser.find_element(page.by.ID, "shown").text) == "3 shown"
    assert await total() == "100.50"

    # width: the widest report scrolls sideways inside its table, never the page; its first column stays in view
    path = link(settings, "/reports/adjustments.html", {"date_from": "2026-01-01", "date_to": "2026-03-31"})
    await page.open(f"http://127.0.0.1:{server.port}{path}")
    widths = await page.run(browser.execute_script, """
        const wrap = document.querySelector('.table-scroll');
        wrap.scrollLeft = wrap.scrollWidth;
        const first = document.querySelector('#report tbody tr td').getBoundingClientRect();
        return {page: document.documentElement.scrollWidth, window: window.innerWidth,
                table: wrap.scrollWidth, shown: wrap.clientWidth, first: first.left,
                left: wrap.getBoundingClientRect().left, scrolled: wrap.scrollLeft};""")
    assert widths["page"] <= widths["window"], widths
    assert widths["table"] > widths["shown"] and widths["scrolled"] > 0, widths  # 18 columns: it scrolls
    assert abs(widths["first"] - widths["left"]) < 2, widths  # the first column stuck at the left edge

    # charts: every label and value inside its chart, none cut at either edge
    await page.open(f"http://127.0.0.1:{server.port}{link(settings, '/reports/subscriptions.html')}")
    outside = await page.run(browser.execute_script, """
        return [...document.querySelectorAll('svg.chart text')].map(text => {
            const box = text.getBBox(), width = text.ownerSVGElement.viewBox.baseVal.width;
            return [text.textContent, box.x, box.x + box.width, width];
        }).filter(([, left, right, width]) => left < 0 || right > width);""")
    assert outside == []
    labels = await page.run(browser.execute_script,
                            "return [...document.querySelectorAll('svg.chart.bar text')].map(t => t.textContent);")
    assert any(label.startswith("Wolfeschlegel") for label in labels)  # the long name's bar has its label
