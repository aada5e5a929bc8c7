"""Tenants: one MSP each, found by how Slack names its install; the API the rest of SeatSync codes against.

- `DEFAULT_TENANT_ID`: the single-workspace install's tenant (revision 0007 creates it and moves every earlier row
  into it). Code that chose no tenant acts for it, so a single-workspace install needs no tenant set-up.
- `current_tenant_id()`, `tenant_scope(tenant_id)`: who the running code acts for (a context variable; each
  asyncio task keeps the scope it was started in). Sessions read it when a transaction begins and see that
  tenant's rows only (`bot.db.tenant_filter`).
- `ensure_tenant`, `mark_tenant_uninstalled`, `active_tenant_ids`, `purge_expired_tenants`: the tenants' lifecycle.
- `tenant_secret_box`: the box that encrypts the current tenant's stored secrets (its own data key).

The functions here read and write the `tenants` table, which belongs to no tenant: any session may call them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base, Tenant, TenantOwned
from bot.db.tenant_filter import sessions_for_tenant, set_tenant
from bot.db.tenant_scope import DEFAULT_TENANT_ID, current_tenant_id, enter_tenant, tenant_scope
from bot.domain.enums import TenantStatus
from bot.keys import SecretBox

__all__ = [
    "DEFAULT_TENANT_ID", "UnknownTenant", "active_tenant_ids", "current_tenant_id", "ensure_tenant", "enter_tenant",
    "install_key",
    "mark_tenant_uninstalled", "purge_expired_tenants", "sessions_for_tenant", "tenant_by_install",
    "tenant_scope", "tenant_secret_box",
]


class UnknownTenant(LookupError):
    """No tenant has that id (or it was purged)."""


def install_key(*, team_id: str | None, enterprise_id: str | None, is_enterprise_install: bool) -> str:
    """How one install is named: "enterprise:<E…>" for an org-wide Grid install, else "team:<T…>"."""
    if is_enterprise_install:
        if not enterprise_id:
            raise ValueError("an enterprise install needs its enterprise id")
        return f"enterprise:{enterprise_id}"
    if not team_id:
        raise ValueError("a workspace install needs its team id")
    return f"team:{team_id}"


async def tenant_by_install(session: AsyncSession, *, team_id: str | None, enterprise_id: str | None,
                            is_enterprise_install: bool) -> Tenant | None:
    """The tenant of that install, active or uninstalled, or None. A request from a workspace of an enterprise
    installed org-wide belongs to the enterprise's tenant: pass its enterprise id and `is_enterprise_install`
    as Slack's request says."""
    key = install_key(team_id=team_id, enterprise_id=enterprise_id, is_enterprise_install=is_enterprise_install)
    return await session.scalar(select(Tenant).where(Tenant.install_key == key))


async def ensure_tenant(session: AsyncSession, *, team_id: str | None, enterprise_id: str | None,
                        is_enterprise_install: bool) -> int:
    """The id of the tenant of this install, created if new; idempotent and safe against a concurrent install.

    The tenant is the enterprise for an org-wide Grid install (`is_enterprise_install`, `enterprise_id` required),
    else the workspace (`team_id` required). An uninstalled tenant installed again is active again, with the data
    it kept (its purge is called off). Flushes, does not commit: the caller's transaction decides.
    """
    key = install_key(team_id=team_id, enterprise_id=enterprise_id, is_enterprise_install=is_enterprise_install)
    tenant = await session.scalar(select(Tenant).where(Tenant.install_key == key))
    if tenant is None:
        try:
            async with session.begin_nested():
                tenant = Tenant(install_key=key, team_id=team_id, enterprise_id=enterprise_id,
                                is_enterprise_install=is_enterprise_install, status=TenantStatus.active)
                session.add(tenant)
        except IntegrityError:  # another request created it meanwhile
            tenant = await session.scalar(select(Tenant).where(Tenant.install_key == key))
            if tenant is None:
                raise
    if tenant.status is not TenantStatus.active:
        tenant.status, tenant.uninstalled_at, tenant.purge_after = TenantStatus.active, None, None
    if team_id and tenant.team_id != team_id and not is_enterprise_install:
        tenant.team_id = team_id
    await session.flush()
    return tenant.id


