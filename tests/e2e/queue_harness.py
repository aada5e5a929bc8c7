"""Several `seatsync serve` on one PostgreSQL database, each a worker of the job queue (bot.job_queue), serving
several tenants; every tenant's sync cycle is queued, the instance running one is killed with SIGKILL while it posts,
and another instance must pick the job up (procrastinate's worker heartbeat, then `seatsync.retry_stalled`) and
finish it. Judged from the PSA simulator's write log (tests/e2e/write_judge.py): nothing lost, nothing posted twice.

The tenants are the default one and `tenants - 1` more (bot.db.tenancy), each with its own connections (secrets
under its own key) to the one sandbox and its own lines of it, disjoint from the others', so the write log tells
every tenant's writes apart. Each round changes every line's count and queues every tenant's cycle, as the minute
tick does when their polls are due. Measured from the kill: until another instance starts the killed tenant's cycle
(`picked_up_s`), until no intent is left claimed by the dead instance (`claims_taken_over_s`), until every tenant's
cycle queued before the kill has ended (`synced_s`). No two cycles of one tenant may overlap, the killed one aside
(`overlapping_cycles`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db.connection_budget import ConnectionBudget
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import Adjustment, AdjustmentStatus, PsaService, SyncRun, SyncRunStatus
from bot.db.tenancy import DEFAULT_TENANT_ID, ensure_tenant, tenant_scope
from bot.job_queue import create_queue, defer_tenant_job
from bot.keys import SecretBox
from bot.services.tenant_probe import probe_cross_tenant_reads
from bot.sync.schedule import JobId
from tests.e2e.connection_meter import ConnectionMeter
from tests.e2e.cpu_meter import CpuMeter, CpuReading, process_cpu_s
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
    save_sandbox_connections,
    utc_now,
)
from tests.e2e.write_judge import Verdict, judge
from tests.sync.engine_setup import Line, pick_lines

QUEUED_TRIGGER = "schedule"  # what bot.jobs.poll calls its cycles
DONE = (SyncRunStatus.succeeded, SyncRunStatus.partial)


@dataclass(frozen=True)
class QueueOptions:
    psa: str = "connectwise"
    seed: int = 23
    tenants: int = 3
    lines_per_tenant: int = 3
    instances: int = 3
    lease_seconds: float = 6.0  # heartbeat every 1.5 s; a worker silent for 6 s is stalled
    worker_concurrency: int = 2
    rounds: int = 1  # rounds of every tenant's cycle before the one in which an instance is killed
    psa_latency_ms: float = 250.0  # a post holds its claim for 0.5-1 s: long enough to be killed holding it
    kill_within_s: float = 30.0
    settle_within: float = 90.0
    set_up_at_once: int = 1  # tenants set up (and settled at the end) side by side: the bench's hundreds
    meter_cpu: bool = False  # CPU seconds of the instances and their PostgreSQL backends over the rounds (cpu_meter)
    idle_s: float = 0.0  # before the rounds, this long with only the minute tick's jobs, metered on its own
    stall_check_fix: bool = False  # serve with the stall check every N seconds as meant (tests/e2e/bench_serve.py)
    profile: bool = False  # serve under cProfile; each instance's statistics of the rounds in <workdir>/<name>.prof
    db_pool_size: int | None = None  # SEATSYNC_DB_POOL_SIZE of the instances (None: the default for the concurrency)
    set_up_processes: int = 0  # tenants set up in this many processes of their own (tests/e2e/tenant_setup.py)
    vendor_accounts: int = 1  # the sandbox's per-account vendor quotas this many times over (one per tenant, as real)
    # the database is a copy of an earlier run's set-up (same tenants, seed, PSA and day): nothing to set up
    set_up_done: bool = False
    save_set_up_as: str | None = None  # once set up, copy the database under this name for a later run to start from

    @property
    def connection_budget(self) -> int:
        """What each instance states it holds at most (bot.db.connection_budget)."""
        settings = Settings(worker_concurrency=self.worker_concurrency, db_pool_size=self.db_pool_size)
        return ConnectionBudget.for_settings(settings, queue=True).total


@dataclass
class QueueRun:
    options: QueueOptions
    cycles_by_instance: dict[str, int] = field(default_factory=dict)
    killed: str = ""
    killed_tenants: list[int] = field(default_factory=list)  # whose cycle the killed instance was running
    claims_at_kill: int = 0
    picked_up_s: float | None = None
    picked_up_by: str = ""
    claims_taken_over_s: float | None = None
    synced_s: float | None = None
    tenants_synced: int = 0  # tenants whose cycle queued in the kill round ended (on whichever instance)
    round_s: list[float] = field(default_factory=list)  # from queueing every tenant's cycle until each ended
    linked_lines: int = 0
    overlapping_cycles: int = 0
    verdict: Verdict | None = None
    settle_codes: dict[int, int | None] = field(default_factory=dict)  # per settling process
    seconds: float = 0.0
    cycles_in_rounds: int = 0  # queued cycles that ended during the rounds, the tick's own included
    cpu_rounds: CpuReading | None = None  # CPU spent during the rounds
    idle_cycles: int = 0
    cpu_idle: CpuReading | None = None  # CPU spent in the idle window (the minute tick's jobs only, and its polls)
    load_average: list[float] = field(default_factory=list)  # at the start of the rounds, 1 / 5 / 15 minutes
    peak_connections: dict[str, int] = field(default_factory=dict)  # per instance, from start to the kill's end
    cross_tenant_reads: int | None = None  # rows some tenant's read paths showed of another (tenant_probe)
    set_up_s: float = 0.0
    set_up_cpu_s: dict[str, float] = field(default_factory=dict)  # the set-up processes' CPU, and the sandbox's

    def figures(self) -> dict:
        return {"psa": self.options.psa, "instances": self.options.instances, "tenants": self.options.tenants,
                "lease_seconds": self.options.lease_seconds, "cycles_by_instance": self.cycles_by_instance,
                "killed": self.killed, "killed_tenants": self.killed_tenants, "claims_at_kill": self.claims_at_kill,
                "picked_up_by": self.picked_up_by, "picked_up_s": _round(self.picked_up_s),
                "claims_taken_over_s": _round(self.claims_taken_over_s), "synced_s": _round(self.synced_s),
                "tenants_synced": self.tenants_synced, "overlapping_cycles": self.overlapping_cycles,
                "round_s": [round(s, 2) for s in self.round_s], "linked_lines": self.linked_lines,
                "settle_codes": self.settle_codes, **(self.verdict.figures() if self.verdict else {}),
                "seconds": round(self.seconds, 1), "stall_check_fix": self.options.stall_check_fix,
                "set_up_s": round(self.set_up_s, 1), "set_up_cpu_s": self.set_up_cpu_s,
                "connection_budget": self.options.connection_budget,
                "peak_connections": self.peak_connections, "cross_tenant_reads": self.cross_tenant_reads,
                **self.cpu_figures()}

    def cpu_figures(self) -> dict:
        if self.cpu_rounds is None:
            return {}
        figures = {"load_average": [round(load, 2) for load in self.load_average],
                   "cycles_in_rounds": self.cycles_in_rounds, "cpu_rounds_s": _cpu(self.cpu_rounds)}
        if self.cpu_idle is not None:
            figures |= {"idle_s": self.options.idle_s, "idle_cycles": self.idle_cycles,
                        "cpu_idle_s": _cpu(self.cpu_idle)}
        return figures


def _cpu(reading: CpuReading) -> dict:
    return {"instances": round(reading.processes_s, 2), "postgres": round(reading.backends_s, 2),
            **{name: round(value, 2) for name, value in reading.others_s.items()}}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def run_queue_failover(options: QueueOptions, *, database_url: str, workdir: Path,
                             say: Callable[[str], None] = lambda _: None) -> QueueRun:
    started = time.monotonic()
    rng = random.Random(options.seed)
    result = QueueRun(options=options)
    sandbox = await SandboxProcess(seed=options.seed, log_path=workdir / "sandbox.log",
                                   vendor_accounts=options.vendor_accounts).start()
    db = create_engine(database_url)
    queue = create_queue(Settings(database_url=database_url, lease_seconds=options.lease_seconds))
    processes: list[SeatSyncProcess] = []
    meter: CpuMeter | None = None
    connections = ConnectionMeter(dsn=_asyncpg_dsn(database_url))
    try:
        base_env = dict(DATABASE_URL=database_url, SEATSYNC_SECRET_KEY=SECRET_KEY,
                        SEATSYNC_LEASE_SECONDS=f"{options.lease_seconds:g}",
                        SEATSYNC_WORKER_CONCURRENCY=str(options.worker_concurrency),
                        **({"SEATSYNC_DB_POOL_SIZE": str(options.db_pool_size)} if options.db_pool_size else {}))
        async with _MIGRATING:
            await upgrade(db)
        set_up_from, children_from, sandbox_from = time.monotonic(), _children_cpu_s(), process_cpu_s(sandbox.pid)
        lines, units = await _set_up_tenants(db, sandbox, options, database_url, workdir)
        result.set_up_s = time.monotonic() - set_up_from
        if options.save_set_up_as:
            await _save_set_up(db, database_url, options.save_set_up_as)
            say(f"the set-up is kept as database {options.save_set_up_as} (drop it when done)")
        if options.set_up_processes and not options.set_up_done:  # CPU, not wall-clock: the machine is shared
            result.set_up_cpu_s = {"set_up_processes": round(_children_cpu_s() - children_from, 1),
                                   "sandbox": round((process_cpu_s(sandbox.pid) or 0.0) - (sandbox_from or 0.0), 1)}
        every_line = [line for own in lines.values() for line in own]
        result.linked_lines = len(every_line)
        say(f"the sandbox runs and {len(lines)} tenants are set up")
        # the instances start once the tenants are set up: a tick's cycle and the set-up's first read of one tenant
        # would both insert its companies (concurrent first reads of one tenant collide, queue or not)
        bench_serve = options.stall_check_fix or options.profile
        serve = ["-m", "tests.e2e.bench_serve" if bench_serve else "bot", "serve"]
        instances = [await _spawn_instance(number, serve, base_env, workdir, stall_check_fix=options.stall_check_fix,
                                           profile=options.profile) for number in range(options.instances)]
        processes.extend(instance.process for instance in instances)
        for instance in instances:
            await _wait_healthy(instance)
        await connections.start()
        say(f"{len(instances)} instances serve, each within {options.connection_budget} connections")
        if options.meter_cpu:
            meter = await CpuMeter(dsn=_asyncpg_dsn(database_url), pids={i.process.pid for i in instances},
                                   apart={"sandbox": sandbox.pid}).start()
            if options.idle_s:
                idle_from, cycles_from = await meter.sample(), await _ended_all(db)
                await asyncio.sleep(options.idle_s)
                result.cpu_idle = (await meter.sample()).minus(idle_from)
                result.idle_cycles = await _ended_all(db) - cycles_from
                say(f"{options.idle_s:g} s idle: {result.cpu_idle}")
        await sandbox.set_faults(options.psa, {"latency_ms": options.psa_latency_ms, "latency_jitter_ms": 30})
        counts = CountChanger(sandbox, every_line, dict(units), rng)
        async with queue.open_async():
            result.load_average = list(os.getloadavg())
            if options.profile:
                _profile_dump(instances)  # the start-up's and idle window's: overwritten after the rounds
            rounds_from = await meter.sample() if meter is not None else None
            cycles_from = await _ended_all(db)
            for round_number in range(options.rounds):
                round_started = time.monotonic()
                ended = await _queue_round(db, queue, counts, lines)
                await _wait_until_each_ended(db, ended, within=options.settle_within)
                result.round_s.append(time.monotonic() - round_started)
                say(f"round {round_number + 1}: every tenant's cycle ran")
            if options.profile:
                _profile_dump(instances)  # the rounds' statistics, in place of these
            if meter is not None and rounds_from is not None:
                result.cpu_rounds = (await meter.sample()).minus(rounds_from)
                result.cycles_in_rounds = await _ended_all(db) - cycles_from
                say(f"the rounds: {result.cycles_in_rounds} cycles, {result.cpu_rounds}")
            ended = await _queue_round(db, queue, counts, lines)
            before_kill = await _last_run_id(db)
            victim = await _instance_posting(db, instances, within=options.kill_within_s)
            result.claims_at_kill = await _claims(db, victim.owner_pattern)
            result.killed_tenants = await _running_tenants(db, victim)
            await victim.process.kill()
            killed_at = time.monotonic()
            result.killed = victim.name
            say(f"killed instance {victim.name} in mid-cycle of tenant(s) {result.killed_tenants}, holding "
                f"{result.claims_at_kill} claim(s)")
            survivors = [instance for instance in instances if instance is not victim]
            await _measure_pickup(db, survivors, victim, killed_at, before_kill, ended, result,
                                  limit=options.settle_within)
        await connections.stop()
        result.peak_connections = {i.name: connections.peak_of(i.process.pid) for i in instances}
        await sandbox.reset_faults()
        result.cycles_by_instance = await _cycles_by_instance(db, instances)
        result.overlapping_cycles = await _overlaps(db, victim)
        settling = [tenant_id for tenant_id, own in lines.items() if own]  # a tenant with no line posts nothing
        settlers = []
        for number in range(min(options.set_up_at_once, len(settling))):
            tenant_ids = [str(tenant_id) for tenant_id in settling[number::options.set_up_at_once]]
            settlers.append(await SeatSyncProcess(
                args=["-m", "tests.e2e.cycle_runner", "--until-settled", "--within", f"{options.settle_within:g}",
                      "--tenant", *tenant_ids],
                env=child_env(**base_env, SEATSYNC_DATA_DIR=str(workdir)),
                log_path=workdir / f"settle-{number}.log").spawn())
        processes.extend(settlers)
        codes = await asyncio.gather(*(settler.wait(options.settle_within * len(settling) + 10)
                                       for settler in settlers))
        result.settle_codes = dict(enumerate(codes))
        say("settled; probing every tenant's read paths for another tenant's rows")
        result.cross_tenant_reads = await probe_cross_tenant_reads(sessions=session_factory(db),
                                                                   box=SecretBox(SECRET_KEY), now=utc_now())
        posted = []
        for tenant_id in settling:
            with tenant_scope(tenant_id):
                posted += await posted_intents(database_url)
        result.verdict = judge(
            psa=options.psa, writes=await sandbox.writes(options.psa), history=await sandbox.history(),
            service_lines={line.service_id: (line.subscription_id, line.resource_id) for line in every_line},
            initial_units=units, lifetimes=[p.lifetime for p in processes], posted=posted)
        return result
    finally:
        for process in processes:
            if process.running:
                await process.kill()
        await connections.stop()
        await db.dispose()
        await sandbox.stop()
        if meter is not None:  # last: a failing meter must not leave the processes running
            await meter.stop()
        result.seconds = time.monotonic() - started


def _children_cpu_s() -> float:
    """CPU of this process's children that ended and were waited for (the set-up processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _profile_dump(instances: list[Instance]) -> None:
    for instance in instances:
        assert instance.process.process is not None
        instance.process.process.send_signal(signal.SIGUSR1)


