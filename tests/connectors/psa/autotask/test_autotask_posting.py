"""AutotaskClient writes against the sandbox: adjustment + keyed note, read-back, find_posted, exactly once."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from bot.connectors.errors import (
    PermissionDeniedError,
    RejectedError,
    ServerError,
    UnreachableError,
)
from bot.domain.records import AdjustmentRequest, PostResult
from bot.sandbox.world import AutotaskContractService, SandboxWorld
from tests.connectors.psa.autotask.test_autotask import Forward, RecordingTransport, client_for, start_sandbox


@pytest.fixture
async def sandbox():
    started = await start_sandbox()
    yield started
    await started.stop()


@pytest.fixture
async def client(sandbox):
    connector = client_for(sandbox)
    yield connector
    await connector.aclose()


def running_service(world: SandboxWorld, skip: int = 0) -> AutotaskContractService:
    """A contract service on an active Recurring Service contract that runs today, of an active service."""
    candidates = [
        s for s in world.autotask_contract_services.values()
        if (c := world.autotask_contracts[s.contract_id]).status == 1 and c.contract_type == 7
        and c.start_date <= world.today < c.end_date - timedelta(days=40)
        and world.autotask_services[s.service_id].is_active and s.units > 2
    ]
    return sorted(candidates, key=lambda s: s.id)[skip]


def request_for(world: SandboxWorld, service: AutotaskContractService, *, to: int,
                key: str = "ss-0123456789abcdef01234567", **more) -> AdjustmentRequest:
    values = {"effective_date": world.today, "description": "SeatSync: Microsoft 365 5 -> 9", **more}
    return AdjustmentRequest(idempotency_key=key, service_external_id=str(service.id),
                             contract_external_id=str(service.contract_id), catalog_id=str(service.service_id),
                             units_from=service.units, units_to=to, **values)


def notes_with(world: SandboxWorld, key: str) -> list:
    return [n for n in world.autotask_notes.values() if f"[seatsync:{key}]" in n.description]


async def engine_style_retry(client, request: AdjustmentRequest) -> tuple[str, PostResult]:
    """What bot/sync/posting.py does after an unknown outcome: look for the key, read units, post the rest."""
    found = await client.find_posted(request)
    if found is not None:
        return "confirmed", found
    current = (await client.read_units([request.service_external_id]))[request.service_external_id]
    if current == request.units_to:
        return "confirmed", PostResult(None, current)
    return "posted", await client.post_adjustment(replace(request, units_from=current))


# --- the happy path ------------------------------------------------------------------------------
async def test_post_adjusts_units_leaves_a_keyed_note_and_reads_back(client, sandbox):
    world = sandbox.world
    service = running_service(world)
    before = service.units
    request = request_for(sandbox.world, service, to=before + 4, unit_price=Decimal("12.75"), unit_cost=Decimal("9.10"))
    result = await client.post_adjustment(request)
    assert result.units_after is None  # read back by the posting pass, with the others
    assert await read_back(client, service) == before + 4 == service.units
    (write,) = world.write_log
    assert (write.service_id, write.before, write.after) == (service.id, before, before + 4)
    adjustment = service.adjustments[-1]
    assert result.psa_reference == str(adjustment.id)
    assert (adjustment.unit_change, adjustment.effective_date) == (4, world.today)
    assert (adjustment.adjusted_unit_price, adjustment.adjusted_unit_cost) == (Decimal("12.75"), Decimal("9.1"))
    (note,) = notes_with(world, request.idempotency_key)
    assert note.contract_id == service.contract_id and note.title == "SeatSync adjustment"
    assert "SeatSync: Microsoft 365 5 -> 9" in note.description
    assert f"ContractServiceAdjustment {adjustment.id}" in note.description


async def test_the_adjustment_body_names_contract_service_and_delta(sandbox):
    service = running_service(sandbox.world)
    transport = RecordingTransport()
    async with client_for(sandbox, transport=transport) as connector:
        await connector.post_adjustment(request_for(sandbox.world, service, to=service.units - 2))
    (post,) = [r for r in transport.requests if r.url.path.endswith("/ServiceAdjustments")]
    assert post.method == "POST"
    assert post.url.path.endswith(f"/V1.0/Contracts/{service.contract_id}/ServiceAdjustments")
    body = json.loads(post.content)
    assert body == {"contractID": service.contract_id, "serviceID": service.service_id,
                    "contractServiceID": service.id, "unitChange": -2,
                    "effectiveDate": f"{sandbox.world.today.isoformat()}T12:00:00Z"}


async def test_find_posted_recognises_the_key(client, sandbox):
    service = running_service(sandbox.world)
    request = request_for(sandbox.world, service, to=service.units + 1)
    assert await client.find_posted(request) is None
    posted = await client.post_adjustment(request)
    found = await client.find_posted(request)
    assert found == PostResult(psa_reference=posted.psa_reference, units_after=request.units_to)
    assert await client.find_posted(replace(request, idempotency_key="ss-another-key")) is None


async def test_a_missing_catalog_id_is_looked_up(client, sandbox):
    service = running_service(sandbox.world)
    request = replace(request_for(sandbox.world, service, to=service.units + 2), catalog_id=None)
    result = await client.post_adjustment(request)
    assert result.units_after is None and await read_back(client, service) == service.units == request.units_to
    assert service.adjustments[-1].service_id == service.service_id


async def test_a_future_dated_adjustment_waits_for_its_day(client, sandbox):
    world = sandbox.world
    service = running_service(world)
    before = service.units
    request = request_for(world, service, to=before + 3, effective_date=world.today + timedelta(days=10))
    result = await client.post_adjustment(request)
    assert result.units_after is None and await read_back(client, service) == before  # not in effect yet
    assert (await client.find_posted(request)).units_after == before
    assert len(world.write_log) == 1


# --- exactly once --------------------------------------------------------------------------------
async def test_a_dropped_reply_is_resolved_by_reading_back_without_a_second_write(client, sandbox):
    world = sandbox.world
    service = running_service(world)
    request = request_for(sandbox.world, service, to=service.units + 5)
    sandbox.faults["autotask"].update({"drop_reply_rate": 1.0})
    with pytest.raises(UnreachableError) as caught:
        await client.post_adjustment(request)
    assert caught.value.outcome_unknown
    assert client.stats.by_operation["ContractServiceAdjustments.create"] == 1  # never re-sent by the client
    sandbox.faults["autotask"].update({"drop_reply_rate": 0.0})
    outcome, result = await engine_style_retry(client, request)
    assert (outcome, result.units_after) == ("confirmed", request.units_to)
    assert len(world.write_log) == 1


async def test_a_dropped_reply_on_a_future_dated_adjustment_is_found_on_its_day(client, sandbox):
    world = sandbox.world
    service = running_service(world)
    before = service.units
    request = request_for(sandbox.world, service, to=before + 2, effective_date=world.today + timedelta(days=7))
    sandbox.faults["autotask"].update({"drop_reply_rate": 1.0})
    with pytest.raises(UnreachableError):
        await client.post_adjustment(request)
    sandbox.faults["autotask"].update({"drop_reply_rate": 0.0})
    outcome, result = await engine_style_retry(client, request)
    assert (outcome, result.units_after) == ("confirmed", before)
    assert len(world.write_log) == 1


async def test_a_lost_note_reply_does_not_fail_the_post(sandbox, caplog):
    world = sandbox.world
    service = running_service(world)

    async def drop_note_reply(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = await forward(request)
        if request.method == "POST" and request.url.path.endswith("/Notes"):
            raise httpx.ReadError("connection reset", request=request)
        return response

    request = request_for(sandbox.world, service, to=service.units + 1)
    with caplog.at_level(logging.WARNING, logger="bot.connectors.psa.autotask.posting"):
        async with client_for(sandbox, transport=RecordingTransport(drop_note_reply)) as connector:
            result = await connector.post_adjustment(request)
            assert result.units_after is None and await read_back(connector, service) == request.units_to
            assert (await connector.find_posted(request)).psa_reference == result.psa_reference
    assert "landed but its note did not" in caplog.text
    assert len(world.write_log) == 1 and len(notes_with(world, request.idempotency_key)) == 1


async def test_a_refused_note_is_logged_and_the_post_still_counts(sandbox, caplog):
    service = running_service(sandbox.world)

    async def refuse_notes(request: httpx.Request, forward: Forward) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/Notes"):
            return httpx.Response(500, json={"errors": ["description is longer than 8000 characters."]})
        return await forward(request)

    with caplog.at_level(logging.WARNING, logger="bot.connectors.psa.autotask.posting"):
        async with client_for(sandbox, transport=RecordingTransport(refuse_notes)) as connector:
            request = request_for(sandbox.world, service, to=service.units + 1)
            result = await connector.post_adjustment(request)
    assert result.units_after is None and service.units == request.units_to
    assert "longer than 8000" in caplog.text


# --- refusals and failures -----------------------------------------------------------------------
async def test_going_below_zero_is_rejected_with_autotasks_words(client, sandbox):
    service = running_service(sandbox.world)
    with pytest.raises(RejectedError) as caught:
        await client.post_adjustment(request_for(sandbox.world, service, to=-3))
    error = caught.value
    assert "fewer than 0 units" in error.vendor_message
    assert (error.status, error.retryable, error.outcome_unknown) == (500, False, False)
    assert client.stats.by_operation["ContractServiceAdjustments.create"] == 1
    assert sandbox.world.write_log == []


async def test_an_inactive_contract_is_rejected(client, sandbox):
    world = sandbox.world
    service = running_service(world)
    world.autotask_contracts[service.contract_id].status = 0
    with pytest.raises(RejectedError, match="inactive"):
        await client.post_adjustment(request_for(sandbox.world, service, to=service.units + 1))


async def test_a_generic_500_on_the_write_is_an_unknown_outcome_not_retried(client, sandbox):
    service = running_service(sandbox.world)
    await client.read_units([str(service.id)])  # discover the zone before the fault
    sandbox.faults["autotask"].update({"error_rates": {500: 1.0}})
    with pytest.raises(ServerError) as caught:
        await client.post_adjustment(request_for(sandbox.world, service, to=service.units + 1))
    assert caught.value.outcome_unknown and caught.value.retryable
    assert client.stats.by_operation["ContractServiceAdjustments.create"] == 1
    assert sandbox.world.write_log == []


async def test_a_timed_out_write_is_an_unknown_outcome(sandbox):
    service = running_service(sandbox.world)
    async with client_for(sandbox, timeout=httpx.Timeout(0.3, connect=1.0)) as connector:
        await connector.read_units([str(service.id)])
        sandbox.faults["autotask"].update({"timeout_rate": 1.0, "timeout_s": 0.6})
        with pytest.raises(UnreachableError) as caught:
            await connector.post_adjustment(request_for(sandbox.world, service, to=service.units + 1))
        assert caught.value.outcome_unknown
        assert connector.stats.by_operation["ContractServiceAdjustments.create"] == 1
    assert sandbox.world.write_log == []


async def test_a_429_on_the_write_is_retried_and_posts_once(client, sandbox):
    service = running_service(sandbox.world)
    await client.read_units([str(service.id)])
    sandbox.faults["autotask"].update({"burst_429": 1, "retry_after_s": 0.01})
    request = request_for(sandbox.world, service, to=service.units + 1)
    result = await client.post_adjustment(request)
    assert result.units_after is None and await read_back(client, service) == service.units == request.units_to
    assert client.stats.by_operation["ContractServiceAdjustments.create"] == 2
    assert len(sandbox.world.write_log) == 1


async def test_the_thread_limit_refusal_is_retried_whatever_its_status(sandbox):
    service = running_service(sandbox.world)
    refused = 0

    async def thread_limit_once(request: httpx.Request, forward: Forward) -> httpx.Response:
        nonlocal refused
        if request.url.path.endswith("/ServiceAdjustments") and not refused:
            refused += 1
            return httpx.Response(500, json={"errors": [
                "Itgenatr005: The Autotask API thread threshold of 3 threads has been exceeded."]})
        return await forward(request)

    async with client_for(sandbox, transport=RecordingTransport(thread_limit_once)) as connector:
        request = request_for(sandbox.world, service, to=service.units + 2)
        result = await connector.post_adjustment(request)
        assert connector.stats.retries == 1
    assert result.units_after is None and service.units == request.units_to
    assert len(sandbox.world.write_log) == 1


async def test_missing_permission_under_a_500_is_permission_denied(sandbox):
    service = running_service(sandbox.world)

    async def no_permission(request: httpx.Request, forward: Forward) -> httpx.Response:
        if request.url.path.endswith("/ServiceAdjustments"):
            return httpx.Response(500, json={"errors": [
                "The logged in Resource does not have the adequate permissions to create this entity type."]})
        return await forward(request)

    async with client_for(sandbox, transport=RecordingTransport(no_permission)) as connector:
        with pytest.raises(PermissionDeniedError, match="adequate permissions") as caught:
            await connector.post_adjustment(request_for(sandbox.world, service, to=service.units + 2))
    assert not caught.value.retryable and not caught.value.outcome_unknown


async def test_a_zone_move_before_the_write_is_followed_and_posts_once(client, sandbox):
    from bot.sandbox.autotask import move_zone

    service = running_service(sandbox.world)
    await client.read_units([str(service.id)])
    move_zone(sandbox.world, "webservices14")
    request = request_for(sandbox.world, service, to=service.units + 1)
    result = await client.post_adjustment(request)
    assert result.units_after is None and await read_back(client, service) == service.units == request.units_to
    assert len(sandbox.world.write_log) == 1
    assert client.stats.by_status["401"] == 1


async def read_back(client, service) -> int:
    """The units the posting pass's batched read-back would find."""
    return (await client.read_units([str(service.id)]))[str(service.id)]
