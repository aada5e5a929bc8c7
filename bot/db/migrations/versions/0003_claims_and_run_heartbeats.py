"""claims with an owner and an expiry; sync runs with an owner and a heartbeat

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 18:40:00.000000

An intent left `posting` before this revision has no expiry: a NULL `claim_expires_at` reads as expired, so it is
taken over (after reading the PSA) as before. A failed intent that had been attempted may have reached the PSA:
`outcome_unknown` starts true for those (they are resolved by reading the PSA). A run left `running` has no
heartbeat: its start time stands for one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models.base

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('claim_expires_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome_unknown', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE adjustments SET outcome_unknown = true WHERE status = 'failed' AND attempts > 0")

    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('owner')

    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.drop_column('outcome_unknown')
        batch_op.drop_column('claim_expires_at')
        batch_op.drop_column('claimed_by')
