"""PostgreSQL's side of tenant isolation, as SQL the migrations run (revision 0007 for the tables then, and any
later revision that adds a tenant-owned table: `op.execute` each statement of `isolate_table(name)`).

The application's transactions run as `APP_ROLE` (bot.db.tenant_filter sets it per transaction): a role that
cannot log in, owns nothing and has no BYPASSRLS, so the policies hold even when SeatSync connects as a superuser.
A policy compares the row's tenant with the transaction's `app.tenant_id`; when that is unset the comparison is
NULL, and the transaction sees no rows and can write none.
"""

from __future__ import annotations

from bot.db.tenant_filter import APP_ROLE, TENANT_SETTING

POLICY = "tenant_isolation"
SCHEMA = "public"  # where SeatSync's tables live
_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::integer"


def create_app_role() -> list[str]:
    """The role (once per server; a concurrent creation by another database's migration is fine), made grantable
    to the user running the migration when that user is not a superuser, and its rights on this schema's tables
    and sequences, now and later."""
    return [
        f"""DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$""",
        f"""DO $$ BEGIN
              IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
              END IF;
            END $$""",
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {APP_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {APP_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA} GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
    ]


def isolate_table(table: str) -> list[str]:
    """Row-level security, forced (the table's owner is held to it too), with the one tenant policy."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY} ON {table} USING (tenant_id = {_TENANT}) WITH CHECK (tenant_id = {_TENANT})",
    ]


