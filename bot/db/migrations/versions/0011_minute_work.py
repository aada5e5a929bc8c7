"""the minute tick's look at every tenant at once: which ones have an outbox pass or failure alerts to run

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00.000000

`seatsync_minute_work(at, held_until)` (PostgreSQL only; bot.sync.minute_work calls it): for each active tenant, in
one call, whether it has an intent due to post (what `bot.sync.posting.due_filter` and `not_held` select: pending,
a failure whose backoff is over, a claim expired or from before claims expired; not held past `held_until`) and
whether its failure alerts have anything to show (a failed intent, or an open failure alert to turn green). Row-level
security lets a transaction see one tenant's rows: the function sets each tenant for its own statements in turn,
then the caller's tenant back. It runs as its caller (the application's role), so the policies hold inside it.
On SQLite, which has no row security, bot.sync.minute_work asks the same in one grouped query.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MINUTE_WORK = """
CREATE OR REPLACE FUNCTION seatsync_minute_work(at timestamptz, held_until date)
RETURNS TABLE (tenant_id integer, outbox_due boolean, alerts_due boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    caller text := current_setting('app.tenant_id', true);
    tenant integer;
BEGIN
    FOR tenant IN SELECT t.id FROM tenants t WHERE t.status = 'active' ORDER BY t.id LOOP
        PERFORM set_config('app.tenant_id', tenant::text, true);
        tenant_id := tenant;
        outbox_due := EXISTS (
            SELECT 1 FROM adjustments a
            WHERE (a.status = 'pending'
                   OR (a.status = 'failed' AND a.next_attempt_at <= at)
                   OR (a.status = 'posting' AND (a.claim_expires_at IS NULL OR a.claim_expires_at < at)))
              AND (a.hold_until IS NULL OR a.hold_until <= held_until));
        alerts_due := EXISTS (SELECT 1 FROM adjustments a WHERE a.status = 'failed')
            OR EXISTS (SELECT 1 FROM slack_messages m WHERE m.key LIKE 'failure:%' AND m.state = 'open');
        IF outbox_due OR alerts_due THEN
            RETURN NEXT;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(caller, ''), true);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(MINUTE_WORK)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS seatsync_minute_work(timestamptz, date)')
