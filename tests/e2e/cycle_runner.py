"""SeatSync's sync cycle in a process of its own, as the kill harness needs it: `python -m tests.e2e.cycle_runner`.

The engine is built the product's way (`bot.sync.wiring.build_engine` from the stored connections, the settings
from the environment: DATABASE_URL, SEATSYNC_SECRET_KEY, SEATSYNC_LEASE_SECONDS) and runs cycles back to back, as
the scheduler's poll would with no pause, retrying failures at once (`ignore_backoff`, like "sync now").
`--until-settled`: stop (exit 0) once a cycle planned and posted nothing, no change is open and no other process's
run is left running; exit 3 if that does not happen within `--within` seconds. `--tenant N [M ...]`: for those
tenants, one after the other (default: the single-workspace one).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from bot.config import load_settings
from bot.connectors.http import RetryPolicy
from bot.db.engine import create_engine, session_factory
from bot.db.models import Adjustment, AdjustmentStatus, SyncRun, SyncRunStatus
from bot.db.tenancy import DEFAULT_TENANT_ID, tenant_scope
from bot.keys import SecretBox
from bot.sync.claims import claim_ttl_within
from bot.sync.wiring import NotConfigured, build_engine

OPEN = (AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed)
# quick retries against the local simulators, as the demo workspace uses
FAST_RETRY = RetryPolicy(max_attempts=8, max_total_s=10, base_delay_s=0.02, max_delay_s=0.5)


async def run(*, until_settled: bool, within: float) -> int:
    settings = load_settings(dotenv_path=None)
    db = create_engine(settings.database_url)
    sessions = session_factory(db)
    engine = await build_engine(sessions=sessions, box=SecretBox(settings.secret_key), retry=FAST_RETRY, timeout=2.0,
                                claim_ttl=claim_ttl_within(timedelta(seconds=settings.lease_seconds)))
    if isinstance(engine, NotConfigured):
        print(f"not configured: {engine.reason}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + within
    try:
        while True:
            report = await engine.run_cycle(trigger="cli", actor="kill-harness", ignore_backoff=True)
            quiet = (not report.errors and not report.planned and report.posting is not None
                     and not report.posting.changes and not report.posting.claimed_elsewhere)
            if until_settled and quiet and await _nothing_left(sessions, engine.instance_id):
                return 0
            if until_settled and time.monotonic() > deadline:
                print(f"not settled within {within:g} s: {report.errors or report.posting}", file=sys.stderr)
                return 3
            await asyncio.sleep(0.02)
    finally:
        await engine.aclose()
        await db.dispose()


async def _nothing_left(sessions, instance_id: str) -> bool:
    async with sessions() as session:
        open_changes = await session.scalar(select(func.count()).select_from(Adjustment)
                                            .where(Adjustment.status.in_(OPEN)))
        others_running = await session.scalar(select(func.count()).select_from(SyncRun).where(
            SyncRun.status == SyncRunStatus.running, SyncRun.owner != instance_id))
    return open_changes == 0 and others_running == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.cycle_runner")
    parser.add_argument("--until-settled", action="store_true")
    parser.add_argument("--within", type=float, default=60.0)
    parser.add_argument("--tenant", type=int, nargs="+", default=[DEFAULT_TENANT_ID])
    args = parser.parse_args(argv)
    for tenant_id in args.tenant:
        with tenant_scope(tenant_id):  # the loop's task starts in this context
            if code := asyncio.run(run(until_settled=args.until_settled, within=args.within)):
                return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
