"""`python -m bot serve` with the job queue's stall check firing as bot.job_queue means it to, for the bench while
the product's cron is wrong (a harness-side stand-in, not a fix: the fix belongs in bot.job_queue.create_queue).

bot.job_queue schedules `seatsync.retry_stalled` with cron `*/N * * * * *`, meaning every N seconds; but croniter
(procrastinate's) reads a sixth field as the seconds, so that is every second of every Nth *minute*: at the default
60 s lease (N = 15) a killed instance's jobs wait for minute 0, 15, 30 or 45, up to 15 minutes. Here a periodic cron
of that shape is rewritten to `* * * * * */N` before the queue registers it.
"""

from __future__ import annotations

import sys

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


if __name__ == "__main__":
    blueprints.Blueprint.periodic = _periodic_every_n_seconds
    from bot.__main__ import main

    sys.exit(main())
