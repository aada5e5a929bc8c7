"""Connection settings, app settings, the scheduler lease, sync runs and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base, utcnow
from bot.db.models.enums import SyncRunStatus, enum_column


class ConnectionSetting(Base):
    """How to reach one marketplace or PSA. Secrets are a Fernet token, never plain text."""

    __tablename__ = "connection_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(20), unique=True)  # odin | ingram | autotask | connectwise
    kind: Mapped[str] = mapped_column(String(12))  # marketplace | psa
    base_url: Mapped[str] = mapped_column(String(500))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # non-secret settings (user name, company id)
    secrets_ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AppSetting(Base):
    """One setting (channels, schedule, billing team, time zone...) as a JSON value under a key."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SchedulerLease(Base):
    """Who runs the scheduled jobs: one row per lease, held until `expires_at` unless renewed."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_status_finished", "status", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    trigger: Mapped[str] = mapped_column(String(32))  # schedule | manual | cli | webhook | demo
    triggered_by: Mapped[str] = mapped_column(String(64), default="system")
    status: Mapped[SyncRunStatus] = mapped_column(enum_column(SyncRunStatus, "sync_run_status"))
    dry_run: Mapped[bool] = mapped_column(default=False)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user id, or "system" / "cli"
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
