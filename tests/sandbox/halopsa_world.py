"""A small hand-built Halo world, the simulator mounted at /halopsa, and helpers to get a token and call it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import aiohttp
from aiohttp import web

from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.halopsa.app import create_halopsa_app, halopsa_error
from bot.sandbox.halopsa.records import (
    HaloClient,
    HaloContract,
    HaloItem,
    HaloLine,
    HaloProRata,
    HaloRecurringInvoice,
)
from bot.sandbox.world import Credentials, SandboxWorld

TODAY = date(2026, 3, 15)
API = "/halopsa/api"
TOKEN = "/halopsa/auth/token"
ACME, BETA, GONE = 12, 13, 14  # clients; GONE is inactive
M365, EXO, MANAGED = 702, 703, 704  # items
ACME_M365, BETA_MS, ACME_OLD = 31, 32, 33  # contracts; ACME_OLD ended
ACME_INVOICE, BETA_INVOICE, OLD_INVOICE = -94, -97, -98  # recurring invoices
M365_LINE, EXO_LINE, ARCHIVE_LINE, BETA_LINE, OLD_LINE = 24963, 24964, 24965, 24970, 24980
MANUAL_PRORATA, BILLED_PRORATA = 811, 812


def build_world() -> SandboxWorld:
    world = SandboxWorld(seed=7, today=TODAY, credentials=Credentials.for_seed(7))
    halo = world.halopsa
    for client in (HaloClient(ACME, "Acme Mfg."), HaloClient(BETA, "Beta LLC"),
                   HaloClient(GONE, "Gone Ltd", inactive=True)):
        halo.clients[client.id] = client
    for item in (HaloItem(M365, "Microsoft 365 Business Premium", "M365-BP", Decimal("22"), Decimal("18.50")),
                 HaloItem(EXO, "Exchange Online (Plan 1)", "EXO-P1", Decimal("4.40"), Decimal("3.60")),
                 HaloItem(MANAGED, "Managed Workstation", "MS-WKS", Decimal("45"), Decimal("12"))):
        halo.items[item.id] = item
    for contract in (HaloContract(ACME_M365, ACME, "Microsoft 365 NCE - Annual", date(2025, 1, 1)),
                     HaloContract(BETA_MS, BETA, "Managed Services", date(2024, 6, 1)),
                     HaloContract(ACME_OLD, ACME, "Dropbox (monthly)", date(2023, 1, 1), date(2025, 12, 31))):
        halo.contracts[contract.id] = contract
    acme = HaloRecurringInvoice(ACME_INVOICE, ACME, ACME_M365, next_creation=date(2026, 4, 1),
                                last_created=date(2026, 3, 1),
                                last_modified=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    beta = HaloRecurringInvoice(BETA_INVOICE, BETA, BETA_MS, next_creation=date(2026, 4, 1))
    old = HaloRecurringInvoice(OLD_INVOICE, ACME, ACME_OLD, next_creation=date(2026, 4, 1))
    for invoice in (acme, beta, old):
        halo.recurring_invoices[invoice.id] = invoice
    m365 = HaloLine(M365_LINE, ACME_INVOICE, M365, "M365-BP", "Microsoft 365 Business Premium",
                    "Microsoft 365 Business Premium", "REC-M365", Decimal(10), Decimal("22"), Decimal("18.50"),
                    start_date=date(2025, 1, 1), sequence=1)
    m365.prorata = [
        HaloProRata(BILLED_PRORATA, M365_LINE, ACME_INVOICE, ACME, date(2026, 2, 10), Decimal(1), Decimal("8.80"),
                    short_description="M365 (pro rata)", invoice_id=4100),
        HaloProRata(MANUAL_PRORATA, M365_LINE, ACME_INVOICE, ACME, date(2026, 3, 3), Decimal(2), Decimal("19.50"),
                    short_description="M365 (pro rata)", long_description="Added by hand"),
    ]
    exo = HaloLine(EXO_LINE, ACME_INVOICE, EXO, "EXO-P1", "Exchange Online (Plan 1)", "Exchange Online (Plan 1)",
                   "REC-EXO", Decimal(5), Decimal("4.40"), Decimal("3.60"), start_date=date(2025, 1, 1), sequence=2)
    archive = HaloLine(ARCHIVE_LINE, ACME_INVOICE, None, "", "Archiving (free text)", "", "", Decimal(3),
                       Decimal("3"), Decimal("2.50"), sequence=3, comment_1="kept by hand")
    beta_line = HaloLine(BETA_LINE, BETA_INVOICE, MANAGED, "MS-WKS", "Managed Workstation", "Managed Workstation",
                         "MS-WKS", Decimal(20), Decimal("45"), Decimal("12"), start_date=date(2024, 6, 1))
    old_line = HaloLine(OLD_LINE, OLD_INVOICE, EXO, "EXO-P1", "Dropbox", "", "", Decimal(4), Decimal("15"),
                        Decimal("12"), start_date=date(2023, 1, 1), end_date=date(2025, 12, 31))
    for invoice, line in ((acme, m365), (acme, exo), (acme, archive), (beta, beta_line), (old, old_line)):
        halo.add_line(invoice, line)
    return world


class ManualClock:
    """Monotonic seconds the test moves by hand (token expiry, the rate limit)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def build_app(world: SandboxWorld, knobs: FaultKnobs, clock: ManualClock) -> web.Application:
    app = web.Application()
    sub = create_halopsa_app(world, clock=clock)
    sub.middlewares.insert(0, fault_middleware(knobs, halopsa_error))
    app.add_subapp("/halopsa", sub)
    return app


def token_form(world: SandboxWorld, **changes: str | None) -> dict[str, str]:
    creds = world.credentials
    form = {"grant_type": "client_credentials", "client_id": creds.halopsa_client_id,
            "client_secret": creds.halopsa_client_secret, "scope": "all"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def request_token(client, world: SandboxWorld, tenant: str | None = "sandboxmsp",
                        **changes: str | None) -> aiohttp.ClientResponse:
    params = {} if tenant is None else {"tenant": tenant}
    return await client.post(TOKEN, params=params, data=token_form(world, **changes))


async def bearer(client, world: SandboxWorld, scope: str = "all") -> dict[str, str]:
    response = await request_token(client, world, scope=scope)
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['access_token']}"}
