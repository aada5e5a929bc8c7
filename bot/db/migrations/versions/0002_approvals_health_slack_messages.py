"""approvals, connector health, slack messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:44:19.822582
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models.base

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ADJUSTMENT_STATUS = ('pending', 'posting', 'posted', 'failed', 'superseded')
ADJUSTMENT_STATUS_NEW = (*ADJUSTMENT_STATUS, 'awaiting_approval', 'rejected')
DECREASE_TIMING = ('next_period', 'today')
DECREASE_TIMING_NEW = (*DECREASE_TIMING, 'commitment_end')


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _set_enum_values(table: str, column: str, name: str, old: tuple[str, ...], new: tuple[str, ...],
                     nullable: bool) -> None:
    """Swap the CHECK constraint that holds a string enum's values (the column stays VARCHAR(24))."""
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a constraint: batch mode rebuilds the table with the new CHECK
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.alter_column(column, existing_type=_enum(old, name), type_=_enum(new, name),
                                  existing_nullable=nullable)
        return
    quoted = ", ".join(f"'{value}'" for value in new)
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, f"{column} IN ({quoted})")


def upgrade() -> None:
    op.create_table('connector_health',
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('state', sa.Enum('ok', 'failing', 'stale', name='connector_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('last_attempt_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('alerted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('system', name=op.f('pk_connector_health'))
    )
    op.create_table('slack_deliveries',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_slack_deliveries'))
    )
    with op.batch_alter_table('slack_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_deliveries_seen_at'), ['seen_at'], unique=False)

    op.create_table('slack_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('state', sa.Enum('open', 'resolved', name='slack_message_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_slack_messages_key'))
    )
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('held_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decided_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=True))

    with op.batch_alter_table('sync_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_max_units', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approval_max_percent', sa.Numeric(precision=14, scale=4), nullable=True))
        batch_op.add_column(sa.Column('approval_max_amount', sa.Numeric(precision=14, scale=4), nullable=True))
        batch_op.add_column(sa.Column('hold_committed_decreases', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('drop_prorate_below', sa.Numeric(precision=14, scale=4), nullable=True))
        batch_op.add_column(sa.Column('min_margin_percent', sa.Numeric(precision=14, scale=4), nullable=True))

    _set_enum_values('adjustments', 'status', 'adjustment_status', ADJUSTMENT_STATUS, ADJUSTMENT_STATUS_NEW,
                     nullable=False)
    _set_enum_values('sync_policies', 'decrease_timing', 'decrease_timing', DECREASE_TIMING, DECREASE_TIMING_NEW,
                     nullable=True)



def downgrade() -> None:
    op.execute("UPDATE adjustments SET status = 'superseded' WHERE status IN ('awaiting_approval', 'rejected')")
    op.execute("UPDATE sync_policies SET decrease_timing = 'next_period' WHERE decrease_timing = 'commitment_end'")
    _set_enum_values('sync_policies', 'decrease_timing', 'decrease_timing', DECREASE_TIMING_NEW, DECREASE_TIMING,
                     nullable=True)
    _set_enum_values('adjustments', 'status', 'adjustment_status', ADJUSTMENT_STATUS_NEW, ADJUSTMENT_STATUS,
                     nullable=False)
    with op.batch_alter_table('sync_policies', schema=None) as batch_op:
        batch_op.drop_column('min_margin_percent')
        batch_op.drop_column('drop_prorate_below')
        batch_op.drop_column('hold_committed_decreases')
        batch_op.drop_column('approval_max_amount')
        batch_op.drop_column('approval_max_percent')
        batch_op.drop_column('approval_max_units')

    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('held_reason')
        batch_op.drop_column('hold_until')

    op.drop_table('slack_messages')
    with op.batch_alter_table('slack_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_deliveries_seen_at'))

    op.drop_table('slack_deliveries')
    op.drop_table('connector_health')
