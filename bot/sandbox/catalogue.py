"""What the sandbox MSP sells: the marketplace catalogue, its plans, and the PSA-only services.

Prices are per unit per month in USD, near the public list prices as remembered (Microsoft's NCE list
prices for the annual term, the vendors' published prices for the rest); the generator derives each
product's cost from them with a 10-25 % margin.

MPNs follow Microsoft's NCE "product id : sku id" form. Checked against public sources (code corpus:
a Partner Center catalogue response and CSV export, admin-centre "buy" links, a licence-report tool's
product table): CFQ7TTC0LH18 Business Basic, CFQ7TTC0LDPB Business Standard, CFQ7TTC0LCHC Business
Premium, CFQ7TTC0LH16 Exchange Online (Plan 1), CFQ7TTC0LH0J Exchange Online Archiving, CFQ7TTC0LHSV
OneDrive, CFQ7TTC0MM8R Microsoft 365 Copilot; CFQ7TTC0LF8Q exists (an upgrade target of Business
Basic) and is Office 365 E3 from memory. The other ids and all sku suffixes are plausible values in
the same form, not verified; the non-Microsoft MPNs are a simulator choice in a vendor-like form.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.sandbox.world import Term


@dataclass(frozen=True)
class ProductSpec:
    key: str
    name: str
    mpn: str
    list_price: Decimal
    popularity: int  # relative weight when a subscription picks its lines
    unit: str = "unit"
    seats_per_ten_staff: tuple[int, int] = (10, 10)  # range of units bought per ten of the customer's staff
    psa_code: str = ""  # the short code MSPs give the PSA catalogue item


def _p(key: str, name: str, mpn: str, price: str, popularity: int, *, unit: str = "unit",
       seats: tuple[int, int] = (8, 11), code: str) -> ProductSpec:
    return ProductSpec(key, name, mpn, Decimal(price), popularity, unit, seats, code)


PRODUCTS: tuple[ProductSpec, ...] = (
    _p("m365-basic", "Microsoft 365 Business Basic", "CFQ7TTC0LH18:0001", "6.00", 30, code="M365-BB"),
    _p("m365-standard", "Microsoft 365 Business Standard", "CFQ7TTC0LDPB:0001", "12.50", 30, code="M365-BS"),
    _p("m365-premium", "Microsoft 365 Business Premium", "CFQ7TTC0LCHC:0002", "22.00", 34, code="M365-BP"),
    _p("m365-apps-business", "Microsoft 365 Apps for business", "CFQ7TTC0LH1G:0001", "8.25", 6, seats=(1, 4),
       code="M365-APPS-BUS"),
    _p("m365-apps-enterprise", "Microsoft 365 Apps for enterprise", "CFQ7TTC0LH1H:0001", "12.00", 3,
       seats=(1, 4), code="M365-APPS-ENT"),
    _p("exo-p1", "Exchange Online (Plan 1)", "CFQ7TTC0LH16:0001", "4.00", 18, seats=(1, 6), code="EXO-P1"),
    _p("exo-p2", "Exchange Online (Plan 2)", "CFQ7TTC0LH1P:0001", "8.00", 3, seats=(1, 4), code="EXO-P2"),
    _p("exo-archiving", "Exchange Online Archiving", "CFQ7TTC0LH0J:0001", "3.00", 4, seats=(1, 5),
       code="EXO-ARCH"),
    _p("o365-e1", "Office 365 E1", "CFQ7TTC0LF8R:0001", "10.00", 4, code="O365-E1"),
    _p("o365-e3", "Office 365 E3", "CFQ7TTC0LF8Q:0001", "23.00", 7, code="O365-E3"),
    _p("m365-e3", "Microsoft 365 E3", "CFQ7TTC0LFLX:0001", "36.00", 5, code="M365-E3"),
    _p("m365-e5", "Microsoft 365 E5", "CFQ7TTC0LFLZ:0002", "57.00", 2, code="M365-E5"),
    _p("m365-f3", "Microsoft 365 F3", "CFQ7TTC0LGZW:0001", "8.00", 3, seats=(2, 8), code="M365-F3"),
    _p("teams-essentials", "Microsoft Teams Essentials", "CFQ7TTC0RM8K:0001", "4.00", 5, seats=(3, 9),
       code="TEAMS-ESS"),
    _p("teams-phone", "Microsoft Teams Phone Standard", "CFQ7TTC0LGRS:0001", "10.00", 4, seats=(1, 6),
       code="TEAMS-PHONE"),
    _p("defender-business", "Microsoft Defender for Business", "CFQ7TTC0LBCQ:0001", "3.00", 9, code="MDB"),
    _p("defender-endpoint-p1", "Microsoft Defender for Endpoint P1", "CFQ7TTC0LGRF:0001", "3.00", 3,
       code="MDE-P1"),
    _p("entra-p1", "Microsoft Entra ID P1", "CFQ7TTC0LFK5:0002", "6.00", 8, seats=(3, 10), code="ENTRA-P1"),
    _p("entra-p2", "Microsoft Entra ID P2", "CFQ7TTC0LFK8:0001", "9.00", 2, seats=(1, 4), code="ENTRA-P2"),
    _p("intune-p1", "Microsoft Intune Plan 1", "CFQ7TTC0LCL2:0001", "8.00", 4, code="INTUNE-P1"),
    _p("copilot", "Microsoft 365 Copilot", "CFQ7TTC0MM8R:0001", "30.00", 4, seats=(1, 3), code="M365-COPILOT"),
    _p("visio-p2", "Visio Plan 2", "CFQ7TTC0LHWJ:0001", "15.00", 3, seats=(1, 2), code="VISIO-P2"),
    _p("project-p3", "Project Plan 3", "CFQ7TTC0LHWK:0001", "30.00", 2, seats=(1, 2), code="PROJECT-P3"),
    _p("power-bi-pro", "Power BI Pro", "CFQ7TTC0L3PB:0001", "14.00", 3, seats=(1, 3), code="PBI-PRO"),
    _p("onedrive-p1", "OneDrive for Business (Plan 1)", "CFQ7TTC0LHSV:0001", "5.00", 2, seats=(1, 4),
       code="ONEDRIVE-P1"),
    _p("windows365-business", "Windows 365 Business 2 vCPU, 8 GB, 128 GB", "CFQ7TTC0J1FV:0002", "41.00", 2,
       seats=(1, 2), code="W365-BUS-2-8"),
    _p("acronis-workstation", "Acronis Cyber Protect Cloud - Workstation", "ACR-CPC-WKS-PW", "6.50", 10,
       code="ACR-WKS"),
    _p("acronis-server", "Acronis Cyber Protect Cloud - Server", "ACR-CPC-SRV-PW", "24.00", 6, seats=(1, 1),
       code="ACR-SRV"),
    _p("acronis-m365-seat", "Acronis Cyber Protect Cloud - Microsoft 365 seat", "ACR-CPC-M365-PS", "2.50", 6,
       code="ACR-M365"),
    _p("acronis-storage", "Acronis Cloud Storage", "ACR-CPC-STOR-GB", "0.06", 6, unit="GB", seats=(150, 900),
       code="ACR-STORAGE-GB"),
    _p("dropbox-standard", "Dropbox Business Standard", "DBX-BUS-STD-USR", "15.00", 6, code="DBX-STD"),
    _p("dropbox-advanced", "Dropbox Business Advanced", "DBX-BUS-ADV-USR", "24.00", 3, code="DBX-ADV"),
    _p("gws-starter", "Google Workspace Business Starter", "GWS-BS-STARTER", "7.20", 5, code="GWS-START"),
    _p("gws-standard", "Google Workspace Business Standard", "GWS-BS-STANDARD", "14.40", 6, code="GWS-STD"),
    _p("gws-plus", "Google Workspace Business Plus", "GWS-BS-PLUS", "21.60", 2, code="GWS-PLUS"),
    _p("keeper-business", "Keeper Business", "KPR-BUS-USR", "3.75", 5, code="KEEPER-BUS"),
    _p("bitdefender-gravityzone", "Bitdefender GravityZone Business Security", "BD-GZ-BS-EP", "2.90", 5,
       code="BD-GZ-BS"),
    _p("proofpoint-essentials", "Proofpoint Essentials Business", "PP-ESS-BUS-USR", "4.50", 4,
       code="PP-ESS-BUS"),
)

PRODUCTS_BY_KEY = {p.key: p for p in PRODUCTS}

_MICROSOFT = tuple(p.key for p in PRODUCTS[:26])


@dataclass(frozen=True)
class PlanSpec:
    """A BA service plan: what one subscription can hold, and how the MSP's PSA files it."""

    name: str
    term: Term
    product_keys: tuple[str, ...]
    weight: int
    psa_type: str  # the ConnectWise agreement type / the Autotask contract family
    auto_renew_rate: float = 0.93


PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("Microsoft 365 NCE - Annual", "annual", _MICROSOFT, 38, "Microsoft 365"),
    PlanSpec("Microsoft 365 NCE - Monthly", "monthly", _MICROSOFT, 30, "Microsoft 365"),
    PlanSpec("Acronis Cyber Protect Cloud", "monthly",
             ("acronis-workstation", "acronis-server", "acronis-m365-seat", "acronis-storage"), 10, "Backup"),
    PlanSpec("Dropbox Business - Annual", "annual", ("dropbox-standard", "dropbox-advanced"), 3, "Cloud Services"),
    PlanSpec("Dropbox Business - Monthly", "monthly", ("dropbox-standard", "dropbox-advanced"), 2,
             "Cloud Services"),
    PlanSpec("Google Workspace - Annual", "annual", ("gws-starter", "gws-standard", "gws-plus"), 4,
             "Cloud Services"),
    PlanSpec("Google Workspace - Flexible", "monthly", ("gws-starter", "gws-standard", "gws-plus"), 3,
             "Cloud Services"),
    PlanSpec("Security Essentials", "monthly",
             ("keeper-business", "bitdefender-gravityzone", "proofpoint-essentials"), 10, "Security"),
)


@dataclass(frozen=True)
class PsaOnlyService:
    """Something the MSP bills that no marketplace resource feeds (its own managed services)."""

    name: str
    code: str
    price: Decimal
    cost: Decimal
    typical_units: tuple[int, int]


PSA_ONLY_SERVICES: tuple[PsaOnlyService, ...] = (
    PsaOnlyService("Managed Workstation", "MS-WKS", Decimal("45.00"), Decimal("12.00"), (5, 80)),
    PsaOnlyService("Managed Server", "MS-SRV", Decimal("175.00"), Decimal("40.00"), (1, 6)),
    PsaOnlyService("Help Desk - Per User", "HD-USER", Decimal("65.00"), Decimal("28.00"), (5, 90)),
    PsaOnlyService("Firewall Management", "FW-MGMT", Decimal("95.00"), Decimal("20.00"), (1, 3)),
    PsaOnlyService("Backup Monitoring", "BKP-MON", Decimal("25.00"), Decimal("5.00"), (1, 10)),
    PsaOnlyService("Website Hosting", "WEB-HOST", Decimal("30.00"), Decimal("9.00"), (1, 2)),
    PsaOnlyService("Security Awareness Training", "SAT-USER", Decimal("3.50"), Decimal("1.40"), (5, 90)),
    PsaOnlyService("Domain Registration", "DOMAIN", Decimal("2.00"), Decimal("1.25"), (1, 5)),
)
