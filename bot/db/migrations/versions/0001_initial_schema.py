"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:32:54.847000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.models.base

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('app_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_settings'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('connection_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('secrets_ciphertext', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_settings')),
    sa.UniqueConstraint('system', name=op.f('uq_connection_settings_system'))
    )
    op.create_table('marketplace_companies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('marketplace', sa.Enum('odin', 'ingram', 'pax8', name='marketplace', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('first_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketplace_companies')),
    sa.UniqueConstraint('marketplace', 'external_id', name=op.f('uq_marketplace_companies_marketplace_external_id'))
    )
    with op.batch_alter_table('marketplace_companies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketplace_companies_name'), ['name'], unique=False)

    op.create_table('psa_companies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('psa', sa.Enum('autotask', 'connectwise', name='psa_system', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_psa_companies')),
    sa.UniqueConstraint('psa', 'external_id', name=op.f('uq_psa_companies_psa_external_id'))
    )
    with op.batch_alter_table('psa_companies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_psa_companies_name'), ['name'], unique=False)

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('acquired_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('triggered_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('running', 'succeeded', 'partial', 'failed', name='sync_run_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sync_runs_status_finished', ['status', 'finished_at'], unique=False)

    op.create_table('company_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('marketplace_company_id', sa.Integer(), nullable=False),
    sa.Column('psa_company_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marketplace_company_id'], ['marketplace_companies.id'], name=op.f('fk_company_links_marketplace_company_id_marketplace_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['psa_company_id'], ['psa_companies.id'], name=op.f('fk_company_links_psa_company_id_psa_companies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_links')),
    sa.UniqueConstraint('marketplace_company_id', name=op.f('uq_company_links_marketplace_company_id'))
    )
    with op.batch_alter_table('company_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_links_psa_company_id'), ['psa_company_id'], unique=False)

    op.create_table('marketplace_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('marketplace', sa.Enum('odin', 'ingram', 'pax8', name='marketplace', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('term', sa.Enum('monthly', 'annual', 'other', name='term', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('active', 'pending', 'suspended', 'cancelled', 'expired', name='subscription_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('vendor_modified_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['marketplace_companies.id'], name=op.f('fk_marketplace_subscriptions_company_id_marketplace_companies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketplace_subscriptions')),
    sa.UniqueConstraint('marketplace', 'external_id', name=op.f('uq_marketplace_subscriptions_marketplace_external_id'))
    )
    with op.batch_alter_table('marketplace_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketplace_subscriptions_company_id'), ['company_id'], unique=False)

    op.create_table('psa_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('psa', sa.Enum('autotask', 'connectwise', name='psa_system', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('active', 'inactive', 'cancelled', 'expired', name='contract_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('prorates', sa.Boolean(), nullable=True),
    sa.Column('last_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['psa_companies.id'], name=op.f('fk_psa_contracts_company_id_psa_companies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_psa_contracts')),
    sa.UniqueConstraint('psa', 'external_id', name=op.f('uq_psa_contracts_psa_external_id'))
    )
    with op.batch_alter_table('psa_contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_psa_contracts_company_id'), ['company_id'], unique=False)

    op.create_table('marketplace_resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('included', sa.Integer(), nullable=False),
    sa.Column('additional', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('first_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['marketplace_subscriptions.id'], name=op.f('fk_marketplace_resources_subscription_id_marketplace_subscriptions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketplace_resources')),
    sa.UniqueConstraint('subscription_id', 'external_id', name=op.f('uq_marketplace_resources_subscription_id_external_id'))
    )
    with op.batch_alter_table('marketplace_resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketplace_resources_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('psa_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('psa', sa.Enum('autotask', 'connectwise', name='psa_system', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('catalog_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_seen_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['psa_contracts.id'], name=op.f('fk_psa_services_contract_id_psa_contracts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_psa_services')),
    sa.UniqueConstraint('psa', 'external_id', name=op.f('uq_psa_services_psa_external_id'))
    )
    with op.batch_alter_table('psa_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_psa_services_contract_id'), ['contract_id'], unique=False)

    op.create_table('subscription_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('marketplace_subscription_id', sa.Integer(), nullable=False),
    sa.Column('psa_contract_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marketplace_subscription_id'], ['marketplace_subscriptions.id'], name=op.f('fk_subscription_links_marketplace_subscription_id_marketplace_subscriptions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['psa_contract_id'], ['psa_contracts.id'], name=op.f('fk_subscription_links_psa_contract_id_psa_contracts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_links')),
    sa.UniqueConstraint('marketplace_subscription_id', name=op.f('uq_subscription_links_marketplace_subscription_id'))
    )
    with op.batch_alter_table('subscription_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_links_psa_contract_id'), ['psa_contract_id'], unique=False)

    op.create_table('resource_count_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('observed_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('previous_total', sa.Integer(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('included', sa.Integer(), nullable=False),
    sa.Column('additional', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('sync_run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['resource_id'], ['marketplace_resources.id'], name=op.f('fk_resource_count_history_resource_id_marketplace_resources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_resource_count_history_sync_run_id_sync_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_count_history'))
    )
    with op.batch_alter_table('resource_count_history', schema=None) as batch_op:
        batch_op.create_index('ix_resource_count_history_resource_observed', ['resource_id', 'observed_at'], unique=False)

    op.create_table('resource_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('psa_service_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reconciled_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['psa_service_id'], ['psa_services.id'], name=op.f('fk_resource_links_psa_service_id_psa_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['resource_id'], ['marketplace_resources.id'], name=op.f('fk_resource_links_resource_id_marketplace_resources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_links')),
    sa.UniqueConstraint('psa_service_id', name=op.f('uq_resource_links_psa_service_id')),
    sa.UniqueConstraint('resource_id', name=op.f('uq_resource_links_resource_id'))
    )
    op.create_table('adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('resource_link_id', sa.Integer(), nullable=True),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('psa_service_id', sa.Integer(), nullable=False),
    sa.Column('psa', sa.Enum('autotask', 'connectwise', name='psa_system', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('units_from', sa.Integer(), nullable=False),
    sa.Column('units_to', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('prorated_amount', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('status', sa.Enum('pending', 'posting', 'posted', 'failed', 'superseded', name='adjustment_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('needs_action', sa.Boolean(), nullable=False),
    sa.Column('psa_reference', sa.String(length=64), nullable=True),
    sa.Column('trigger', sa.Enum('link', 'sync', 'manual', 'import', name='adjustment_trigger', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('triggered_by', sa.String(length=64), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['psa_service_id'], ['psa_services.id'], name=op.f('fk_adjustments_psa_service_id_psa_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['resource_id'], ['marketplace_resources.id'], name=op.f('fk_adjustments_resource_id_marketplace_resources'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['resource_link_id'], ['resource_links.id'], name=op.f('fk_adjustments_resource_link_id_resource_links'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['adjustments.id'], name=op.f('fk_adjustments_superseded_by_id_adjustments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustments')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_adjustments_idempotency_key'))
    )
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adjustments_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index('ix_adjustments_service_status', ['psa_service_id', 'status'], unique=False)
        batch_op.create_index('ix_adjustments_status_next_attempt', ['status', 'next_attempt_at'], unique=False)

    op.create_table('price_source_settings',
    sa.Column('kind', sa.Enum('keep_psa', 'marketplace_price', 'marketplace_cost_markup', 'custom', name='price_source_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('markup_percent', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('custom_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('custom_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('below_cost_confirmed', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.Enum('global', 'company', 'link', name='scope', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('marketplace_company_id', sa.Integer(), nullable=True),
    sa.Column('resource_link_id', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marketplace_company_id'], ['marketplace_companies.id'], name=op.f('fk_price_source_settings_marketplace_company_id_marketplace_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_link_id'], ['resource_links.id'], name=op.f('fk_price_source_settings_resource_link_id_resource_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_source_settings')),
    sa.UniqueConstraint('scope_key', name=op.f('uq_price_source_settings_scope_key'))
    )
    op.create_table('sync_policies',
    sa.Column('decrease_timing', sa.Enum('next_period', 'today', name='decrease_timing', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.Enum('global', 'company', 'link', name='scope', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('marketplace_company_id', sa.Integer(), nullable=True),
    sa.Column('resource_link_id', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', bot.db.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marketplace_company_id'], ['marketplace_companies.id'], name=op.f('fk_sync_policies_marketplace_company_id_marketplace_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_link_id'], ['resource_links.id'], name=op.f('fk_sync_policies_resource_link_id_resource_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_policies')),
    sa.UniqueConstraint('scope_key', name=op.f('uq_sync_policies_scope_key'))
    )


def downgrade() -> None:
    op.drop_table('sync_policies')
    op.drop_table('price_source_settings')
    with op.batch_alter_table('adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_adjustments_status_next_attempt')
        batch_op.drop_index('ix_adjustments_service_status')
        batch_op.drop_index(batch_op.f('ix_adjustments_resource_id'))

    op.drop_table('adjustments')
    op.drop_table('resource_links')
    with op.batch_alter_table('resource_count_history', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_count_history_resource_observed')

    op.drop_table('resource_count_history')
    with op.batch_alter_table('subscription_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_links_psa_contract_id'))

    op.drop_table('subscription_links')
    with op.batch_alter_table('psa_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_psa_services_contract_id'))

    op.drop_table('psa_services')
    with op.batch_alter_table('marketplace_resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketplace_resources_subscription_id'))

    op.drop_table('marketplace_resources')
    with op.batch_alter_table('psa_contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_psa_contracts_company_id'))

    op.drop_table('psa_contracts')
    with op.batch_alter_table('marketplace_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketplace_subscriptions_company_id'))

    op.drop_table('marketplace_subscriptions')
    with op.batch_alter_table('company_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_links_psa_company_id'))

    op.drop_table('company_links')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_runs_status_finished')

    op.drop_table('sync_runs')
    op.drop_table('scheduler_leases')
    with op.batch_alter_table('psa_companies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_psa_companies_name'))

    op.drop_table('psa_companies')
    with op.batch_alter_table('marketplace_companies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketplace_companies_name'))

    op.drop_table('marketplace_companies')
    op.drop_table('connection_settings')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))

    op.drop_table('audit_events')
    op.drop_table('app_settings')
