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
import json
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests

from tests.e2e.queue_harness import QueueOptions, QueueRun, run_queue_failover  # noqa: E402

POLL_S = 300.0


async def trial(options: QueueOptions) -> QueueRun:
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres", timeout=5)
    name = f"seatsync_tenants_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="seatsync-tenants-") as folder:
            return await run_queue_failover(options, database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                                            workdir=Path(folder),
                                            say=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(args: argparse.Namespace) -> int:
    options = QueueOptions(psa=args.psa, tenants=args.tenants, lines_per_tenant=1, instances=args.instances,
                           lease_seconds=args.lease, worker_concurrency=args.concurrency, rounds=args.rounds,
                           psa_latency_ms=args.psa_latency_ms, kill_within_s=120.0, settle_within=args.within,
                           set_up_at_once=args.set_up_at_once)
    run = await trial(options)
    verdict = run.verdict
    clean = (verdict is not None and verdict.clean and set(run.settle_codes.values()) <= {0}
             and run.tenants_synced == args.tenants and run.picked_up_s is not None)
    per_minute = 60 * args.tenants * len(run.round_s) / sum(run.round_s) if run.round_s else None
    print(json.dumps({**run.figures(), "concurrency": args.concurrency, "clean": clean,
                      "cycles_per_minute": None if per_minute is None else round(per_minute, 1),
                      "tenants_per_instance_in_5_min": None if per_minute is None
                      else int(per_minute * POLL_S / 60 / args.instances)}), flush=True)
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
    parser.add_argument("--within", type=float, default=900.0, help="seconds a round may take")
    sys.exit(asyncio.run(main(parser.parse_args())))
