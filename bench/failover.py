"""Failover time: two `seatsync serve` on one PostgreSQL database, webhooks at both, the leader SIGKILLed while it
posts; how long until the survivor holds the scheduler lease, and until every intent the dead leader had claimed is
taken over (the harness: tests/e2e/failover_harness.py).

    python bench/failover.py [--lease 60] [--trials 3] [--psa connectwise autotask]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); each trial creates and drops its own database. Prints one JSON
object per trial and exits 1 if any trial lost or duplicated a write, or did not take over.
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

from tests.e2e.failover_harness import FailoverOptions, FailoverRun, run_failover  # noqa: E402


async def trial(psa: str, lease: float, seed: int) -> FailoverRun:
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres", timeout=5)
    name = f"seatsync_failover_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="seatsync-failover-") as folder:
            return await run_failover(FailoverOptions(psa=psa, lease_seconds=lease, seed=seed),
                                      database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                                      workdir=Path(folder), say=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(args: argparse.Namespace) -> int:
    ok = True
    for psa in args.psa:
        for number in range(args.trials):
            run = await trial(psa, args.lease, seed=21 + number)
            verdict = run.verdict
            clean = (verdict is not None and verdict.clean and run.settle_code == 0
                     and run.claims_taken_over_s is not None and run.lease_takeover_s is not None)
            ok &= clean
            print(json.dumps({**run.figures(), "trial": number + 1, "clean": clean}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lease", type=float, default=60.0, help="SEATSYNC_LEASE_SECONDS (default 60, the default)")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--psa", nargs="+", choices=["autotask", "connectwise"], default=["connectwise", "autotask"])
    sys.exit(asyncio.run(main(parser.parse_args())))
