"""SIGKILL SeatSync at random moments while it reads, plans and posts (30 kills per PSA, both PSAs at once),
restart it, let it settle: every linked service ends at its marketplace count, no change is lost, no write is a
duplicate, every write is explained (tests/e2e/write_judge.py defines each), SeatSync's records match the PSA's,
and every run a kill cut short is marked interrupted. With Autotask, two of the four links feed a service bundle.
`bench/kill_soak.py` runs the same harness for 1,000+ kills."""

from __future__ import annotations

import asyncio

from tests.e2e.kill_harness import KillOptions, KillRun, run_kill_harness

PAIRS = [("odin", "autotask"), ("ingram", "connectwise")]


async def test_killed_at_random_moments_seatsync_loses_nothing_and_duplicates_nothing(tmp_path):
    folders = [tmp_path / psa for _, psa in PAIRS]
    for folder in folders:
        folder.mkdir()
    runs = await asyncio.gather(*(
        run_kill_harness(KillOptions(psa=psa, marketplace=marketplace, kills=30, seed=11), folder)
        for (marketplace, psa), folder in zip(PAIRS, folders, strict=True)))
    for run in runs:
        check(run)


async def test_killed_at_random_moments_seatsync_loses_nothing_in_halo(tmp_path):
    """HaloPSA on its own (three harnesses at once starve a loaded machine: kills land before anything starts)."""
    check(await run_kill_harness(KillOptions(psa="halopsa", marketplace="ingram", kills=30, seed=11), tmp_path))


def check(run: KillRun) -> None:
    verdict = run.verdict
    assert verdict is not None, run
    assert run.settle_code == 0, f"SeatSync did not settle after the kills: {run.figures()}"
    assert verdict.clean, "\n".join([str(run.figures()), *verdict.problems()])
    assert run.kills >= 30 and verdict.writes > 0
    if run.options.psa == "autotask":  # some of its links feed a service bundle: their writes were judged too
        assert 0 < verdict.bundle_writes < verdict.writes, run.figures()
    posting = sum(n for phase, n in run.phases.items() if phase.endswith(": posting"))
    reading = sum(n for phase, n in run.phases.items() if phase.endswith("reading or planning"))
    assert posting >= 3 and reading >= 3, run.phases  # the kills did land while it read and while it posted
    assert run.running_runs == 0 and run.interrupted_runs == run.killed_runs, run.figures()
