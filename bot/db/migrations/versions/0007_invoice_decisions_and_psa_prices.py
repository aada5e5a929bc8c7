"""a decision's finding fingerprint, and the PSA services' price history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 05:00:00.000000

`invoice_decisions.fingerprint`: the finding's numbers when it was decided, so a re-check (or the corrected invoice
that replaces it) keeps the decision only while the finding is unchanged. `psa_service_prices`: the unit price the
PSA showed from a moment on, so a past month is checked at that month's price, not today's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models.base

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoice_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
    op.create_table('psa_service_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('psa_service_id', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['psa_service_id'], ['psa_services.id'],
                            name=op.f('fk_psa_service_prices_psa_service_id_psa_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_psa_service_prices'))
    )
    with op.batch_alter_table('psa_service_prices', schema=None) as batch_op:
        batch_op.create_index('ix_psa_service_prices_service_seen', ['psa_service_id', 'seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('psa_service_prices', schema=None) as batch_op:
        batch_op.drop_index('ix_psa_service_prices_service_seen')
    op.drop_table('psa_service_prices')
    with op.batch_alter_table('invoice_decisions', schema=None) as batch_op:
        batch_op.drop_column('fingerprint')
