"""What a connection needs to be configured: its URL, its plain options and its secrets.

Each vendor's registry entry (`bot.connectors.vendor.Vendor.connection`) holds one `ConnectionFields`. The
config modal renders them; `bot.services.configuration` validates and stores them. The names are the keys the
vendor's client reads from `Connection.options` / `Connection.secrets`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionField:
    name: str
    label: str
    secret: bool = False
    required: bool = True  # an option must be given; a secret must be stored (typed now or saved before)
    integer: bool = False
    hint: str | None = None


@dataclass(frozen=True)
class ConnectionFields:
    url_label: str
    url_hint: str
    fields: tuple[ConnectionField, ...]

    @property
    def options(self) -> tuple[ConnectionField, ...]:
        return tuple(f for f in self.fields if not f.secret)

    @property
    def secrets(self) -> tuple[ConnectionField, ...]:
        return tuple(f for f in self.fields if f.secret)


# signs the marketplace's change notifications to /webhooks/marketplace (web.webhooks); without it they are
# refused and changes wait for the next scheduled sync. Every vendor that sends notifications has it.
WEBHOOK_SECRET = ConnectionField("webhook_secret", "Webhook signing secret", secret=True, required=False)
