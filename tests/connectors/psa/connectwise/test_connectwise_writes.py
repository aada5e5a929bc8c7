"""ConnectWiseClient writes against the simulator: the PATCH, its key, proration, refusals, and the
exactly-once path when a reply is lost (checked in the simulator's write_log)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.connectors.errors import NotFoundError, RateLimitedError, RejectedError, ServerError, UnreachableError
from bot.connectors.psa.connectwise.client import ConnectWiseClient
from bot.connectors.psa.connectwise.posting import compose_description
from bot.db.engine import session_factory
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    AdjustmentTrigger,
    ContractStatus,
    PsaCompany,
    PsaContract,
)
from bot.domain.records import AdjustmentRequest
from bot.sandbox.app import Sandbox
from bot.sandbox.world import ConnectWiseAddition
from bot.sync.posting import post_due_adjustments
from tests.connectors.psa.connectwise.test_connectwise import TODAY, client_for
from tests.db.factories import marketplace_resource, psa_service


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    running = await Sandbox.generate(seed=1, scale="small", today=TODAY).start()
    yield running
    await running.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[ConnectWiseClient]:
    connector = client_for(sandbox)
    yield connector
    await connector.aclose()


def live_addition(sandbox: Sandbox, *, prorates: bool = True) -> ConnectWiseAddition:
    world = sandbox.world
    return next(a for a in world.connectwise_additions.values()
                if a.cancelled_date is None and world.connectwise_agreements[a.agreement_id].status == "Active"
                and world.connectwise_agreements[a.agreement_id].prorate is prorates)


def request_for(addition: ConnectWiseAddition, units_to: int, key: str = "ss-key-1", **kwargs) -> AdjustmentRequest:
    return AdjustmentRequest(
        idempotency_key=key, service_external_id=str(addition.id), contract_external_id=str(addition.agreement_id),
        catalog_id=str(addition.product_id), units_from=addition.quantity, units_to=units_to,
        effective_date=TODAY, description=f"SeatSync: Ingram {addition.quantity} -> {units_to}", **kwargs)


def writes_with(sandbox: Sandbox, key: str) -> list:
    return [w for w in sandbox.world.write_log if w.key == key]


async def test_post_patches_quantity_and_description_then_reads_back(sandbox: Sandbox) -> None:
    addition = live_addition(sandbox)
    before, original = addition.quantity, addition.description
    requests: list[httpx.Request] = []
    connector = client_for(sandbox, requests=requests)
    result = await connector.post_adjustment(request_for(addition, before + 3, unit_price=Decimal("21.5"),
                                                         unit_cost=Decimal("17.25")))
    stored = sandbox.world.connectwise_additions[addition.id]
    assert (result.psa_reference, result.units_after) == (str(addition.id), before + 3)
    assert stored.quantity == before + 3
    assert stored.description == f"{original} [seatsync:ss-key-1] SeatSync: Ingram {before} -> {before + 3}"
    assert (stored.unit_price, stored.unit_cost) == (Decimal("21.5"), Decimal("17.25"))
    assert stored.prorate_current_period is True
    assert [(w.before, w.after) for w in writes_with(sandbox, "ss-key-1")] == [(before, before + 3)]
    patch = next(r for r in requests if r.method == "PATCH")
    assert patch.headers["Content-Type"] == "application/json"
    assert [op["path"] for op in json.loads(patch.content)] == [
        "quantity", "description", "unitPrice", "unitCost", "prorateCurrentPeriodFlag"]
    assert connector.stats.by_operation["agreements.get"] == 1  # prorateFlag read once, not from a list
    await connector.aclose()


async def test_a_second_post_replaces_the_marker_and_keeps_the_msp_text(sandbox: Sandbox,
                                                                        client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    original = addition.description
    await client.post_adjustment(request_for(addition, 5, key="ss-first"))
    result = await client.post_adjustment(request_for(addition, 9, key="ss-second"))
    stored = sandbox.world.connectwise_additions[addition.id]
    assert result.units_after == 9
    assert stored.description.startswith(f"{original} [seatsync:ss-second]")
    assert "ss-first" not in stored.description
    assert compose_description(None, "k", " line ") == "[seatsync:k] line"


async def test_no_proration_flag_on_an_agreement_that_does_not_prorate(sandbox: Sandbox,
                                                                       client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox, prorates=False)
    await client.list_contracts()  # prorateFlag known from the list: no extra read
    client.stats.reset()
    result = await client.post_adjustment(request_for(addition, addition.quantity + 1))
    assert result.units_after == sandbox.world.connectwise_additions[addition.id].quantity
    assert sandbox.world.connectwise_additions[addition.id].prorate_current_period is False
    assert client.stats.by_operation == {"additions.get": 1, "additions.patch": 1}


async def test_a_post_right_after_read_units_levels_from_that_read(sandbox: Sandbox,
                                                                    client: ConnectWiseClient) -> None:
    """The posting pass reads units first (with the fields a post needs); the post does not read the
    addition a second time, and still keeps the MSP's text. Used once: the next post reads again."""
    addition = live_addition(sandbox)
    original = addition.description
    await client.list_services()  # as a cycle does: the addition's agreement and prorateFlag are known
    assert await client.read_units([str(addition.id)]) == {str(addition.id): addition.quantity}
    client.stats.reset()
    await client.post_adjustment(request_for(addition, addition.quantity + 2, key="ss-once"))
    assert client.stats.by_operation == {"additions.patch": 1}
    assert sandbox.world.connectwise_additions[addition.id].description.startswith(f"{original} [seatsync:ss-once]")
    await client.post_adjustment(request_for(addition, 4, key="ss-again"))
    assert client.stats.by_operation == {"additions.get": 1, "additions.patch": 2}


