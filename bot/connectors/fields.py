"""What each connector needs to be configured: its URL, its plain options and its secrets.

The config modal renders these; `bot.db.configuration` validates and stores them. The names are the keys
each connector's `from_connection` reads from `Connection.options` / `Connection.secrets`.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKETPLACES = ("odin", "ingram")
PSAS = ("autotask", "connectwise")
SYSTEM_LABELS = {"odin": "Odin / CloudBlue BA", "ingram": "Ingram Micro Cloud Marketplace",
                 "autotask": "Autotask", "connectwise": "ConnectWise Manage"}


@dataclass(frozen=True)
class ConnectionField:
    name: str
    label: str
    secret: bool = False
    required: bool = True  # an option must be given; a secret must be stored (typed now or saved before)
    integer: bool = False
    hint: str | None = None


@dataclass(frozen=True)
class SystemFields:
    system: str
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
# refused and changes wait for the next scheduled sync
WEBHOOK_SECRET = ConnectionField("webhook_secret", "Webhook signing secret", secret=True, required=False)

CONNECTION_FIELDS: dict[str, SystemFields] = {
    "odin": SystemFields("odin", "BA XML-RPC URL", "e.g. https://ba.example.com:5224/RPC2", (
        ConnectionField("reseller_account_id", "Reseller account id", required=False, integer=True,
                        hint="Only this reseller's customers are read; empty reads every customer."),
        # BA's XML-RPC listener takes HTTP basic auth when it is configured to; the user name goes with it
        ConnectionField("username", "BA user name (basic auth)", secret=True, required=False),
        ConnectionField("password", "BA password (basic auth)", secret=True, required=False),
        WEBHOOK_SECRET,
    )),
    "ingram": SystemFields("ingram", "API base URL", "e.g. https://api.ingrammicro.com/cmp/v1", (
        ConnectionField("username", "API user name"),
        ConnectionField("marketplace", "Marketplace code", hint="e.g. us, uk, au"),
        ConnectionField("subscription_key", "Subscription key", secret=True),
        ConnectionField("password", "API password", secret=True),
        WEBHOOK_SECRET,
    )),
    "autotask": SystemFields("autotask", "API URL", "https://webservices.autotask.net/ATServicesRest "
                                                    "(the zone is discovered from it)", (
        ConnectionField("username", "API user name", hint="The API-only user's e-mail address."),
        ConnectionField("integration_code", "API integration code (tracking identifier)", secret=True),
        ConnectionField("secret", "API user secret", secret=True),
    )),
    "connectwise": SystemFields("connectwise", "Site URL", "e.g. https://na.myconnectwise.net", (
        ConnectionField("company_id", "Company id"),
        ConnectionField("public_key", "API member public key"),
        ConnectionField("client_id", "clientId (developer portal)"),
        ConnectionField("codebase", "Codebase", required=False,
                        hint="e.g. v4_6_release/; empty: looked up from the site."),
        ConnectionField("private_key", "API member private key", secret=True),
    )),
}
