"""The real outbox poster (bot/sync/posting.py) driving AutotaskClient through lost replies: one write each."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.db.engine import session_factory
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    ContractStatus,
    PsaCompany,
    PsaContract,
    PsaService,
)
from bot.sync.posting import post_due_adjustments
from tests.connectors.psa.autotask.test_autotask import client_for, start_sandbox
from tests.connectors.psa.autotask.test_autotask_posting import running_service
from tests.db.factories import marketplace_resource


async def seed_intents(world, sessions) -> dict[int, int]:
    """Three linked services, each with an intent of +3 due now: contract service id -> its target."""
    targets, companies, contracts = {}, {}, {}
    async with sessions() as session:
        for skip in range(3):
            source = running_service(world, skip=skip)
            contract = world.autotask_contracts[source.contract_id]
            if contract.company_id not in companies:
                companies[contract.company_id] = PsaCompany(psa="autotask",
                                                            external_id=str(contract.company_id), name="Acme")
            company = companies[contract.company_id]
            if contract.id not in contracts:
                contracts[contract.id] = PsaContract(company=company, psa="autotask",
                                                     external_id=str(contract.id), name=contract.name,
                                                     status=ContractStatus.active)
            psa_contract = contracts[contract.id]
            service = PsaService(contract=psa_contract, psa="autotask", external_id=str(source.id),
                                 catalog_id=str(source.service_id), name=f"service {source.id}", units=source.units)
            session.add_all([company, psa_contract, service])
            resource = await marketplace_resource(session, total=source.units + 3)
            session.add(Adjustment(
                idempotency_key=f"ss-engine-{skip}", resource_id=resource.id, service=service,
                psa="autotask", units_from=source.units, units_to=source.units + 3, delta=3,
                effective_date=world.today, trigger=AdjustmentTrigger.sync))
            targets[source.id] = source.units + 3
        await session.commit()
    return targets


async def test_a_posting_pass_reads_before_and_after_in_batches(engine):
    """Per posted change: the adjustment and its keyed note; the units are read once before the pass and once
    after it for all of them (not one read-back per post), and the PSA cache holds what was read back."""
    sandbox = await start_sandbox()
    world = sandbox.world
    sessions = session_factory(engine)
    targets = await seed_intents(world, sessions)
    try:
        async with client_for(sandbox) as connector:
            report = await post_due_adjustments(sessions=sessions, psa=connector,
                                                clock=lambda: datetime(2026, 11, 16, 9, tzinfo=UTC))
            calls = dict(connector.stats.by_operation)
    finally:
        await sandbox.stop()
    assert report.posted == 3, report
    assert {name: count for name, count in calls.items() if name != "zoneInformation"} == {
        "ContractServiceUnits.query": 2, "ContractServiceAdjustments.create": 3, "ContractNotes.create": 3}
    async with sessions() as session:
        cached = dict((await session.execute(select(PsaService.external_id, PsaService.units))).all())
    assert cached == {str(i): units for i, units in targets.items()}


async def test_the_engine_confirms_lost_posts_without_posting_twice(engine):
    sandbox = await start_sandbox()
    world = sandbox.world
    sessions = session_factory(engine)
    targets = await seed_intents(world, sessions)

    sandbox.faults["autotask"].update({"drop_reply_rate": 1.0})
    try:
        async with client_for(sandbox) as connector:
            report = await post_due_adjustments(sessions=sessions, psa=connector,
                                                clock=lambda: datetime(2026, 11, 16, 9, tzinfo=UTC))
    finally:
        await sandbox.stop()

    assert (report.confirmed, report.posted, report.failed) == (3, 0, 0), report
    assert sorted(w.service_id for w in world.write_log) == sorted(targets)  # one write per service
    assert {i: world.autotask_contract_services[i].units for i in targets} == targets
    async with sessions() as session:
        statuses = (await session.scalars(select(Adjustment.status))).all()
    assert statuses == [AdjustmentStatus.posted] * 3
