"""App Home refreshed after a `/seats sync` typed in a channel: signed requests to the real app, a real cycle
against the simulators, every views.publish recorded by the Slack simulator."""

from __future__ import annotations

import pytest

from bot.db.app_settings import AppSettings, save_app_settings
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    DANA,
    LEE,
    SAM,
    replies_to,
    slack,
    start_app,
)
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    line, = pick_lines(sandbox.world, "autotask", 1)
    line.set_market_total(4)
    line.set_psa_units(4)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    await link_line(workspace, line, "odin")
    workspace.line = line
    yield workspace
    await workspace.close()


def published(recorder, user_id: str) -> list[dict]:
    return [c.args["view"] for c in recorder.calls("views.publish") if c.ok and c.args["user_id"] == user_id]


async def test_a_sync_typed_in_a_channel_republishes_home_for_those_who_opened_it(
        aiohttp_client, slack, tmp_path, database_url, workspace):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    for user in (DANA, SAM):
        await sender.app_home_opened(user)
    await listeners_done()
    assert published(recorder, DANA) and published(recorder, SAM)

    await sender.slash_command("sync --dry-run")
    await listeners_done()
    assert len([c for c in recorder.calls("chat.postMessage") if c.ok]) == 1
    workspace.line.set_market_total(6)
    await sender.slash_command("sync", channel_id=BILLING_CHANNEL)

    await listeners_done()
    assert len(published(recorder, DANA)) == 2 and len(published(recorder, SAM)) == 2
    assert published(recorder, LEE) == []
    assert workspace.line.psa_units == 6
    assert published(recorder, SAM)[1]["private_metadata"] != published(recorder, DANA)[1]["private_metadata"]
    assert [(c.method, c.error) for c in recorder.calls() if not c.ok] == []

    # someone the billing team refuses runs no cycle, so nobody's Home is published again
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=[DANA]), actor="test")
        await session.commit()
    await sender.slash_command("sync", user_id=LEE)
    await listeners_done()
    assert replies_to(recorder, LEE)
    await sender.slash_command("help")  # a later request: the refused one has finished by its reply
    await listeners_done()
    assert len(replies_to(recorder, DANA)) >= 3
    assert (len(published(recorder, DANA)), len(published(recorder, SAM))) == (2, 2)
