"""Two `seatsync serve` instances on one PostgreSQL database, marketplace webhooks arriving at both, `seatsync sync
--once` beside them; then the leader (the scheduler lease holder) is killed with SIGKILL while it posts, and the
survivor must take over within the lease time. Judged from the PSA simulator's write log (tests/e2e/write_judge.py):
no intent posted twice, nothing lost, nothing unexplained, SeatSync's records equal to the PSA's.

Webhooks: every count change is notified to both instances, each with its own delivery id (one change, two
notifications: both instances sync the same subscription at once); every third change the first delivery is also
sent again to the other instance (a redelivery: the second instance must not sync again). The PSA simulator adds
latency so a post takes a while; the leader is killed once it holds a claim.

Takeover is measured from the kill: until the survivor holds the scheduler lease, and until no intent is left
claimed by the dead leader (each taken over, after reading the PSA, by the survivor).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.models import Adjustment, AdjustmentStatus, SchedulerLease, SyncRun, SyncRunStatus
from bot.sandbox.ingram_notify import sign
from bot.sync.runs import INTERRUPTED
from tests.e2e.kill_harness import CountChanger
from tests.e2e.processes import (
    SECRET_KEY,
    SandboxProcess,
    SeatSyncProcess,
    child_env,
    posted_intents,
    prepare_database,
)
from tests.e2e.write_judge import Verdict, judge
from tests.sync.engine_setup import Line, pick_lines

LEADER_CLAIM_WAIT_S = 10.0


@dataclass(frozen=True)
class FailoverOptions:
    psa: str = "connectwise"
    seed: int = 21
    lines: int = 6
    lease_seconds: float = 4.0
    before_failover_s: float = 6.0
    after_failover_s: float = 4.0
    psa_latency_ms: float = 250.0  # a post holds its claim for 0.5-1 s: long enough to be killed holding it
    settle_within: float = 90.0


@dataclass
class FailoverRun:
    options: FailoverOptions
    leader: str = ""
    survivor: str = ""
    webhooks_sent: int = 0
    webhooks_accepted: dict[str, int] = field(default_factory=dict)  # per instance: 202 with a sync started
    redeliveries_deduplicated: int = 0
    redeliveries: int = 0
    cli_runs: int = 0
    claims_at_kill: int = 0  # intents the leader held a claim on when it was killed
    lease_takeover_s: float | None = None  # kill -> the survivor holds the scheduler lease
    claims_taken_over_s: float | None = None  # kill -> no intent claimed by the dead leader any more
    verdict: Verdict | None = None
    killed_runs: list[int] = field(default_factory=list)
    interrupted_runs: list[int] = field(default_factory=list)
    running_runs: int = 0
    settle_code: int | None = None
    seconds: float = 0.0

    def figures(self) -> dict:
        return {"psa": self.options.psa, "lease_seconds": self.options.lease_seconds,
                "webhooks_sent": self.webhooks_sent, "webhooks_accepted": self.webhooks_accepted,
                "redeliveries": self.redeliveries, "redeliveries_deduplicated": self.redeliveries_deduplicated,
                "cli_runs": self.cli_runs, "claims_at_kill": self.claims_at_kill,
                "lease_takeover_s": _round(self.lease_takeover_s),
                "claims_taken_over_s": _round(self.claims_taken_over_s),
                **(self.verdict.figures() if self.verdict else {}), "killed_runs": len(self.killed_runs),
                "interrupted_runs": len(self.interrupted_runs), "running_runs": self.running_runs,
                "seconds": round(self.seconds, 1)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Instance:
    name: str
    port: int
    process: SeatSyncProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def owner_pattern(self) -> str:
        return f"%:{self.process.pid}:%"


async def run_failover(options: FailoverOptions, *, database_url: str, workdir: Path,
                       say: Callable[[str], None] = lambda _: None) -> FailoverRun:
    started = time.monotonic()
    rng = random.Random(options.seed)
    result = FailoverRun(options=options)
    sandbox = await SandboxProcess(seed=options.seed, log_path=workdir / "sandbox.log").start()
    db = create_engine(database_url)
    processes: list[SeatSyncProcess] = []
    try:
        lines = pick_lines(sandbox.world_copy.world, options.psa, options.lines)
        for line in lines:  # level to begin with (the PSA's units as generated); the count history starts here
            await sandbox.set_count(line, line.psa_units)
        units = await prepare_database(database_url=database_url, sandbox=sandbox, marketplace="ingram",
                                       psa=options.psa, lines=lines)
        assert units == {line.service_id: line.psa_units for line in lines}, units
        base_env = dict(DATABASE_URL=database_url, SEATSYNC_SECRET_KEY=SECRET_KEY,
                        SEATSYNC_LEASE_SECONDS=f"{options.lease_seconds:g}",
                        SEATSYNC_JOBS="scheduler")  # the lease's failover; the queue's is test_three_instances'
        instances = []
        for name in ("a", "b"):
            port = free_port()
            (workdir / name).mkdir()
            env = child_env(**base_env, SEATSYNC_PORT=str(port), SEATSYNC_DATA_DIR=str(workdir / name))
            process = await SeatSyncProcess(args=["-m", "bot", "serve"], env=env,
                                            log_path=workdir / f"serve-{name}.log").spawn()
            processes.append(process)
            instances.append(Instance(name, port, process))
        for instance in instances:
            await _wait_healthy(instance)
        leader_id = await _leader(db, within=options.lease_seconds * 3)
        leader = next(i for i in instances if f":{i.process.pid}:" in leader_id)
        survivor = next(i for i in instances if i is not leader)
        result.leader, result.survivor = leader.name, survivor.name
        result.webhooks_accepted = {i.name: 0 for i in instances}
        say(f"{options.psa}: instance {leader.name} leads; webhooks to both, `seatsync sync --once` beside them")
        await sandbox.set_faults(options.psa, {"latency_ms": options.psa_latency_ms, "latency_jitter_ms": 30})
        cli_env = child_env(**base_env, SEATSYNC_DATA_DIR=str(workdir))
        notifier = Notifier(sandbox, result, rng)
        counts = CountChanger(sandbox, lines, {line.service_id: line.psa_units for line in lines}, rng)

        async def change_and_notify(targets: list[Instance]) -> None:
            line = rng.choice(lines)
            await counts.change_line(line)
            await notifier.notify(line, targets)

        async with aiohttp.ClientSession() as http:
            notifier.http = http
            clis = []
            phase_end = time.monotonic() + options.before_failover_s
            while time.monotonic() < phase_end:
                await change_and_notify(instances)
                if len(clis) < 2 and time.monotonic() > phase_end - options.before_failover_s * (1 - len(clis) / 2):
                    cli = await SeatSyncProcess(args=["-m", "bot", "sync", "--once"], env=cli_env,
                                                log_path=workdir / "cli.log").spawn()
                    processes.append(cli)
                    clis.append(cli)
                await asyncio.sleep(rng.uniform(0.2, 0.5))
            # the leader posts: keep changes coming to it until it holds a claim, then kill it mid-post
            deadline = time.monotonic() + LEADER_CLAIM_WAIT_S
            pokes: list[asyncio.Task] = []
            while time.monotonic() < deadline and not await _frozen_holding_a_claim(db, leader):
                if not pokes or pokes[-1].done():  # keep changes coming to the leader, polling meanwhile
                    pokes.append(asyncio.create_task(change_and_notify([leader])))
                await asyncio.sleep(0.005)
            await leader.process.kill()  # SIGKILL ends it stopped as it is
            killed_at = time.monotonic()
            await asyncio.gather(*pokes, return_exceptions=True)
            result.claims_at_kill = await _claims(db, leader.owner_pattern)
            result.killed_runs = await _running_runs(db, leader.owner_pattern)
            say(f"{options.psa}: killed the leader holding {result.claims_at_kill} claim(s)")
            takeover = asyncio.create_task(_measure_takeover(db, survivor, leader, killed_at, result,
                                                             limit=options.lease_seconds * 4))
            phase_end = time.monotonic() + options.after_failover_s
            while time.monotonic() < phase_end:
                await change_and_notify([survivor])
                await asyncio.sleep(rng.uniform(0.6, 1.0))  # no faster than it syncs them
            await takeover
            for cli in clis:
                await cli.wait(60)
            result.cli_runs = len(clis)
        await sandbox.reset_faults()
        await asyncio.sleep(1.0)  # the survivor's webhook syncs end
        settler = await SeatSyncProcess(
            args=["-m", "tests.e2e.cycle_runner", "--until-settled", "--within", f"{options.settle_within:g}"],
            env=cli_env, log_path=workdir / "settle.log").spawn()
        processes.append(settler)
        result.settle_code = await settler.wait(options.settle_within + 10)
        result.verdict = judge(
            psa=options.psa, writes=await sandbox.writes(options.psa), history=await sandbox.history(),
            service_lines={line.service_id: (line.subscription_id, line.resource_id) for line in lines},
            initial_units=units, lifetimes=[p.lifetime for p in processes], posted=await posted_intents(database_url))
        async with db.connect() as connection:
            result.interrupted_runs = list((await connection.execute(
                select(SyncRun.id).where(SyncRun.error == INTERRUPTED).order_by(SyncRun.id))).scalars())
            result.running_runs = await connection.scalar(
                select(func.count()).select_from(SyncRun).where(SyncRun.status == SyncRunStatus.running))
        return result
    finally:
        for process in processes:
            if process.running:
                await process.kill()
        await db.dispose()
        await sandbox.stop()
        result.seconds = time.monotonic() - started


class Notifier:
    """The marketplace's change notifications, signed as the sandbox signs them (bot.sandbox.ingram_notify)."""

    def __init__(self, sandbox: SandboxProcess, result: FailoverRun, rng: random.Random) -> None:
        self.sandbox, self.result, self.rng = sandbox, result, rng
        self.secret = sandbox.config["ingram"]["webhook_secret"]
        self.http: aiohttp.ClientSession | None = None
        self.changes = 0

    async def notify(self, line: Line, targets: list[Instance]) -> None:
        subscription = self.sandbox.world_copy.world.subscriptions[line.subscription_id]
        self.changes += 1
        sent = await asyncio.gather(*(self._send(target, subscription.cmp_id, str(uuid.uuid4()))
                                      for target in targets))
        if len(targets) == 2 and self.changes % 3 == 0:  # the first delivery again, at the other instance
            self.result.redeliveries += 1
            if await self._send(targets[1], subscription.cmp_id, sent[0]) == 200:
                self.result.redeliveries_deduplicated += 1

    async def _send(self, target: Instance, subscription_id: str, delivery_id: str) -> str | int:
        assert self.http is not None
        body = json.dumps({"deliveryId": delivery_id, "eventType": "subscription.changed", "marketplace": "ingram",
                           "subscriptionId": subscription_id}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Sandbox-Signature": sign(self.secret, body)}
        self.result.webhooks_sent += 1
        async with self.http.post(target.url + "/webhooks/marketplace", data=body, headers=headers) as response:
            answer = await response.json()
            if response.status == 202 and answer.get("sync"):
                self.result.webhooks_accepted[target.name] += 1
            return delivery_id if response.status == 202 else response.status


async def _wait_healthy(instance: Instance) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if not instance.process.running:
                raise RuntimeError(f"seatsync serve {instance.name} exited; see its log")
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(instance.url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"seatsync serve {instance.name} did not become healthy")


async def _leader(db: AsyncEngine, *, within: float) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with db.connect() as connection:
            holder = await connection.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == "scheduler"))
        if holder:
            return holder
        await asyncio.sleep(0.1)
    raise RuntimeError("no instance took the scheduler lease")


