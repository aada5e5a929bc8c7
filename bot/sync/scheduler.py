"""The in-process scheduler (APScheduler 3, AsyncIOScheduler) gated by a database lease.

Every instance runs the scheduler, but a job body only runs on the instance that holds the lease
(`bot.db.lease`): the lease is renewed every `renew_every`, expires after `ttl`, and an instance
that fails to renew stops running jobs at once. Job ids are stable and jobs coalesce, so a restart
or a missed run never runs a job twice in one process either.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SYSTEM_CLOCK, Clock
from bot.db.lease import release_lease, try_acquire_lease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class Job:
    id: str
    trigger: BaseTrigger
    run: Callable[[], Awaitable[None]]
    on_takeover: bool = False  # also run at once when this instance becomes the leader
    # told when this instance becomes the leader, before any run: a job that keeps state between runs forgets
    # what it did while another instance led (bot.jobs.TenantMinutes)
    on_lead: Callable[[], None] | None = None


class LeaderScheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        jobs: list[Job] | None = None,
        ttl: timedelta = timedelta(seconds=60),
        renew_every: timedelta = timedelta(seconds=15),
        holder: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        timezone: str = "UTC",
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.renew_every = renew_every
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self._leader_until: datetime | None = None
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self._jobs = list(jobs or [])

    @property
    def is_leader(self) -> bool:
        return self._leader_until is not None and self.clock() < self._leader_until

    async def renew(self) -> bool:
        """Try to take or keep the lease; returns whether this instance leads now."""
        now = self.clock()
        try:
            won = await try_acquire_lease(
                engine=self.engine, name=LEASE_NAME, holder=self.holder, ttl=self.ttl, now=now
            )
        except Exception:
            log.exception("scheduler lease could not be renewed; stopping jobs on this instance")
            won = False
        was_leader = self.is_leader
        self._leader_until = now + self.ttl if won else None
        if won and not was_leader:
            log.info("this instance (%s) now runs the scheduled jobs", self.holder)
            for job in self._jobs:
                if job.on_lead is not None:
                    job.on_lead()
            self._run_takeover_jobs()
        elif was_leader and not won:
            log.warning("this instance (%s) lost the scheduler lease; its jobs stop", self.holder)
        return won

    def add_job(self, job: Job) -> None:
        self._jobs.append(job)
        if self._scheduler.running:
            self._schedule(job)

    def reschedule(self, triggers: dict[str, BaseTrigger]) -> list[str]:
        """Give the jobs named in `triggers` their new trigger, running or not; returns the ids changed.
        Ids this scheduler does not have are ignored (a job that was not registered here)."""
        changed: list[str] = []
        for index, job in enumerate(self._jobs):
            trigger = triggers.get(job.id)
            if trigger is None:
                continue
            self._jobs[index] = replace(job, trigger=trigger)
            if self._scheduler.running and self._scheduler.get_job(job.id) is not None:
                self._scheduler.reschedule_job(job.id, trigger=trigger)
            changed.append(job.id)
        return changed

    def job_trigger(self, job_id: str) -> BaseTrigger | None:
        """The trigger a job runs on now (the running scheduler's, else the registered one)."""
        if self._scheduler.running and (scheduled := self._scheduler.get_job(job_id)) is not None:
            return scheduled.trigger
        return next((job.trigger for job in self._jobs if job.id == job_id), None)

    async def run_job_now(self, job_id: str) -> bool:
        """Run one job at once if this instance leads; False when it does not."""
        job = next((j for j in self._jobs if j.id == job_id), None)
        if job is None:
            raise KeyError(job_id)
        return await self._guarded(job)()

    def start(self) -> None:
        # APScheduler fires on the machine's clock (its triggers are real time); "now" here means "at once"
        self._scheduler.add_job(self.renew, IntervalTrigger(seconds=self.renew_every.total_seconds()),
                                id="scheduler-lease", replace_existing=True, next_run_time=datetime.now(UTC),
                                coalesce=True, max_instances=1)
        for job in self._jobs:
            self._schedule(job)
        self._scheduler.start()

    async def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._leader_until is not None:
            try:
                await release_lease(engine=self.engine, name=LEASE_NAME, holder=self.holder)
            except Exception:
                log.exception("could not release the scheduler lease; it expires by itself")
            self._leader_until = None

    def _run_takeover_jobs(self) -> None:
        """A new leader does at once what the old one may have left half done (its posts: the outbox pass takes
        over the intents it held, whose claims have expired by now, bot.sync.claims)."""
        if not self._scheduler.running:
            return
        for job in self._jobs:
            if job.on_takeover and self._scheduler.get_job(job.id) is not None:
                self._scheduler.modify_job(job.id, next_run_time=datetime.now(UTC))

    def _schedule(self, job: Job) -> None:
        self._scheduler.add_job(self._guarded(job), job.trigger, id=job.id, replace_existing=True,
                                coalesce=True, max_instances=1, misfire_grace_time=300)

    def _guarded(self, job: Job) -> Callable[[], Awaitable[bool]]:
        async def run() -> bool:
            if not self.is_leader:
                return False
            try:
                await job.run()
            except Exception:
                log.exception("scheduled job %s failed", job.id)
            return True

        run.__name__ = f"job_{job.id}"
        return run
