"""App settings stored in the database (channels, schedule, billing team, time zone).

Typed accessors over the key/value `app_settings` table; defaults live here, in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.audit import record_audit
from bot.db.models import AppSetting
from bot.db.tenant_scope import current_tenant_id

SETTINGS_KEY = "app"


@dataclass
class AppSettings:
    alerts_channel: str | None = None
    checklist_channel: str | None = None
    billing_team: list[str] = field(default_factory=list)  # Slack user ids and/or one user group id
    poll_minutes: int = 5
    checklist_days_before_month_end: int = 3
    digest_hour: int = 8
    timezone: str = "UTC"
    marketplace: str | None = None  # the first active marketplace (kept for older instances): `marketplaces[0]`
    marketplaces: list[str] = field(default_factory=list)  # every active marketplace: vendor keys of the registry
    psa: str | None = None  # the active PSA: a vendor key of the registry
    report_link_days: int = 7  # how long a signed report link stays valid
    connector_stale_minutes: int = 60  # no success for this long: the connector is stale (health alert)
    currency: str = "USD"  # ISO 4217: what amounts are in where the marketplace does not say (reports)

    def __post_init__(self) -> None:
        """`marketplace` is the first of `marketplaces`. Set to another (the config modal's one pick, settings
        written before revision 0005 or by an older instance), it becomes the first: moved to the front when it is
        listed, else in place of the first."""
        listed = list(dict.fromkeys(self.marketplaces or []))
        if self.marketplace and (not listed or listed[0] != self.marketplace):
            rest = [m for m in listed if m != self.marketplace]
            listed = [self.marketplace, *(rest if self.marketplace in listed else rest[1:])]
        self.marketplaces = listed
        self.marketplace = listed[0] if listed else None

    def validate(self) -> None:
        if not all(isinstance(m, str) and m for m in self.marketplaces):
            raise ValueError("marketplaces must be vendor keys")
        if not 1 <= self.poll_minutes <= 24 * 60:
            raise ValueError("poll_minutes must be between 1 and 1440")
        if not 0 <= self.checklist_days_before_month_end <= 27:
            raise ValueError("checklist_days_before_month_end must be between 0 and 27")
        if not 0 <= self.digest_hour <= 23:
            raise ValueError("digest_hour must be between 0 and 23")
        if not 1 <= self.report_link_days <= 90:
            raise ValueError("report_link_days must be between 1 and 90")
        if not 5 <= self.connector_stale_minutes <= 7 * 24 * 60:
            raise ValueError("connector_stale_minutes must be between 5 and 10080")
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isascii()
                and self.currency.isupper() and self.currency.isalpha()):
            raise ValueError(f"currency must be a three-letter ISO 4217 code such as USD or EUR, not {self.currency!r}")


async def load_app_settings(*, session: AsyncSession) -> AppSettings:
    row = await session.get(AppSetting, (current_tenant_id(), SETTINGS_KEY))
    if row is None:
        return AppSettings()
    known = {f.name for f in fields(AppSettings)}
    return AppSettings(**{k: v for k, v in row.value.items() if k in known})


async def save_app_settings(*, session: AsyncSession, settings: AppSettings, actor: str) -> None:
    settings.validate()
    row = await session.get(AppSetting, (current_tenant_id(), SETTINGS_KEY))
    before: dict[str, Any] | None = None if row is None else dict(row.value)
    value = asdict(settings)
    if row is None:
        session.add(AppSetting(key=SETTINGS_KEY, value=value, updated_by=actor))
    else:
        row.value = value
        row.updated_by = actor
    await session.flush()
    record_audit(session=session, actor=actor, action="save_settings", subject_type="app_settings",
                 subject_id=SETTINGS_KEY, before=before, after=value)
