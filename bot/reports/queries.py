"""One query per report, each a function of a session and filters (see bot.reports.report).

Logs (adjustments, failures) cover the last 30 days unless a date range is given; the other reports
show the current snapshot and PSA cache, leaving out rows the vendors no longer return.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
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
    SubscriptionStatus,
)
from bot.reports.report import Column, Report, ReportDefinition, ReportFilters, run_definition
from bot.reports.words import PRICE_SOURCES, SEATS, TRIGGERS, in_words, unit_words

Company, Subscription, Resource = MarketplaceCompany, MarketplaceSubscription, MarketplaceResource


def _yes_no(condition: Any) -> Any:
    return case((condition, "yes"), else_="no")


def _subscription_statuses() -> dict[str, Any]:
    return {status.value: Subscription.status == status for status in SubscriptionStatus}


def _source() -> Column:
    """Which marketplace a row comes from, by its label (several marketplaces may feed one install)."""
    labels = {vendor.key: vendor.label for vendor in VENDORS.by_kind("marketplace")}
    return Column("source", "Source", in_words(Resource.marketplace, labels), searchable=True)


def _marketplace_filters() -> dict[str, Any]:
    return {
        "marketplace": (Resource.marketplace,),
        "company": (Company.name, Company.external_id),
        "subscription": (Subscription.name, Subscription.external_id),
        "resource": (Resource.name, Resource.external_id),
    }


def _currency(default: str) -> Any:
    """A resource's currency, else the configured one (AppSettings.currency): money is never a bare number."""
    return func.coalesce(Resource.currency, literal(default))


def _adjustment_columns(first: Column, currency: str) -> list[Column]:
    return [
        first,
        Column("marketplace_company", "Marketplace company", Company.name, searchable=True),
        Column("subscription", "Subscription", Subscription.name, searchable=True),
        Column("resource", "Resource", Resource.name, searchable=True),
        Column("psa_company", "PSA company", PsaCompany.name, searchable=True),
        Column("contract", "Contract", PsaContract.name, searchable=True),
        Column("service", "Service", PsaService.name, searchable=True),
        _source(),
        Column("unit", "Unit", unit_words(Resource.unit)),
        Column("units_before", "Units before", Adjustment.units_from),
        Column("units_after", "Units after", Adjustment.units_to),
        Column("change", "Change", Adjustment.delta),
        Column("effective_date", "Effective date", Adjustment.effective_date),
        Column("prorated_amount", "Prorated amount", Adjustment.prorated_amount, kind="money"),
        # an intent that keeps the PSA's price carries none: the price billed is then the PSA service's
        Column("unit_price", "Unit price", func.coalesce(Adjustment.unit_price, PsaService.unit_price), kind="money"),
        Column("currency", "Currency", _currency(currency)),
        Column("trigger", "Trigger", in_words(Adjustment.trigger, TRIGGERS)),
        Column("triggered_by", "By", Adjustment.triggered_by, searchable=True),
    ]


def _adjustments_from() -> Any:
    return (
        select()
        .select_from(Adjustment)
        .join(Resource, Resource.id == Adjustment.resource_id)
        .join(Subscription, Subscription.id == Resource.subscription_id)
        .join(Company, Company.id == Subscription.company_id)
        .join(PsaService, PsaService.id == Adjustment.psa_service_id)
        .join(PsaContract, PsaContract.id == PsaService.contract_id)
        .join(PsaCompany, PsaCompany.id == PsaContract.company_id)
    )


async def adjustments_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    definition = ReportDefinition(
        name="adjustments", title="Adjustments posted",
        statement=_adjustments_from().where(Adjustment.status == AdjustmentStatus.posted),
        columns=_adjustment_columns(Column("posted_at", "Posted", Adjustment.posted_at),
                                    await _default_currency(session)),
        logged_at=Adjustment.posted_at, effective_on=Adjustment.effective_date, logged_as="posted",
        tiebreak=(Adjustment.id,), **_marketplace_filters(),
        statuses={"posted": Adjustment.status == AdjustmentStatus.posted},  # held and failed ones: the failures
    )                                                                       # report, /seats checklist
    return await run_definition(session, definition, filters)


