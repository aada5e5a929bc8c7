"""The minute jobs of idle tenants on PostgreSQL's job queue, apart from everything else: N tenants with nothing due
(no intent, no failure, no connection: a poll only says it has nothing to sync), the tick of `--minutes` minutes in
a row (bot.job_queue.tick, by an injected clock), each minute's deferred jobs worked to the end by a real
procrastinate worker in this process. CPU seconds of this process and of its PostgreSQL backends (tests/e2e/
cpu_meter.py), per tenant and minute, and the queue jobs the ticks deferred, per tenant and minute.

    python bench/minute_jobs.py [--tenants 50] [--minutes 5]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); it creates and drops its own database (`--database-prefix`).
Prints one JSON line. Runs on any revision that has `bot.job_queue.tick` (run from that revision's tree to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the CPU meter lives with the tests

from bot.app_factory import create_context  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.tenancy import ensure_tenant  # noqa: E402
from bot.job_queue import APP_CONTEXT, QUEUE, create_queue, tick  # noqa: E402
from tests.e2e.cpu_meter import CpuMeter  # noqa: E402

START = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnop"


async def trial(tenants: int, minutes: int, prefix: str) -> dict:
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres", timeout=5)
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="seatsync-minute-jobs-") as folder:
            return await _run(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", Path(folder), tenants, minutes)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _run(url: str, folder: Path, tenants: int, minutes: int) -> dict:
    clock = ManualClock(START)
    settings = Settings(database_url=url, data_dir=folder, secret_key=SECRET_KEY, lease_seconds=20.0)
    context = create_context(settings, clock=clock)
    context.tenant_per_workspace = True
    await upgrade(context.engine)
    async with context.sessions() as session:
        for number in range(tenants - 1):  # and the default tenant
            await ensure_tenant(session, team_id=f"T0BENCH{number:04d}", enterprise_id=None,
                                is_enterprise_install=False)
        await session.commit()
    queue = create_queue(settings)
    job_context = SimpleNamespace(app=queue, additional_context={APP_CONTEXT: context})
    deferred = 0
    async with queue.open_async():
        await _minute(queue, job_context, context, START - timedelta(minutes=1))  # warm: pools, caches, plans
        meter = await CpuMeter(dsn=url.replace("postgresql+asyncpg", "postgresql"), pids={os.getpid()}).start()
        try:
            before = await meter.sample()
            for minute in range(minutes):
                clock.set(START + timedelta(minutes=minute))
                deferred += await _minute(queue, job_context, context, START + timedelta(minutes=minute))
            spent = (await meter.sample()).minus(before)
        finally:
            await meter.stop()
    await context.engine.dispose()
    tenant_minutes = tenants * minutes
    return {"tenants": tenants, "minutes": minutes, "jobs_deferred": deferred,
            "jobs_per_tenant_minute": round(deferred / tenant_minutes, 3),
            "cpu_s": {"process": round(spent.processes_s, 2), "postgres": round(spent.backends_s, 2)},
            "cpu_s_per_tenant_minute": round(spent.total_s / tenant_minutes, 4),
            "load_average": list(os.getloadavg())}


async def _minute(queue, job_context, context, at: datetime) -> int:
    """One minute: the tick, then every job it deferred, worked until none is left."""
    deferred = await tick(job_context, int(at.timestamp()))
    await queue.run_worker_async(queues=[QUEUE], wait=False, install_signal_handlers=False, delete_jobs="successful",
                                 additional_context={APP_CONTEXT: context})
    return deferred


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument("--database-prefix", default="seatsync_minute_jobs_")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(trial(args.tenants, args.minutes, args.database_prefix))), flush=True)
