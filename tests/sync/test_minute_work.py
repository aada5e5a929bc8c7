"""The minute jobs' work for every tenant at once (bot.sync.minute_work): which tenants' outbox pass and failure
alerts have something to do. Real SQL, every tenant's rows in one statement: on PostgreSQL through row-level
security (the function of revision 0011), on SQLite one grouped query. The outbox answer is checked against the
pass's own selection (`due_filter`, `not_held`), asked tenant by tenant in its scope."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.engine import session_factory
from bot.db.models import Adjustment, AdjustmentStatus, AdjustmentTrigger, SlackMessage
from bot.db.tenancy import DEFAULT_TENANT_ID, ensure_tenant, mark_tenant_uninstalled, tenant_scope
from bot.domain.enums import SlackMessageState
from bot.sync.failure_causes import KEY_PREFIX
from bot.sync.minute_work import MinuteWork, minute_work
from bot.sync.posting import due_filter, not_held
from bot.sync.schedule import JobId
from tests.db.factories import marketplace_resource, psa_service

pytestmark = pytest.mark.db


async def a_tenant(sessions, team: str) -> int:
    async with sessions() as session:
        tenant = await ensure_tenant(session, team_id=team, enterprise_id=None, is_enterprise_install=False)
        await session.commit()
    return tenant


async def an_intent(sessions, tenant: int, **values) -> None:
    with tenant_scope(tenant):
        async with sessions() as session:
            resource = await marketplace_resource(session, total=8)
            service = await psa_service(session, units=5)
            session.add(Adjustment(
                idempotency_key=f"k-{tenant}-{resource.id}", resource_id=resource.id, psa_service_id=service.id,
                psa=service.psa, units_from=5, units_to=8, delta=3, effective_date=date(2026, 11, 16),
                prorated_amount=Decimal("1.00"), trigger=AdjustmentTrigger.sync, **values))
            await session.commit()


async def an_open_failure_alert(sessions, tenant: int, *, state=SlackMessageState.open, key=f"{KEY_PREFIX}x") -> None:
    with tenant_scope(tenant):
        async with sessions() as session:
            session.add(SlackMessage(key=key, channel="C1", ts="1.1", state=state))
            await session.commit()


async def test_each_tenants_outbox_and_failure_alerts_work_is_found_in_one_statement(engine, clock):
    sessions = session_factory(engine)
    now = clock()
    today = now.date()
    names = ["pending", "held", "held-tomorrow", "failed-waiting", "failed-due", "claim-live", "claim-expired",
             "posted", "alert-open", "alert-resolved", "other-message", "idle", "uninstalled"]
    tenant = {name: await a_tenant(sessions, f"T0{i:08d}") for i, name in enumerate(names)}
    await an_intent(sessions, tenant["pending"], status=AdjustmentStatus.pending)
    await an_intent(sessions, tenant["held"], status=AdjustmentStatus.pending, hold_until=today + timedelta(days=2))
    # the MSP's business day may already be tomorrow (a time zone east of UTC): the pass may post it
    await an_intent(sessions, tenant["held-tomorrow"], status=AdjustmentStatus.pending,
                    hold_until=today + timedelta(days=1))
    await an_intent(sessions, tenant["failed-waiting"], status=AdjustmentStatus.failed, attempts=1,
                    next_attempt_at=now + timedelta(seconds=30))
    await an_intent(sessions, tenant["failed-due"], status=AdjustmentStatus.failed, attempts=1,
                    next_attempt_at=now - timedelta(seconds=1))
    await an_intent(sessions, tenant["claim-live"], status=AdjustmentStatus.posting, attempts=1, claimed_by="a",
                    claim_expires_at=now + timedelta(seconds=10))
    await an_intent(sessions, tenant["claim-expired"], status=AdjustmentStatus.posting, attempts=1, claimed_by="a",
                    claim_expires_at=now - timedelta(seconds=1))
    await an_intent(sessions, tenant["posted"], status=AdjustmentStatus.posted, attempts=1)
    await an_open_failure_alert(sessions, tenant["alert-open"])
    await an_open_failure_alert(sessions, tenant["alert-resolved"], state=SlackMessageState.resolved)
    await an_open_failure_alert(sessions, tenant["other-message"], key="approvals:x")
    await an_intent(sessions, tenant["uninstalled"], status=AdjustmentStatus.pending)
    async with sessions() as session:
        await mark_tenant_uninstalled(session, tenant["uninstalled"], at=now, retention_days=30)
        await session.commit()

    async with sessions() as session:
        work = await minute_work(session, at=now)
        assert await session.scalar(select(Adjustment.id)) is None  # the session still acts for the default tenant

    by_name = {value: name for name, value in tenant.items()}
    assert sorted(by_name[t] for t in work.outbox) == sorted(
        ["pending", "held-tomorrow", "failed-due", "claim-expired"])
    assert sorted(by_name[t] for t in work.failure_alerts) == sorted(["failed-waiting", "failed-due", "alert-open"])
    assert DEFAULT_TENANT_ID not in work.outbox | work.failure_alerts
    for name, tenant_id in tenant.items():  # the outbox pass's own selection agrees, tenant by tenant
        if name == "uninstalled":
            continue
        with tenant_scope(tenant_id):
            async with sessions() as session:
                due = await session.scalar(select(Adjustment.id).where(
                    due_filter(now), not_held(today + timedelta(days=1))).limit(1))
        assert (due is not None) == (tenant_id in work.outbox), name


def test_the_jobs_it_does_not_judge_are_always_wanted():
    work = MinuteWork(outbox=frozenset({2}), failure_alerts=frozenset({3}))
    assert work.wanted(2, JobId.OUTBOX_RETRY) and not work.wanted(3, JobId.OUTBOX_RETRY)
    assert work.wanted(3, JobId.FAILURE_ALERTS) and not work.wanted(2, JobId.FAILURE_ALERTS)
    assert all(work.wanted(4, job_id) for job_id in JobId if job_id not in (JobId.OUTBOX_RETRY, JobId.FAILURE_ALERTS))
