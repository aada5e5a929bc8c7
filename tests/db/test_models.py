from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    AppSetting,
    AuditEvent,
    PriceSourceKind,
    PriceSourceSetting,
    ResourceCountChange,
    ResourceLink,
    SchedulerLease,
    Scope,
    SyncRun,
    SyncRunStatus,
)
from bot.db.tenant_scope import DEFAULT_TENANT_ID
from tests.db.factories import marketplace_resource, psa_service


async def test_domain_round_trip(engine, session):
    resource = await marketplace_resource(session, total=8)
    service = await psa_service(session, units=1)
    link = ResourceLink(resource=resource, service=service, created_by="U1")
    session.add(link)
    await session.flush()
    posted_at = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    session.add_all([
        ResourceCountChange(resource_id=resource.id, previous_total=7, total=8, included=0, additional=8,
                            unit_price=Decimal("8.0000"), unit_cost=Decimal("6.4000")),
        Adjustment(idempotency_key="k-1", resource_link_id=link.id, resource_id=resource.id,
                   psa_service_id=service.id, psa=service.psa, units_from=1, units_to=8, delta=7,
                   effective_date=date(2026, 11, 22), prorated_amount=Decimal("17.7333"),
                   unit_price=Decimal("9.50"), unit_cost=Decimal("6.40"), trigger=AdjustmentTrigger.link,
                   status=AdjustmentStatus.posted, posted_at=posted_at),
        PriceSourceSetting(scope_key="global", scope=Scope.global_, kind=PriceSourceKind.marketplace_cost_markup,
                           markup_percent=Decimal("20"), updated_by="U1"),
        AppSetting(key="app", value={"alerts_channel": "C1", "billing_team": ["U1"]}, updated_by="U1"),
        SchedulerLease(name="scheduler", holder="a", acquired_at=posted_at, expires_at=posted_at),
        SyncRun(trigger="cli", status=SyncRunStatus.succeeded, stats={"posted": 1}),
        AuditEvent(actor="U1", action="link_resource", subject_type="resource_link", subject_id=str(link.id),
                   after={"resource": "Exchange"}),
    ])
    await session.commit()
    session.expunge_all()

    adjustment = await session.scalar(select(Adjustment).where(Adjustment.idempotency_key == "k-1"))
    assert adjustment.prorated_amount == Decimal("17.7333")
    assert adjustment.posted_at == posted_at and adjustment.posted_at.tzinfo is not None
    assert adjustment.status is AdjustmentStatus.posted and adjustment.trigger is AdjustmentTrigger.link
    assert adjustment.created_at.tzinfo is not None
    setting = await session.scalar(select(PriceSourceSetting))
    assert setting.kind is PriceSourceKind.marketplace_cost_markup and setting.markup_percent == Decimal("20")
    assert (await session.get(AppSetting, (DEFAULT_TENANT_ID, "app"))).value["billing_team"] == ["U1"]
    assert (await session.scalar(select(SyncRun))).stats == {"posted": 1}
    history = await session.scalar(select(ResourceCountChange))
    assert (history.previous_total, history.total) == (7, 8)


async def test_naive_datetimes_are_refused(session):
    import pytest

    session.add(SchedulerLease(name="x", holder="a", acquired_at=datetime(2026, 1, 1),
                               expires_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        await session.flush()


async def test_foreign_keys_are_enforced(session):
    import pytest
    from sqlalchemy.exc import IntegrityError

    session.add(ResourceLink(resource_id=999, psa_service_id=998, created_by="U1"))
    with pytest.raises(IntegrityError):
        await session.flush()
