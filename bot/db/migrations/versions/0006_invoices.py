"""distributor invoices, their lines, supersessions and decisions about findings

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 02:00:00.000000

An invoice is stored once (unique per source and source id, and per file hash) and never edited; a corrected
invoice is superseded by an insert into `invoice_supersessions`. `invoice_decisions` keeps every decision a
person took about a finding (bot.db.models.invoices).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models.base

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=4)


def upgrade() -> None:
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('marketplace', sa.String(length=24), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=True),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('total', MONEY, nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('received_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_invoices_file_sha256')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_invoices_source_source_id'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_marketplace_month', ['marketplace', 'month'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('company_id', sa.String(length=128), nullable=False),
    sa.Column('company_name', sa.String(length=255), nullable=False),
    sa.Column('product_id', sa.String(length=128), nullable=False),
    sa.Column('product_name', sa.String(length=255), nullable=False),
    sa.Column('subscription_id', sa.String(length=128), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('quantity', MONEY, nullable=False),
    sa.Column('unit_cost', MONEY, nullable=False),
    sa.Column('cost_total', MONEY, nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('invoice_id', 'position', name=op.f('uq_invoice_lines_invoice_id_position'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_supersessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'],
                            name=op.f('fk_invoice_supersessions_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['invoices.id'],
                            name=op.f('fk_invoice_supersessions_superseded_by_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_supersessions'))
    )
    with op.batch_alter_table('invoice_supersessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_supersessions_invoice_id'), ['invoice_id'], unique=False)
    op.create_table('invoice_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('finding_key', sa.String(length=200), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_decisions_invoice_id_invoices'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_decisions'))
    )
    with op.batch_alter_table('invoice_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_decisions_invoice_key', ['invoice_id', 'finding_key'], unique=False)


def downgrade() -> None:
    op.drop_table('invoice_decisions')
    with op.batch_alter_table('invoice_supersessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_supersessions_invoice_id'))
    op.drop_table('invoice_supersessions')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))
    op.drop_table('invoice_lines')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_marketplace_month')
    op.drop_table('invoices')
