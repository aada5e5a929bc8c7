"""Several `seatsync serve` on one PostgreSQL database, each a worker of the job queue (bot.job_queue); a tenant's
sync cycle is queued, the instance running it is killed with SIGKILL while it posts, and another instance must pick
the job up (procrastinate's worker heartbeat, then `seatsync.retry_stalled`) and finish the cycle. Judged from the
PSA simulator's write log (tests/e2e/write_judge.py): nothing lost, nothing posted twice.

The one workspace is the only tenant here (the default tenant); `rounds` queues that tenant's
cycle again after each change of counts, so the job moves between instances while they run. Measured from the kill:
until another instance starts the tenant's cycle again (`picked_up_s`), until no intent is left claimed by the dead
instance (`claims_taken_over_s`), until that cycle ends (`synced_s`). No two cycles of the tenant may overlap except
the killed one (`overlapping_cycles`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from bot.db.models import Adjustment, AdjustmentStatus, SyncRun, SyncRunStatus
from bot.db.tenancy import DEFAULT_TENANT_ID
from bot.job_queue import create_queue, defer_tenant_job
from bot.sync.schedule import JobId
from tests.e2e.failover_harness import Instance, _wait_healthy, free_port
from tests.e2e.kill_harness import CountChanger
from tests.e2e.processes import (
    _MIGRATING,
    SECRET_KEY,
    SandboxProcess,
    SeatSyncProcess,
    child_env,
    posted_intents,
    prepare_database,
)
from tests.e2e.write_judge import Verdict, judge
from tests.sync.engine_setup import pick_lines

QUEUED_TRIGGER = "schedule"  # what bot.jobs.poll calls its cycles


@dataclass(frozen=True)
class QueueOptions:
    psa: str = "connectwise"
    seed: int = 23
    lines: int = 6
    instances: int = 3
    lease_seconds: float = 4.0  # heartbeat every second; a worker silent for 4 s is stalled
    worker_concurrency: int = 2
    rounds: int = 1  # cycles queued (after a change of counts each) before the one that is killed
    psa_latency_ms: float = 250.0  # a post holds its claim for 0.5-1 s: long enough to be killed holding it
    kill_within_s: float = 30.0
    settle_within: float = 90.0


@dataclass
class QueueRun:
    options: QueueOptions
    cycles_by_instance: dict[str, int] = field(default_factory=dict)
    killed: str = ""
    claims_at_kill: int = 0
    picked_up_s: float | None = None
    claims_taken_over_s: float | None = None
    synced_s: float | None = None
    picked_up_by: str = ""
    overlapping_cycles: int = 0
    verdict: Verdict | None = None
    settle_code: int | None = None
    seconds: float = 0.0

    def figures(self) -> dict:
        return {"psa": self.options.psa, "instances": self.options.instances, "tenants": 1,
                "lease_seconds": self.options.lease_seconds, "cycles_by_instance": self.cycles_by_instance,
                "killed": self.killed, "claims_at_kill": self.claims_at_kill, "picked_up_by": self.picked_up_by,
                "picked_up_s": _round(self.picked_up_s), "claims_taken_over_s": _round(self.claims_taken_over_s),
                "synced_s": _round(self.synced_s), "overlapping_cycles": self.overlapping_cycles,
                **(self.verdict.figures() if self.verdict else {}), "seconds": round(self.seconds, 1)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def run_queue_failover(options: QueueOptions, *, database_url: str, workdir: Path,
                             say: Callable[[str], None] = lambda _: None) -> QueueRun:
    started = time.monotonic()
    rng = random.Random(options.seed)
    result = QueueRun(options=options)
    sandbox = await SandboxProcess(seed=options.seed, log_path=workdir / "sandbox.log").start()
    db = create_engine(database_url)
    queue = create_queue(Settings(database_url=database_url, lease_seconds=options.lease_seconds))
    processes: list[SeatSyncProcess] = []
    try:
        async with _MIGRATING:  # the schema first: the instances start (slowly) while the MSP is set up
            await upgrade(db)
        base_env = dict(DATABASE_URL=database_url, SEATSYNC_SECRET_KEY=SECRET_KEY,
                        SEATSYNC_LEASE_SECONDS=f"{options.lease_seconds:g}",
                        SEATSYNC_WORKER_CONCURRENCY=str(options.worker_concurrency))
        instances: list[Instance] = []
        for number in range(options.instances):
            name, port = chr(ord("a") + number), free_port()
            (workdir / name).mkdir()
            env = child_env(**base_env, SEATSYNC_PORT=str(port), SEATSYNC_DATA_DIR=str(workdir / name))
            process = await SeatSyncProcess(args=["-m", "bot", "serve"], env=env,
                                            log_path=workdir / f"serve-{name}.log").spawn()
            processes.append(process)
            instances.append(Instance(name, port, process))
        lines = pick_lines(sandbox.world_copy.world, options.psa, options.lines)
        for line in lines:
            await sandbox.set_count(line, line.psa_units)
        units = await prepare_database(database_url=database_url, sandbox=sandbox, marketplace="ingram",
                                       psa=options.psa, lines=lines)
        say("the sandbox runs and SeatSync's database is set up")
        for instance in instances:
            await _wait_healthy(instance)
        say(f"{len(instances)} instances serve")
        await sandbox.set_faults(options.psa, {"latency_ms": options.psa_latency_ms, "latency_jitter_ms": 30})
        counts = CountChanger(sandbox, lines, {line.service_id: line.psa_units for line in lines}, rng)
        async with queue.open_async():
            for round_number in range(options.rounds):
                for line in lines:
                    await counts.change_line(line)
                ended = await _cycles(db, SyncRunStatus.succeeded)
                await _queue_cycle(queue)
                await _wait_for(lambda: _cycles(db, SyncRunStatus.succeeded), ended + 1, within=options.settle_within)
                say(f"round {round_number + 1}: the tenant's cycle ran")
            for line in lines:
                await counts.change_line(line)
            await _queue_cycle(queue)
            victim = await _instance_posting(db, instances, within=options.kill_within_s)
            result.claims_at_kill = await _claims(db, victim.owner_pattern)
            await victim.process.kill()
            killed_at = time.monotonic()
            result.killed = victim.name
            say(f"killed instance {victim.name} in mid-cycle, holding {result.claims_at_kill} claim(s)")
            survivors = [instance for instance in instances if instance is not victim]
            await _measure_pickup(db, survivors, victim, killed_at, result, limit=options.settle_within)
        await sandbox.reset_faults()
        result.cycles_by_instance = await _cycles_by_instance(db, instances)
        result.overlapping_cycles = await _overlaps(db, victim)
        settler = await SeatSyncProcess(
            args=["-m", "tests.e2e.cycle_runner", "--until-settled", "--within", f"{options.settle_within:g}"],
            env=child_env(**base_env, SEATSYNC_DATA_DIR=str(workdir)), log_path=workdir / "settle.log").spawn()
        processes.append(settler)
        result.settle_code = await settler.wait(options.settle_within + 10)
        result.verdict = judge(
            psa=options.psa, writes=await sandbox.writes(options.psa), history=await sandbox.history(),
            service_lines={line.service_id: (line.subscription_id, line.resource_id) for line in lines},
            initial_units=units, lifetimes=[p.lifetime for p in processes], posted=await posted_intents(database_url))
        return result
    finally:
        for process in processes:
            if process.running:
                await process.kill()
        await db.dispose()
        await sandbox.stop()
        result.seconds = time.monotonic() - started


async def _queue_cycle(queue) -> None:
    # as the minute tick does when the tenant's poll is due (a cycle already waiting is enough)
    await defer_tenant_job(queue, DEFAULT_TENANT_ID, JobId.SYNC_POLL)


async def _wait_for(count: Callable, at_least: int, *, within: float) -> None:
    deadline = time.monotonic() + within
    while await count() < at_least:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {at_least} queued cycles ended within {within:g} s")
        await asyncio.sleep(0.1)


async def _cycles(db: AsyncEngine, status: SyncRunStatus) -> int:
    async with db.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(SyncRun).where(
            SyncRun.trigger == QUEUED_TRIGGER, SyncRun.status == status))


async def _instance_posting(db: AsyncEngine, instances: list[Instance], *, within: float) -> Instance:
    """The instance whose queued cycle holds a claim on an intent (it is posting), once there is one."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for instance in instances:
            if await _claims(db, instance.owner_pattern):
                return instance
        await asyncio.sleep(0.005)
    raise RuntimeError(f"no instance held a claim within {within:g} s")


