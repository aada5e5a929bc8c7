"""The scheduled invoice round with the Pax8 and Slack simulators: from the 5th the month's invoice is read, stored
once and shown in one message; on the checklist's day the draft items of the next month are checked and shown as
a preview, never as the invoice; before the 5th nothing is read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.models import Invoice
from bot.demo.workspace import open_workspace, world_options
from bot.jobs import invoice_rounds
from bot.sandbox.app import Sandbox
from bot.sandbox.slack_blocks import validate_message_blocks
from tests.commands.test_seats_command import BILLING_CHANNEL, slack, start_app  # noqa: F401 - the slack fixture
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.db


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=4, scale="small", today=today, **world_options("pax8")).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="pax8", psa="autotask", clock=clock)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    async with workspace.sessions() as session:
        settings = await load_app_settings(session=session)
        settings.checklist_channel = BILLING_CHANNEL
        settings.checklist_days_before_month_end = 14  # 16 November, the clock's day, is the checklist's
        await save_app_settings(session=session, settings=settings, actor="test")
        await session.commit()
    yield workspace
    await workspace.close()


async def started(aiohttp_client, slack, tmp_path, database_url, workspace, clock=None):  # noqa: F811
    context, _ = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=clock or workspace.clock)

    async def engine():
        return workspace.engine

    context.engine_source = engine
    return context


def posted(recorder) -> list:
    return [c for c in recorder.calls("chat.postMessage") if c.ok]


async def test_the_round_shows_the_invoice_once_and_the_preview_apart(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                      database_url, workspace):
    recorder, _ = slack
    context = await started(aiohttp_client, slack, tmp_path, database_url, workspace)
    await invoice_rounds(context)
    texts = [c.args["text"] for c in posted(recorder)]
    assert len(texts) == 2
    invoice, preview = texts
    assert invoice.startswith("Pax8 invoice for November: ")
    assert preview.startswith("Preview, not the invoice: Pax8 draft items for December 2026")
    for call in posted(recorder):
        assert validate_message_blocks(call.args["blocks"]) == []
    async with workspace.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1  # the draft is never stored

    await invoice_rounds(context)  # nothing new: nothing posted again
    assert len(posted(recorder)) == 2


async def test_before_the_fifth_nothing_is_read(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                workspace):
    recorder, _ = slack
    context = await started(aiohttp_client, slack, tmp_path, database_url, workspace,
                            clock=ManualClock(datetime(2026, 11, 4, 12, tzinfo=UTC)))
    await invoice_rounds(context)
    assert posted(recorder) == []
    async with workspace.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0
