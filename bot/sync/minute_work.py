"""Which tenants the every-minute jobs have work for, found for every tenant in one query.

The job queue's tick (bot.job_queue) and, on the in-process scheduler, `bot.jobs.TenantMinutes` run a tenant's
outbox pass and its failure-alert refresh only when this says there is something for them; with nothing, both would
read and do nothing, each a queue job (defer, fetch, lock, run, delete) on PostgreSQL.
- The outbox pass (`JobId.OUTBOX_RETRY`): an intent is due (`bot.sync.posting.due_filter`: pending, a failure whose
  backoff is over, a claim expired, so taken over) and not held past its day.
- The failure alerts (`JobId.FAILURE_ALERTS`): a failed intent (an alert to post or keep up to date, its signed link
  renewed daily) or an open failure alert (to turn green once its intents posted). Without either, a pass has
  nothing to show and nothing to resolve.
Never narrower than the passes: the held day is compared with tomorrow's UTC date (the MSP's business day is at most
a day ahead), and what only the pass knows (the PSA's contract end, whether it takes future-dated changes) is left
to it. An intent recorded between two ticks is seen by the next, so it posts within the minute, as before.

Every tenant's rows at once is what row-level security refuses a session on PostgreSQL: there the function
`seatsync_minute_work` (revision 0011) looks tenant by tenant, setting each tenant for its own statements, in one
call. SQLite has no row security; one grouped query run on the session's connection (the ORM's tenant criteria are
added to the session's own statements only) reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Date, bindparam, exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Adjustment, AdjustmentStatus, SlackMessage, Tenant
from bot.db.models.base import UtcDateTime
from bot.domain.enums import SlackMessageState, TenantStatus
from bot.sync.failure_causes import KEY_PREFIX
from bot.sync.posting import due_filter, not_held
from bot.sync.schedule import JobId

_ON_POSTGRESQL = text("SELECT tenant_id, outbox_due, alerts_due FROM seatsync_minute_work(:at, :held_until)"
                      ).bindparams(bindparam("at", type_=UtcDateTime()), bindparam("held_until", type_=Date()))


@dataclass(frozen=True)
class MinuteWork:
    outbox: frozenset[int]  # tenants with an intent due
    failure_alerts: frozenset[int]  # tenants whose failure alerts have something to show

    def wanted(self, tenant_id: int, job_id: JobId) -> bool:
        """Whether the job has work for the tenant (the jobs this does not judge always have)."""
        if job_id is JobId.OUTBOX_RETRY:
            return tenant_id in self.outbox
        if job_id is JobId.FAILURE_ALERTS:
            return tenant_id in self.failure_alerts
        return True


async def minute_work(session: AsyncSession, *, at: datetime) -> MinuteWork:
    """Every active tenant's work for the minute jobs at `at` (aware), in one statement."""
    held_until = at.date() + timedelta(days=1)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        rows = (await connection.execute(_ON_POSTGRESQL, {"at": at, "held_until": held_until})).all()
    else:
        rows = (await connection.execute(_on_sqlite(at, held_until))).all()
    return MinuteWork(outbox=frozenset(tenant for tenant, outbox, _ in rows if outbox),
                      failure_alerts=frozenset(tenant for tenant, _, alerts in rows if alerts))


def _on_sqlite(at: datetime, held_until):
    def own(model):
        return model.tenant_id == Tenant.id

    outbox = exists().where(own(Adjustment), due_filter(at), not_held(held_until))
    alerts = (exists().where(own(Adjustment), Adjustment.status == AdjustmentStatus.failed)
              | exists().where(own(SlackMessage), SlackMessage.key.startswith(KEY_PREFIX, autoescape=True),
                               SlackMessage.state == SlackMessageState.open))
    return select(Tenant.id, outbox, alerts).where(Tenant.status == TenantStatus.active).order_by(Tenant.id)
