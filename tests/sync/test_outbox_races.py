"""Exactly-once under interleaving: a person's action (unlink, edit) lands while a poster or a planner is
between its read and its write. Real simulators over HTTP, real connectors, real SQL; the interleaving is
made deterministic by running the other action at the exact point where the race window opens."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.util import await_only

from bot.db.links import unlink_resource
from bot.db.models import Adjustment, AdjustmentStatus, AdjustmentTrigger, Scope
from bot.db.policies import set_approval_policy
from bot.sync.approvals import edit_change
from bot.sync.planning import plan_levelling
from bot.sync.posting import post_due_adjustments
from tests.sync.engine_setup import adjustments, link_line, pending_intent, pick_lines


class ReadHookPsa:
    """The real PSA connector; `hook` runs once, just before the poster's first units read (after it chose
    what is due and before it claims anything) — where another process's or person's write can land."""

    def __init__(self, psa, hook) -> None:
        self._psa, self._hook = psa, hook

    def __getattr__(self, name):
        return getattr(self._psa, name)

    async def read_units(self, service_external_ids):
        if self._hook is not None:
            hook, self._hook = self._hook, None
            await hook()
        return await self._psa.read_units(service_external_ids)


async def test_an_intent_unlinked_while_the_poster_reads_the_psa_is_not_posted(workspace):
    line, link_id = await pending_intent(workspace, 5, 9)

    async def unlink() -> None:
        async with workspace.sessions() as session:
            await unlink_resource(session=session, resource_link_id=link_id, actor="U1")
            await session.commit()

    engine = workspace.engine
    report = await post_due_adjustments(sessions=workspace.sessions, psa=ReadHookPsa(engine.psa, unlink),
                                        clock=engine.clock, today=engine.today(), ignore_backoff=True)

    assert report.posted == 0 and line.writes() == [] and line.psa_units == 5
    row, = await adjustments(workspace)
    assert row.status is AdjustmentStatus.superseded and row.attempts == 0


async def test_an_edit_landing_while_planning_runs_leaves_one_open_intent(workspace):
    engine = workspace.engine
    async with workspace.sessions() as session:
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1", max_units=3)
        await session.commit()
    line, _ = await pending_intent(workspace, 5, 9)  # +4: held for approval
    held, = await adjustments(workspace)
    assert held.status is AdjustmentStatus.awaiting_approval
    line.set_market_total(7)  # +2 now: under the limit, so planning will want to replace the held change
    await engine.run_cycle(trigger="test", force_full=True, dry_run=True)

    async def edit() -> None:  # the person's Edit modal, submitted while planning holds the old proposal
        async with workspace.sessions() as session:
            await edit_change(session=session, adjustment_id=held.id, units_to=8, effective=engine.today(),
                              actor="U2", now=engine.clock(), today=engine.today())
            await session.commit()

    edits: list[int] = []
    async with workspace.sessions() as session:
        def edit_once_loaded(_session, instance) -> None:
            if isinstance(instance, Adjustment) and instance.id == held.id and not edits:
                edits.append(held.id)
                await_only(edit())

        event.listen(session.sync_session, "loaded_as_persistent", edit_once_loaded)
        await plan_levelling(session=session, today=engine.today(), now=engine.clock(),
                             trigger=AdjustmentTrigger.sync)
        await session.commit()

    assert edits == [held.id]
    rows = await adjustments(workspace)
    assert [a.status for a in rows if a.status in (AdjustmentStatus.pending, AdjustmentStatus.awaiting_approval)] \
        == [AdjustmentStatus.pending]
    assert rows[0].status is AdjustmentStatus.rejected and rows[0].decided_by == "U2"  # the edit stands
    await engine.post_outbox(ignore_backoff=True)
    assert len(line.writes()) == 1 and line.psa_units == 8



async def test_two_planners_overlapping_record_one_intent_per_service(workspace):
    """Another instance's cycle, `seatsync links import --apply`'s reconciliation or `seatsync sync --once`
    beside the service: each has its own engine (its own in-process lock). One plans while the other is between
    reading the open intents and recording its own; each change must still be intended, and posted, once."""
    marketplace, psa = workspace.names
    lines = pick_lines(workspace.sandbox.world, psa, 2)
    for line in lines:
        line.set_market_total(4)
        line.set_psa_units(4)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    for line in lines:
        await link_line(workspace, line, marketplace)
        line.set_market_total(9)
    engine = workspace.engine
    await engine.run_cycle(trigger="test", force_full=True, dry_run=True)  # reads the new counts

    async def plan_elsewhere() -> None:
        async with workspace.sessions() as session:
            await plan_levelling(session=session, today=engine.today(), now=engine.clock(),
                                 trigger=AdjustmentTrigger.sync, actor="other")
            await session.commit()

    overlaps: list[str] = []
    async with workspace.sessions() as session:
        def plan_once_open_intents_read(state) -> None:
            """On the statement after this planner's read of the open intents: the other one plans then."""
            if overlaps == ["read"]:
                overlaps.append("overlapped")
                await_only(plan_elsewhere())
            elif not overlaps and state.is_select and any(
                    d.get("entity") is Adjustment for d in state.statement.column_descriptions):
                overlaps.append("read")

        event.listen(session.sync_session, "do_orm_execute", plan_once_open_intents_read)
        await plan_levelling(session=session, today=engine.today(), now=engine.clock(),
                             trigger=AdjustmentTrigger.sync, actor="this")
        await session.commit()

    assert overlaps == ["read", "overlapped"]
    rows = await adjustments(workspace)
    assert sorted((a.psa_service_id, a.status.value) for a in rows) == sorted(
        (a.psa_service_id, "pending") for a in rows if a.triggered_by == "other")
    await engine.post_outbox(ignore_backoff=True)
    assert [len(line.writes()) for line in lines] == [1, 1] and [line.psa_units for line in lines] == [9, 9]
