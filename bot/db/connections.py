"""Connection settings per marketplace/PSA (a vendor of the registry), with secrets encrypted at rest (Fernet via
bot.keys, under the tenant's own data key: `bot.db.tenancy.tenant_secret_box`); loaded as the `Connection` the
connectors are built from. `box` is always the install's master box."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.connection import Connection
from bot.connectors.registry import VENDORS
from bot.db.audit import record_audit
from bot.db.models import ConnectionSetting
from bot.db.tenancy import tenant_secret_box
from bot.keys import SecretBox
from bot.log_redaction import register_secret


async def save_connection(
    *,
    session: AsyncSession,
    box: SecretBox,
    system: str,
    base_url: str,
    options: dict[str, Any],
    secrets: dict[str, str] | None,
    actor: str,
    enabled: bool = True,
) -> None:
    """Create or update a connection. `secrets=None` keeps the stored secrets (write-only inputs)."""
    kind = VENDORS.get(system).kind  # UnknownVendor (a ValueError) names the systems SeatSync knows
    row = await session.scalar(select(ConnectionSetting).where(ConnectionSetting.system == system))
    before = None if row is None else {"base_url": row.base_url, "options": row.options, "enabled": row.enabled}
    if row is None:
        if secrets is None:
            raise ValueError(f"{system}: secrets are required the first time a connection is saved")
        row = ConnectionSetting(system=system, kind=kind, secrets_ciphertext="", updated_by=actor)
        session.add(row)
    row.base_url = base_url
    row.options = dict(options)
    row.enabled = enabled
    row.updated_by = actor
    if secrets is not None:
        for value in secrets.values():
            register_secret(value)
        row.secrets_ciphertext = (await tenant_secret_box(session, box)).encrypt(secrets)
    await session.flush()
    record_audit(session=session, actor=actor, action="save_connection", subject_type="connection",
                 subject_id=system, before=before,
                 after={"base_url": base_url, "options": dict(options), "enabled": enabled,
                        "secrets_changed": secrets is not None})


async def decrypt_secrets(*, session: AsyncSession, box: SecretBox, ciphertext: str) -> dict[str, str]:
    """A stored connection's secrets, from under the current tenant's data key (`box` is the master box)."""
    return (await tenant_secret_box(session, box)).decrypt(ciphertext)


async def load_connection(*, session: AsyncSession, box: SecretBox, system: str) -> Connection | None:
    row = await session.scalar(select(ConnectionSetting).where(ConnectionSetting.system == system))
    if row is None:
        return None
    secrets = await decrypt_secrets(session=session, box=box, ciphertext=row.secrets_ciphertext)
    for value in secrets.values():
        register_secret(value)
    return Connection(system=row.system, base_url=row.base_url, options=dict(row.options), secrets=secrets,
                      enabled=row.enabled)