async def failures_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    columns = [
        *_adjustment_columns(Column("created_at", "Recorded", Adjustment.created_at),
                             await _default_currency(session)),
        Column("attempts", "Attempts", Adjustment.attempts),
        Column("next_retry", "Next retry", Adjustment.next_attempt_at),
        Column("last_error", "PSA message", Adjustment.last_error, searchable=True),
        Column("needs_action", "Needs action", _yes_no(Adjustment.needs_action.is_(True))),
    ]
    definition = ReportDefinition(
        name="failures", title="Failed adjustments",
        statement=_adjustments_from().where(Adjustment.status == AdjustmentStatus.failed),
        columns=columns, logged_at=Adjustment.created_at, effective_on=Adjustment.effective_date,
        logged_as="recorded", tiebreak=(Adjustment.id,),
        statuses={"needs_action": Adjustment.needs_action.is_(True), "retrying": Adjustment.needs_action.is_(False)},
        **_marketplace_filters(),
    )
    return await run_definition(session, definition, filters)


def _snapshot_from() -> Any:
    return (
        select()
        .select_from(Resource)
        .join(Subscription, Subscription.id == Resource.subscription_id)
        .join(Company, Company.id == Subscription.company_id)
        .where(Resource.removed_at.is_(None), Subscription.removed_at.is_(None))
    )


def _marketplace_columns() -> list[Column]:
    return [
        Column("account_id", "Account ID", Company.external_id, searchable=True),
        Column("company", "Company", Company.name, searchable=True),
        Column("subscription_id", "Subscription ID", Subscription.external_id, searchable=True),
        Column("subscription", "Subscription", Subscription.name, searchable=True),
        Column("resource_id", "Resource ID", Resource.external_id, searchable=True),
        Column("resource", "Resource", Resource.name, searchable=True),
        _source(),
        Column("unit", "Unit", unit_words(Resource.unit)),
    ]


async def _default_currency(session: AsyncSession) -> str:
    return (await load_app_settings(session=session)).currency


async def subscriptions_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    columns = [
        *_marketplace_columns(),
        Column("included", "Included", Resource.included),
        Column("additional", "Additional", Resource.additional),
        Column("total", "Total", Resource.total),
        Column("linked", "Linked", _yes_no(ResourceLink.id.is_not(None))),
    ]
    definition = ReportDefinition(
        name="subscriptions", title="Marketplace subscriptions",
        statement=_snapshot_from().outerjoin(ResourceLink, ResourceLink.resource_id == Resource.id),
        columns=columns, statuses=_subscription_statuses(), tiebreak=(Resource.id,), **_marketplace_filters(),
    )
    return await run_definition(session, definition, filters)


def _price_source_kind() -> Any:
    """The price source in force, resolved link > company > global in SQL (bot.domain.pricing's order)."""
    by_link, by_company, by_default = (aliased(PriceSourceSetting) for _ in range(3))
    return by_link, by_company, by_default, func.coalesce(
        by_link.kind, by_company.kind, by_default.kind, literal(PriceSourceKind.keep_psa.value)
    )


async def linked_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    by_link, by_company, by_default, price_source = _price_source_kind()
    drift = Resource.total - PsaService.units
    columns = [
        *_marketplace_columns(),
        Column("total", "Marketplace total", Resource.total),
        Column("psa_company", "PSA company", PsaCompany.name, searchable=True),
        Column("contract", "Contract", PsaContract.name, searchable=True),
        Column("service", "Service", PsaService.name, searchable=True),
        Column("psa_units", "PSA units", PsaService.units),
        Column("drift", "Drift", drift),
        Column("price_source", "Price source", in_words(price_source, PRICE_SOURCES)),
        Column("prorates", "Prorates", case((PsaContract.prorates.is_(True), "yes"),
                                            (PsaContract.prorates.is_(False), "no"), else_="PSA default")),
        Column("linked_by", "Linked by", ResourceLink.created_by, searchable=True),
        Column("linked_at", "Linked at", ResourceLink.created_at),
    ]
    statement = (
        _snapshot_from()
        .join(ResourceLink, ResourceLink.resource_id == Resource.id)
        .join(PsaService, PsaService.id == ResourceLink.psa_service_id)
        .join(PsaContract, PsaContract.id == PsaService.contract_id)
        .join(PsaCompany, PsaCompany.id == PsaContract.company_id)
        .outerjoin(by_link, and_(by_link.scope == Scope.link, by_link.resource_link_id == ResourceLink.id))
        .outerjoin(by_company, and_(by_company.scope == Scope.company, by_company.marketplace_company_id == Company.id))
        .outerjoin(by_default, by_default.scope == Scope.global_)
    )
    definition = ReportDefinition(
        name="linked", title="Linked resources", statement=statement, columns=columns,
        statuses={"drifted": drift != 0, "in_step": drift == 0}, tiebreak=(Resource.id,), **_marketplace_filters(),
    )
    return await run_definition(session, definition, filters)