async def _spawn_instance(number: int, serve: list[str], base_env: dict[str, str], workdir: Path, *,
                          stall_check_fix: bool, profile: bool) -> Instance:
    name, port = chr(ord("a") + number), free_port()
    (workdir / name).mkdir()
    bench = ({"SEATSYNC_BENCH_STALL_FIX": "1"} if stall_check_fix else {}) | (
        {"SEATSYNC_BENCH_PROFILE": str(workdir / f"{name}.prof")} if profile else {})
    env = child_env(**base_env, **bench, SEATSYNC_PORT=str(port), SEATSYNC_DATA_DIR=str(workdir / name))
    process = await SeatSyncProcess(args=serve, env=env,
                                    log_path=workdir / f"serve-{name}.log").spawn()
    return Instance(name, port, process)


async def _set_up_tenants(db: AsyncEngine, sandbox: SandboxProcess, options: QueueOptions,
                          database_url: str, workdir: Path) -> tuple[dict[int, list[Line]], dict[int, int]]:
    """Each tenant's lines (disjoint), and every linked service's units as read; the counts levelled to begin
    with."""
    tenant_ids = [DEFAULT_TENANT_ID]
    async with session_factory(db)() as session:
        for number in range(1, options.tenants):
            tenant_ids.append(await ensure_tenant(session, team_id=f"T0QUEUE{number:04d}", enterprise_id=None,
                                                  is_enterprise_install=False))
        await session.commit()
    world = sandbox.world_copy.world
    # the sandbox's lines go round; past them, a tenant has none linked (it is still read in full each cycle)
    picked = pick_lines(world, options.psa, min(options.tenants * options.lines_per_tenant,
                                                 len(pick_lines(world, options.psa, 10_000))))
    lines = {tenant_id: picked[index * options.lines_per_tenant:(index + 1) * options.lines_per_tenant]
             for index, tenant_id in enumerate(tenant_ids)}
    for line in picked:
        await sandbox.set_count(line, line.psa_units)
    if options.set_up_done:
        return lines, await _units_as_stored(db, sandbox, options, lines)
    if options.set_up_processes:
        return lines, await _set_up_in_processes(sandbox, options, database_url, workdir, lines)
    units: dict[int, int] = {}
    turns = asyncio.Semaphore(options.set_up_at_once)

    async def set_up(tenant_id: int) -> None:
        async with turns:
            with tenant_scope(tenant_id):
                units.update(await prepare_database(database_url=database_url, sandbox=sandbox, marketplace="ingram",
                                                    psa=options.psa, lines=lines[tenant_id], migrate=False))

    await asyncio.gather(*(set_up(tenant_id) for tenant_id in tenant_ids))
    return lines, units


