"""`python -m bot serve` as the bench runs it, with two harness-side options (environment variables):

- `SEATSYNC_BENCH_STALL_FIX=1`: the job queue's stall check fires as bot.job_queue means it to. It schedules
  `seatsync.retry_stalled` with cron `*/N * * * * *`, meaning every N seconds, but croniter (procrastinate's) reads a
  sixth field as the seconds: that is every second of every Nth *minute*, so at the default 60 s lease (N = 15) a
  killed instance's jobs wait for minute 0, 15, 30 or 45. Here such a cron is rewritten to `* * * * * */N` before
  the queue registers it. A stand-in for the bench, not the fix, which belongs in bot.job_queue.create_queue
  (tests/test_stall_check_cron.py).
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
