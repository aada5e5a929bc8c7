"""vendor columns without enumerated CHECK constraints: which vendors exist is the registry's to say

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:00:00.000000

`marketplace` (2 tables) and `psa` (4 tables) listed the vendors in a CHECK constraint, so a new vendor needed a
migration. They become plain strings of the same width, checked in code against `bot.connectors.registry`. The
downgrade leaves them plain (a vendor list put back could refuse rows a newer vendor wrote), so the upgrade drops
only the constraints it finds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the name of its vendor CHECK constraint (the naming convention's ck_<table>_<type name>)
VENDOR_CHECKS = {
    'marketplace_companies': 'ck_marketplace_companies_marketplace',
    'marketplace_subscriptions': 'ck_marketplace_subscriptions_marketplace',
    'psa_companies': 'ck_psa_companies_psa_system',
    'psa_contracts': 'ck_psa_contracts_psa_system',
    'psa_services': 'ck_psa_services_psa_system',
    'adjustments': 'ck_adjustments_psa_system',
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, check in VENDOR_CHECKS.items():
        if check not in {c['name'] for c in inspector.get_check_constraints(table)}:
            continue  # down to 0003 and up again
        # SQLite cannot drop a constraint: batch mode copies the table without it (PostgreSQL: ALTER TABLE)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(check), type_='check')


def downgrade() -> None:
    pass  # the columns stay plain strings (see above)