async def unlinked_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    columns = [
        *_marketplace_columns(),
        Column("total", "Total", Resource.total),
        Column("unit_price", "Unit price", Resource.unit_price, kind="money"),
        Column("currency", "Currency", _currency(await _default_currency(session))),
    ]
    definition = ReportDefinition(
        name="unlinked", title="Resources not linked",
        statement=_snapshot_from().outerjoin(ResourceLink, ResourceLink.resource_id == Resource.id)
        .where(ResourceLink.id.is_(None)),
        columns=columns, statuses=_subscription_statuses(), tiebreak=(Resource.id,), **_marketplace_filters(),
    )
    return await run_definition(session, definition, filters)


async def psa_unlinked_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    """PSA services no marketplace resource feeds; `subscription` filters contracts, `resource` services."""
    columns = [
        Column("psa_company", "PSA company", PsaCompany.name, searchable=True),
        Column("contract", "Contract", PsaContract.name, searchable=True),
        Column("contract_status", "Contract status", PsaContract.status),
        Column("service_id", "Service ID", PsaService.external_id, searchable=True),
        Column("service", "Service", PsaService.name, searchable=True),
        Column("units", "Units", PsaService.units),
        Column("unit_price", "Unit price", PsaService.unit_price, kind="money"),
        Column("currency", "Currency", literal(await _default_currency(session))),  # the PSA says none
    ]
    statement = (
        select()
        .select_from(PsaService)
        .join(PsaContract, PsaContract.id == PsaService.contract_id)
        .join(PsaCompany, PsaCompany.id == PsaContract.company_id)
        .outerjoin(ResourceLink, ResourceLink.psa_service_id == PsaService.id)
        .where(ResourceLink.id.is_(None), PsaService.removed_at.is_(None), PsaService.is_active.is_(True))
    )
    definition = ReportDefinition(
        name="psa-unlinked", title="PSA services not linked", statement=statement, columns=columns,
        company=(PsaCompany.name, PsaCompany.external_id), subscription=(PsaContract.name, PsaContract.external_id),
        resource=(PsaService.name, PsaService.external_id),
        statuses={status: PsaContract.status == status for status in ("active", "inactive", "cancelled", "expired")},
        tiebreak=(PsaService.id,),
    )
    return await run_definition(session, definition, filters)


