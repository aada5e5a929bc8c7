"""The `invoice-check` report: one row per finding of a month's invoice check (`--filter month=YYYY-MM`), with its
money, and the decision a person took about it (while the finding is unchanged: `bot.db.invoices.kept_decisions`).
The rows come from the check's computation (`bot.sync.invoice_check`), so filtering and sorting happen here, as in
the margin report.

The title says what the month's check came to, so an empty table never reads as "clean" when nothing was
checked: "not checked: no invoice for November 2026 has been received yet", or "clean: 412 lines checked".
The `leakage` column (the money of under-billed findings) feeds the page's charts by customer and by product.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.app_settings import load_app_settings
from bot.db.invoices import kept_decisions
from bot.domain.invoice_check import FINDING_WORDS, CheckState, Finding, FindingKind
from bot.reports.report import Report, ReportFilters, replay
from bot.sync.invoice_check import InvoiceCheck, check_month_invoices

MONEY = frozenset({"unit_cost", "unit_price", "money", "leakage"})
Row = tuple[InvoiceCheck, Finding, str]
COLUMNS: tuple[tuple[str, str, Callable[[Row], Any]], ...] = (
    ("invoice", "Invoice", lambda r: r[0].invoice.number if r[0].invoice else None),
    ("finding", "Finding", lambda r: FINDING_WORDS[r[1].kind] + (" (prorate)" if r[1].prorate else "")),
    ("company", "Company", lambda r: r[1].company_name),
    ("product", "Product", lambda r: r[1].product_name),
    ("subscription", "Subscription ID", lambda r: r[1].subscription_id),
    ("invoiced", "Invoiced units", lambda r: r[1].invoice_units),
    ("billed", "Billed units", lambda r: r[1].billed_units),
    ("unit_cost", "Unit cost (month)", lambda r: r[1].unit_cost),
    ("unit_price", "Billed price", lambda r: r[1].unit_price),
    ("money", "Amount", lambda r: r[1].money),
    ("side", "Amount is", lambda r: "customer price" if r[1].side == "price" else "distributor cost"),
    ("leakage", "Leakage", lambda r: r[1].money if r[1].kind is FindingKind.under_billed else Decimal(0)),
    ("detail", "Detail", lambda r: r[1].detail),
    ("decision", "Decision", lambda r: r[2]),
    ("currency", "Currency", lambda r: None),  # the configured currency, set per row
)
SEARCHED = ("invoice", "finding", "company", "product", "subscription", "detail", "decision")
STATUSES = tuple(kind.value for kind in FindingKind)


def parse_month(text: str | None, today: date | None) -> date:
    if text is None:
        if today is None:
            raise ValueError("the invoice-check report needs month=YYYY-MM")
        return today.replace(day=1)
    try:
        year, month = text.strip().split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"month must look like 2026-11, not {text!r}") from None


def describe(checks: list[InvoiceCheck], month: date) -> str:
    parts = []
    for check in checks:
        result = check.result
        if result.state is CheckState.not_reconcilable:
            parts.append(f"not checked: {result.reason}")
        elif result.state is CheckState.clean:
            parts.append(f"clean: {result.lines} lines checked")
        else:
            parts.append(f"{len(result.findings)} findings in {result.lines} lines, "
                         f"{result.totals['under_billed']:.2f} under-billed")
    return f"Invoice check, {month:%B %Y}: " + "; ".join(parts)


async def invoice_check_report(*, session: AsyncSession, filters: ReportFilters = ReportFilters()) -> Report:
    if filters.date_from is not None or filters.date_to is not None:
        raise ValueError("the invoice-check report takes a month (month=YYYY-MM), not a date range")
    if filters.status is not None and filters.status not in STATUSES:
        raise ValueError(f"unknown status {filters.status!r} for the invoice-check report "
                         f"(known: {', '.join(STATUSES)})")
    if filters.direction not in ("asc", "desc"):
        raise ValueError(f"unknown sort direction {filters.direction!r} (use asc or desc)")
    keys = [key for key, _, _ in COLUMNS]
    if filters.sort is not None and filters.sort not in keys:
        raise ValueError(f"unknown sort column {filters.sort!r} for the invoice-check report "
                         f"(columns: {', '.join(keys)})")
    month = parse_month(filters.month, filters.today)
    currency = (await load_app_settings(session=session)).currency
    checks = await check_month_invoices(session=session, month=month)
    rows = []
    for check in checks:
        decided = (await kept_decisions(session, check.invoice.id, check.result.findings)
                   if check.invoice is not None else {})
        for finding in check.result.findings:
            decision = decided.get(finding.key)
            words = "" if decision is None else decision.decision + (f": {decision.reason}" if decision.reason else "")
            values = {key: value((check, finding, words)) for key, _, value in COLUMNS if key != "currency"}
            values["currency"] = currency
            if _kept(values, finding, filters):
                rows.append(values)
    if filters.sort is not None:
        present = [r for r in rows if r[filters.sort] is not None]
        present.sort(key=lambda values: values[filters.sort], reverse=filters.direction == "desc")
        rows = present + [r for r in rows if r[filters.sort] is None]
    return Report(name="invoice-check", title=describe(checks, month),
                  columns=tuple(title for _, title, _ in COLUMNS),
                  rows=replay([tuple(values[key] for key in keys) for values in rows]), keys=tuple(keys),
                  searchable=SEARCHED, kinds=tuple("money" if key in MONEY else "text" for key in keys))


def _contains(value: Any, wanted: str) -> bool:
    return wanted.casefold() in str(value or "").casefold()


def _kept(values: dict[str, Any], finding: Finding, filters: ReportFilters) -> bool:
    if filters.company and not _contains(values["company"], filters.company):
        return False
    if filters.subscription and not _contains(values["subscription"], filters.subscription):
        return False
    if filters.resource and not _contains(values["product"], filters.resource):
        return False
    if filters.status and finding.kind != filters.status:
        return False
    return not filters.text or any(_contains(values[key], filters.text) for key in SEARCHED)
