"""The outside world and SeatSync, each in a process of its own, for the end-to-end harnesses.

- `SandboxProcess`: `seatsync sandbox --port 0` (every simulator, one port), driven over its admin routes;
- `prepare_database`: SeatSync's database as an MSP would set it up (connections stored encrypted, the
  marketplace and PSA chosen, decreases dated today), one full read, and the chosen lines linked;
- `SeatSyncProcess`: a SeatSync process (the cycle runner, `seatsync sync --once`, `seatsync serve`) whose life is
  recorded, killed with SIGKILL when the harness says.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.connectors.http import RetryPolicy
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.connections import save_connection
from bot.db.engine import create_engine, session_factory
from bot.db.links import link_resource
from bot.db.migrate import upgrade
from bot.db.models import DecreaseTiming, MarketplaceResource, MarketplaceSubscription, PsaService, Scope
from bot.db.policies import set_approval_policy, set_decrease_timing
from bot.demo.workspace import sandbox_connection
from bot.domain.approval_policy import NO_AMOUNT_LIMIT
from bot.keys import SecretBox
from bot.sandbox.app import Sandbox
from bot.sync.wiring import NotConfigured, build_engine
from tests.e2e.write_judge import CountSet, Lifetime, PostedIntent, Record, Write
from tests.sync.engine_setup import Line

ROOT = Path(__file__).resolve().parents[2]
_MIGRATING = asyncio.Lock()  # alembic's context is one per process: two harnesses in one process take turns
SECRET_KEY = "e2e-secret-key-0123456789-abcdefghijklmnop"
_LISTENING = re.compile(r" on (http://[\d.]+:\d+)")


def utc_now() -> datetime:
    """Wall-clock time, on the axis the simulators stamp writes and counts with (a harness measures real events)."""
    return datetime.now(UTC)


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "TZ": "UTC", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("SEATSYNC_TEST_DATABASE_URL", None)
    env.update(extra)
    return env


@dataclass
class SandboxProcess:
    seed: int
    log_path: Path
    base_url: str = ""
    config: dict = field(default_factory=dict)
    world_copy: Sandbox | None = None  # the same seed's world, generated here: the lines and their services
    vendor_accounts: int = 1  # >1: the vendors' per-account quotas that many times over (tests/e2e/bench_sandbox.py)
    _process: asyncio.subprocess.Process | None = None
    _http: aiohttp.ClientSession | None = None

    async def start(self) -> SandboxProcess:
        self.world_copy = Sandbox.generate(seed=self.seed, scale="small", today=utc_now().date())
        log = self.log_path.open("wb")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.e2e.bench_sandbox" if self.vendor_accounts > 1 else "bot", "sandbox",
            "--port", "0", "--seed", str(self.seed), "--scale", "small", cwd=ROOT,
            env=child_env(SEATSYNC_BENCH_VENDOR_ACCOUNTS=str(self.vendor_accounts)), stdout=log,
            stderr=asyncio.subprocess.PIPE)
        self.base_url = await self._listening_url(log)
        host, port = self.base_url.removeprefix("http://").split(":")
        self.world_copy.host, self.world_copy.port = host, int(port)
        self.config = self.world_copy.config()
        self._http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.config['admin']['token']}"})
        if (await self.admin("GET", "/state"))["today"] != self.world_copy.world.today.isoformat():
            raise RuntimeError("the sandbox's day is not the harness's day (started across midnight UTC?)")
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def _listening_url(self, log) -> str:
        assert self._process is not None and self._process.stderr is not None
        async with asyncio.timeout(30):
            while line := await self._process.stderr.readline():
                log.write(line)
                if found := _LISTENING.search(line.decode()):
                    asyncio.get_running_loop().create_task(self._drain(log))
                    return found.group(1)
        raise RuntimeError(f"the sandbox did not start; see {self.log_path}")

    async def _drain(self, log) -> None:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            log.write(line)

    async def admin(self, method: str, path: str, **kwargs) -> dict:
        assert self._http is not None
        async with self._http.request(method, self.base_url + "/admin" + path, **kwargs) as response:
            body = await response.json()
            if response.status >= 300:
                raise RuntimeError(f"sandbox admin {method} {path}: {response.status} {body}")
            return body

    async def set_count(self, line: Line, total: int) -> None:
        await self.admin("PUT", f"/counts/{line.subscription_id}/{line.resource_id}", json={"total": total})

    async def set_faults(self, system: str, knobs: dict) -> None:
        await self.admin("PUT", f"/faults/{system}", json=knobs)

    async def reset_faults(self) -> None:
        await self.admin("POST", "/faults/reset")

    async def writes(self, psa: str) -> list[Write]:
        body = await self.admin("GET", f"/writes/{psa}")
        return [Write(service_id=w["service_id"], before=w["before"], after=w["after"],
                      at=datetime.fromisoformat(w["at"]), key=w["key"], kind=w["kind"]) for w in body["writes"]]

    async def write_count(self, psa: str) -> int:
        return (await self.admin("GET", f"/writes/{psa}"))["total"]

    async def history(self) -> list[CountSet]:
        body = await self.admin("GET", "/counts/history")
        return [CountSet(at=datetime.fromisoformat(c["at"]), line=(c["subscription_id"], c["resource_id"]),
                         total=c["total"], status=c["status"]) for c in body["changes"]]

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await self._process.wait()
            except TimeoutError:
                self._process.kill()
                await self._process.wait()


def marketplace_ids(world_sandbox: Sandbox, line: Line, marketplace: str) -> tuple[str, str]:
    world = world_sandbox.world
    subscription = world.subscriptions[line.subscription_id]
    if marketplace == "odin":
        return str(line.subscription_id), str(line.resource_id)
    return subscription.cmp_id, world.products[line.resource_id].mpn


async def prepare_database(*, database_url: str, sandbox: SandboxProcess, marketplace: str, psa: str,
                           lines: list[Line], migrate: bool = True) -> dict[Record, int]:
    """SeatSync set up against the sandbox with `lines` linked; returns each linked service's units as read. For the
    tenant of the caller's `tenant_scope` (the default tenant unless it chose one), its secrets under its own key.
    `migrate`: upgrade the schema first (False: the caller did)."""
    db = create_engine(database_url)
    try:
        if migrate:
            async with _MIGRATING:
                await upgrade(db)
        sessions = session_factory(db)
        box = SecretBox(SECRET_KEY)  # the master box: each tenant's secrets go under its own key (bot.db.connections)
        async with sessions() as session:
            await save_sandbox_connections(session, sandbox, marketplace, psa)
            await save_app_settings(session=session, settings=AppSettings(marketplace=marketplace, psa=psa,
                                                                          timezone="UTC"), actor="e2e")
            await set_decrease_timing(session=session, scope=Scope.global_, timing=DecreaseTiming.today, actor="e2e")
            await set_approval_policy(session=session, scope=Scope.global_, hold_committed_decreases=False,
                                      max_amount=NO_AMOUNT_LIMIT, actor="e2e")  # nobody approves here
            await session.commit()
        engine = await build_engine(sessions=sessions, box=box, timeout=5.0,
                                    retry=RetryPolicy(max_attempts=8, max_total_s=30, base_delay_s=0.05))
        assert not isinstance(engine, NotConfigured), engine
        try:
            report = await engine.run_cycle(trigger="e2e", actor="e2e", force_full=True)
            assert not report.errors, report.errors
        finally:
            await engine.aclose()
        units: dict[Record, int] = {}
        async with sessions() as session:
            for line in lines:
                subscription_id, resource_id = marketplace_ids(sandbox.world_copy, line, marketplace)
                resource = await session.scalar(
                    select(MarketplaceResource).join(MarketplaceSubscription)
                    .where(MarketplaceSubscription.external_id == subscription_id,
                           MarketplaceResource.external_id == resource_id))
                service = await session.scalar(select(PsaService).where(PsaService.external_id == line.external_id))
                assert resource is not None and service is not None, f"line {line} not read"
                await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="e2e")
                units[line.record] = service.units
            await session.commit()
        return units
    finally:
        await db.dispose()


async def save_sandbox_connections(session, sandbox: SandboxProcess, marketplace: str, psa: str) -> None:
    """The marketplace's and the PSA's connections to this sandbox, for the tenant of the caller's scope (the caller
    commits)."""
    box = SecretBox(SECRET_KEY)
    for system in (marketplace, psa):
        base_url, options, secrets = sandbox_connection(system, sandbox.config)
        if system == marketplace:
            secrets = {**secrets, "webhook_secret": sandbox.config[system]["webhook_secret"]}
        await save_connection(session=session, box=box, system=system, base_url=base_url, options=options,
                              secrets=secrets, actor="e2e")


async def posted_intents(database_url: str) -> list[PostedIntent]:
    from bot.db.models import Adjustment, AdjustmentStatus

    db = create_engine(database_url)
    try:
        async with session_factory(db)() as session:
            rows = await session.execute(
                select(Adjustment.idempotency_key, PsaService.external_id, Adjustment.units_from, Adjustment.units_to)
                .join(PsaService, PsaService.id == Adjustment.psa_service_id)
                .where(Adjustment.status == AdjustmentStatus.posted))
            return [PostedIntent(key=key, service_id=_written_record(service), units_from=before, units_to=after)
                    for key, service, before, after in rows]
    finally:
        await db.dispose()


def _written_record(external_id: str) -> Record:
    """A service's id in SeatSync as the write log counts the record: "12" -> 12, "bundle-12" -> "bundle:12"."""
    kind, _, number = external_id.rpartition("-")
    return f"{kind}:{number}" if kind else int(number)


@dataclass
class SeatSyncProcess:
    """One SeatSync process, a fresh interpreter (the kill harness forks its cycle runners: `cycle_forks.py`)."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    started: datetime | None = None
    ended: datetime | None = None
    process: asyncio.subprocess.Process | None = None

    async def spawn(self) -> SeatSyncProcess:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *self.args, cwd=ROOT, env=self.env, stdin=asyncio.subprocess.DEVNULL, stdout=log,
            stderr=log)
        self.started = utc_now()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def lifetime(self) -> Lifetime:
        assert self.started is not None
        return Lifetime(started=self.started, ended=self.ended)

    async def kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.ended = utc_now()

    async def wait(self, seconds: float) -> int:
        """Its exit code once it ends; TimeoutError if it is still running after `seconds`."""
        assert self.process is not None
        async with asyncio.timeout(seconds):
            code = await self.process.wait()
        self.ended = utc_now()
        return code

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None
