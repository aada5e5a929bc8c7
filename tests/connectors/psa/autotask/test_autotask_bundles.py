"""AutotaskClient and service bundles: read as services ("bundle-<id>"), their units read, posted exactly once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.domain.records import AdjustmentRequest
from bot.sandbox.world import AutotaskContractService, AutotaskService, SandboxWorld
from tests.connectors.psa.autotask.test_autotask import RecordingTransport, client_for, start_sandbox

BUNDLE = 7_001  # ServiceBundles id
CONTRACT_BUNDLE = 9_000_001  # ContractServiceBundles id (bundles get a range of their own)


def add_bundle(world: SandboxWorld, units: int = 6) -> AutotaskContractService:
    """A Microsoft 365 + Defender bundle, sold by the seat, on an active Recurring Service contract."""
    contract = next(c for c in sorted(world.autotask_contracts.values(), key=lambda c: c.id)
                    if c.contract_type == 7 and c.status == 1
                    and c.start_date <= world.today < c.end_date - timedelta(days=40))
    world.autotask_service_bundles[BUNDLE] = AutotaskService(BUNDLE, "Microsoft 365 + Defender", Decimal("15.00"),
                                                             Decimal("12.40"))
    bundle = AutotaskContractService(CONTRACT_BUNDLE, contract.id, BUNDLE, Decimal("15.00"), Decimal("12.40"),
                                     units=units)
    world.autotask_contract_service_bundles[bundle.id] = bundle
    return bundle


@pytest.fixture
async def sandbox():
    started = await start_sandbox()
    yield started
    await started.stop()


def request_for(bundle: AutotaskContractService, world: SandboxWorld, to: int, key: str) -> AdjustmentRequest:
    return AdjustmentRequest(idempotency_key=key, service_external_id=f"bundle-{bundle.id}",
                             contract_external_id=str(bundle.contract_id), catalog_id=f"bundle-{BUNDLE}",
                             units_from=bundle.units, units_to=to, effective_date=world.today,
                             description=f"SeatSync: bundle {bundle.units} -> {to}", unit_price=Decimal("14.50"))


async def test_bundles_are_read_as_services_and_posted_once(sandbox):
    world = sandbox.world
    bundle = add_bundle(world)
    transport = RecordingTransport()
    client = client_for(sandbox, transport=transport)
    try:
        services = {s.external_id: s for s in await client.list_services()}
        record = services[f"bundle-{CONTRACT_BUNDLE}"]
        assert (record.name, record.units, record.contract_external_id, record.catalog_id) == (
            "Microsoft 365 + Defender (service bundle)", 6, str(bundle.contract_id), f"bundle-{BUNDLE}")
        assert record.unit_price == Decimal("15.00")
        # the contract services are all there, beside the generated world's bundles and this one
        assert len(services) == len(world.autotask_contract_services) + len(world.autotask_contract_service_bundles)
        plain = next(iter(world.autotask_contract_services))
        units = await client.read_units([f"bundle-{CONTRACT_BUNDLE}", str(plain), "bundle-123"])
        assert units[f"bundle-{CONTRACT_BUNDLE}"] == 6 and "bundle-123" not in units and str(plain) in units

        request = request_for(bundle, world, 9, "ss-bundle-000000000000000001")
        assert await client.find_posted(request) is None
        result = await client.post_adjustment(request)
        assert result.units_after is None  # read back by the posting pass, with the others
        key = f"bundle-{CONTRACT_BUNDLE}"
        assert (await client.read_units([key]))[key] == 9 == bundle.units
        (adjustment,) = bundle.adjustments
        assert (adjustment.unit_change, adjustment.adjusted_unit_price) == (3, Decimal("14.5"))
        (write,) = world.write_log
        assert (write.service_id, write.before, write.after) == (CONTRACT_BUNDLE, 6, 9)
        assert write.key == request.idempotency_key  # the note named the bundle's adjustment
        found = await client.find_posted(request)
        assert found is not None and found.psa_reference == str(adjustment.id) and found.units_after == 9
        # nothing was posted to a contract service
        assert not any(s.adjustments for s in world.autotask_contract_services.values())
        posted = [r for r in transport.requests if r.method == "POST" and "Adjustments" in r.url.path]
        assert [r.url.path.rsplit("/", 1)[-1] for r in posted] == ["ServiceBundleAdjustments"]
    finally:
        await client.aclose()
