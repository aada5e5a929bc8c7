"""Tenants: one MSP each, a Slack workspace (team id) or, for an org-wide Grid install, an enterprise.

Every other table but a few global ones (`GLOBAL_TABLES`) is `TenantOwned`: its rows carry `tenant_id`, taken
from `bot.db.tenant_scope.current_tenant_id()` on insert, and are seen only by sessions of that tenant
(`bot.db.tenant_filter`: row-level security on PostgreSQL, criteria the ORM adds on SQLite).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base, enum_column, utcnow
from bot.db.tenant_scope import current_tenant_id
from bot.domain.enums import TenantStatus

# Tables whose rows belong to no tenant, each for a reason: the tenants themselves; the scheduler lease (one
# leader per install); Slack's delivery ids (unique across Slack, checked before the tenant is known); Slack's
# installations and OAuth states (slack_sdk's stores: how a request finds its tenant, before it is known).
GLOBAL_TABLES = frozenset({"tenants", "scheduler_leases", "slack_deliveries", "slack_installations", "slack_bots",
                           "slack_oauth_states"})


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "team:<T…>" or "enterprise:<E…>": how Slack names the install; NULL for the single-workspace default tenant
    install_key: Mapped[str | None] = mapped_column(String(48), unique=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    is_enterprise_install: Mapped[bool] = mapped_column(default=False)
    status: Mapped[TenantStatus] = mapped_column(enum_column(TenantStatus, "tenant_status"),
                                                 default=TenantStatus.active)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[datetime | None]
    purge_after: Mapped[datetime | None]  # its rows are deleted after this (retention after an uninstall)
    # its data key (Fernet), wrapped by the install's master key (bot.keys.SecretBox.wrap_data_key); NULL until
    # its first secret is stored, and always for the default tenant, whose secrets stay under the master key
    data_key_wrapped: Mapped[str | None] = mapped_column(Text)


class TenantOwned:
    """A mixin: the row belongs to the tenant that wrote it."""

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True, default=current_tenant_id)
