"""Kill soak: SeatSync killed with SIGKILL 1,000+ times while it reads, plans and posts, then judged from the PSA
simulator's write log (the harness and its definitions: tests/e2e/kill_harness.py, tests/e2e/write_judge.py).

    python bench/kill_soak.py [--kills 1000] [--psa autotask connectwise] [--seed 11]

The PSAs run at once, each with its own sandbox process and database. Prints one JSON object per PSA (kills and
where they landed, writes, duplicates, unexplained, lost, interrupted runs) and exits 1 if any is not clean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness lives with the tests

from tests.e2e.kill_harness import KillOptions, KillRun, run_kill_harness  # noqa: E402

MARKETPLACE = {"autotask": "odin", "connectwise": "ingram"}


async def soak(psa: str, kills: int, seed: int, folder: Path) -> KillRun:
    options = KillOptions(psa=psa, marketplace=MARKETPLACE[psa], kills=kills, seed=seed, settle_within=300)
    return await run_kill_harness(options, folder, say=lambda line: print(line, file=sys.stderr, flush=True))


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="seatsync-kill-soak-") as root:
        folders = []
        for psa in args.psa:
            folder = Path(root) / psa
            folder.mkdir()
            folders.append(folder)
        runs = await asyncio.gather(*(soak(psa, args.kills, args.seed, folder)
                                      for psa, folder in zip(args.psa, folders, strict=True)))
    clean = True
    for run in runs:
        verdict = run.verdict
        ok = (verdict is not None and verdict.clean and run.settle_code == 0 and run.running_runs == 0
              and run.interrupted_runs == run.killed_runs)
        clean &= ok
        print(json.dumps({**run.figures(), "clean": ok}))
        for problem in (verdict.problems() if verdict else [])[:50]:
            print(f"  {problem}", file=sys.stderr)
    return 0 if clean else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000, help="kills per PSA (default 1000)")
    parser.add_argument("--psa", nargs="+", choices=sorted(MARKETPLACE), default=sorted(MARKETPLACE))
    parser.add_argument("--seed", type=int, default=11)
    sys.exit(asyncio.run(main(parser.parse_args())))
