"""tenants; every tenant-owned row carries its tenant; row-level security on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:00:00.000000

The single-workspace install becomes the default tenant (id 1, no install key); every existing row moves to it, so
an upgrade needs no hand step. Uniqueness that was install-wide becomes per tenant (a vendor's external ids, the
settings' scope keys, connections per system, app settings and connector health per key, kept Slack messages,
invoices). On PostgreSQL the application's role is created and each tenant-owned table gets a forced tenant policy
(bot.db.tenant_rls).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models.base
from bot.db.tenant_rls import POLICY, create_app_role, isolate_table

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_TENANT_ID = 1

TENANT_TABLES = (
    'marketplace_companies', 'marketplace_subscriptions', 'marketplace_resources', 'resource_count_history',
    'psa_companies', 'psa_contracts', 'psa_services', 'company_links', 'subscription_links', 'resource_links',
    'price_source_settings', 'sync_policies', 'adjustments', 'connection_settings', 'app_settings', 'sync_runs',
    'audit_events', 'connector_health', 'slack_messages', 'invoices', 'invoice_lines', 'invoice_supersessions',
    'invoice_decisions', 'psa_service_prices',
)
# (table, old unique constraint, its columns) that become unique per tenant
PER_TENANT_UNIQUE = (
    ('marketplace_companies', 'uq_marketplace_companies_marketplace_external_id', ['marketplace', 'external_id']),
    ('marketplace_subscriptions', 'uq_marketplace_subscriptions_marketplace_external_id',
     ['marketplace', 'external_id']),
    ('psa_companies', 'uq_psa_companies_psa_external_id', ['psa', 'external_id']),
    ('psa_contracts', 'uq_psa_contracts_psa_external_id', ['psa', 'external_id']),
    ('psa_services', 'uq_psa_services_psa_external_id', ['psa', 'external_id']),
    ('price_source_settings', 'uq_price_source_settings_scope_key', ['scope_key']),
    ('sync_policies', 'uq_sync_policies_scope_key', ['scope_key']),
    ('connection_settings', 'uq_connection_settings_system', ['system']),
    ('slack_messages', 'uq_slack_messages_key', ['key']),
    ('invoices', 'uq_invoices_source_source_id', ['source', 'source_id']),
    ('invoices', 'uq_invoices_file_sha256', ['file_sha256']),
)
PER_TENANT_PRIMARY_KEY = (('app_settings', ['key']), ('connector_health', ['system']))
# SQLite copies a table from its reflection: without this, every table it refers to is reflected as well
ALONE = {'resolve_fks': False}


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('install_key', sa.String(length=48), nullable=True),
    sa.Column('team_id', sa.String(length=32), nullable=True),
    sa.Column('enterprise_id', sa.String(length=32), nullable=True),
    sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('active', 'uninstalled', name='tenant_status', native_enum=False,
                                create_constraint=True, length=24), nullable=False),
    sa.Column('created_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('uninstalled_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('purge_after', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('data_key_wrapped', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('install_key', name=op.f('uq_tenants_install_key'))
    )
    tenants = sa.table('tenants', sa.column('id', sa.Integer()), sa.column('is_enterprise_install', sa.Boolean()),
                       sa.column('status', sa.String()), sa.column('created_at', sa.DateTime()))
    bind = op.get_bind()
    op.execute(sa.insert(tenants).values(id=DEFAULT_TENANT_ID, is_enterprise_install=False, status='active',
                                         created_at=sa.func.current_timestamp()))
    if bind.dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('tenants', 'id'), (SELECT max(id) FROM tenants))")

    # Two batches per table, so that SQLite copies each table once (a copy per batch costs the most here): the
    # column with a default for the rows there (a plain ALTER), then, in one copy, the rest.
    unique = {table: [(old, columns) for name, old, columns in PER_TENANT_UNIQUE if name == table]
              for table in TENANT_TABLES}
    primary_key = dict(PER_TENANT_PRIMARY_KEY)
    for table in TENANT_TABLES:
        with op.batch_alter_table(table, schema=None, reflect_kwargs=ALONE) as batch_op:
            batch_op.add_column(sa.Column('tenant_id', sa.Integer(), nullable=False,
                                          server_default=sa.text(str(DEFAULT_TENANT_ID))))
            batch_op.create_index(batch_op.f(f'ix_{table}_tenant_id'), ['tenant_id'], unique=False)
        recreate = 'always' if table in primary_key else 'auto'
        with op.batch_alter_table(table, schema=None, recreate=recreate, reflect_kwargs=ALONE) as batch_op:
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_tenant_id_tenants'), 'tenants', ['tenant_id'],
                                        ['id'])
            batch_op.alter_column('tenant_id', server_default=None)
            for old, columns in unique[table]:
                batch_op.drop_constraint(old, type_='unique')
                batch_op.create_unique_constraint(batch_op.f('_'.join(['uq', table, 'tenant_id', *columns])),
                                                  ['tenant_id', *columns])
            if table in primary_key:
                batch_op.drop_constraint(f'pk_{table}', type_='primary')
                batch_op.create_primary_key(f'pk_{table}', ['tenant_id', *primary_key[table]])

    if bind.dialect.name == 'postgresql':
        for statement in create_app_role():
            op.execute(statement)
        for table in TENANT_TABLES:
            for statement in isolate_table(table):
                op.execute(statement)


def downgrade() -> None:
    """Back to one install: the default tenant's rows stay, every other tenant's are deleted."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in reversed(TENANT_TABLES):
        op.execute(sa.text(f"DELETE FROM {table} WHERE tenant_id <> {DEFAULT_TENANT_ID}"))
    for table, columns in PER_TENANT_PRIMARY_KEY:
        with op.batch_alter_table(table, schema=None, recreate='always') as batch_op:
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', columns)
    for table, old, columns in PER_TENANT_UNIQUE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('_'.join(['uq', table, 'tenant_id', *columns])), type_='unique')
            batch_op.create_unique_constraint(old, columns)
    for table in TENANT_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_tenant_id_tenants'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_tenant_id'))
            batch_op.drop_column('tenant_id')
    op.drop_table('tenants')
