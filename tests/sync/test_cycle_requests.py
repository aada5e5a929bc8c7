"""Cycles asked for while another runs: the same cycle asked again before it starts is joined, not queued again
(people click *Sync now* or *Dry run* several times during a long read); a cycle under way is never joined."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.db.models import SyncRun


async def sync_runs(workspace) -> int:
    async with workspace.sessions() as session:
        return await session.scalar(select(func.count()).select_from(SyncRun))


async def started(workspace, runs_before: int) -> None:
    """Until the cycle under way has recorded its run (it holds the engine then)."""
    for _ in range(3000):
        if await sync_runs(workspace) > runs_before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the cycle did not start")


async def test_cycles_asked_for_while_one_runs_make_one_more_of_each_kind(workspace):
    engine = workspace.engine
    before = await sync_runs(workspace)
    under_way = asyncio.create_task(engine.run_cycle(trigger="schedule", force_full=True))
    await started(workspace, before)

    dry_runs = [asyncio.create_task(engine.run_cycle(trigger="slack", actor=f"U{n}", dry_run=True))
                for n in range(3)]
    syncs = [asyncio.create_task(engine.run_cycle(trigger="slack", actor=f"U{n}")) for n in range(2)]
    first = await under_way
    dry_reports = await asyncio.gather(*dry_runs)
    sync_reports = await asyncio.gather(*syncs)

    assert first not in dry_reports + sync_reports  # the one under way was not joined
    assert dry_reports[0] is dry_reports[1] is dry_reports[2] and dry_reports[0].dry_run
    assert sync_reports[0] is sync_reports[1] and not sync_reports[0].dry_run
    assert await sync_runs(workspace) == before + 3

    again = await engine.run_cycle(trigger="slack", dry_run=True)  # nothing waiting: a cycle of its own
    assert again is not dry_reports[0] and await sync_runs(workspace) == before + 4


async def test_a_cycle_that_fails_fails_whoever_joined_it_and_the_next_ask_runs_afresh(workspace, monkeypatch):
    engine = workspace.engine
    before = await sync_runs(workspace)
    under_way = asyncio.create_task(engine.run_cycle(trigger="schedule", force_full=True))
    await started(workspace, before)

    async def unexpected_failure(**_):  # what no connector error explains (a bug): the cycle raises
        raise RuntimeError("the planner broke")

    monkeypatch.setattr(engine, "_cycle", unexpected_failure)
    asked = [asyncio.create_task(engine.run_cycle(trigger="slack", dry_run=True)) for _ in range(2)]
    await under_way
    results = await asyncio.gather(*asked, return_exceptions=True)
    assert [str(r) for r in results] == ["the planner broke"] * 2
    monkeypatch.undo()
    assert (await engine.run_cycle(trigger="slack", dry_run=True)).dry_run
