"""several marketplaces in one install: every resource knows its source; the settings list the marketplaces

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:00:00.000000

Companies and subscriptions carry their marketplace since 0001; resources get `marketplace` too, copied from their
subscription (so a single-marketplace install's rows are all of its one marketplace, with no step by hand). The
app settings' one `marketplace` becomes the list `marketplaces` (the old key is kept, the first of the list, for
an older instance still running during a rolling upgrade). The downgrade drops the column and keeps the first
marketplace of the list as the one.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = sa.table('app_settings', sa.column('key', sa.String), sa.column('value', sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table('marketplace_resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketplace', sa.String(length=24), nullable=True))
    op.execute("UPDATE marketplace_resources SET marketplace = (SELECT s.marketplace FROM marketplace_subscriptions s "
               "WHERE s.id = marketplace_resources.subscription_id)")
    with op.batch_alter_table('marketplace_resources', schema=None) as batch_op:
        batch_op.alter_column('marketplace', existing_type=sa.String(length=24), nullable=False)
        batch_op.create_index(batch_op.f('ix_marketplace_resources_marketplace'), ['marketplace'], unique=False)
    _rewrite_settings(_listed)


def downgrade() -> None:
    _rewrite_settings(_single)
    op.drop_index(op.f('ix_marketplace_resources_marketplace'), table_name='marketplace_resources')
    # not a batch copy: other tables refer to this one, and a downgrade may run with foreign keys enforced
    # (SQLite drops a column in place since 3.35, PostgreSQL always has)
    op.execute('ALTER TABLE marketplace_resources DROP COLUMN marketplace')


def _listed(value: dict) -> dict:
    if value.get('marketplaces'):
        return value
    one = value.get('marketplace')
    return {**value, 'marketplaces': [one] if one else []}


def _single(value: dict) -> dict:
    listed = value.pop('marketplaces', None) or []
    return {**value, 'marketplace': listed[0] if listed else value.get('marketplace')}


def _rewrite_settings(change) -> None:
    bind = op.get_bind()
    row = bind.execute(sa.select(SETTINGS.c.value).where(SETTINGS.c.key == 'app')).first()
    if row is None:
        return
    value = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    bind.execute(SETTINGS.update().where(SETTINGS.c.key == 'app').values(value=change(dict(value))))
