"""Crash consistency, proven by killing: SeatSync in its own process against the simulators in theirs, killed with
SIGKILL at random moments while it reads, plans and posts, restarted, and finally left to settle; then the PSA
simulator's write log is judged (`tests.e2e.write_judge`: nothing lost, no duplicate, nothing unexplained) and
SeatSync's own records checked against it.

Each round restarts SeatSync (the cycle runner, `tests/e2e/cycle_runner.py`, forked from a process that did its imports
once, `tests/e2e/cycle_forks.py`, so that a restart is immediate and cheap; every fifth round the real
`seatsync sync --once` in a fresh interpreter instead) and kills it:
- at a random moment;
- while it reads (its run is under way);
- while it posts (it holds a claim on an intent);
- right after one of its writes reached the PSA, before it could record the outcome.
Meanwhile the harness keeps changing the linked lines' counts, often back to the count before (the stale-target
case), and the PSA simulator drops replies, answers 500 or 429 and adds latency.
With Autotask, some of the linked lines feed a service bundle (a ContractServiceBundle, posted through
ContractServiceBundleAdjustments; the write log names it "bundle:<id>"), judged like the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.models import Adjustment, AdjustmentStatus, SyncRun, SyncRunStatus
from bot.sync.runs import INTERRUPTED
from tests.e2e.cycle_forks import CycleForks, ForkedCycleRunner
from tests.e2e.processes import (
    ROOT,
    SECRET_KEY,
    SandboxProcess,
    SeatSyncProcess,
    child_env,
    posted_intents,
    prepare_database,
)
from tests.e2e.write_judge import Record, Verdict, judge
from tests.sync.engine_setup import Line, pick_bundle_lines, pick_lines

MODES = ("random", "reading", "posting", "landed")
PSA_FAULTS = {"latency_ms": 3, "latency_jitter_ms": 12, "error_rates": {"500": 0.03}, "rate_429": 0.03,
              "retry_after_s": 0.02, "drop_reply_rate": 0.06}
MARKETPLACE_FAULTS = {"latency_ms": 1, "latency_jitter_ms": 4, "error_rates": {"503": 0.02}}


@dataclass(frozen=True)
class KillOptions:
    psa: str = "autotask"
    marketplace: str = "odin"
    kills: int = 30
    seed: int = 11
    lines: int = 4
    bundles: int = 2  # of those lines, how many feed an Autotask service bundle (Autotask only)
    lease_seconds: float = 4.0  # claims live 3 s: a killed process's claims are taken over that much later
    cli_every: int = 5  # every n-th round is the real `seatsync sync --once`
    settle_within: float = 90.0


@dataclass
class KillRun:
    options: KillOptions
    kills: int = 0
    rounds: int = 0
    phases: Counter = field(default_factory=Counter)  # where each kill landed
    verdict: Verdict | None = None
    killed_runs: list[int] = field(default_factory=list)  # runs that were under way when their process was killed
    interrupted_runs: list[int] = field(default_factory=list)  # runs marked interrupted by a later start
    running_runs: int = 0  # runs still `running` after settling
    count_changes: int = 0
    seconds: float = 0.0
    settle_code: int | None = None

    def figures(self) -> dict:
        return {"psa": self.options.psa, "marketplace": self.options.marketplace, "kills": self.kills,
                "rounds": self.rounds, "phases": dict(self.phases), "count_changes": self.count_changes,
                **(self.verdict.figures() if self.verdict else {}), "killed_runs": len(self.killed_runs),
                "interrupted_runs": len(self.interrupted_runs), "running_runs": self.running_runs,
                "seconds": round(self.seconds, 1)}


async def run_kill_harness(options: KillOptions, workdir: Path, say: Callable[[str], None] = lambda _: None,
                           ) -> KillRun:
    started = time.monotonic()
    rng = random.Random(options.seed)
    result = KillRun(options=options)
    sandbox = await SandboxProcess(seed=options.seed, log_path=workdir / "sandbox.log").start()
    database_url = f"sqlite+aiosqlite:///{workdir / 'seatsync.db'}"
    db = create_engine(database_url)
    processes: list[SeatSyncProcess | ForkedCycleRunner] = []
    spare: ForkedCycleRunner | None = None
    forks: CycleForks | None = None
    try:
        lines = linked_lines(sandbox.world_copy.world, options)
        for line in lines:  # level to begin with (the PSA's units as generated); the count history starts here
            await sandbox.set_count(line, line.psa_units)
        units = await prepare_database(database_url=database_url, sandbox=sandbox, marketplace=options.marketplace,
                                       psa=options.psa, lines=lines)
        assert units == {line.record: line.psa_units for line in lines}, units
        env = child_env(DATABASE_URL=database_url, SEATSYNC_SECRET_KEY=SECRET_KEY, SEATSYNC_DATA_DIR=str(workdir),
                        SEATSYNC_LEASE_SECONDS=f"{options.lease_seconds:g}")
        runner = ["--until-settled", "--within", f"{options.settle_within:g}"]
        forks = await CycleForks(env=env, cwd=ROOT).start()

        def prewarm() -> ForkedCycleRunner:
            return ForkedCycleRunner(forks=forks, args=runner, log_path=workdir / "seatsync.log")

        await sandbox.set_faults(options.psa, PSA_FAULTS)
        await sandbox.set_faults(options.marketplace, MARKETPLACE_FAULTS)
        counts = CountChanger(sandbox, lines, {line.record: units[line.record] for line in lines}, rng)
        changing = asyncio.create_task(counts.run())
        spare = await prewarm().spawn()
        while result.kills < options.kills and result.rounds < options.kills * 3:
            result.rounds += 1
            await counts.change(rng.randint(1, 3))
            if options.cli_every and result.rounds % options.cli_every == 0:
                process = await SeatSyncProcess(args=["-m", "bot", "sync", "--once"], env=env,
                                                log_path=workdir / "seatsync.log").spawn()
                mode = "cli"
            else:
                process, spare = spare, await prewarm().spawn()
                await process.go()
                mode = MODES[result.rounds % len(MODES)]
            processes.append(process)
            cycle_s = await _typical_cycle_s(db)
            await _moment(mode, process, db=db, sandbox=sandbox, psa=options.psa, rng=rng, cycle_s=cycle_s)
            if not process.running:  # it finished (settled, or the CLI's one cycle) before the moment came
                await process.wait(5)
                continue
            await process.kill()
            phase, live_run = await _phase(db, process.pid)  # as the kill left it
            result.kills += 1
            result.phases[f"{mode}: {phase}"] += 1
            if live_run is not None:
                result.killed_runs.append(live_run)
            if result.kills % 10 == 0:
                say(f"{options.psa}: {result.kills} kills, {len(await sandbox.writes(options.psa))} writes")
        changing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await changing
        result.count_changes = counts.changes
        await sandbox.reset_faults()
        settler, spare = spare, None
        processes.append(settler)
        await settler.go()
        result.settle_code = await settler.wait(options.settle_within + 10)
        result.verdict = judge(
            psa=options.psa, writes=await sandbox.writes(options.psa), history=await sandbox.history(),
            service_lines={line.record: (line.subscription_id, line.resource_id) for line in lines},
            initial_units=units, lifetimes=[p.lifetime for p in processes if p.started is not None],
            posted=await posted_intents(database_url))
        async with db.connect() as connection:
            result.interrupted_runs = list((await connection.execute(
                select(SyncRun.id).where(SyncRun.error == INTERRUPTED).order_by(SyncRun.id))).scalars())
            result.running_runs = (await connection.execute(
                select(func.count()).select_from(SyncRun).where(SyncRun.status == SyncRunStatus.running))).scalar()
        return result
    finally:
        for process in [*processes, *([spare] if spare else [])]:
            if process.running:
                await process.kill()
        if forks is not None:
            await forks.stop()
        await db.dispose()
        await sandbox.stop()
        result.seconds = time.monotonic() - started


def linked_lines(world, options: KillOptions) -> list[Line]:
    """The lines the harness links: with Autotask, `bundles` of them feed a service bundle, the rest a service."""
    bundles = pick_bundle_lines(world, options.bundles) if options.psa == "autotask" else []
    assert len(bundles) == (options.bundles if options.psa == "autotask" else 0), "the world bills too few bundles"
    return pick_lines(world, options.psa, options.lines - len(bundles)) + bundles


class CountChanger:
    """Customers buying and dropping seats while SeatSync runs: often back to the count before the last one."""

    def __init__(self, sandbox: SandboxProcess, lines: list[Line], counts: dict[Record, int],
                 rng: random.Random) -> None:
        self.sandbox, self.lines, self.rng = sandbox, lines, rng
        self.history = {service: [count] for service, count in counts.items()}
        self.changes = 0

    async def change(self, how_many: int = 1) -> None:
        for _ in range(how_many):
            await self.change_line(self.rng.choice(self.lines))

    async def change_line(self, line: Line) -> None:
        past = self.history[line.record]
        if len(past) >= 2 and self.rng.random() < 0.4:
            total = past[-2]  # moved back: an intent planned for the last count is now stale
        else:
            total = self.rng.choice([n for n in range(0, 31) if n != past[-1]])
        await self.sandbox.set_count(line, total)
        past.append(total)
        self.changes += 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(0.1, 0.5))
            await self.change()


async def _typical_cycle_s(db: AsyncEngine) -> float:
    """How long SeatSync's recent cycles took (the median of the last five that finished), so kills land inside
    cycles however loaded the machine is."""
    async with db.connect() as connection:
        rows = (await connection.execute(
            select(SyncRun.started_at, SyncRun.finished_at)
            .where(SyncRun.status.in_([SyncRunStatus.succeeded, SyncRunStatus.partial]),
                   SyncRun.trigger == "cli", SyncRun.finished_at.is_not(None))
            .order_by(SyncRun.id.desc()).limit(5))).all()
    durations = sorted((finished - started).total_seconds() for started, finished in rows)
    return durations[len(durations) // 2] if durations else 1.0


async def _moment(mode: str, process: SeatSyncProcess, *, db: AsyncEngine, sandbox: SandboxProcess, psa: str,
                  rng: random.Random, cycle_s: float) -> None:
    """Wait for the moment to kill `process` at (or for it to end, or for a few cycles' time)."""
    owner = f"%:{process.pid}:%"
    if mode in ("random", "cli"):  # the CLI needs a second or two to start
        await _sleep_while_running(process, rng.uniform(0.05, 0.5 + 2 * cycle_s) + (1.5 if mode == "cli" else 0.0))
        return
    writes_before = await sandbox.write_count(psa) if mode == "landed" else 0
    deadline = time.monotonic() + 3.0 + 4 * cycle_s
    while process.running and time.monotonic() < deadline:
        if mode == "reading":
            async with db.connect() as connection:
                if await connection.scalar(select(func.count()).select_from(SyncRun).where(
                        SyncRun.owner.like(owner), SyncRun.status == SyncRunStatus.running)):
                    await asyncio.sleep(rng.uniform(0, 0.15))
                    return
        elif mode == "posting":
            async with db.connect() as connection:
                if await connection.scalar(select(func.count()).select_from(Adjustment).where(
                        Adjustment.claimed_by.like(owner), Adjustment.status == AdjustmentStatus.posting)):
                    await asyncio.sleep(rng.uniform(0, 0.02))
                    return
        elif await sandbox.write_count(psa) > writes_before:  # landed: kill before it can record the outcome
            return
        await asyncio.sleep(0.005)


async def _sleep_while_running(process: SeatSyncProcess, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await process.wait(seconds)


async def _phase(db: AsyncEngine, pid: int) -> tuple[str, int | None]:
    """Where the process is, seen from the database: its latest run and whether it holds a claim."""
    owner = f"%:{pid}:%"
    async with db.connect() as connection:
        run = (await connection.execute(select(SyncRun.id, SyncRun.status).where(SyncRun.owner.like(owner))
                                        .order_by(SyncRun.id.desc()).limit(1))).first()
        claims = await connection.scalar(select(func.count()).select_from(Adjustment).where(
            Adjustment.claimed_by.like(owner), Adjustment.status == AdjustmentStatus.posting))
    if run is None:
        return "starting", None
    live = run.id if run.status == SyncRunStatus.running else None
    if claims:
        return "posting", live
    return ("reading or planning", live) if live is not None else ("between cycles", None)
