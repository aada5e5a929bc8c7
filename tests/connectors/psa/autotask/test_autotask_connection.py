"""AutotaskClient.test_connection: says exactly what is wrong."""

from __future__ import annotations

import httpx
import pytest

from bot.connectors.http import RetryPolicy
from bot.sandbox.autotask import move_zone
from tests.connectors.psa.autotask.test_autotask import (
    Forward,
    RecordingTransport,
    client_for,
    connection_for,
    start_sandbox,
)
from tests.connectors.psa.autotask.test_autotask_faults import closed_port


@pytest.fixture
async def sandbox():
    started = await start_sandbox()
    yield started
    await started.stop()


async def check(sandbox, transport: httpx.AsyncBaseTransport | None = None, **changes: str):
    retry = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_total_s=1)
    async with client_for(sandbox, connection=connection_for(sandbox, **changes), transport=transport,
                          retry=retry) as connector:
        return await connector.test_connection()


async def test_a_good_connection_reports_zone_and_usage(sandbox):
    result = await check(sandbox)
    assert result.ok, result.detail
    assert result.system == "autotask"
    assert result.facts["zone_url"] == sandbox.config()["autotask"]["url"]
    assert result.facts["requests_used"].endswith("of 10000 per 60 minutes")
    assert sandbox.config()["autotask"]["secret"] not in repr(result)


async def test_a_moved_zone_is_reported(sandbox):
    move_zone(sandbox.world, "webservices3")
    result = await check(sandbox)
    assert result.ok and result.facts["zone_url"].endswith("/webservices3/ATServicesRest")


async def test_an_unknown_user(sandbox):
    result = await check(sandbox, username="ghost@msp.example.com")
    assert not result.ok
    assert result.detail.startswith("Autotask does not know the API user 'ghost@msp.example.com'")


@pytest.mark.parametrize("changes", [{"secret": "not-the-secret"}, {"integration_code": "NOTTHECODE"}])
async def test_rejected_credentials(sandbox, changes):
    result = await check(sandbox, **changes)
    assert not result.ok
    assert "rejected the credentials" in result.detail and "zone_url" in result.facts
    assert "not-the-secret" not in result.detail


async def test_an_unreachable_host(sandbox):
    result = await check(sandbox, url=f"http://127.0.0.1:{closed_port()}/ATServicesRest")
    assert not result.ok and result.detail.startswith("Cannot reach Autotask at http://127.0.0.1:")


async def test_a_url_that_is_not_the_rest_base(sandbox):
    result = await check(sandbox, url=sandbox.base_url + "/connectwise")
    assert not result.ok
    assert "did not answer zone discovery like Autotask's REST API" in result.detail


async def test_missing_permissions_are_listed(sandbox):
    async def restricted(request: httpx.Request, forward: Forward) -> httpx.Response:
        path = request.url.path
        if path.endswith("/ContractServiceUnits/query"):
            return httpx.Response(403, json={"errors": ["Forbidden"]})
        if path.endswith("/Services/query"):
            return httpx.Response(500, json={"errors": [
                "The logged in Resource does not have the adequate permissions to query this entity type."]})
        if path.endswith("/ContractServiceAdjustments/entityInformation"):
            return httpx.Response(200, json={"info": {"name": "ContractServiceAdjustment", "canCreate": True,
                                                      "userAccessForCreate": "None"}})
        return await forward(request)

    result = await check(sandbox, transport=RecordingTransport(restricted))
    assert not result.ok
    assert "lacks Autotask security permissions to: read Services, read ContractServiceUnits, create " \
           "ContractServiceAdjustments" in result.detail


async def test_the_service_bundle_entities_are_probed(sandbox):
    """Bundles are read and adjusted like contract services, so Test connection asks for them too."""
    async def restricted(request: httpx.Request, forward: Forward) -> httpx.Response:
        path = request.url.path
        if path.endswith("/ContractServiceBundleUnits/query"):
            return httpx.Response(403, json={"errors": ["Forbidden"]})
        if path.endswith("/ContractServiceBundleAdjustments/entityInformation"):
            return httpx.Response(200, json={"info": {"name": "ContractServiceBundleAdjustment", "canCreate": True,
                                                      "userAccessForCreate": "None"}})
        return await forward(request)

    result = await check(sandbox, transport=RecordingTransport(restricted))
    assert not result.ok
    assert "lacks Autotask security permissions to: read ContractServiceBundleUnits, create " \
           "ContractServiceBundleAdjustments" in result.detail


async def test_missing_settings_are_named(sandbox):
    result = await check(sandbox, username="", secret="")
    assert not result.ok
    assert result.detail == ("The Autotask connection is incomplete: enter the API user name, "
                             "the API user's secret.")
