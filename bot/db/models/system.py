"""Connection settings, app settings, the scheduler lease, sync runs and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.base import Base, enum_column, utcnow
from bot.db.models.tenants import TenantOwned
from bot.domain.enums import ConnectorState, SlackMessageState, SyncRunStatus


class ConnectionSetting(TenantOwned, Base):
    """How to reach one marketplace or PSA. Secrets are a Fernet token, never plain text."""

    __tablename__ = "connection_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "system"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(20))  # a vendor's key (bot.connectors.registry)
    kind: Mapped[str] = mapped_column(String(12))  # marketplace | psa
    base_url: Mapped[str] = mapped_column(String(500))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # non-secret settings (user name, company id)
    secrets_ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AppSetting(TenantOwned, Base):
    """One setting (channels, schedule, billing team, time zone...) as a JSON value under a key."""

    __tablename__ = "app_settings"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "key"),)

    key: Mapped[str] = mapped_column(String(64))
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


class SyncRun(TenantOwned, Base):
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
    # The process running it and when it last said so: a run whose heartbeat stopped died with its process.
    owner: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]


class AuditEvent(TenantOwned, Base):
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


class ConnectorHealth(TenantOwned, Base):
    """The last outcome of talking to one configured system, and whether an alert about it is out."""

    __tablename__ = "connector_health"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "system"),)

    system: Mapped[str] = mapped_column(String(20))  # a vendor's key (bot.connectors.registry)
    state: Mapped[ConnectorState] = mapped_column(enum_column(ConnectorState, "connector_state"),
                                                  default=ConnectorState.ok)
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # the connector's diagnosis, secrets redacted
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    alerted: Mapped[bool] = mapped_column(default=False)  # a "failing/stale" alert is out, awaiting recovery


class SlackMessage(TenantOwned, Base):
    """A message SeatSync keeps up to date (an alert per failure cause, a held change, a health alert).

    `key` names what it reports ("failure:<cause>", "approval:<group>", "margin:<link>", "health:<system>"),
    so a repeat updates the same message instead of posting again.
    """

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))  # None until chat.postMessage succeeded
    state: Mapped[SlackMessageState] = mapped_column(enum_column(SlackMessageState, "slack_message_state"),
                                                     default=SlackMessageState.open)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what it last showed (counts, ids)
    last_error: Mapped[str | None] = mapped_column(Text)  # Slack's error when it could not be posted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SlackDelivery(Base):
    """A Slack request already handled, so a retry (X-Slack-Retry-Num) is acked and not run again,
    whichever process it reaches. Rows older than an hour are pruned."""

    __tablename__ = "slack_deliveries"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
