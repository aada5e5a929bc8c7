"""`due`: the job queue's minute tick asks the schedule table which of a tenant's jobs are due (bot.sync.schedule)."""

from datetime import UTC, datetime, timedelta

from bot.db.app_settings import AppSettings
from bot.sync.schedule import JobId, due, job_trigger

SETTINGS = AppSettings(poll_minutes=5, digest_hour=7, timezone="America/Denver")
START = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)


def minutes_due(job_id: JobId, *, spread: str = "", hours: int = 24) -> list[datetime]:
    trigger = job_trigger(job_id, SETTINGS)
    return [at for at in (START + timedelta(minutes=m) for m in range(hours * 60)) if due(trigger, at, spread=spread)]


def test_a_one_minute_job_is_due_every_minute():
    assert len(minutes_due(JobId.OUTBOX_RETRY, hours=1)) == 60


def test_the_poll_is_due_once_per_poll_interval_and_tenants_are_spread_over_it():
    for tenant in ("T-alpha", "T-beta", "T-gamma"):
        polls = minutes_due(JobId.SYNC_POLL, spread=tenant, hours=1)
        assert len(polls) == 12 and all(later - earlier == timedelta(minutes=5)
                                        for earlier, later in zip(polls, polls[1:], strict=False))
    offsets = {minutes_due(JobId.SYNC_POLL, spread=f"T{n}", hours=1)[0].minute for n in range(40)}
    assert offsets == {0, 1, 2, 3, 4}


def test_the_digest_is_due_once_a_day_at_its_hour_in_the_msps_time_zone():
    assert minutes_due(JobId.DAILY_DIGEST, hours=48) == [datetime(2026, 11, 16, 14, 0, tzinfo=UTC),
                                                          datetime(2026, 11, 17, 14, 0, tzinfo=UTC)]
    assert minutes_due(JobId.MONTH_END_CHECKLIST, hours=24) == [datetime(2026, 11, 16, 14, 5, tzinfo=UTC)]


def test_seconds_into_the_minute_do_not_matter():
    trigger = job_trigger(JobId.DAILY_DIGEST, SETTINGS)
    assert due(trigger, datetime(2026, 11, 16, 14, 0, 42, tzinfo=UTC))
    assert not due(trigger, datetime(2026, 11, 16, 14, 1, 0, tzinfo=UTC))
