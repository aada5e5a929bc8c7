"""Many MSPs on a few instances: N tenants (each a small MSP with its own connections to the sandbox, its own lines
of it) on `--instances` `seatsync serve` sharing one PostgreSQL, each instance a worker of the job queue. Every
tenant's cycle is queued at once (as when all polls fall due together), `--rounds` times; then once more, and the
instance running a tenant's cycle is SIGKILLed while it posts. The harness: tests/e2e/queue_harness.py (the CI test,
tests/e2e/test_three_instances.py, runs it with 3 tenants).

    python bench/tenants_scale.py [--tenants 200] [--instances 3] [--concurrency 8] [--lease 60] [--psa connectwise]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); it creates and drops its own database. Prints one JSON line:
the harness's figures, plus `cycles_per_minute` (every tenant's cycle, round after round, on all instances) and
`tenants_per_instance_in_5_min`, the tenants one instance keeps within a 5-minute poll at that pace. Exits 1 if a
tenant was not synced, or a write was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests

from tests.e2e.queue_harness import QueueOptions, QueueRun, run_queue_failover  # noqa: E402

POLL_S = 300.0


async def trial(options: QueueOptions, logs: Path | None = None, prefix: str = "seatsync_tenants_",
                keep_set_up: bool = False) -> QueueRun:
    """`logs`: keep the processes' logs in a new folder there (default: deleted with the run's temporary folder);
    `prefix`: of the databases' names; `keep_set_up`: start from the set-up an earlier run kept (same tenants, seed,
    PSA and day), or keep this one's."""
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres", timeout=5)
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    kept = f"{prefix}set_up_{options.tenants}_{options.psa}_{options.seed}_{datetime.now(UTC):%Y%m%d}"
    if keep_set_up and await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", kept):
        print(f"starting from the set-up kept in {kept}", file=sys.stderr, flush=True)
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{kept}"')
        options = replace(options, set_up_done=True)
    else:
        await admin.execute(f'CREATE DATABASE "{name}"')
        options = replace(options, save_set_up_as=kept) if keep_set_up else options
    try:
        with contextlib.ExitStack() as stack:
            folder = (Path(tempfile.mkdtemp(prefix="seatsync-tenants-", dir=logs)) if logs is not None
                      else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seatsync-tenants-"))))
            print(f"logs in {folder}", file=sys.stderr, flush=True)
            return await run_queue_failover(options, database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                                            workdir=folder, say=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def capacity(run: QueueRun, tenants: int) -> dict:
    """The load-independent figures: CPU seconds (instances and their PostgreSQL backends) per tenant cycle, over
    the rounds, and the tenants one core keeps within a 5-minute poll at that cost; the minute tick's own jobs (an
    outbox pass and more per tenant and minute) from the idle window, per tenant and minute."""
    if run.cpu_rounds is None or not run.cycles_in_rounds:
        return {}
    per_cycle = run.cpu_rounds.total_s / run.cycles_in_rounds
    figures = {"cpu_s_per_cycle": round(per_cycle, 3),
               "sandbox_cpu_s_per_cycle": round(run.cpu_rounds.others_s.get("sandbox", 0.0) / run.cycles_in_rounds, 3),
               "tenants_per_core_in_5_min": int(POLL_S / per_cycle)}
    if run.cpu_idle is not None and run.options.idle_s:
        # what the idle window spent beyond its own polls' cycles, per tenant and minute
        minute_jobs = max(0.0, run.cpu_idle.total_s - run.idle_cycles * per_cycle)
        per_tenant_minute = minute_jobs / tenants / (run.options.idle_s / 60)
        every_5_min = per_cycle + per_tenant_minute * POLL_S / 60
        figures |= {"cpu_s_per_tenant_minute_idle": round(per_tenant_minute, 4),
                    "tenants_per_core_in_5_min_all_jobs": int(POLL_S / every_5_min)}
    return figures


async def main(args: argparse.Namespace) -> int:
    options = QueueOptions(psa=args.psa, tenants=args.tenants, lines_per_tenant=1, instances=args.instances,
                           lease_seconds=args.lease, worker_concurrency=args.concurrency, rounds=args.rounds,
                           psa_latency_ms=args.psa_latency_ms, kill_within_s=120.0, settle_within=args.within,
                           set_up_at_once=args.set_up_at_once, meter_cpu=True, idle_s=args.idle,
                           stall_check_fix=args.stall_check_fix, profile=args.profile,
                           db_pool_size=args.db_pool_size, set_up_processes=args.set_up_processes,
                           vendor_accounts=args.tenants if args.account_per_tenant else 1)
    run = await trial(options, args.logs, args.database_prefix, args.keep_set_up)
    verdict = run.verdict
    clean = (verdict is not None and verdict.clean and set(run.settle_codes.values()) <= {0}
             and run.tenants_synced == args.tenants and run.picked_up_s is not None and run.cross_tenant_reads == 0
             and all(held <= options.connection_budget for held in run.peak_connections.values()))
    per_minute = 60 * args.tenants * len(run.round_s) / sum(run.round_s) if run.round_s else None
    print(json.dumps({**run.figures(), "concurrency": args.concurrency, "clean": clean,
                      "cycles_per_minute": None if per_minute is None else round(per_minute, 1),
                      "tenants_per_instance_in_5_min": None if per_minute is None
                      else int(per_minute * POLL_S / 60 / args.instances), **capacity(run, args.tenants)}),
          flush=True)
    return 0 if clean else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="SEATSYNC_WORKER_CONCURRENCY (default 8)")
    parser.add_argument("--lease", type=float, default=60.0, help="SEATSYNC_LEASE_SECONDS (default 60, the default)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every tenant's cycle before the kill")
    parser.add_argument("--psa", choices=["autotask", "connectwise"], default="connectwise")
    parser.add_argument("--psa-latency-ms", type=float, default=20.0)
    parser.add_argument("--set-up-at-once", type=int, default=6)
    parser.add_argument("--idle", type=float, default=0.0,
                        help="seconds metered before the rounds with only the minute tick's jobs (default 0: none)")
    parser.add_argument("--stall-check-fix", action="store_true",
                        help="serve with the stall check every N seconds, as bot.job_queue means it (its cron fires "
                             "every Nth minute; see tests/e2e/bench_serve.py)")
    parser.add_argument("--profile", action="store_true",
                        help="serve under cProfile: each instance's statistics of the rounds in <logs>/<name>.prof")
    parser.add_argument("--db-pool-size", type=int, help="SEATSYNC_DB_POOL_SIZE (default: 2 per job at once + 2)")
    parser.add_argument("--set-up-processes", type=int, default=3,
                        help="set the tenants up in this many processes (0: in the harness's own)")
    parser.add_argument("--database-prefix", default="seatsync_tenants_", help="of the database's name")
    parser.add_argument("--account-per-tenant", action="store_true",
                        help="the sandbox's vendor quotas (Ingram's gateway, ConnectWise) once per tenant, as if each "
                             "MSP had its own account (default: all share one, as the sandbox has one)")
    parser.add_argument("--keep-set-up", action="store_true",
                        help="keep the tenants' set-up as a database (<prefix>set_up_<tenants>_<psa>_<seed>_<day>) "
                             "and start from it when it exists: a re-run the same day skips the set-up (drop it after)")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in a new folder in this one")
    parser.add_argument("--within", type=float, default=900.0, help="seconds a round may take")
    sys.exit(asyncio.run(main(parser.parse_args())))
