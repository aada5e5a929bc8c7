"""An invoice file shared with the bot in Slack, end to end: the Slack simulator holds the file (files.info, the
private URL served only with the bot token) and sends `file_shared` and the `message` of subtype `file_share`
as signed requests into /slack/events; the first file of a source asks for its columns in a modal; the file is
imported once and answered once; a bad file is refused with its reason and nothing is stored."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select

from bot.commands.invoices.views import mapping_block_id
from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.models import AppSetting, Invoice
from bot.db.tenancy import DEFAULT_TENANT_ID
from bot.slack.ids import InvoiceId
from bot.slack.shared_files import SharedFileError, read_shared_file
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    LEE,
    slack,
    start_app,
)
from tests.reports.test_invoice_report import month as month  # noqa: F401 - the fixture, re-exported

DANA_DM = "D0DANA0001"
HEADERS = "Client,Item,Subscription,Qty,Cost Each,Billing Start\r\n"


@pytest.fixture
async def ingram(session, month):  # noqa: F811
    settings = await load_app_settings(session=session)
    settings.marketplaces = ["ingram"]
    settings.marketplace = "ingram"
    settings.checklist_channel = BILLING_CHANNEL
    await save_app_settings(session=session, settings=settings, actor="test")
    await session.commit()
    return month


def november_file(month) -> bytes:  # noqa: F811
    rows = []
    for key, seats in (("exact", 5), ("short", 7)):
        resource = month[key]
        rows.append(f"{resource.subscription.company.name},{resource.name},{resource.subscription.external_id},"
                    f"{seats},6.40,2026-11-01\r\n")
    return (HEADERS + "".join(rows)).encode()


def answers(recorder, channel: str) -> list[str]:
    return [c.args["text"] for c in recorder.calls("chat.postMessage") if c.ok and c.args["channel"] == channel]


async def invoices(session) -> int:
    return await session.scalar(select(func.count()).select_from(Invoice))


async def test_the_first_file_asks_for_its_columns_then_imports_once(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                     database_url, ingram, session):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    content = november_file(ingram)
    file_id, replies = await sender.file_shared("november.csv", content)
    assert [r.status for r in replies] == [200, 200]
    await listeners_done()
    [asked] = answers(recorder, DANA_DM)  # two events, one answer
    assert "say once which column holds what" in asked
    assert await invoices(session) == 1  # the fixture's December invoice only

    message = next(m.message for (channel, _), m in recorder.messages.items() if channel == DANA_DM)
    await sender.block_actions(InvoiceId.MAPPING_OPEN, message=message["ts"])
    await listeners_done()
    [modal] = recorder.open_views(DANA)
    assert modal["callback_id"] == InvoiceId.MAPPING_CALLBACK
    picks = {mapping_block_id("company_name"): "Client", mapping_block_id("product_name"): "Item",
             mapping_block_id("quantity"): "Qty", mapping_block_id("subscription_id"): "Subscription",
             mapping_block_id("period_start"): "Billing Start"}
    missing_cost = await sender.view_submission(modal["id"], picks)
    assert "unit_cost or cost_total" in str(missing_cost.json["errors"])
    done = await sender.view_submission(modal["id"], {**picks, mapping_block_id("unit_cost"): "Cost Each"})
    assert done.problems == []
    await listeners_done()
    stored = recorder.messages[(DANA_DM, message["ts"])].message
    assert stored["text"].startswith("Stored invoice november.csv for November 2026 from Ingram Micro")
    assert not any(b["type"] == "actions" for b in stored["blocks"])  # the button is gone
    assert await invoices(session) == 2
    assert await session.get(AppSetting, (DEFAULT_TENANT_ID, "invoice_mapping:ingram")) is not None
    [shown] = answers(recorder, BILLING_CHANNEL)
    assert shown.startswith("Ingram Micro Cloud Marketplace invoice for November")

    # the same file again (a new share): the mapping is known, the invoice stored already
    await sender.file_shared("november-again.csv", content)
    await listeners_done()
    assert answers(recorder, DANA_DM)[-1].startswith("Already stored: invoice november.csv for November 2026")
    assert await invoices(session) == 2
    assert file_id


async def test_a_bad_file_is_refused_whole(aiohttp_client, slack, tmp_path, database_url, ingram,  # noqa: F811
                                           session):
    recorder, _ = slack
    session.add(AppSetting(key="invoice_mapping:ingram", updated_by="test", value={
        "company_name": "Client", "product_name": "Item", "quantity": "Qty", "unit_cost": "Cost Each",
        "subscription_id": "Subscription", "period_start": "Billing Start"}))
    await session.commit()
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    good = november_file(ingram).decode()
    bad = good.replace(",7,6.40,", ",seven,6.40,")
    await sender.file_shared("november.csv", bad.encode())
    await listeners_done()
    [said] = answers(recorder, DANA_DM)
    assert "I could not import it" in said and "line 3" in said and "Nothing was stored" in said
    assert await invoices(session) == 1

    await sender.file_shared("notes.pdf", b"%PDF-1.4")
    await listeners_done()
    assert "reads invoices as .csv or .xlsx" in answers(recorder, DANA_DM)[-1]

    await sender.file_shared("photo.png", b"\x89PNG", channel_id=BILLING_CHANNEL)  # a channel's other files
    await listeners_done()
    assert answers(recorder, BILLING_CHANNEL) == []


async def test_outside_the_billing_team_nothing_is_imported(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                            ingram, session):
    recorder, _ = slack
    settings = await load_app_settings(session=session)
    settings.billing_team = [DANA]
    await save_app_settings(session=session, settings=settings, actor="test")
    await session.commit()
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await sender.file_shared("november.csv", november_file(ingram), user_id=LEE)
    await listeners_done()
    assert any("did not import november.csv" in m.message.get("text", "") for m in recorder.ephemeral_messages(LEE))
    assert await invoices(session) == 1


async def test_the_private_url_needs_the_bot_token(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, server = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    file_id, _ = await sender.file_shared("x.csv", b"a,b\r\n1,2\r\n")
    stranger = AsyncWebClient(token="xoxb-not-ours", base_url=context.bolt.client.base_url)
    with pytest.raises(SharedFileError):
        await read_shared_file(stranger, file_id)  # files.info refuses the token
    shared = await read_shared_file(context.bolt.client, file_id)
    assert shared.content == b"a,b\r\n1,2\r\n"
