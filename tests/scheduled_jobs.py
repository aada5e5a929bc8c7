"""Run one scheduled job by hand, as built for the scheduler (SQLite) and the job queue (PostgreSQL) alike
(bot.jobs.scheduled_jobs, with the stored settings): tests drive jobs with this instead of starting either runner."""

from __future__ import annotations

from bot.db.app_settings import load_app_settings
from bot.jobs import scheduled_jobs
from bot.sync.schedule import JobId


async def run_scheduled_job(context, job_id: JobId) -> None:
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
    job = next(job for job in scheduled_jobs(context, settings) if job.id == job_id)
    await job.run()
