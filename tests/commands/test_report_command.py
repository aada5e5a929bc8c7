"""`/seats report` end to end: signed slash commands in, the summary posted through the Slack simulator, and
the summary's signed links fetched from the same app."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.models import MarketplaceCompany
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.slack.ids import ReportId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    LEE,
    assert_all_calls_ok,
    slack,
    start_app,
)
from tests.db.factories import marketplace_resource
from tests.reports.dataset import build_dataset

PUBLIC_URL = "https://seatsync.example.com"
NOT_A_MEMBER = "C0RANDOM001"


async def start(aiohttp_client, slack, tmp_path, database_url, **env):  # noqa: F811
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_PUBLIC_URL=PUBLIC_URL,
                                      **env)
    async with context.sessions() as session:
        await build_dataset(session)
        shouty = MarketplaceCompany(marketplace="ingram", external_id="S-1", name="<!channel> & Sons")
        session.add(shouty)
        await marketplace_resource(session, company=shouty, total=1, name="Visio Plan 2")
        await session.commit()
    return context, sender


def posted(recorder) -> list[dict]:
    return [c.args for c in recorder.calls("chat.postMessage") if c.ok]


def sections(blocks: list[dict]) -> dict[str, str]:
    return {b["block_id"]: b["text"]["text"] for b in blocks if b["type"] == "section"}


def link_buttons(blocks: list[dict]) -> dict[str, str]:
    links = next(b for b in blocks if b.get("block_id") == ReportId.LINKS_BLOCK)
    return {e["action_id"]: e["url"] for e in links["elements"]}


async def fetch(sender, url: str):
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL
    return await sender._client.get(f"{parts.path}?{parts.query}")


async def test_the_summary_is_posted_in_the_channel_with_links_the_app_serves(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                               database_url):
    recorder, _ = slack
    _, sender = await start(aiohttp_client, slack, tmp_path, database_url)

    reply = await sender.slash_command("report unlinked")

    assert reply.status == 200 and not reply.body  # a bare ack; the summary follows
    await listeners_done()
    assert posted(recorder)
    message = posted(recorder)[0]
    assert message["channel"] == BILLING_CHANNEL
    assert message["text"] == "Resources not linked: 3 rows, 3 customers, 7 seats not linked"
    assert validate_message_blocks(message["blocks"]) == []
    text = sections(message["blocks"])
    assert "*3* rows · *3* customers · *7* seats not linked" in text[ReportId.COUNTS_BLOCK]
    assert "*Acme Mfg. Inc.* · " in text[ReportId.ROWS_BLOCK] and "Teams Essentials · total 4" in text[
        ReportId.ROWS_BLOCK]
    customers = text[ReportId.CUSTOMERS_BLOCK].splitlines()
    assert customers[0] == "*Seats not linked per customer*"
    assert customers[1:] == ["• Acme Mfg. Inc.: *4*", '• =HYPERLINK("http://x"): *2*',
                             "• &lt;!channel&gt; &amp; Sons: *1*"]
    assert "<!channel>" not in str(message["blocks"])  # a company's name never pings anyone
    urls = link_buttons(message["blocks"])
    assert set(urls) == {ReportId.LINK_CSV, ReportId.LINK_XLSX, ReportId.LINK_HTML}
    assert urlsplit(urls[ReportId.LINK_HTML]).path == "/reports/unlinked.html"

    csv_response = await fetch(sender, urls[ReportId.LINK_CSV])
    assert csv_response.status == 200
    rows = list(csv.reader(io.StringIO((await csv_response.read()).decode("utf-8-sig"))))
    assert len(rows) == 1 + 3
    xlsx_response = await fetch(sender, urls[ReportId.LINK_XLSX])
    assert xlsx_response.status == 200 and (await xlsx_response.read())[:2] == b"PK"
    html_response = await fetch(sender, urls[ReportId.LINK_HTML])
    assert html_response.status == 200 and "Teams Essentials" in await html_response.text()
    other_report = await sender._client.get("/reports/linked.csv?" + urlsplit(urls[ReportId.LINK_CSV]).query)
    assert other_report.status == 403  # the signature covers the report's name
    assert_all_calls_ok(recorder)


async def test_filters_narrow_the_summary_and_travel_in_the_links(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                  database_url):
    recorder, _ = slack
    _, sender = await start(aiohttp_client, slack, tmp_path, database_url)

    await sender.slash_command(  # Slack's smart quotes, as the desktop app types them
        "report adjustments date_from=2026-03-01 date_to=2026-03-10 company=\u201cAcme Mfg\u201d")

    await listeners_done()
    assert posted(recorder)
    message = posted(recorder)[0]
    text = sections(message["blocks"])
    assert text[ReportId.COUNTS_BLOCK].startswith("*1* row · *1* customer · *1* seat, net change")
    assert "Filters: `date_from=2026-03-01` `date_to=2026-03-10` `company=Acme Mfg`" in text[ReportId.COUNTS_BLOCK]
    assert "units before 4 · units after 5 · seats · 2026-03-08" in text[ReportId.ROWS_BLOCK]
    urls = link_buttons(message["blocks"])
    response = await fetch(sender, urls[ReportId.LINK_CSV])
    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["Acme Mfg. Inc."] and len(rows) == 2


async def test_unbilled_shows_its_totals(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    _, sender = await start(aiohttp_client, slack, tmp_path, database_url)
    await sender.slash_command("report unbilled")
    await listeners_done()
    assert posted(recorder)
    counts = sections(posted(recorder)[0]["blocks"])[ReportId.COUNTS_BLOCK]
    assert "*3* customers" in counts and "Totals (seats): not linked *7*" in counts and "short in the psa *3*" in counts


async def test_a_bad_name_or_filter_gets_the_usage_and_posts_nothing(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                     database_url):
    recorder, _ = slack
    _, sender = await start(aiohttp_client, slack, tmp_path, database_url)

    answers = {text: (await sender.slash_command(text)).json for text in (
        "report", "report invoices", "report unlinked colour=red", "report adjustments date_from=yesterday",
        "report unlinked company", 'report unlinked company="Acme')}

    for answer in answers.values():
        assert answer["response_type"] == "ephemeral"
        assert ("Usage: `/seats report <unlinked|linked|subscriptions|adjustments|failures|psa-unlinked|unbilled"
                "|margin>") in answer["text"]
        assert "`date_from`" in answer["text"] and "`company`" in answer["text"]
    assert answers["report"]["text"].startswith("Which report?")
    assert answers["report invoices"]["text"].startswith("There is no report called `invoices`.")
    assert answers["report unlinked colour=red"]["text"].startswith("Unknown filter 'colour'")
    assert answers["report adjustments date_from=yesterday"]["text"].startswith(
        "Date_from must be a date like 2026-03-31, not 'yesterday'")
    assert answers["report unlinked company"]["text"].startswith("`company` is not a `key=value` filter.")
    assert answers['report unlinked company="Acme']["text"].startswith("A quote is not closed.")
    assert [c.method for c in recorder.calls()] == ["auth.test"]  # Bolt's own check; nothing posted


async def test_a_filter_the_report_cannot_take_is_explained_after_the_ack(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                          database_url):
    recorder, _ = slack
    _, sender = await start(aiohttp_client, slack, tmp_path, database_url)

    reply = await sender.slash_command("report unlinked date_from=2026-03-01", user_id=DANA)

    assert reply.status == 200
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    answer = recorder.ephemeral_messages(DANA)[0].message["text"]
    assert answer.startswith("The unlinked report is not a log and has no date range.")
    assert "Usage:" in answer and posted(recorder) == []


async def test_outside_the_channel_the_summary_comes_ephemerally_and_anyone_may_ask(aiohttp_client, slack,  # noqa: F811
                                                                                    tmp_path, database_url):
    recorder, _ = slack
    context, sender = await start(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:  # a billing team that Lee is not in, and 30-day links
        await save_app_settings(session=session, settings=AppSettings(billing_team=["U0MORGAN04"],
                                                                      report_link_days=30), actor="test")
        await session.commit()

    await sender.slash_command("report failures date_from=2026-03-01", user_id=LEE, channel_id=NOT_A_MEMBER)

    await listeners_done()
    assert recorder.ephemeral_messages(LEE)
    message = recorder.ephemeral_messages(LEE)[0].message
    assert message["text"].startswith("Failed adjustments: 1 row,")
    assert "contract is inactive" in sections(message["blocks"])[ReportId.ROWS_BLOCK]
    assert "work until" in str(message["blocks"])
    assert [c.error for c in recorder.calls("chat.postMessage")] == ["not_in_channel"]
    assert validate_message_blocks(message["blocks"]) == []
    url = link_buttons(message["blocks"])[ReportId.LINK_XLSX]
    assert (await fetch(sender, url)).status == 200

    click = await sender.block_actions(ReportId.LINK_XLSX, message=message["ts"], user_id=LEE)
    assert click.status == 200  # acked; the browser does the rest