async def unbilled_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    """Per customer and unit: what was bought but is not billed (unlinked, or linked with the PSA below the
    marketplace), each resource valued at its own price: the PSA's where there is one, else the marketplace's.
    Seats and other units (GB, usage) are separate rows, never added together; amounts are money and add up."""
    currency = _currency(await _default_currency(session))
    unit = unit_words(Resource.unit)
    unlinked = (
        _snapshot_from().outerjoin(ResourceLink, ResourceLink.resource_id == Resource.id)
        .where(ResourceLink.id.is_(None), Resource.total > 0)
        .with_only_columns(
            Company.id.label("company_key"), Company.external_id.label("account_id"),
            Company.name.label("company"), Subscription.name.label("subscription"),
            Subscription.external_id.label("subscription_id"), Resource.name.label("resource"),
            Resource.external_id.label("resource_id"), literal("unlinked").label("kind"), unit.label("unit"),
            Resource.total.label("quantity"), (Resource.total * Resource.unit_price).label("amount"),
            currency.label("currency"), maintain_column_froms=True,
        )
    )
    missing = Resource.total - PsaService.units
    drifted = (
        _snapshot_from().join(ResourceLink, ResourceLink.resource_id == Resource.id)
        .join(PsaService, PsaService.id == ResourceLink.psa_service_id)
        .where(missing > 0)
        .with_only_columns(
            Company.id, Company.external_id, Company.name, Subscription.name, Subscription.external_id,
            Resource.name, Resource.external_id, literal("drifted"), unit, missing,
            missing * func.coalesce(PsaService.unit_price, Resource.unit_price), currency,
            maintain_column_froms=True,
        )
    )
    lines = union_all(unlinked, drifted).subquery("unbilled_lines")
    is_unlinked, is_drifted = lines.c.kind == "unlinked", lines.c.kind == "drifted"

    def summed(value: Any, condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    columns = [
        Column("account_id", "Account ID", lines.c.account_id, searchable=True),
        Column("company", "Company", lines.c.company, searchable=True),
        Column("unit", "Unit", lines.c.unit),
        Column("unlinked", "Not linked", summed(lines.c.quantity, is_unlinked)),
        Column("unlinked_amount", "Not linked: amount", summed(lines.c.amount, is_unlinked), kind="money"),
        Column("drifted", "Short in the PSA", summed(lines.c.quantity, is_drifted)),
        Column("drifted_amount", "Short in the PSA: amount", summed(lines.c.amount, is_drifted), kind="money"),
        Column("amount", "Unbilled amount", func.coalesce(func.sum(lines.c.amount), 0), kind="money"),
        Column("currency", "Currency", lines.c.currency),
    ]
    definition = ReportDefinition(
        name="unbilled", title="Unbilled per customer",
        statement=select().select_from(lines).group_by(lines.c.company_key, lines.c.account_id, lines.c.company,
                                                       lines.c.unit, lines.c.currency),
        columns=columns, company=(lines.c.company, lines.c.account_id),
        subscription=(lines.c.subscription, lines.c.subscription_id),
        resource=(lines.c.resource, lines.c.resource_id),
        statuses={"unlinked": is_unlinked, "drifted": is_drifted},
        tiebreak=(lines.c.company_key, case((lines.c.unit == SEATS, 0), else_=1), lines.c.unit),
    )
    report = await run_definition(session, definition, filters)
    rows = await report.all_rows()
    report.serve(rows)
    report.totals = unbilled_totals(report.keys, rows)
    report.total_rules = tuple({"company": "label", "unit": "same", "currency": "same", "unlinked": "sum-per:unit",
                                "drifted": "sum-per:unit"}.get(key, "sum-per:currency" if "amount" in key else "")
                               for key in report.keys)
    return report


def unbilled_totals(keys: tuple[str, ...], rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The totals row: quantities only where every row has one unit, amounts only in one currency (an empty cell
    rather than 4 seats + 900 GB, or dollars + euros)."""
    at = {key: index for index, key in enumerate(keys)}
    units = {row[at["unit"]] for row in rows}
    currencies = {row[at["currency"]] for row in rows}
    totals: list[Any] = [""] * len(keys)
    totals[at["company"]] = "Total"
    one_unit, one_currency = len(units) == 1, len(currencies) <= 1
    if one_unit:
        totals[at["unit"]] = next(iter(units))
    for key in ("unlinked", "drifted"):
        totals[at[key]] = _column_sum(rows, at[key]) if one_unit else None
    for key in ("unlinked_amount", "drifted_amount", "amount"):
        totals[at[key]] = _column_sum(rows, at[key]) if one_currency else None
    totals[at["currency"]] = next(iter(currencies)) if len(currencies) == 1 else ""
    return tuple(totals)


def _column_sum(rows: list[tuple[Any, ...]], index: int) -> Any:
    return sum((Decimal(str(row[index])) if not isinstance(row[index], int) else row[index] for row in rows), 0)
