"""Links in and out as CSV: the migration path from another tool, and a backup of the billing team's work.

One row per link, at each level (`company`, `subscription`, `resource`), with both sides' external IDs
and names; resource rows also carry the price source set on that link (empty: it inherits the
company's or the global one).

Importing matches records by **external ID** (names can be edited on either side; IDs cannot). A name
given in the file must still match the record's current name *loosely* — case, spacing and
punctuation aside — so a file from another tenant whose IDs happen to exist is refused, not applied.
An empty name is not checked. Rows go through the same service functions as Slack (bot.db.links),
so every rule holds, in file order, inside one transaction: a dry run rolls it back, `apply` commits
it only when every row is valid. A resource or service named twice in the file is refused. Numbers are
plain decimals within what the database holds (bot.domain.money): `markup_percent` from -100 to 1000,
`custom_price` and `custom_cost` from 0 to under 10^10, at most 4 decimals; anything else (Infinity, NaN,
1E+999999, 1e30, -1, 0.0000001) makes its row invalid.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.connectors.registry import VENDORS
from bot.connectors.vendor import Kind
from bot.db.links import LinkError, link_company, link_resource, link_subscription
from bot.db.models import (
    CompanyLink,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PriceSourceKind,
    PriceSourceSetting,
    PsaCompany,
    PsaContract,
    PsaService,
    ResourceLink,
    Scope,
    SubscriptionLink,
)
from bot.db.policies import scope_key, set_price_source
from bot.domain import money
from bot.domain.pricing import PriceSourceError
from bot.reports.formats import FORMULA_PREFIXES, neutralise

LEVELS = ("company", "subscription", "resource")
COLUMNS = (
    "level", "marketplace", "company_id", "company", "subscription_id", "subscription", "resource_id", "resource",
    "psa", "psa_company_id", "psa_company", "contract_id", "contract", "service_id", "service",
    "price_source", "markup_percent", "custom_price", "custom_cost", "below_cost_confirmed",
)
REQUIRED = {
    "company": ("marketplace", "company_id", "psa", "psa_company_id"),
    "subscription": ("marketplace", "subscription_id", "psa", "contract_id"),
    "resource": ("marketplace", "subscription_id", "resource_id", "psa", "service_id"),
}
DISPLAY_NAMES = {"psa_company": "PSA company"}
TEXT_COLUMNS = frozenset({"company", "subscription", "resource", "psa_company", "contract", "service"})
MAX_ROWS = 100_000


class LinksFileError(Exception):
    """The file itself cannot be read as a links file (not one row's problem)."""


class RowError(Exception):
    """One row cannot be applied; the message says why."""


@dataclass(frozen=True)
class RowOutcome:
    line: int  # the line in the file (the header is line 1)
    level: str
    subject: str  # "Acme Mfg. / Microsoft 365 / Exchange -> Exchange Online", for the printout
    action: str  # create | already linked | set price source | invalid
    reason: str | None = None


@dataclass
class ImportResult:
    outcomes: list[RowOutcome] = field(default_factory=list)
    applied: bool = False
    new_resource_link_ids: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return all(outcome.action != "invalid" for outcome in self.outcomes)

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)


# ---- export -------------------------------------------------------------------------------------------

async def export_rows(*, session: AsyncSession) -> list[dict[str, str]]:
    """Every link, companies first, then subscriptions, then resources, each in the order made."""
    rows: list[dict[str, str]] = []
    for link in await session.scalars(
        select(CompanyLink).options(joinedload(CompanyLink.marketplace_company), joinedload(CompanyLink.psa_company))
        .order_by(CompanyLink.id)
    ):
        rows.append({"level": "company", **_company_side(link.marketplace_company),
                     **_psa_company_side(link.psa_company)})
    for link in await session.scalars(
        select(SubscriptionLink).options(
            joinedload(SubscriptionLink.subscription).joinedload(MarketplaceSubscription.company),
            joinedload(SubscriptionLink.contract).joinedload(PsaContract.company),
        ).order_by(SubscriptionLink.id)
    ):
        rows.append({"level": "subscription", **_subscription_side(link.subscription),
                     **_contract_side(link.contract)})
    prices = {row.resource_link_id: row for row in await session.scalars(
        select(PriceSourceSetting).where(PriceSourceSetting.scope == Scope.link))}
    for link in await session.scalars(
        select(ResourceLink).options(
            joinedload(ResourceLink.resource).joinedload(MarketplaceResource.subscription)
            .joinedload(MarketplaceSubscription.company),
            joinedload(ResourceLink.service).joinedload(PsaService.contract).joinedload(PsaContract.company),
        ).order_by(ResourceLink.id)
    ):
        resource, service = link.resource, link.service
        rows.append({"level": "resource", **_subscription_side(resource.subscription),
                     "resource_id": resource.external_id, "resource": resource.name,
                     **_contract_side(service.contract), "service_id": service.external_id, "service": service.name,
                     **_price_columns(prices.get(link.id))})
    return rows


