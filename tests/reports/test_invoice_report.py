"""The month-end check from the database: a stored invoice against linked services, their PSA units taken back
to the invoice month, the adjustments posted in it; and the `invoice-check` report (CSV, HTML with its charts)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.__main__ import main
from bot.clock import ManualClock
from bot.db.invoices import decide, store_invoice
from bot.db.links import link_resource
from bot.db.models import Adjustment, AdjustmentStatus, AdjustmentTrigger
from bot.domain.invoice_check import CheckState, FindingKind, InvoiceLine, LineKind
from bot.domain.invoices import ReceivedInvoice
from bot.reports.catalogue import run_report
from bot.reports.report import ReportFilters
from bot.sync.invoice_check import check_month_invoices
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY
from tests.db.factories import marketplace_resource, psa_service

pytestmark = pytest.mark.db
NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
DECEMBER = date(2026, 12, 1)


def line(resource, quantity: int, *, kind=LineKind.subscription, start=DECEMBER, cost="6.40") -> InvoiceLine:
    subscription = resource.subscription
    return InvoiceLine(line_id=f"{subscription.external_id}:{kind}:{start}", kind=kind,
                       company_id=subscription.company.external_id, company_name=subscription.company.name,
                       product_id=resource.external_id, product_name=resource.name,
                       subscription_id=subscription.external_id, period_start=start,
                       period_end=date(2026, 12, 31) if kind is LineKind.subscription else date(2026, 11, 30),
                       quantity=Decimal(quantity), unit_cost=Decimal(cost),
                       cost_total=Decimal(cost) * quantity / (1 if kind is LineKind.subscription else 2))


def adjustment(resource, service, delta: int, day: date, key: str) -> Adjustment:
    return Adjustment(idempotency_key=key, resource_id=resource.id, psa_service_id=service.id, psa="autotask",
                      units_from=0, units_to=delta, delta=delta, effective_date=day, status=AdjustmentStatus.posted,
                      trigger=AdjustmentTrigger.sync)


@pytest.fixture
async def month(session):
    """Four linked resources and an unlinked one; the December invoice of them all."""
    exact, short, gone, late = [await marketplace_resource(session, total=t) for t in (5, 7, 3, 4)]
    stray = await marketplace_resource(session, total=2, name="Visio Plan 2")
    services = [await psa_service(session, units=u) for u in (5, 6, 3, 6)]
    for resource, service in zip((exact, short, gone, late), services, strict=True):
        await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="test", now=NOW)
    # `late`: the PSA bills 6 today, 4 in December: +2 posted on 10 December
    session.add(adjustment(late, services[3], 2, date(2026, 12, 10), "ss-late"))
    # `short`: 1 seat added on 20 November, invoiced as a prorate and never posted
    lines = [line(exact, 5), line(short, 7), line(short, 1, kind=LineKind.prorate, start=date(2026, 11, 20)),
             line(late, 4), line(stray, 2)]
    received = ReceivedInvoice(source_id="inv-dec", month=DECEMBER, lines=tuple(lines), number="INV-12",
                               status="Unpaid")
    stored = await store_invoice(session, source="ingram", marketplace="ingram", received=received, now=NOW,
                                 actor="test")
    await session.commit()
    return {"exact": exact, "short": short, "gone": gone, "late": late, "stray": stray, "services": services,
            "invoice": stored.invoice}


async def test_the_month_is_checked_against_that_months_units(session, month):
    [check] = await check_month_invoices(session=session, month=DECEMBER)
    found = {(f.kind, f.subscription_id, f.prorate): f for f in check.result.findings}
    short, gone, stray = (month[k].subscription.external_id for k in ("short", "gone", "stray"))
    assert set(found) == {(FindingKind.under_billed, short, False), (FindingKind.under_billed, short, True),
                          (FindingKind.billing_for_nothing, gone, False), (FindingKind.unlinked, stray, False)}
    assert found[(FindingKind.under_billed, short, False)].money == Decimal("9.50")  # 1 seat at the PSA's 9.50
    assert found[(FindingKind.billing_for_nothing, gone, False)].money == Decimal("28.50")
    assert found[(FindingKind.unlinked, stray, False)].money == Decimal("12.80")  # its cost: billed to nobody


async def test_no_invoice_for_the_month_is_not_clean(session, month):
    [check] = await check_month_invoices(session=session, month=date(2027, 1, 1))
    assert check.result.state is CheckState.not_reconcilable
    report = await run_report("invoice-check", session=session, filters=ReportFilters(month="2027-01"))
    assert report.title == "Invoice check, January 2027: not checked: no invoice for January 2027 has been received yet"
    assert await report.all_rows() == []


async def test_the_report_lists_findings_with_decisions(session, month):
    [check] = await check_month_invoices(session=session, month=DECEMBER)
    unlinked = next(f for f in check.result.findings if f.kind is FindingKind.unlinked)
    await decide(session, invoice_id=month["invoice"].id, finding_key=unlinked.key, decision="ignored",
                 reason="a trial, not resold", actor="U1", now=NOW)
    with pytest.raises(ValueError, match="needs a reason"):
        await decide(session, invoice_id=month["invoice"].id, finding_key=unlinked.key, decision="ignored",
                     reason=" ", actor="U1", now=NOW)
    await session.commit()
    report = await run_report("invoice-check", session=session,
                              filters=ReportFilters(month="2026-12", status="unlinked"))
    rows = await report.all_rows()
    assert len(rows) == 1
    values = dict(zip(report.keys, rows[0], strict=True))
    assert values["decision"] == "ignored: a trial, not resold" and values["finding"] == "unlinked"
    assert report.title.startswith("Invoice check, December 2026: 4 findings in 5 lines, 14.25 under-billed")
    with pytest.raises(ValueError, match="no month filter"):
        await run_report("margin", session=session, filters=ReportFilters(month="2026-12"))


def test_the_cli_writes_the_report_as_csv_and_html(month, settings, capsysbinary, monkeypatch, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SEATSYNC_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.chdir(settings.data_dir.parent)
    argv = ["report", "invoice-check", "--filter", "month=2026-12"]
    assert main(argv, clock=ManualClock(PINNED_NOW)) == 0
    rows = list(csv.reader(io.StringIO(capsysbinary.readouterr().out.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Invoice", "Finding", "Company"] and len(rows) == 5
    assert main([*argv, "--format", "html"], clock=ManualClock(PINNED_NOW)) == 0
    page = capsysbinary.readouterr().out.decode()
    assert "Leakage by customer" in page and "Leakage by product" in page and "<svg" in page
