"""The `margin` report: every linked resource whose marketplace cost and billed price are known, with its
margin and whether the margin guard flags it (bot.sync.margin holds the rule; this only lists it).

The rows come from the guard's own computation (the price source resolution is Python, as when
posting), so filtering and sorting happen here rather than in SQL; a company has at most a few hundred
links, so the list is small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.app_settings import load_app_settings
from bot.reports.report import Report, ReportFilters, replay
from bot.sync.margin import BELOW_COST, BELOW_MINIMUM, LinkMargin, link_margins

OK = "ok"
STATUS_WORDS = {BELOW_COST: "below cost", BELOW_MINIMUM: "below the minimum margin", OK: "ok"}
MONEY = frozenset({"unit_cost", "unit_price"})
COLUMNS: tuple[tuple[str, str, Callable[[LinkMargin], Any]], ...] = (
    ("account_id", "Account ID", lambda m: m.account_id),
    ("company", "Company", lambda m: m.company),
    ("subscription", "Subscription", lambda m: m.subscription),
    ("resource", "Resource", lambda m: m.resource),
    ("service", "Service", lambda m: m.service),
    ("seats", "Seats", lambda m: m.seats),
    ("unit_cost", "Marketplace cost", lambda m: m.unit_cost),
    ("unit_price", "Billed price", lambda m: m.unit_price),
    ("margin_percent", "Margin %", lambda m: m.margin_percent),
    ("min_margin_percent", "Minimum %", lambda m: m.min_margin_percent),
    ("status", "Status", lambda m: m.problem or OK),
    ("currency", "Currency", lambda m: None),  # the configured currency (AppSettings.currency), set per row
)
STATUSES = (BELOW_COST, BELOW_MINIMUM, OK)
SEARCHED = ("account_id", "company", "subscription", "resource", "service")


async def margin_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    if filters.date_from is not None or filters.date_to is not None:
        raise ValueError("the margin report is not a log and has no date range")
    if filters.status is not None and filters.status not in STATUSES:
        raise ValueError(f"unknown status {filters.status!r} for the margin report (known: {', '.join(STATUSES)})")
    if filters.direction not in ("asc", "desc"):
        raise ValueError(f"unknown sort direction {filters.direction!r} (use asc or desc)")
    keys = [key for key, _, _ in COLUMNS]
    if filters.sort is not None and filters.sort not in keys:
        raise ValueError(f"unknown sort column {filters.sort!r} for the margin report (columns: {', '.join(keys)})")
    rows = []
    currency = (await load_app_settings(session=session)).currency
    for margin in await link_margins(session=session):
        values = {key: value(margin) for key, _, value in COLUMNS if key != "currency"}
        values["currency"] = currency
        if _kept(values, filters):
            rows.append(values)
    rows.sort(key=lambda values: (values["company"], values["resource"]))
    if filters.sort is not None:
        present = [r for r in rows if r[filters.sort] is not None]
        present.sort(key=lambda values: values[filters.sort], reverse=filters.direction == "desc")
        rows = present + [r for r in rows if r[filters.sort] is None]
    for values in rows:  # filtered by the code above; shown in words
        values["status"] = STATUS_WORDS.get(values["status"], values["status"])
    return Report(name="margin", title="Margin of linked resources", columns=tuple(title for _, title, _ in COLUMNS),
                  rows=replay([tuple(values[key] for key in keys) for values in rows]), keys=tuple(keys),
                  searchable=SEARCHED, kinds=tuple("money" if key in MONEY else "text" for key in keys))


def _contains(value: Any, wanted: str) -> bool:
    return wanted.casefold() in str(value or "").casefold()


def _kept(values: dict[str, Any], filters: ReportFilters) -> bool:
    if filters.company and not (_contains(values["company"], filters.company)
                                or _contains(values["account_id"], filters.company)):
        return False
    if filters.subscription and not _contains(values["subscription"], filters.subscription):
        return False
    if filters.resource and not _contains(values["resource"], filters.resource):
        return False
    if filters.status and values["status"] != filters.status:
        return False
    return not filters.text or any(_contains(values[key], filters.text) for key in SEARCHED)
