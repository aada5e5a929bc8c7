"""the job queue's schema (procrastinate, PostgreSQL only) and the vendors' request budgets shared per tenant

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:00:00.000000

On PostgreSQL the tenants' jobs run on procrastinate (bot.job_queue): its tables, types and functions are the schema
the installed procrastinate ships, applied here as one script. A later procrastinate release that changes them comes
with a SeatSync revision applying its migration scripts (procrastinate/sql/migrations). On SQLite nothing of it is
created: the in-process scheduler serves the single instance. `vendor_rate_budgets` exists on both (the models say
so); only PostgreSQL uses it (bot.db.rate_budgets). It belongs to its tenant like every tenant-owned table (row-level
security on PostgreSQL, bot.db.tenant_rls).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.util import await_only

import bot.db.models.base
from bot.db.tenant_rls import isolate_table

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


DROP_QUEUE_SCHEMA = """
DROP TABLE IF EXISTS procrastinate_periodic_defers, procrastinate_events, procrastinate_jobs, procrastinate_workers
    CASCADE;
DO $$
DECLARE routine record;
BEGIN
    FOR routine IN SELECT oid::regprocedure AS signature FROM pg_proc WHERE proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || routine.signature || ' CASCADE';
    END LOOP;
END;
$$;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type, procrastinate_job_to_defer_v1 CASCADE;
"""


def upgrade() -> None:
    op.create_table('vendor_rate_budgets',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=48), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('refilled_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_vendor_rate_budgets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'scope', name=op.f('pk_vendor_rate_budgets'))
    )
    op.create_index(op.f('ix_vendor_rate_budgets_tenant_id'), 'vendor_rate_budgets', ['tenant_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in isolate_table('vendor_rate_budgets'):
            op.execute(statement)
        # a script of many statements (plpgsql bodies included): asyncpg runs it as one simple query, which
        # SQLAlchemy's execute (a prepared statement each) cannot
        await_only(bind.connection.driver_connection.execute(SchemaManager.get_schema()))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        await_only(bind.connection.driver_connection.execute(DROP_QUEUE_SCHEMA))
    op.drop_index(op.f('ix_vendor_rate_budgets_tenant_id'), table_name='vendor_rate_budgets')
    op.drop_table('vendor_rate_budgets')
