"""The configuration the `/seats config` modal shows and saves: app settings plus one connection per system.

Secrets are write-only: `load_configuration` says which ones are stored and who set them, never their
values; a secret left empty on save keeps the stored value. Everything a save changes is audited with
the person's Slack user id (connections record only *that* secrets changed). Validation is per field,
so the modal can put each message under the input it concerns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.connectors.connection import Connection
from bot.connectors.registry import VENDORS
from bot.connectors.vendor import KINDS
from bot.db.app_settings import AppSettings, load_app_settings, save_app_settings
from bot.db.audit import audit_events_for
from bot.db.connections import decrypt_secrets, save_connection
from bot.db.models import ConnectionSetting
from bot.keys import SecretBox
from bot.log_redaction import register_secret

SCHEDULE_FIELDS = ("poll_minutes", "checklist_days_before_month_end", "digest_hour")


@dataclass(frozen=True)
class StoredConnection:
    """A stored connection as the modal may show it: no secret values, only which are stored and by whom."""

    system: str
    base_url: str
    options: dict[str, Any]
    stored_secrets: frozenset[str]
    secrets_set_by: str | None
    secrets_set_at: datetime | None


@dataclass(frozen=True)
class Configuration:
    settings: AppSettings
    connections: dict[str, StoredConnection]


@dataclass(frozen=True)
class ConnectionForm:
    """One system's values as typed. `secrets` holds only the secrets typed now (empty = keep)."""

    system: str
    base_url: str
    options: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ConfigForm:
    settings: AppSettings
    connections: tuple[ConnectionForm, ...] = ()


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field: `system` None for an app setting (`name` is its AppSettings field)."""

    system: str | None
    name: str
    message: str


@dataclass(frozen=True)
class SavedConfiguration:
    settings: AppSettings
    changed_settings: tuple[str, ...]
    saved_connections: tuple[str, ...]
    secrets_changed: dict[str, tuple[str, ...]]  # system -> names of the secrets replaced (never values)


class InvalidConfiguration(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


# --- reading -----------------------------------------------------------------------------------------

async def load_configuration(*, session: AsyncSession, box: SecretBox) -> Configuration:
    settings = await load_app_settings(session=session)
    connections: dict[str, StoredConnection] = {}
    for row in await session.scalars(select(ConnectionSetting).order_by(ConnectionSetting.system)):
        secrets = await decrypt_secrets(session=session, box=box, ciphertext=row.secrets_ciphertext)
        stored = frozenset(name for name, value in secrets.items() if value)
        set_by, set_at = await _secrets_last_set(session, row)
        connections[row.system] = StoredConnection(system=row.system, base_url=row.base_url,
                                                   options=dict(row.options), stored_secrets=stored,
                                                   secrets_set_by=set_by if stored else None,
                                                   secrets_set_at=set_at if stored else None)
    return Configuration(settings=settings, connections=connections)


async def _secrets_last_set(session: AsyncSession, row: ConnectionSetting) -> tuple[str, datetime]:
    events = await audit_events_for(session=session, subject_type="connection", subject_id=row.system)
    for event in reversed(events):
        if (event.after or {}).get("secrets_changed"):
            return event.actor, event.at
    return row.updated_by, row.updated_at


async def connection_to_test(*, session: AsyncSession, box: SecretBox, form: ConnectionForm) -> Connection:
    """The connection as typed, with the stored secrets (and stored extra options) behind empty fields."""
    row = await session.scalar(select(ConnectionSetting).where(ConnectionSetting.system == form.system))
    stored_secrets = (await decrypt_secrets(session=session, box=box, ciphertext=row.secrets_ciphertext)
                      if row is not None else {})
    stored_options = dict(row.options) if row is not None else {}
    for value in form.secrets.values():
        register_secret(value)
    return Connection(system=form.system, base_url=form.base_url.strip(),
                      options=_merged_options(stored_options, form),
                      secrets={**stored_secrets, **form.secrets})


def _merged_options(stored: dict[str, Any], form: ConnectionForm) -> dict[str, Any]:
    """Options from the form over the stored ones; options the modal does not show (a request budget) stay."""
    merged = dict(stored)
    for spec in VENDORS.get(form.system).connection.options:
        value = form.options.get(spec.name, "").strip()
        if value:
            merged[spec.name] = int(value) if spec.integer else value
        else:
            merged.pop(spec.name, None)
    return merged


# --- validating --------------------------------------------------------------------------------------

def validate_form(form: ConfigForm) -> list[FieldProblem]:
    """Problems found without the database: URLs, numbers, ranges, the time zone, ids."""
    problems: list[FieldProblem] = []
    settings = form.settings
    for name in SCHEDULE_FIELDS:
        try:
            AppSettings(**{name: getattr(settings, name)}).validate()
        except (ValueError, TypeError) as exc:
            problems.append(FieldProblem(None, name, _sentence(str(exc))))
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(FieldProblem(None, "timezone", f"{settings.timezone!r} is not an IANA time zone "
                                                       "(e.g. America/Denver, Europe/London, UTC)."))
    for kind in KINDS:
        if getattr(settings, kind) not in (None, *VENDORS.keys(kind)):
            problems.append(FieldProblem(None, kind, f"Choose one of {', '.join(VENDORS.keys(kind))}."))
    unknown = [m for m in settings.marketplaces if m not in VENDORS.keys("marketplace")]
    if unknown:
        problems.append(FieldProblem(None, "marketplaces", f"{', '.join(unknown)}: choose among "
                                                           f"{', '.join(VENDORS.keys('marketplace'))}."))
    for slack_id in settings.billing_team:
        if not (slack_id[:1] in ("U", "W", "S") and slack_id[1:].isalnum()):
            problems.append(FieldProblem(None, "billing_team", f"{slack_id!r} is not a Slack user id (U…/W…) "
                                                               "or user group id (S…)."))
    for connection in form.connections:
        problems += connection_problems(connection)
    return problems


def _sentence(message: str) -> str:
    for name in SCHEDULE_FIELDS:
        message = message.replace(f"{name} ", "")
    return message[:1].upper() + message[1:] + "."


def connection_problems(form: ConnectionForm) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    url = urlsplit(form.base_url.strip())
    if url.scheme not in ("http", "https") or not url.netloc or " " in form.base_url.strip():
        problems.append(FieldProblem(form.system, "base_url",
                                     f"{form.base_url.strip() or 'An empty value'!r} is not an http(s) URL."))
    for spec in VENDORS.get(form.system).connection.options:
        value = form.options.get(spec.name, "").strip()
        if spec.required and not value:
            problems.append(FieldProblem(form.system, spec.name, f"{spec.label} is required."))
        elif value and spec.integer and not value.isdigit():
            problems.append(FieldProblem(form.system, spec.name, f"{spec.label} must be a whole number."))
    return problems


def _missing_secrets(form: ConnectionForm, stored: frozenset[str]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for spec in VENDORS.get(form.system).connection.secrets:
        if spec.required and spec.name not in stored and not form.secrets.get(spec.name):
            problems.append(FieldProblem(form.system, spec.name,
                                         f"{spec.label} is required: none is stored yet."))
    return problems


# --- saving ------------------------------------------------------------------------------------------

async def save_configuration(*, session: AsyncSession, box: SecretBox, form: ConfigForm,
                             actor: str) -> SavedConfiguration:
    """Validate and save in one transaction (the caller commits); InvalidConfiguration lists every problem."""
    problems = validate_form(form)
    current = await load_configuration(session=session, box=box)
    for connection in form.connections:
        stored = current.connections.get(connection.system)
        problems += _missing_secrets(connection, stored.stored_secrets if stored else frozenset())
    if problems:
        raise InvalidConfiguration(problems)
    secrets_changed: dict[str, tuple[str, ...]] = {}
    saved: list[str] = []
    for connection in form.connections:
        row = await session.scalar(select(ConnectionSetting)
                                   .where(ConnectionSetting.system == connection.system))
        typed = {name: value for name, value in connection.secrets.items() if value}
        options = _merged_options(dict(row.options) if row is not None else {}, connection)
        if row is not None and not typed and row.base_url == connection.base_url.strip() and row.options == options:
            continue  # unchanged: no new audit row, no engine rebuild
        secrets: dict[str, str] | None = None
        if row is None or typed:
            stored = (await decrypt_secrets(session=session, box=box, ciphertext=row.secrets_ciphertext)
                      if row is not None else {})
            secrets = {**stored, **typed}
        await save_connection(session=session, box=box, system=connection.system,
                              base_url=connection.base_url.strip(), options=options, secrets=secrets, actor=actor)
        saved.append(connection.system)
        secrets_changed[connection.system] = tuple(sorted(typed))
    before = asdict(current.settings)
    after = asdict(form.settings)
    changed = tuple(f.name for f in fields(AppSettings) if before.get(f.name) != after.get(f.name))
    if changed:
        await save_app_settings(session=session, settings=form.settings, actor=actor)
    return SavedConfiguration(settings=form.settings, changed_settings=changed, saved_connections=tuple(saved),
                              secrets_changed=secrets_changed)