def _company_side(company: MarketplaceCompany) -> dict[str, str]:
    return {"marketplace": company.marketplace, "company_id": company.external_id, "company": company.name}


def _subscription_side(subscription: MarketplaceSubscription) -> dict[str, str]:
    return {**_company_side(subscription.company), "subscription_id": subscription.external_id,
            "subscription": subscription.name}


def _psa_company_side(company: PsaCompany) -> dict[str, str]:
    return {"psa": company.psa, "psa_company_id": company.external_id, "psa_company": company.name}


def _contract_side(contract: PsaContract) -> dict[str, str]:
    return {**_psa_company_side(contract.company), "contract_id": contract.external_id, "contract": contract.name}


def _price_columns(setting: PriceSourceSetting | None) -> dict[str, str]:
    if setting is None:
        return {}
    return {"price_source": setting.kind.value, "markup_percent": _decimal_text(setting.markup_percent),
            "custom_price": _decimal_text(setting.custom_price), "custom_cost": _decimal_text(setting.custom_cost),
            "below_cost_confirmed": "yes" if setting.below_cost_confirmed else ""}


def _decimal_text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def write_links_csv(rows: Iterable[dict[str, str]], file: IO[str]) -> None:
    """CSV with every column; names that a spreadsheet would run as a formula get a leading `'`."""
    writer = csv.writer(file)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([neutralise(row.get(c, "")) if c in TEXT_COLUMNS else row.get(c, "") for c in COLUMNS])


# ---- import -------------------------------------------------------------------------------------------