async def mark_tenant_uninstalled(session: AsyncSession, tenant_id: int, *, at: datetime,
                                  retention_days: int) -> None:
    """The app was uninstalled (or its tokens revoked) at `at`: the tenant stops being active (its jobs stop:
    `active_tenant_ids` leaves it out) and its rows are kept until `at + retention_days`, then purged.

    A repeat (`tokens_revoked` after `app_uninstalled`) keeps the first time, so retention is never extended by
    Slack telling twice. The default tenant cannot be uninstalled. Flushes, does not commit.
    """
    if tenant_id == DEFAULT_TENANT_ID:
        raise ValueError("the single-workspace tenant is not installed through Slack and cannot be uninstalled")
    if retention_days < 0:
        raise ValueError("retention_days cannot be negative")
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise UnknownTenant(f"no tenant {tenant_id}")
    if tenant.status is TenantStatus.uninstalled:
        return
    tenant.status, tenant.uninstalled_at = TenantStatus.uninstalled, at
    tenant.purge_after = at + timedelta(days=retention_days)
    await session.flush()


async def active_tenant_ids(session: AsyncSession) -> list[int]:
    """Every installed tenant's id, in ascending order (the default tenant first): whose jobs run."""
    return list(await session.scalars(select(Tenant.id).where(Tenant.status == TenantStatus.active)
                                      .order_by(Tenant.id)))


async def purge_expired_tenants(session: AsyncSession, *, now: datetime) -> list[int]:
    """Delete every row of each uninstalled tenant whose retention ended (`purge_after <= now`), then the tenant;
    the ids purged. Runs in the caller's transaction (commit it); on PostgreSQL it switches the transaction's
    tenant to each purged one in turn, then back to the caller's."""
    expired = list(await session.scalars(select(Tenant.id).where(Tenant.status == TenantStatus.uninstalled,
                                                                 Tenant.purge_after <= now)))
    owned = [table for table in reversed(Base.metadata.sorted_tables) if "tenant_id" in table.c
             and table.name in _OWNED_TABLES]
    connection = await session.connection()
    for tenant_id in expired:
        with tenant_scope(tenant_id):
            if connection.dialect.name == "postgresql":
                await connection.run_sync(set_tenant, tenant_id)
            for table in owned:
                await session.execute(delete(table).where(table.c.tenant_id == tenant_id))
        await session.execute(delete(Tenant).where(Tenant.id == tenant_id))
    if expired and connection.dialect.name == "postgresql":
        await connection.run_sync(set_tenant, current_tenant_id())
    session.expunge_all()
    return expired


async def tenant_secret_box(session: AsyncSession, box: SecretBox, *, tenant_id: int | None = None) -> SecretBox:
    """The box for a tenant's stored secrets (default: the current tenant's), `box` being the master box.

    The default tenant's secrets stay under the master key, as before tenants existed. Any other tenant's are
    under its own data key, made (and stored wrapped by the master key) the first time one is needed.
    """
    tenant_id = current_tenant_id() if tenant_id is None else tenant_id
    if tenant_id == DEFAULT_TENANT_ID:
        return box
    wrapped = await session.scalar(select(Tenant.data_key_wrapped).where(Tenant.id == tenant_id))
    if wrapped is None:
        candidate = box.new_wrapped_data_key()
        await session.execute(update(Tenant).where(Tenant.id == tenant_id, Tenant.data_key_wrapped.is_(None))
                              .values(data_key_wrapped=candidate))
        wrapped = await session.scalar(select(Tenant.data_key_wrapped).where(Tenant.id == tenant_id)
                                       .execution_options(populate_existing=True))
        if wrapped is None:
            raise UnknownTenant(f"no tenant {tenant_id}")
    return box.open_data_key(wrapped)


_OWNED_TABLES = frozenset(mapper.local_table.name for mapper in Base.registry.mappers
                          if issubclass(mapper.class_, TenantOwned))