async def _units_as_stored(db: AsyncEngine, sandbox: SandboxProcess, options: QueueOptions,
                           lines: dict[int, list[Line]]) -> dict[int, int]:
    """Each linked service's units as the set-up read them (what `prepare_database` returned then), each tenant's
    connections pointed at this run's sandbox."""
    units: dict[int, int] = {}
    for tenant_id, own in lines.items():
        with tenant_scope(tenant_id):
            async with session_factory(db)() as session:
                await save_sandbox_connections(session, sandbox, "ingram", options.psa)
                await session.commit()
                for line in own:
                    units[line.service_id] = await session.scalar(
                        select(PsaService.units).where(PsaService.external_id == str(line.service_id)))
    return units


async def _save_set_up(db: AsyncEngine, database_url: str, name: str) -> None:
    """A copy of the set-up database (PostgreSQL's template copy: nobody may be connected to it meanwhile)."""
    await db.dispose()
    url = make_url(database_url)
    admin = await asyncpg.connect(_asyncpg_dsn(database_url).replace(f"/{url.database}", "/postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    finally:
        await admin.close()


async def _set_up_in_processes(sandbox: SandboxProcess, options: QueueOptions, database_url: str, workdir: Path,
                               lines: dict[int, list[Line]]) -> dict[int, int]:
    """The tenants dealt out to `set_up_processes` processes of tests/e2e/tenant_setup.py, each setting up its share
    `set_up_at_once` / processes at a time: the harness alone would set them up on one core."""
    count = options.set_up_processes
    at_once = max(1, options.set_up_at_once // count)
    tenant_ids = list(lines)
    setters = []
    for number in range(count):
        job = {"database_url": database_url, "seed": options.seed, "sandbox_url": sandbox.base_url,
               "marketplace": "ingram", "psa": options.psa, "at_once": at_once,
               "tenants": {str(t): [line.service_id for line in lines[t]] for t in tenant_ids[number::count]}}
        (workdir / f"set-up-{number}.json").write_text(json.dumps(job))
        setters.append(await SeatSyncProcess(
            args=["-m", "tests.e2e.tenant_setup", str(workdir / f"set-up-{number}.json"),
                  str(workdir / f"units-{number}.json")],
            env=child_env(SEATSYNC_DATA_DIR=str(workdir)), log_path=workdir / f"set-up-{number}.log").spawn())
    try:
        codes = await asyncio.gather(*(setter.wait(options.settle_within * len(tenant_ids)) for setter in setters))
    finally:
        for setter in setters:
            if setter.running:
                await setter.kill()
    if any(codes):
        raise RuntimeError(f"setting the tenants up failed: exit codes {codes}; see {workdir}/set-up-*.log")
    units: dict[int, int] = {}
    for number in range(count):
        units.update({int(service): value for service, value in
                      json.loads((workdir / f"units-{number}.json").read_text()).items()})
    return units


async def _queue_round(db: AsyncEngine, queue, counts: CountChanger, lines: dict[int, list[Line]]
                       ) -> dict[int, int]:
    """Every line's count changes, then every tenant's cycle is queued (as the minute tick does when their polls
    are due); returns each tenant's count of ended cycles before."""
    for line in counts.lines:
        await counts.change_line(line)
    so_far = await _ended_by_tenant(db)
    ended = {tenant_id: so_far.get(tenant_id, 0) for tenant_id in lines}
    for tenant_id in lines:
        await defer_tenant_job(queue, tenant_id, JobId.SYNC_POLL)
    return ended


async def _wait_until_each_ended(db: AsyncEngine, ended: dict[int, int], *, within: float) -> None:
    deadline = time.monotonic() + within
    while _not_yet(ended, await _ended_by_tenant(db)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every tenant's queued cycle ended within {within:g} s")
        await asyncio.sleep(0.1)


async def _ended_all(db: AsyncEngine) -> int:
    async with db.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(SyncRun).where(
            SyncRun.trigger == QUEUED_TRIGGER, SyncRun.status.in_(DONE)))


def _asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _ended_by_tenant(db: AsyncEngine) -> dict[int, int]:
    """Each tenant's count of ended queued cycles, in one query (the harness polls it for hundreds of tenants)."""
    # the harness connects as the database's owner, above row-level security: it reads every tenant's rows
    async with db.connect() as connection:
        rows = await connection.execute(select(SyncRun.tenant_id, func.count()).where(
            SyncRun.trigger == QUEUED_TRIGGER, SyncRun.status.in_(DONE)).group_by(SyncRun.tenant_id))
        return {tenant_id: count for tenant_id, count in rows}


def _not_yet(ended_before: dict[int, int], so_far: dict[int, int]) -> bool:
    return any(so_far.get(tenant, 0) <= before for tenant, before in ended_before.items())


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


async def _running_tenants(db: AsyncEngine, instance: Instance) -> list[int]:
    async with db.connect() as connection:
        return sorted(set((await connection.execute(select(SyncRun.tenant_id).where(
            SyncRun.owner.like(instance.owner_pattern), SyncRun.status == SyncRunStatus.running))).scalars()))


async def _measure_pickup(db: AsyncEngine, survivors: list[Instance], victim: Instance, killed_at: float,
                          before_kill: int, ended: dict[int, int], result: QueueRun, *, limit: float) -> None:
    while time.monotonic() - killed_at < limit and result.synced_s is None:
        async with db.connect() as connection:
            owners = (await connection.execute(select(SyncRun.owner).where(
                SyncRun.id > before_kill, SyncRun.trigger == QUEUED_TRIGGER,
                SyncRun.tenant_id.in_(result.killed_tenants)).order_by(SyncRun.id))).scalars().all()
        by = next((s for owner in owners for s in survivors if f":{s.process.pid}:" in (owner or "")), None)
        if by is not None and result.picked_up_s is None:
            result.picked_up_s, result.picked_up_by = time.monotonic() - killed_at, by.name
        if result.claims_taken_over_s is None and not await _claims(db, victim.owner_pattern):
            result.claims_taken_over_s = time.monotonic() - killed_at
        so_far = await _ended_by_tenant(db)
        synced = [tenant for tenant, before in ended.items() if so_far.get(tenant, 0) > before]
        result.tenants_synced = len(synced)
        if len(synced) == len(ended) and result.picked_up_s is not None:
            result.synced_s = time.monotonic() - killed_at
        await asyncio.sleep(0.02)


async def _last_run_id(db: AsyncEngine) -> int:
    async with db.connect() as connection:
        return await connection.scalar(select(func.coalesce(func.max(SyncRun.id), 0)))


async def _cycles_by_instance(db: AsyncEngine, instances: list[Instance]) -> dict[str, int]:
    async with db.connect() as connection:
        owners = list((await connection.execute(
            select(SyncRun.owner).where(SyncRun.trigger == QUEUED_TRIGGER))).scalars())
    return {i.name: sum(1 for owner in owners if f":{i.process.pid}:" in (owner or "")) for i in instances}


async def _overlaps(db: AsyncEngine, victim: Instance) -> int:
    """Pairs of one tenant's queued cycles that ran at the same time, the killed instance's left out (its run is
    closed only when the tenant's next cycle finds it silent)."""
    async with db.connect() as connection:
        runs = (await connection.execute(select(SyncRun.tenant_id, SyncRun.started_at, SyncRun.finished_at,
                                                SyncRun.owner).where(SyncRun.trigger == QUEUED_TRIGGER)
                                         .order_by(SyncRun.tenant_id, SyncRun.started_at))).all()
    overlaps = 0
    for tenant_id in {run.tenant_id for run in runs}:
        spans = [(run.started_at, run.finished_at) for run in runs if run.tenant_id == tenant_id
                 and run.finished_at is not None and f":{victim.process.pid}:" not in (run.owner or "")]
        overlaps += sum(1 for (_, end), (start, _) in zip(spans, spans[1:], strict=False) if start < end)
    return overlaps
