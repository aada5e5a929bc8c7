"""Every session sees its tenant's rows only, enforced below the code that writes the queries.

- PostgreSQL: each transaction starts with `SET LOCAL ROLE seatsync_app` (a role without BYPASSRLS that owns
  nothing, so row-level security holds even when SeatSync connects as a superuser) and `app.tenant_id` set to
  the tenant; every tenant-owned table has a forced policy on it (revision 0007, `bot.db.tenant_rls`). A statement
  that names no tenant, ORM or raw SQL, sees only that tenant's rows; a transaction with no tenant set sees none.
- SQLite, which has no row security: the ORM adds `tenant_id = <tenant>` to every SELECT, UPDATE and DELETE of a
  tenant-owned entity (`with_loader_criteria`, including joins, subqueries and relationship loads); a statement
  on mapped classes run on the session's connection instead (the reports stream Core rows) is given the same
  criteria by `only_current_tenant`. Statements built on bare tables or text are not covered: SeatSync's code has
  none on tenant-owned tables (tests/tenancy/test_schema.py looks). Inserts take the tenant from the column
  default on both backends.

The tenant is `current_tenant_id()` when the transaction begins. A session made by `sessions_for_tenant` is bound
to one tenant and refuses to begin under another (a tenant's engine used outside its scope fails loudly instead
of reading or writing the wrong tenant's rows).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Executable, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

from bot.db.models.tenants import TenantOwned
from bot.db.tenant_scope import current_tenant_id

APP_ROLE = "seatsync_app"
TENANT_SETTING = "app.tenant_id"
_BOUND = "tenant_id"  # Session.info key of a tenant-bound session
ExecutableT = TypeVar("ExecutableT", bound=Executable)


class TenantMismatch(RuntimeError):
    """A session bound to one tenant was used while the code acts for another."""


class TenantSession(Session):
    """SeatSync's Session: the hooks below are registered on this class only."""


def sessions_for_tenant(sessions: async_sessionmaker[AsyncSession], tenant_id: int) -> async_sessionmaker[AsyncSession]:
    """A session factory like `sessions` whose sessions refuse to begin outside `tenant_scope(tenant_id)`."""
    kw = dict(sessions.kw)
    kw["info"] = {**(kw.get("info") or {}), _BOUND: tenant_id}
    return async_sessionmaker(class_=sessions.class_, **kw)


def _tenant_of(session: Session) -> int:
    tenant = current_tenant_id()
    bound = session.info.get(_BOUND)
    if bound is not None and bound != tenant:
        raise TenantMismatch(f"a session of tenant {bound} used while acting for tenant {tenant}")
    return tenant


@event.listens_for(TenantSession, "after_begin")
def _begin_as_tenant(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    tenant = _tenant_of(session)
    if connection.dialect.name == "postgresql":
        set_tenant(connection, tenant)


def set_tenant(connection: Connection, tenant_id: int) -> None:
    """Make the rest of this PostgreSQL transaction act as `tenant_id`, under the application's role."""
    connection.execute(text("SELECT set_config('role', :role, true), set_config(:setting, :tenant, true)"),
                       {"role": APP_ROLE, "setting": TENANT_SETTING, "tenant": str(tenant_id)})


@event.listens_for(TenantSession, "do_orm_execute")
def _only_this_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.get_bind().dialect.name == "postgresql":
        return  # row-level security does it, for ORM and raw SQL alike
    state.statement = state.statement.options(_criteria(_tenant_of(state.session)))


def only_current_tenant(statement: ExecutableT, session: Session | AsyncSession) -> ExecutableT:
    """A statement on mapped classes that runs on the session's connection rather than through it (the reports'
    streamed Core reads), with the tenant's criteria the session would have added on SQLite."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    if sync_session.get_bind().dialect.name == "postgresql":
        return statement
    return statement.options(_criteria(_tenant_of(sync_session)))


def _criteria(tenant: int):
    return with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant, include_aliases=True)