async def _claims(db: AsyncEngine, owner: str) -> int:
    async with db.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(Adjustment).where(
            Adjustment.claimed_by.like(owner), Adjustment.status == AdjustmentStatus.posting))


async def _measure_pickup(db: AsyncEngine, survivors: list[Instance], victim: Instance, killed_at: float,
                          result: QueueRun, *, limit: float) -> None:
    before = await _last_run_id(db)
    while time.monotonic() - killed_at < limit and result.synced_s is None:
        async with db.connect() as connection:
            rows = (await connection.execute(select(SyncRun.owner, SyncRun.status).where(
                SyncRun.id > before, SyncRun.trigger == QUEUED_TRIGGER).order_by(SyncRun.id))).all()
        for owner, status in rows:
            by = next((s for s in survivors if f":{s.process.pid}:" in (owner or "")), None)
            if by is None:
                continue
            if result.picked_up_s is None:
                result.picked_up_s, result.picked_up_by = time.monotonic() - killed_at, by.name
            if status in (SyncRunStatus.succeeded, SyncRunStatus.partial):
                result.synced_s = time.monotonic() - killed_at
        if result.claims_taken_over_s is None and not await _claims(db, victim.owner_pattern):
            result.claims_taken_over_s = time.monotonic() - killed_at
        await asyncio.sleep(0.02)


async def _last_run_id(db: AsyncEngine) -> int:
    async with db.connect() as connection:
        return await connection.scalar(select(func.coalesce(func.max(SyncRun.id), 0)))


async def _cycles_by_instance(db: AsyncEngine, instances: list[Instance]) -> dict[str, int]:
    async with db.connect() as connection:
        owners = (await connection.execute(select(SyncRun.owner).where(SyncRun.trigger == QUEUED_TRIGGER))).scalars()
        owners = list(owners)
    return {i.name: sum(1 for owner in owners if f":{i.process.pid}:" in (owner or "")) for i in instances}


async def _overlaps(db: AsyncEngine, victim: Instance) -> int:
    """Pairs of the tenant's queued cycles that ran at the same time, the killed instance's left out (its run is
    closed only when the next cycle finds it silent)."""
    async with db.connect() as connection:
        runs = (await connection.execute(select(SyncRun.started_at, SyncRun.finished_at, SyncRun.owner).where(
            SyncRun.trigger == QUEUED_TRIGGER).order_by(SyncRun.started_at))).all()
    spans = [(start, end) for start, end, owner in runs
             if end is not None and f":{victim.process.pid}:" not in (owner or "")]
    return sum(1 for (_, end), (start, _) in zip(spans, spans[1:], strict=False) if start < end)
