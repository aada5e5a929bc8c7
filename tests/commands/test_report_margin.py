"""`/seats report margin` end to end: a signed slash command in, the summary posted through the Slack
simulator, the margin guard's verdicts per linked resource, and the signed CSV link served by the app."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from urllib.parse import urlsplit

from bot.db.links import link_resource
from bot.db.models import Scope
from bot.db.policies import set_min_margin_percent
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.slack.ids import ReportId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    failed_calls,
    slack,
    small_world,
    start_app,
)

PUBLIC_URL = "https://seatsync.example.com"


def posted(recorder) -> list[dict]:
    return [c.args for c in recorder.calls("chat.postMessage") if c.ok]


async def test_the_margin_report_lists_each_link_with_its_verdict_and_links_to_its_files(
        aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_PUBLIC_URL=PUBLIC_URL)
    world = await small_world(context.sessions)
    async with context.sessions() as session:
        # billed at the PSA's price: Exchange costs 6.40 and sells at 9.50 (32.6%), Teams 3.00 at 5.00 (40%)
        for resource, service in ((world.exchange, world.exchange_service), (world.teams, world.teams_service)):
            await link_resource(session=session, resource_id=resource, service_id=service, actor="U1")
        await set_min_margin_percent(session=session, scope=Scope.global_, percent=Decimal(35), actor="U1")
        await session.commit()

    reply = await sender.slash_command("report margin")

    assert reply.status == 200 and not reply.body
    await listeners_done()
    assert posted(recorder)
    message, = posted(recorder)
    assert message["channel"] == BILLING_CHANNEL
    assert message["text"] == "Margin of linked resources: 2 rows, 1 customer, 11 seats judged"
    assert validate_message_blocks(message["blocks"]) == []
    rows = next(b for b in message["blocks"] if b.get("block_id") == ReportId.ROWS_BLOCK)["text"]["text"]
    assert ("Exchange Online (Plan 1) · marketplace cost 6.40 · billed price 9.50 · margin % 32.60 · "
            "below the minimum margin") in rows, rows
    assert "Microsoft Teams Essentials · marketplace cost 3.00 · billed price 5.00 · margin % 40.00 · ok" in rows
    links = next(b for b in message["blocks"] if b.get("block_id") == ReportId.LINKS_BLOCK)
    csv_url = next(e["url"] for e in links["elements"] if e["action_id"] == ReportId.LINK_CSV)
    parts = urlsplit(csv_url)
    served = await sender._client.get(f"{parts.path}?{parts.query}")
    assert served.status == 200
    table = list(csv.DictReader(io.StringIO((await served.read()).decode("utf-8-sig"))))
    assert [(r["Resource"], r["Status"]) for r in table] == [("Exchange Online (Plan 1)", "below the minimum margin"),
                                                             ("Microsoft Teams Essentials", "ok")]

    filtered = await sender.slash_command("report margin status=below_minimum")
    assert filtered.status == 200
    await listeners_done()
    assert len(posted(recorder)) == 2
    assert posted(recorder)[1]["text"].startswith("Margin of linked resources: 1 row,")
    assert failed_calls(recorder) == []


async def test_usage_names_the_margin_report_and_its_bad_filters_are_explained(
        aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    unknown = await sender.slash_command("report margins")
    assert "There is no report called `margins`" in unknown.json["text"]
    assert "unbilled|margin>" in unknown.json["text"]

    dated = await sender.slash_command("report margin date_from=2026-01-01")
    assert dated.status == 200
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    assert "has no date range" in recorder.ephemeral_messages(DANA)[0].message["text"]
    assert posted(recorder) == []
