from datetime import UTC, date, datetime, timedelta

import pytest

from bot.db.links import link_resource
from bot.db.models import Adjustment, AdjustmentStatus, AdjustmentTrigger
from bot.sync.checklist import checklist_due, daily_digest, month_end_checklist
from tests.db.factories import marketplace_resource, psa_service


@pytest.mark.parametrize(
    ("today", "days", "due"),
    [(date(2026, 11, 27), 3, True), (date(2026, 11, 26), 3, False), (date(2026, 11, 30), 0, True),
     (date(2028, 2, 26), 3, True), (date(2027, 2, 25), 3, True)],
)
def test_checklist_is_due_n_days_before_month_end(today, days, due):
    assert checklist_due(today, days) is due


async def test_checklist_counts_each_step(session):
    linked = await marketplace_resource(session)
    await marketplace_resource(session, name="Teams Essentials")  # another company, unlinked
    service = await psa_service(session)
    link = await link_resource(session=session, resource_id=linked.id, service_id=service.id, actor="U1")
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    common = dict(resource_link_id=link.id, resource_id=linked.id, psa_service_id=service.id, psa="autotask",
                  trigger=AdjustmentTrigger.sync, created_at=now, updated_at=now)
    session.add_all([
        Adjustment(idempotency_key="a", units_from=1, units_to=8, delta=7, effective_date=date(2026, 11, 20),
                   status=AdjustmentStatus.posted, posted_at=now, **common),
        Adjustment(idempotency_key="b", units_from=8, units_to=6, delta=-2, effective_date=date(2026, 11, 21),
                   status=AdjustmentStatus.failed, needs_action=True, last_error="refused", **common),
        Adjustment(idempotency_key="c", units_from=0, units_to=1, delta=1, effective_date=date(2026, 10, 2),
                   status=AdjustmentStatus.posted, posted_at=now - timedelta(days=49), **common),
    ])
    await session.commit()

    checklist = await month_end_checklist(session=session, today=date(2026, 11, 27))

    assert (checklist.unlinked_subscriptions, checklist.companies_without_psa) == (1, 1)
    assert len(checklist.unlinked_examples) == 1 and ": Microsoft 365 #" in checklist.unlinked_examples[0]
    assert (checklist.linked_resources, checklist.adjustments_this_month) == (1, 1)
    assert (checklist.failures_pending, checklist.needs_action) == (1, 1)
    assert not checklist.ready_to_invoice and checklist.month_end == date(2026, 11, 30)

    digest = await daily_digest(session=session, since=now - timedelta(hours=1))
    assert (digest.adjustments_posted, digest.units_added, digest.units_removed) == (1, 7, 0)
    assert digest.failures_pending == 1 and digest.last_sync_at is None


async def test_the_invoice_step_says_when_there_was_nothing_to_check_and_the_money_when_there_was(session):
    from decimal import Decimal

    from bot.commands.checklist.handlers import invoice_step_text
    from bot.db.invoices import store_invoice
    from bot.domain.invoice_check import InvoiceLine, LineKind
    from bot.domain.invoices import ReceivedInvoice

    checklist = await month_end_checklist(session=session, today=date(2026, 11, 27))
    assert not checklist.invoice.checked
    assert "not checked: no invoice for November 2026" in invoice_step_text(checklist)
    line = InvoiceLine(line_id="l", kind=LineKind.subscription, company_id="c", company_name="C", product_id="p",
                       product_name="P", subscription_id="s", period_start=date(2026, 11, 1),
                       period_end=date(2026, 11, 30), quantity=Decimal(3), unit_cost=Decimal(5),
                       cost_total=Decimal(15))
    await store_invoice(session, source="pax8", marketplace="pax8", now=datetime(2026, 11, 5, tzinfo=UTC),
                        actor="t", received=ReceivedInvoice(source_id="i", month=date(2026, 11, 1), lines=(line,)))
    checklist = await month_end_checklist(session=session, today=date(2026, 11, 27))
    assert (checklist.invoice.checked, checklist.invoice.findings) == (True, 1)
    assert "*1* findings in 1 lines: 0.00 under-billed, 0.00 over-billed, 15.00 unlinked" in invoice_step_text(
        checklist)
