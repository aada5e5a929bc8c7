"""The process's engine is rebuilt after a configuration change without cutting off a cycle under way."""

from __future__ import annotations

import asyncio

from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.models import SyncRunStatus
from bot.demo.workspace import open_workspace
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from bot.sync.wiring import EngineHolder
from tests.conftest import TEST_SECRET_KEY


async def test_a_config_change_mid_cycle_lets_the_running_cycle_finish(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    holder = EngineHolder(sessions=workspace.sessions, box=SecretBox(TEST_SECRET_KEY), clock=workspace.clock)
    try:
        old = await holder.get()
        sandbox.faults["odin"].update({"latency_ms": 20})  # a cycle long enough to change the settings during it
        cycle = asyncio.create_task(old.run_cycle(trigger="test", force_full=True))
        await asyncio.sleep(0.3)
        assert not cycle.done()
        async with workspace.sessions() as session:  # what saving /seats config does
            settings = await load_app_settings(session=session)
            settings.poll_minutes = 7
            await save_app_settings(session=session, settings=settings, actor="U1")
            await session.commit()

        new = await holder.get()
        report = await cycle

        assert new is not old
        assert report.status is SyncRunStatus.succeeded, report
        assert (await new.run_cycle(trigger="test")).status is SyncRunStatus.succeeded
    finally:
        await holder.close()
        await workspace.close()
