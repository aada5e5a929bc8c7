"""`seatsync report`, run in-process through `main(argv)` against the known dataset."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import logging
import os
import pty
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from bot.__main__ import main
from bot.app_factory import create_context
from bot.clock import ManualClock
from bot.db.app_settings import AppSettings, save_app_settings
from bot.reports.catalogue import REPORTS, run_report
from bot.reports.report import ReportFilters
from bot.reports.signing import report_link_key, verify
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY
from tests.reports.dataset import INJECTION, build_dataset
from tests.reports.xlsx_reading import read_sheet
from web.app import create_app

PUBLIC_URL = "http://127.0.0.1:3999"


@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "SEATSYNC_SECRET_KEY": TEST_SECRET_KEY,
           "SEATSYNC_DATA_DIR": str(tmp_path / "data"), "SEATSYNC_PUBLIC_URL": PUBLIC_URL}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield env
    root.handlers[:], root.level = handlers, level  # main() configures logging for the process


@pytest.fixture
async def dataset(session, cli_env):
    return await build_dataset(session)


async def run_cli(capsysbinary, *argv: str) -> tuple[int, bytes, str]:
    """`seatsync ARGV` in-process, its clock pinned to PINNED_NOW."""
    code = await asyncio.to_thread(main, list(argv), clock=ManualClock(PINNED_NOW))
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def csv_rows(output: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output.decode("utf-8-sig"))))


async def test_csv_report_to_stdout(dataset, capsysbinary):
    code, out, err = await run_cli(capsysbinary, "report", "subscriptions", "--filter", "sort=total")
    assert code == 0, err
    rows = csv_rows(out)
    assert rows[0][:6] == ["Account ID", "Company", "Subscription ID", "Subscription", "Resource ID", "Resource"]
    assert [(r[1], r[5], r[-1]) for r in rows[1:]] == [("'" + INJECTION, "Defender", "no"),
                                                       ("Acme Mfg. Inc.", "Teams Essentials", "no"),
                                                       ("Acme Mfg. Inc.", "Exchange Online (Plan 1)", "yes")]


@pytest.mark.parametrize("name, filters, column, expected", [
    ("unlinked", ["company=acme"], "Resource", ["Teams Essentials"]),
    ("linked", [], "Service", ["Exchange Online"]),
    ("psa-unlinked", ["sort=service"], "Service", ["Backup 1TB"]),
    ("adjustments", ["date_from=2026-01-01", "date_to=2026-03-10", "sort=posted_at", "direction=desc"], "By",
     ["system", "U7"]),
    ("adjustments", ["date_from=2026-01-01", "date_to=2026-02-01"], "By", ["U7"]),
    ("failures", ["date_from=2026-03-01", "date_to=2026-03-10", "status=needs_action"], "PSA message",
     ["contract is inactive"]),
    ("failures", ["date_from=2026-03-01", "date_to=2026-03-10", "status=retrying"], "PSA message", []),
    ("unbilled", ["sort=company"], "Company", ["'" + INJECTION, "Acme Mfg. Inc.", "Total"]),
])
async def test_each_report_and_its_filters(dataset, capsysbinary, name, filters, column, expected):
    argv = ["report", name]
    for pair in filters:
        argv += ["--filter", pair]
    code, out, err = await run_cli(capsysbinary, *argv)
    assert code == 0, err
    header, *rows = csv_rows(out)
    assert [row[header.index(column)] for row in rows] == expected


async def test_xlsx_goes_to_stdout_as_bytes(dataset, capsysbinary, tmp_path):
    code, out, err = await run_cli(capsysbinary, "report", "unbilled", "--format", "xlsx")
    assert code == 0, err
    assert out[:2] == b"PK"  # a zip archive
    path = tmp_path / "out.xlsx"
    path.write_bytes(out)
    rows, formulas = read_sheet(path)
    assert formulas == []
    assert sorted(row[1] for row in rows[1:3]) == sorted(["'" + INJECTION, "Acme Mfg. Inc."])


@pytest.mark.parametrize("argv, message", [
    (["report", "payroll"], "there is no report called 'payroll'"),
    (["report", "linked", "--filter", "colour=red"], "unknown filter 'colour'"),
    (["report", "linked", "--filter", "company"], "must look like KEY=VALUE"),
    (["report", "linked", "--filter", "sort=nope"], "unknown sort column 'nope'"),
    (["report", "linked", "--filter", "status=active", "--link"], "unknown status"),
    (["report", "adjustments", "--filter", "date_from=yesterday"], "date_from must be a date"),
    (["report", "linked", "--format", "pdf"], "unknown format 'pdf'"),
])
async def test_bad_requests_exit_2_with_one_line(dataset, capsysbinary, argv, message):
    code, out, err = await run_cli(capsysbinary, *argv)
    assert code == 2
    assert out == b""
    assert err.count("\n") == 1 and err.startswith("seatsync report: ") and message in err


async def test_link_is_signed_for_the_configured_days_and_served(dataset, session, capsysbinary, aiohttp_client,
                                                                  cli_env):
    await save_app_settings(session=session, settings=AppSettings(report_link_days=3), actor="test")
    await session.commit()
    code, out, err = await run_cli(capsysbinary, "report", "unlinked", "--filter", "company=acme", "--link")
    assert code == 0, err
    url = out.decode().strip()
    assert "\n" not in url and url.startswith(PUBLIC_URL + "/reports/unlinked.csv?")
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    assert verify(parts.path, query, key=report_link_key(TEST_SECRET_KEY), now=PINNED_NOW) == [
        ("company", "acme")]
    expires = datetime.fromtimestamp(int(dict(query)["expires"]), UTC)
    assert expires == PINNED_NOW + timedelta(days=3)

    client = await aiohttp_client(create_app(create_context(_settings(cli_env), clock=ManualClock(PINNED_NOW)),
                                             run_scheduler=False))
    response = await client.get(f"{parts.path}?{parts.query}")
    assert response.status == 200
    header, *rows = csv_rows(await response.read())
    assert [row[header.index("Resource")] for row in rows] == ["Teams Essentials"]


async def test_html_and_xlsx_links_are_signed_for_their_paths(dataset, capsysbinary):
    for fmt in ("html", "xlsx"):
        code, out, err = await run_cli(capsysbinary, "report", "linked", "--format", fmt, "--link")
        assert code == 0, err
        parts = urlsplit(out.decode().strip())
        assert parts.path == f"/reports/linked.{fmt}"
        assert verify(parts.path, parse_qsl(parts.query), key=report_link_key(TEST_SECRET_KEY),
                      now=PINNED_NOW) == []


async def test_html_to_stdout_is_the_page_with_signed_absolute_export_links(dataset, capsysbinary):
    code, out, err = await run_cli(capsysbinary, "report", "unlinked", "--format", "html", "--filter", "sort=company")
    assert code == 0, err
    page = out.decode()
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert "Teams Essentials" in page and "Defender" in page
    assert INJECTION not in page  # escaped: the quotes of the formula are entities
    hrefs = re.findall(r'href="([^"]+)"', page)
    exports = [html.unescape(h) for h in hrefs if h.startswith(PUBLIC_URL + "/reports/unlinked.")]
    assert {urlsplit(h).path for h in exports} == {"/reports/unlinked.csv", "/reports/unlinked.xlsx"}
    for href in exports:
        parts = urlsplit(href)
        verify(parts.path, parse_qsl(parts.query), key=report_link_key(TEST_SECRET_KEY), now=PINNED_NOW)


def test_xlsx_is_refused_on_a_terminal(cli_env):
    controller, terminal = pty.openpty()
    try:
        finished = subprocess.run([sys.executable, "-m", "bot", "report", "linked", "--format", "xlsx"],
                                  stdout=terminal, stderr=subprocess.PIPE, env={**os.environ, **cli_env},
                                  timeout=60, check=False)
    finally:
        os.close(terminal)
        os.close(controller)
    assert finished.returncode == 2
    assert b"XLSX is binary and stdout is a terminal" in finished.stderr


def _settings(env):
    from bot.config import load_settings

    return load_settings(env, dotenv_path=None)


@pytest.mark.parametrize("url, reason", [
    ("postgresql+asyncpg://nobody:hunter2@127.0.0.1:1/none", "Connect call failed"),
    pytest.param("postgresql+asyncpg://postgres@127.0.0.1/seatsync_no_such_database", "does not exist",
                 marks=pytest.mark.skipif(not os.environ.get("SEATSYNC_TEST_DATABASE_URL"),
                                          reason="needs a PostgreSQL server")),
])
@pytest.mark.parametrize("argv", [["report", "subscriptions"], ["links", "export"], ["sync", "--once"],
                                  ["db", "current"]])
async def test_a_database_that_cannot_be_reached_is_one_line_and_exit_1(cli_env, monkeypatch, capsysbinary,
                                                                          url, reason, argv):
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = await run_cli(capsysbinary, *argv)
    assert code == 1 and out == b""
    assert err.count("\n") == 1 and "cannot reach the database" in err and reason in err, err
    assert "hunter2" not in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["report", "subscriptions"], ["report", "subscriptions", "--format", "xlsx"],
                                  ["links", "export"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(cli_env, argv):
    # `seatsync ... | head`: the pipe is closed before anything is written
    reader, writer = os.pipe()
    os.close(reader)
    try:
        finished = subprocess.run([sys.executable, "-m", "bot", *argv], stdout=writer, stderr=subprocess.PIPE,
                                  env={**os.environ, **cli_env}, timeout=60, check=False)
    finally:
        os.close(writer)
    assert (finished.returncode, finished.stderr.decode()) == (0, "")


async def test_the_adjustments_report_takes_status_posted(dataset, capsysbinary):
    code, out, err = await run_cli(capsysbinary, "report", "adjustments", "--filter", "status=posted",
                                   "--filter", "date_from=2026-01-01", "--filter", "date_to=2026-03-10")
    assert code == 0, err
    assert len(csv_rows(out)) == 3  # the header and both posted adjustments


def documented_statuses() -> dict[str, list[str]]:
    """The README's list of what `status` takes per report: lines like "- `linked`: `drifted`, `in_step`"."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("**Report statuses.**", 1)[1].split("\n\n", 1)[0]
    found = {}
    for line in section.splitlines():
        match = re.match(r"- `([a-z-]+)`: (.+)$", line.strip())
        if match:
            found[match.group(1)] = re.findall(r"`([a-z_]+)`", match.group(2).split(" (")[0])
    return found


async def test_the_readme_says_which_statuses_each_report_takes(session, today):
    documented = documented_statuses()
    assert set(documented) == set(REPORTS)
    for name, statuses in documented.items():
        with pytest.raises(ValueError) as refused:
            await run_report(name, session=session, filters=ReportFilters(status="no-such-status", today=today))
        assert f"(known: {', '.join(statuses)})" in str(refused.value), name
        for status in statuses:
            await run_report(name, session=session, filters=ReportFilters(status=status, today=today))