def read_links_csv(file: IO[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; a file without the columns import needs is a LinksFileError."""
    reader = csv.DictReader(file)
    header = [name.strip().lstrip("\ufeff") for name in reader.fieldnames or []]
    missing = [name for name in ("level", *REQUIRED["resource"], "contract_id", "psa_company_id", "company_id")
               if name not in header]
    if missing:
        raise LinksFileError(f"not a links file: the header lacks {', '.join(dict.fromkeys(missing))} "
                             "(write one with `seatsync links export`)")
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            if None in row:
                raise LinksFileError(f"line {reader.line_num}: more cells than the header has columns")
            cells = {key: (value or "").strip() for key, value in row.items()}
            if not any(cells.values()):
                continue
            rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS:
                raise LinksFileError(f"more than {MAX_ROWS} rows; split the file")
    except csv.Error as exc:
        raise LinksFileError(f"line {reader.line_num}: {exc}") from None
    return rows


async def import_links(*, session: AsyncSession, rows: list[tuple[int, dict[str, str]]], actor: str,
                       apply: bool, now: datetime | None = None) -> ImportResult:
    """Check (and with `apply`, save) every row in one transaction: all rows or none. `now`: the links' time.

    The session must not be in a transaction the caller wants to keep: this commits or rolls back."""
    result = ImportResult()
    seen: dict[tuple[str, ...], int] = {}
    await _begin_for_savepoints(session)
    for line, row in rows:
        level = row.get("level", "")
        try:
            subject = _subject(row)
            _check_duplicates(line, row, seen)
            async with session.begin_nested():  # a row that fails half-way leaves nothing behind
                action, new_link_id = await _apply_row(session, row, actor, now)
        except (RowError, LinkError, PriceSourceError) as exc:
            known = level in LEVELS  # an unknown level is named in the reason; the row is just "row"
            result.outcomes.append(RowOutcome(line, level if known else "row", _subject(row, strict=False),
                                              "invalid", str(exc)))
            continue
        result.outcomes.append(RowOutcome(line, level, subject, action))
        if new_link_id is not None:
            result.new_resource_link_ids.append(new_link_id)
    if apply and result.valid:
        await session.commit()
        result.applied = True
    else:
        await session.rollback()
        result.new_resource_link_ids = []
    return result


async def _begin_for_savepoints(session: AsyncSession) -> None:
    """Python's sqlite3 driver opens a transaction only before a write, so a SAVEPOINT issued first would
    start (and its RELEASE commit) a transaction of its own, and the final rollback would undo nothing.
    Beginning explicitly keeps every row's savepoint inside the one transaction."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN")


def _subject(row: dict[str, str], *, strict: bool = True) -> str:
    level = row.get("level", "")
    if level not in LEVELS:
        if strict:
            raise RowError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        return ""
    if strict:
        empty = [name for name in REQUIRED[level] if not row.get(name)]
        if empty:
            raise RowError(f"a {level} row needs {', '.join(empty)}")
    depth = LEVELS.index(level) + 1
    market = " / ".join(_display(row, name) for name in ("company", "subscription", "resource")[:depth])
    psa = " / ".join(_display(row, name) for name in ("psa_company", "contract", "service")[:depth])
    return f"{market} -> {psa}"


def _display(row: dict[str, str], name: str) -> str:
    """The name in the file, else its ID, else what is missing ("(no PSA company ID)")."""
    if row.get(name):
        return row[name]
    if row.get(f"{name}_id"):
        return f"#{row[f'{name}_id']}"
    return f"(no {DISPLAY_NAMES.get(name, name)} ID)"


def _check_duplicates(line: int, row: dict[str, str], seen: dict[tuple[str, ...], int]) -> None:
    level = row["level"]
    keys: list[tuple[str, ...]] = []
    if level == "company":
        keys.append(("company", row["marketplace"], row["company_id"]))
    elif level == "subscription":
        keys.append(("subscription", row["marketplace"], row["subscription_id"]))
    else:
        keys.append(("resource", row["marketplace"], row["subscription_id"], row["resource_id"]))
        keys.append(("service", row["psa"], row["service_id"]))
    for key in keys:
        if key in seen:
            what = {"company": "company", "subscription": "subscription", "resource": "resource",
                    "service": "PSA service"}[key[0]]
            raise RowError(f"the same {what} is already in line {seen[key]} of this file")
    for key in keys:
        seen[key] = line


async def _apply_row(session: AsyncSession, row: dict[str, str], actor: str,
                     now: datetime | None) -> tuple[str, int | None]:
    level = row["level"]
    marketplace = _vendor(row["marketplace"], "marketplace")
    psa = _vendor(row["psa"], "psa")
    if level == "company":
        company = await _find(session, MarketplaceCompany, row["company_id"], "marketplace company",
                              MarketplaceCompany.marketplace == marketplace)
        _check_name(row, "company", company.name)
        psa_company = await _find(session, PsaCompany, row["psa_company_id"], "PSA company", PsaCompany.psa == psa)
        _check_name(row, "psa_company", psa_company.name)
        existing = await session.scalar(select(CompanyLink).where(
            CompanyLink.marketplace_company_id == company.id, CompanyLink.psa_company_id == psa_company.id))
        if existing is not None:
            return "already linked", None
        await link_company(session=session, marketplace_company_id=company.id, psa_company_id=psa_company.id,
                           actor=actor, now=now)
        return "create", None
    subscription = await _find(session, MarketplaceSubscription, row["subscription_id"], "subscription",
                               MarketplaceSubscription.marketplace == marketplace)
    _check_name(row, "subscription", subscription.name)
    await _check_parent(session, row, "company_id", "company", MarketplaceCompany, subscription.company_id)
    if level == "subscription":
        contract = await _find(session, PsaContract, row["contract_id"], "contract", PsaContract.psa == psa)
        _check_name(row, "contract", contract.name)
        await _check_parent(session, row, "psa_company_id", "psa_company", PsaCompany, contract.company_id)
        existing = await session.scalar(select(SubscriptionLink).where(
            SubscriptionLink.marketplace_subscription_id == subscription.id,
            SubscriptionLink.psa_contract_id == contract.id))
        if existing is not None:
            return "already linked", None
        await link_subscription(session=session, subscription_id=subscription.id, contract_id=contract.id,
                                actor=actor, now=now)
        return "create", None
    resource = await _find(session, MarketplaceResource, row["resource_id"], "resource",
                           MarketplaceResource.subscription_id == subscription.id)
    _check_name(row, "resource", resource.name)
    service = await _find(session, PsaService, row["service_id"], "PSA service", PsaService.psa == psa)
    _check_name(row, "service", service.name)
    contract = await session.get(PsaContract, service.contract_id)
    if row.get("contract_id") and row["contract_id"] != contract.external_id:
        raise RowError(f"PSA service {service.name} is on contract {contract.external_id}, not {row['contract_id']}")
    _check_name(row, "contract", contract.name)
    await _check_parent(session, row, "psa_company_id", "psa_company", PsaCompany, contract.company_id)
    existing = await session.scalar(select(ResourceLink).where(
        ResourceLink.resource_id == resource.id, ResourceLink.psa_service_id == service.id))
    if existing is not None:
        changed = await _set_price_source(session, row, existing.id, actor, only_if_different=True)
        return ("set price source" if changed else "already linked"), None
    link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor=actor, now=now)
    await _set_price_source(session, row, link.id, actor, only_if_different=False)
    return "create", link.id


async def _find(session: AsyncSession, model, external_id: str, label: str, *scope):
    found = await session.scalar(select(model).where(model.external_id == external_id, *scope))
    if found is None:
        raise RowError(f"there is no {label} with ID {external_id!r} (read the marketplace and PSA first: "
                       "seatsync sync --once)")
    return found


async def _check_parent(session: AsyncSession, row: dict[str, str], id_column: str, name_column: str, model,
                        parent_id: int) -> None:
    parent = await session.get(model, parent_id)
    if row.get(id_column) and row[id_column] != parent.external_id:
        raise RowError(f"{row.get(name_column) or row[id_column]} ({row[id_column]}) is not where the data has it: "
                       f"the record belongs to {parent.name} ({parent.external_id})")
    _check_name(row, name_column, parent.name)


def _vendor(value: str, kind: Kind) -> str:
    if value not in VENDORS.keys(kind):
        raise RowError(f"{kind} must be one of {', '.join(VENDORS.keys(kind))}, not {value!r}")
    return value


def _enum(enum, value: str, column: str):
    try:
        return enum(value)
    except ValueError:
        raise RowError(f"{column} must be one of {', '.join(e.value for e in enum)}, not {value!r}") from None


def loose_name(name: str) -> str:
    """Case, spacing and punctuation aside; an export's formula guard (a leading `'`) undone."""
    if name.startswith("'") and name[1:].startswith(FORMULA_PREFIXES):
        name = name[1:]
    return " ".join(re.findall(r"\w+", name.casefold()))


def _check_name(row: dict[str, str], column: str, actual: str) -> None:
    given = row.get(column, "")
    if given and loose_name(given) != loose_name(actual):
        label = column.replace("_", " ")
        raise RowError(f"the {label} with ID {row.get(column + '_id') or '?'} is called {actual!r}, not {given!r} "
                       "(IDs must name the same record; clear the name to skip this check)")


async def _set_price_source(session: AsyncSession, row: dict[str, str], link_id: int, actor: str, *,
                            only_if_different: bool) -> bool:
    if not row.get("price_source"):
        return False
    kind = _enum(PriceSourceKind, row["price_source"], "price_source")
    values = {name: _decimal(row, name) for name in ("markup_percent", "custom_price", "custom_cost")}
    confirmed = row.get("below_cost_confirmed", "").lower() in ("yes", "true", "1")
    if only_if_different:
        current = await session.scalar(select(PriceSourceSetting).where(
            PriceSourceSetting.scope_key == scope_key(Scope.link, link_id=link_id)))
        if current is not None and (current.kind, current.markup_percent, current.custom_price,
                                    current.custom_cost) == (kind, *values.values()):
            return False
    await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=kind, actor=actor,
                           below_cost_confirmed=confirmed, **values)
    return True


def _decimal(row: dict[str, str], column: str) -> Decimal | None:
    value = row.get(column, "")
    if not value:
        return None
    try:
        number = money.parse_number(value, field=column)
        if column == "markup_percent":
            return money.markup(number, field=column)
        return money.amount(number, field=column)
    except money.NumberError as exc:
        raise RowError(str(exc)) from None
