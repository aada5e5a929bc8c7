"""`python -m bot serve` as the bench runs it, with two harness-side options (environment variables):

- `SEATSYNC_BENCH_STALL_FIX=1`: rewrites a stall-check cron `*/N * * * * *` (every second of every Nth minute, as
  croniter reads a sixth field as the seconds) to `* * * * * */N` before the queue registers it. bot.job_queue
  registered the first until the fix of 2026-12-07 (tests/test_stall_check_cron.py); the option lets the bench run
  a checkout from before it the way it was meant. On a checkout with the fix it changes nothing.
- `SEATSYNC_BENCH_PROFILE=<file>`: the process runs under cProfile, timed in CPU seconds, and on SIGUSR1 writes
  the statistics so far to that file (pstats format) and starts afresh (the bench signals before and after its
  rounds; the instances end by SIGKILL).
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time

from procrastinate import blueprints

_periodic = blueprints.Blueprint.periodic


def every_n_seconds(cron: str) -> str:
    """`*/N * * * * *` (every second of every Nth minute) as `* * * * * */N` (every N seconds); others unchanged."""
    fields = cron.split()
    if len(fields) == 6 and fields[0].startswith("*/") and fields[1:] == ["*"] * 5:
        return " ".join(["*"] * 5 + [fields[0]])
    return cron


def _periodic_every_n_seconds(self, *, cron: str, **options):
    return _periodic(self, cron=every_n_seconds(cron), **options)


def _profiled(path: str) -> None:
    profile = cProfile.Profile(time.process_time)  # CPU, not wall-clock time: the machine is shared

    def dump(_signal, _frame) -> None:
        profile.disable()
        profile.dump_stats(path)
        profile.clear()
        profile.enable()

    signal.signal(signal.SIGUSR1, dump)
    profile.enable()


if __name__ == "__main__":
    if os.environ.get("SEATSYNC_BENCH_STALL_FIX") == "1":
        blueprints.Blueprint.periodic = _periodic_every_n_seconds
    if profile_path := os.environ.get("SEATSYNC_BENCH_PROFILE"):
        _profiled(profile_path)
    from bot.__main__ import main

    sys.exit(main())
