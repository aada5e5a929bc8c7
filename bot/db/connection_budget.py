"""How many PostgreSQL connections one SeatSync instance holds at most, and the name they carry.

Many instances (and other programs) share one server's `max_connections`, so each instance's share is fixed by its
settings and stated at start:
- `sessions`: SeatSync's own pool (`SEATSYNC_DB_POOL_SIZE`, no overflow; by default two per queue job the instance
  runs at once, as a cycle can hold its session while it takes a vendor request token in another, and two more for
  Slack's requests, the web pages and the minute tick);
- `queue_pool`: the job queue's pool (procrastinate: fetching jobs, heartbeats, defers);
- `listeners`: one LISTEN connection per queue worker (procrastinate opens them outside its pool), two workers per
  instance (bot.job_queue).
Every connection names the instance (`application_name`), so `pg_stat_activity` counts them per instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings

QUEUE_POOL = 3
QUEUE_WORKERS = 2  # the tenants' queue and the control queue (bot.job_queue)
APPLICATION_NAME_LIMIT = 63  # PostgreSQL truncates a longer application_name (NAMEDATALEN - 1)


def default_pool_size(worker_concurrency: int) -> int:
    return 2 * worker_concurrency + 2


@dataclass(frozen=True)
class ConnectionBudget:
    sessions: int
    queue_pool: int
    listeners: int

    @classmethod
    def for_settings(cls, settings: Settings, *, queue: bool) -> ConnectionBudget:
        """`queue`: the instance works the job queue (PostgreSQL), which adds its pool and listeners."""
        sessions = settings.db_pool_size or default_pool_size(settings.worker_concurrency)
        return cls(sessions=sessions, queue_pool=QUEUE_POOL if queue else 0,
                   listeners=QUEUE_WORKERS if queue else 0)

    @property
    def total(self) -> int:
        return self.sessions + self.queue_pool + self.listeners

    def describe(self) -> str:
        return (f"at most {self.total} PostgreSQL connections: {self.sessions} in SeatSync's pool "
                f"(SEATSYNC_DB_POOL_SIZE), {self.queue_pool} in the job queue's, {self.listeners} listening")


def application_name(instance_id: str) -> str:
    """What this instance's connections are called in `pg_stat_activity`."""
    return f"seatsync {instance_id}"[:APPLICATION_NAME_LIMIT]
