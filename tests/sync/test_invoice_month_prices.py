"""A past month's invoice is checked at that month's PSA price, not today's: the PSA cache keeps each service's
price as it moves (`psa_service_prices`), and the check reads the one in force at the start of the invoice month."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.invoices import store_invoice
from bot.db.links import link_resource
from bot.db.models import PsaServicePrice
from bot.domain.enums import ContractStatus
from bot.domain.invoice_check import FindingKind, InvoiceLine, LineKind
from bot.domain.invoices import ReceivedInvoice
from bot.domain.records import PsaCompanyRecord, PsaContractRecord, PsaServiceRecord
from bot.sync.invoice_check import check_month_invoices
from bot.sync.psa_cache import apply_psa_records
from tests.db.factories import marketplace_resource, psa_service

pytestmark = pytest.mark.db
NOVEMBER = date(2026, 11, 1)


async def read_psa(session, service, *, price: str, units: int, now: datetime) -> None:
    """A complete read of the PSA at `now`: the one service, at `price`."""
    contract, company = service.contract, service.contract.company
    await apply_psa_records(
        session=session, psa="autotask", now=now, complete=False,
        companies=[PsaCompanyRecord(company.external_id, company.name)],
        contracts=[PsaContractRecord(contract.external_id, company.external_id, contract.name, ContractStatus.active)],
        services=[PsaServiceRecord(service.external_id, contract.external_id, service.name, units,
                                   unit_price=Decimal(price), unit_cost=Decimal("6.40"))])
    await session.commit()


async def test_a_past_month_is_checked_at_that_months_price(session):
    resource = await marketplace_resource(session, total=5)
    service = await psa_service(session, units=5)  # cached at 9.50 before prices were kept
    service.last_seen_at = datetime(2026, 10, 1, tzinfo=UTC)
    await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="test",
                        now=datetime(2026, 10, 1, tzinfo=UTC))
    await read_psa(session, service, price="6.00", units=5, now=datetime(2026, 11, 20, 9, tzinfo=UTC))
    await read_psa(session, service, price="15.00", units=5, now=datetime(2026, 12, 3, 9, tzinfo=UTC))
    prices = (await session.scalars(select(PsaServicePrice.unit_price).order_by(PsaServicePrice.seen_at))).all()
    assert prices == [Decimal("9.50"), Decimal("6.00"), Decimal("15.00")]

    subscription = resource.subscription
    line = InvoiceLine(line_id="l1", kind=LineKind.subscription, company_id=subscription.company.external_id,
                       company_name=subscription.company.name, product_id=resource.external_id,
                       product_name=resource.name, subscription_id=subscription.external_id,
                       period_start=NOVEMBER, period_end=date(2026, 11, 30), quantity=Decimal(5),
                       unit_cost=Decimal("8.00"), cost_total=Decimal("40.00"))
    await store_invoice(session, source="ingram", marketplace="ingram", now=datetime(2026, 12, 5, tzinfo=UTC),
                        actor="test", received=ReceivedInvoice(source_id="nov", month=NOVEMBER, lines=(line,)))
    await session.commit()
    [check] = await check_month_invoices(session=session, month=NOVEMBER)
    # November was billed at 9.50 (the price until the 20th), over its 8.00 cost: today's 15.00 would hide
    # nothing here, and the 6.00 of late November would invent an under-cost finding
    assert check.result.findings == ()
    assert check.result.state == "clean"


async def test_a_price_change_before_the_month_is_the_months_price(session):
    resource = await marketplace_resource(session, total=5)
    service = await psa_service(session, units=5)
    service.last_seen_at = datetime(2026, 10, 1, tzinfo=UTC)
    await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="test",
                        now=datetime(2026, 10, 1, tzinfo=UTC))
    await read_psa(session, service, price="7.00", units=5, now=datetime(2026, 10, 20, 9, tzinfo=UTC))
    await read_psa(session, service, price="15.00", units=5, now=datetime(2026, 12, 3, 9, tzinfo=UTC))
    subscription = resource.subscription
    line = InvoiceLine(line_id="l1", kind=LineKind.subscription, company_id=subscription.company.external_id,
                       company_name=subscription.company.name, product_id=resource.external_id,
                       product_name=resource.name, subscription_id=subscription.external_id,
                       period_start=NOVEMBER, period_end=date(2026, 11, 30), quantity=Decimal(5),
                       unit_cost=Decimal("8.00"), cost_total=Decimal("40.00"))
    await store_invoice(session, source="ingram", marketplace="ingram", now=datetime(2026, 12, 5, tzinfo=UTC),
                        actor="test", received=ReceivedInvoice(source_id="nov", month=NOVEMBER, lines=(line,)))
    await session.commit()
    [check] = await check_month_invoices(session=session, month=NOVEMBER)
    [finding] = check.result.findings
    assert finding.kind is FindingKind.under_cost and finding.unit_price == Decimal("7.00")
    assert finding.money == Decimal("5.00")  # (8.00 - 7.00) x 5 billed in November; at 15.00 it would be hidden