async def _claims(db: AsyncEngine, owner: str) -> int:
    async with db.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(Adjustment).where(
            Adjustment.claimed_by.like(owner), Adjustment.status == AdjustmentStatus.posting))


async def _running_runs(db: AsyncEngine, owner: str) -> list[int]:
    async with db.connect() as connection:
        return list((await connection.execute(select(SyncRun.id).where(
            SyncRun.owner.like(owner), SyncRun.status == SyncRunStatus.running))).scalars())


async def _frozen_holding_a_claim(db, leader) -> bool:
    """Stop the leader (SIGSTOP) when it holds a claim and keep it stopped, so that the kill lands mid-post: seen
    and then killed, a claim could be released in between (the CI run's load made that window wide enough)."""
    if not await _claims(db, leader.owner_pattern):
        return False
    os.kill(leader.process.pid, signal.SIGSTOP)
    if await _claims(db, leader.owner_pattern):
        return True
    os.kill(leader.process.pid, signal.SIGCONT)
    return False


async def _measure_takeover(db: AsyncEngine, survivor: Instance, leader: Instance, killed_at: float,
                            result: FailoverRun, *, limit: float) -> None:
    while time.monotonic() - killed_at < limit and (result.lease_takeover_s is None
                                                     or result.claims_taken_over_s is None):
        async with db.connect() as connection:
            holder = await connection.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == "scheduler"))
        if result.lease_takeover_s is None and holder and f":{survivor.process.pid}:" in holder:
            result.lease_takeover_s = time.monotonic() - killed_at
        if result.claims_taken_over_s is None and not await _claims(db, leader.owner_pattern):
            result.claims_taken_over_s = time.monotonic() - killed_at
        await asyncio.sleep(0.02)
