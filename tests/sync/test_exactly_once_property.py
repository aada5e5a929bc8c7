"""Property: whatever the count history, the faults, the restarts, the kills mid-post and the posters racing from
other processes, the PSA ends equal to the marketplace for every linked resource, every change is in the
adjustments log once, and no PSA write was ever repeated (counted in the simulator, not in SeatSync's database)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.clock import ManualClock, OffsetClock
from bot.db.models import Adjustment, AdjustmentStatus, PsaService
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from bot.sync.engine import SyncEngine
from tests.conftest import PINNED_NOW, PINNED_TODAY, TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines, unthrottled_odin

LINES = 3
FAULTS = {
    "none": {},
    "throttled": {"rate_429": 0.3, "retry_after_s": 0.01},
    "failing": {"error_rates": {500: 0.3, 503: 0.1}},
    "lost replies": {"drop_reply_rate": 0.5},
    "timeouts": {"timeout_rate": 0.2, "timeout_s": 0.5},
    "everything": {"rate_429": 0.1, "retry_after_s": 0.01, "error_rates": {500: 0.15}, "drop_reply_rate": 0.3,
                   "timeout_rate": 0.1, "timeout_s": 0.5},
}

step = st.one_of(
    st.tuples(st.just("count"), st.integers(0, LINES - 1), st.integers(0, 40)),
    st.tuples(st.just("cycle"), st.sampled_from(sorted(FAULTS))),
    st.tuples(st.just("retry"), st.sampled_from(sorted(FAULTS))),
    st.tuples(st.just("restart")),
    st.tuples(st.just("killed"), st.sampled_from(["before its write", "after its write"])),
    st.tuples(st.just("race"), st.sampled_from(sorted(FAULTS))),
)
CLAIM_TTL = timedelta(seconds=1)  # short, so a killed process's claims expire within the scenario


class Killed(BaseException):
    """SIGKILL, as far as the process under test can tell."""


class DyingPsa:
    """The PSA connector of a process killed at its first write, before or after the write reaches the PSA."""

    def __init__(self, psa, after_write: bool) -> None:
        self._psa, self.after_write = psa, after_write

    def __getattr__(self, name):
        return getattr(self._psa, name)

    async def post_adjustment(self, request):
        if self.after_write:
            await self._psa.post_adjustment(request)
        raise Killed


def other_process(workspace, name: str, psa=None) -> SyncEngine:
    engine = workspace.engine
    return SyncEngine(sessions=workspace.sessions, marketplace=engine.marketplace, psa=psa or engine.psa,
                      clock=engine.clock, timezone=engine.timezone, instance_id=name, claim_ttl=CLAIM_TTL)


async def open_intents(workspace) -> list[int]:
    async with workspace.sessions() as session:
        return list(await session.scalars(select(Adjustment.id).where(Adjustment.status.in_(
            [AdjustmentStatus.pending, AdjustmentStatus.failed, AdjustmentStatus.posting])).order_by(Adjustment.id)))


async def scenario(psa: str, steps: list[tuple], seed: int, template: Path) -> None:
    marketplace = "odin" if psa == "autotask" else "ingram"
    sandbox = Sandbox.generate(seed=seed, scale="small", today=PINNED_TODAY)
    vendor_options = unthrottled_odin(sandbox)
    await sandbox.start()
    clock = ManualClock(PINNED_NOW)  # one clock across restarts, as the machine's would be
    with tempfile.TemporaryDirectory() as folder:
        shutil.copyfile(template, Path(folder) / "p.db")  # migrated once per test process, not per example
        url = f"sqlite+aiosqlite:///{Path(folder) / 'p.db'}"

        offset = timedelta(0)  # time moved on past the claims of killed processes

        async def workspace_over_same_db():
            opened = await open_workspace(sandbox=sandbox, database_url=url, secret_key=TEST_SECRET_KEY,
                                          marketplace=marketplace, psa=psa, connector_timeout=0.25, clock=clock,
                                          vendor_options=vendor_options)
            engine = opened.engine
            opened.engine = SyncEngine(sessions=opened.sessions, marketplace=engine.marketplace, psa=engine.psa,
                                       clock=OffsetClock(clock, offset), timezone=engine.timezone,
                                       claim_ttl=CLAIM_TTL)
            return opened

        workspace = await workspace_over_same_db()
        try:
            lines = pick_lines(sandbox.world, psa, LINES)
            await workspace.engine.run_cycle(trigger="test", force_full=True)
            links = [await link_line(workspace, line, marketplace) for line in lines]
            targets: dict[int, int] = {line.service_id: line.market.ordered for line in lines}
            known = dict(targets)  # the counts as SeatSync last read them (a cycle reads first)
            first_write = len(sandbox.world.write_log)
            await workspace.engine.reconcile_links(link_ids=links, actor="test")
            for action, *args in steps:
                if action == "count":
                    line = lines[args[0]]
                    line.set_market_total(args[1])
                    targets[line.service_id] = args[1]
                elif action == "restart":  # a new process over the same database
                    await workspace.marketplace.aclose()
                    await workspace.psa.aclose()
                    await workspace.db.dispose()
                    workspace = await workspace_over_same_db()
                elif action == "killed":  # another process is killed at its first write; its claim then expires
                    step_start = len(sandbox.world.write_log)
                    sandbox.faults[psa].reset()
                    dying = other_process(workspace, "killed", DyingPsa(workspace.psa, args[0] == "after its write"))
                    due = await open_intents(workspace)
                    try:
                        await dying.post_outbox(ignore_backoff=True, only_ids=due[:1])
                    except Killed:
                        pass
                    offset += CLAIM_TTL + timedelta(milliseconds=100)
                    workspace.engine.clock.offset = offset
                    for write in sandbox.world.write_log[step_start:]:
                        assert write.before != known.get(write.service_id, -1), f"duplicate write {write}"
                else:
                    step_start = len(sandbox.world.write_log)
                    sandbox.faults[psa].reset()
                    sandbox.faults[psa].update(FAULTS[args[0]])
                    if action == "cycle":
                        known = dict(targets)
                        await workspace.engine.run_cycle(trigger="test", ignore_backoff=True)
                    elif action == "race":  # posters in two more processes at once, beside this one's
                        await asyncio.gather(workspace.engine.post_outbox(ignore_backoff=True),
                                             *(other_process(workspace, name).post_outbox(ignore_backoff=True)
                                               for name in ("second", "third")))
                    else:
                        await workspace.engine.post_outbox(ignore_backoff=True)
                    # a write repeated now would land on a service already at the target SeatSync read
                    for write in sandbox.world.write_log[step_start:]:
                        assert write.before != known.get(write.service_id, -1) or write.after == write.before, (
                            f"duplicate write {write}")
            sandbox.faults[psa].reset()
            for _ in range(5):  # settle: the faults are gone; whatever is open must now land
                await workspace.engine.run_cycle(trigger="test", ignore_backoff=True)
            for line in lines:
                assert line.psa_units == line.market.ordered, f"{line.service_id} not levelled"
            writes = [w for w in sandbox.world.write_log[first_write:] if w.system == psa]
            assert all(w.service_id in targets for w in writes), "a write to a service SeatSync did not link"
            async with workspace.sessions() as session:
                posted = list(await session.execute(
                    select(Adjustment, PsaService.external_id).join(PsaService)
                    .where(Adjustment.status == AdjustmentStatus.posted).order_by(Adjustment.id)))
                still_open = list(await session.scalars(select(Adjustment).where(
                    Adjustment.status.in_([AdjustmentStatus.pending, AdjustmentStatus.posting,
                                           AdjustmentStatus.failed]))))
            assert still_open == []
            keys = [a.idempotency_key for a, _ in posted]
            assert len(keys) == len(set(keys))
            # every write the PSA saw is one posted adjustment, and vice versa: nothing lost, nothing twice
            per_service_writes = sorted((w.service_id, w.before, w.after) for w in writes)
            per_service_posted = sorted((int(service), a.units_from, a.units_to) for a, service in posted)
            assert per_service_writes == per_service_posted
        finally:
            await workspace.close()


def run(psa: str, steps: list[tuple], seed: int, template: Path) -> None:
    asyncio.run(scenario(psa, steps, seed, template))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=2, max_size=7), seed=st.integers(1, 3))
def test_autotask_exactly_once(steps, seed, _sqlite_template):
    run("autotask", steps, seed, _sqlite_template)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=2, max_size=7), seed=st.integers(1, 3))
def test_connectwise_exactly_once(steps, seed, _sqlite_template):
    run("connectwise", steps, seed, _sqlite_template)
