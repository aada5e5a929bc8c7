import csv
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.app_factory import create_context
from bot.reports.signing import report_link_key, sign_url
from tests.conftest import PINNED_NOW
from tests.reports.dataset import INJECTION, TODAY, build_dataset
from tests.reports.xlsx_reading import read_sheet
from web.app import create_app


@pytest.fixture
async def client(aiohttp_client, settings, session, clock):
    await build_dataset(session)
    return await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))


def link(settings, path, params=None, *, now=PINNED_NOW, ttl=timedelta(days=7)):
    """A signed link, as of the `clock` fixture's instant unless told otherwise."""
    return sign_url(path, params or {}, key=report_link_key(settings.secret_key), now=now, ttl=ttl)


async def test_a_signed_csv_link_streams_the_report(client, settings):
    response = await client.get(link(settings, "/reports/unbilled.csv", {"sort": "company"}))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="seatsync-unbilled-')
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Account ID", "Company"]
    assert [r[1] for r in rows[1:]] == ["'" + INJECTION, "Acme Mfg. Inc.", "Total"]


async def test_a_signed_xlsx_link_returns_a_workbook(client, settings, tmp_path):
    response = await client.get(link(settings, "/reports/subscriptions.xlsx", {"company": "HYPERLINK"}))
    assert response.status == 200
    assert response.headers["Content-Type"] == ("application/vnd.openxmlformats-officedocument.spreadsheetml"
                                                ".sheet")
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    path = tmp_path / "downloaded.xlsx"
    path.write_bytes(await response.read())
    rows, formulas = read_sheet(path)
    assert formulas == [] and rows[1][1] == "'" + INJECTION and len(rows) == 2


@pytest.mark.parametrize("mangle, reason", [
    pytest.param(lambda url: url.replace("sort=company", "sort=amount"), "altered", id="tampered-query"),
    pytest.param(lambda url: url.replace("/unbilled.csv", "/linked.csv"), "altered", id="tampered-path"),
    pytest.param(lambda url: url.split("?")[0] + "?sort=company", "not signed", id="unsigned"),
])
async def test_a_bad_link_gets_403_saying_why(client, settings, mangle, reason):
    response = await client.get(mangle(link(settings, "/reports/unbilled.csv", {"sort": "company"})))
    assert response.status == 403
    assert reason in await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")


async def test_an_expired_link_gets_403(client, settings):
    url = link(settings, "/reports/unbilled.csv", now=PINNED_NOW - timedelta(days=8))
    response = await client.get(url)
    assert response.status == 403 and "expired" in await response.text()


async def test_an_unknown_report_is_404_once_signed_and_403_before(client, settings):
    assert (await client.get(link(settings, "/reports/payroll.csv"))).status == 404
    assert (await client.get("/reports/payroll.csv")).status == 403
    assert (await client.get(link(settings, "/reports/unbilled.pdf"))).status == 404


async def test_a_bad_filter_in_a_signed_link_is_400(client, settings):
    response = await client.get(link(settings, "/reports/linked.csv", {"sort": "nope"}))
    assert response.status == 400 and "unknown sort column" in await response.text()


async def test_no_path_from_the_url_reaches_the_file_system(client, settings):
    for path in ("/reports/..%2F..%2Fetc%2Fpasswd.csv", "/reports/../secret.key"):
        response = await client.get(link(settings, path))
        assert response.status in (403, 404)


@pytest.mark.parametrize("day, expected", [
    (TODAY, ["system"]),  # the post of 8 March; the one of 29 January is older than 30 days
    (TODAY + timedelta(days=30), []),
    (date(2026, 2, 20), ["U7"]),
])
async def test_a_log_report_without_dates_shows_the_30_days_up_to_the_context_clock_s_day(
        aiohttp_client, settings, session, clock, day, expected):
    await build_dataset(session)
    clock.set(datetime.combine(day, time(12), UTC))
    client = await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))
    response = await client.get(link(settings, "/reports/adjustments.csv", now=clock()))
    assert response.status == 200
    header, *rows = csv.reader(io.StringIO((await response.read()).decode("utf-8-sig")))
    assert [row[header.index("By")] for row in rows] == expected