async def test_proration_refused_by_connectwise_is_a_rejection_with_its_field_message(
        sandbox: Sandbox, client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    await client.list_contracts()
    sandbox.world.connectwise_agreements[addition.agreement_id].prorate = False  # unticked after our read
    before = addition.quantity
    with pytest.raises(RejectedError) as refused:
        await client.post_adjustment(request_for(addition, before + 2))
    assert refused.value.status == 400 and not refused.value.retryable and not refused.value.outcome_unknown
    assert "addition object is invalid (InvalidObject)" in refused.value.vendor_message
    assert "prorateCurrentPeriodFlag: Agreement" in refused.value.vendor_message
    assert "is not set to prorate" in refused.value.vendor_message
    assert sandbox.world.connectwise_additions[addition.id].quantity == before
    assert sandbox.world.write_log == []
    result = await client.post_adjustment(request_for(addition, before + 2))  # reads prorateFlag afresh
    assert result.units_after == before + 2


async def test_writes_to_a_closed_agreement_are_rejected(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    world = sandbox.world
    addition = next(a for a in world.connectwise_additions.values()
                    if world.connectwise_agreements[a.agreement_id].status == "Expired")
    with pytest.raises(RejectedError, match="cannot be added, changed or deleted"):
        await client.post_adjustment(request_for(addition, addition.quantity + 1, prorate=False))
    assert world.write_log == []


async def test_a_cancelled_addition_is_not_patched(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    addition.cancelled_date = TODAY - timedelta(days=3)
    with pytest.raises(RejectedError, match="was cancelled on") as refused:
        await client.post_adjustment(request_for(addition, 10))
    assert not refused.value.retryable
    assert client.stats.by_operation.get("additions.patch") is None


async def test_unknown_addition_is_not_found(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    ghost = request_for(addition, 4)
    ghost = AdjustmentRequest(**{**ghost.__dict__, "service_external_id": "424242"})
    with pytest.raises(NotFoundError, match="Addition 424242 not found"):
        await client.post_adjustment(ghost)
    assert await client.find_posted(ghost) is None


async def test_find_posted_needs_the_key_and_the_target(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    request = request_for(addition, addition.quantity + 4)
    assert await client.find_posted(request) is None
    await client.post_adjustment(request)
    found = await client.find_posted(request)
    assert found is not None and (found.psa_reference, found.units_after) == (str(addition.id), request.units_to)
    sandbox.world.connectwise_additions[addition.id].quantity += 1  # moved by hand since
    assert await client.find_posted(request) is None
    other_key = AdjustmentRequest(**{**request.__dict__, "idempotency_key": "ss-other"})
    sandbox.world.connectwise_additions[addition.id].quantity = request.units_to
    assert await client.find_posted(other_key) is None


async def test_a_dropped_reply_is_found_and_never_posted_twice(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    request = request_for(addition, addition.quantity + 6, key="ss-dropped")
    sandbox.faults["connectwise"].update({"drop_reply_rate": 1.0})
    with pytest.raises(UnreachableError) as lost:
        await client.post_adjustment(request)
    assert lost.value.outcome_unknown and lost.value.retryable
    assert client.stats.by_operation["additions.patch"] == 1  # not retried by the connector
    sandbox.faults["connectwise"].update({"drop_reply_rate": 0.0})
    # what the engine does next: look for the key before any second post
    found = await client.find_posted(request)
    assert found is not None and found.units_after == request.units_to
    assert await client.read_units([str(addition.id)]) == {str(addition.id): request.units_to}
    assert len(writes_with(sandbox, "ss-dropped")) == 1
    assert len([w for w in sandbox.world.write_log if w.service_id == addition.id]) == 1


def fault_during_patch(connector: ConnectWiseClient, sandbox: Sandbox, knobs: dict) -> dict[str, int]:
    """Turn the simulator's fault `knobs` on only while the connector sends its PATCH."""
    original_patch, calls = connector.api.patch, {"n": 0}

    async def patch_with_faults(*args, **kwargs):
        calls["n"] += 1
        sandbox.faults["connectwise"].update(knobs)
        try:
            return await original_patch(*args, **kwargs)
        finally:
            sandbox.faults["connectwise"].reset()

    connector.api.patch = patch_with_faults
    return calls


async def test_a_server_error_on_the_patch_is_an_unknown_outcome_sent_once(sandbox: Sandbox,
                                                                           client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    calls = fault_during_patch(client, sandbox, {"error_rates": {500: 1.0}})
    with pytest.raises(ServerError) as failed:
        await client.post_adjustment(request_for(addition, addition.quantity + 1))
    assert failed.value.outcome_unknown and failed.value.status == 500
    assert client.stats.by_operation["additions.patch"] == 1 and calls["n"] == 1
    assert client.stats.retries == 0


async def test_a_patch_that_times_out_is_an_unknown_outcome_sent_once(sandbox: Sandbox) -> None:
    addition = live_addition(sandbox)
    connector = client_for(sandbox, timeout=httpx.Timeout(0.3, connect=1.0))
    calls = fault_during_patch(connector, sandbox, {"timeout_rate": 1.0, "timeout_s": 1.0})
    with pytest.raises(UnreachableError) as lost:
        await connector.post_adjustment(request_for(addition, addition.quantity + 1))
    assert lost.value.outcome_unknown
    assert connector.stats.by_operation["additions.patch"] == 1 and calls["n"] == 1
    assert sandbox.world.write_log == []  # the simulator's timeout drops the request unprocessed
    await connector.aclose()


async def test_a_429_on_the_patch_is_retried_because_it_was_not_processed(sandbox: Sandbox,
                                                                          client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    calls = fault_during_patch(client, sandbox, {"burst_429": 2, "retry_after_s": 0.05})
    result = await client.post_adjustment(request_for(addition, addition.quantity + 2, key="ss-429"))
    assert result.units_after == addition.quantity + 2
    assert calls["n"] == 1 and client.stats.by_operation["additions.patch"] == 3
    assert client.stats.by_status["429"] == 2 and client.stats.retries == 2
    assert len(writes_with(sandbox, "ss-429")) == 1


async def test_throttling_that_never_ends_is_a_rate_limited_error(sandbox: Sandbox, client: ConnectWiseClient) -> None:
    addition = live_addition(sandbox)
    sandbox.faults["connectwise"].update({"rate_429": 1.0, "retry_after_s": 0.01})
    with pytest.raises(RateLimitedError) as throttled:
        await client.find_posted(request_for(addition, 1))
    assert throttled.value.retryable and "Too many requests" in throttled.value.vendor_message


# --- through the sync engine's poster ---------------------------------------------------------------
async def test_the_engine_confirms_a_dropped_post_without_writing_again(sandbox: Sandbox, client: ConnectWiseClient,
                                                                        engine) -> None:
    """posting.post_due_adjustments with this connector: the PATCH lands but its reply is lost; the
    in-pass retry finds the key, so the change is confirmed and ConnectWise saw one write."""
    world = sandbox.world
    addition = live_addition(sandbox)
    agreement = world.connectwise_agreements[addition.agreement_id]
    sessions = session_factory(engine)
    async with sessions() as session:
        company = PsaCompany(psa="connectwise", external_id=str(agreement.company_id), name="Acme")
        contract = PsaContract(company=company, psa="connectwise", external_id=str(agreement.id),
                               name=agreement.name, status=ContractStatus.active, prorates=agreement.prorate)
        session.add_all([company, contract])
        service = await psa_service(session, contract=contract, psa="connectwise", units=addition.quantity)
        service.external_id = str(addition.id)
        resource = await marketplace_resource(session, total=addition.quantity + 5)
        session.add(Adjustment(
            idempotency_key="ss-engine-1", resource_id=resource.id, psa_service_id=service.id,
            psa="connectwise", units_from=addition.quantity, units_to=addition.quantity + 5, delta=5,
            effective_date=TODAY, trigger=AdjustmentTrigger.sync))
        await session.commit()
    sandbox.faults["connectwise"].update({"drop_reply_rate": 1.0})  # every write's reply is lost
    report = await post_due_adjustments(sessions=sessions, psa=client,
                                        clock=ManualClock(datetime.combine(TODAY, time(12), UTC)))
    assert (report.posted, report.confirmed, report.failed) == (0, 1, 0)
    assert [(w.before, w.after) for w in writes_with(sandbox, "ss-engine-1")] == [
        (addition.quantity, addition.quantity + 5)]
    assert len([w for w in world.write_log if w.service_id == addition.id]) == 1
    async with sessions() as session:
        posted = (await session.scalars(select(Adjustment))).one()
        assert posted.status is AdjustmentStatus.posted and posted.psa_reference == str(addition.id)
