"""Autotask simulator: service bundles (ServiceBundles, ContractServiceBundles, ContractServiceBundleUnits,
ContractServiceBundleAdjustments) served and adjusted like their single-service counterparts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.sandbox.world import AutotaskContractService, AutotaskService, SandboxWorld
from tests.sandbox.autotask_world import (
    BASE,
    M365,
    RECURRING,
    TIME_AND_MATERIALS,
    TODAY,
    auth_headers,
    build_world,
    make_app,
)

BUNDLE = 50  # "Microsoft 365 + Defender" in the ServiceBundles catalogue
CONTRACT_BUNDLE = 9_000_001  # bundles take an id range of their own


@pytest.fixture
def world() -> SandboxWorld:
    world = build_world()
    world.autotask_service_bundles[BUNDLE] = AutotaskService(BUNDLE, "Microsoft 365 + Defender", Decimal("15.00"),
                                                             Decimal("12.40"))
    world.autotask_service_bundles[51] = AutotaskService(51, "Retired bundle", Decimal("1"), Decimal("1"),
                                                         is_active=False)
    world.autotask_contract_service_bundles[CONTRACT_BUNDLE] = AutotaskContractService(
        CONTRACT_BUNDLE, RECURRING, BUNDLE, Decimal("15.00"), Decimal("12.40"), units=4)
    return world


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(make_app(world)[0])


async def query(client, world, entity: str, *conditions: dict) -> list[dict]:
    body = {"filter": list(conditions) or [{"op": "gte", "field": "id", "value": 0}]}
    response = await client.post(f"{BASE}/{entity}/query", json=body, headers=auth_headers(world))
    assert response.status == 200, await response.text()
    return (await response.json())["items"]


def covering(day: date) -> list[dict]:
    return [{"op": "lte", "field": "startDate", "value": day.isoformat()},
            {"op": "gte", "field": "endDate", "value": day.isoformat()}]


async def test_bundles_are_served_like_contract_services(client, world):
    (catalogue, _) = await query(client, world, "ServiceBundles")
    assert (catalogue["id"], catalogue["name"], catalogue["unitPrice"]) == (BUNDLE, "Microsoft 365 + Defender", 15.0)
    (on_contract,) = await query(client, world, "ContractServiceBundles")
    assert (on_contract["contractID"], on_contract["serviceBundleID"], on_contract["adjustedPrice"]) == (
        RECURRING, BUNDLE, 15.0)
    rows = await query(client, world, "ContractServiceBundleUnits",
                       {"op": "eq", "field": "contractServiceBundleID", "value": CONTRACT_BUNDLE}, *covering(TODAY))
    assert [(r["units"], r["startDate"], r["endDate"]) for r in rows] == [
        (4, "2024-05-01T00:00:00Z", "2024-05-31T00:00:00Z")]
    assert set(rows[0]) >= {"serviceBundleID", "contractID", "price", "cost"}
    children = await client.get(f"{BASE}/Contracts/{RECURRING}/ServiceBundles", headers=auth_headers(world))
    assert [i["id"] for i in (await children.json())["items"]] == [CONTRACT_BUNDLE]
    info = await client.get(f"{BASE}/ContractServiceBundleAdjustments/entityInformation", headers=auth_headers(world))
    assert (await info.json())["info"]["canQuery"] is False


async def test_a_bundle_adjustment_splits_the_period_and_moves_units_from_its_date(client, world):
    body = {"contractID": RECURRING, "serviceBundleID": BUNDLE, "unitChange": 3,
            "effectiveDate": f"{TODAY.isoformat()}T00:00:00Z", "adjustedUnitPrice": 14.5}
    response = await client.post(f"{BASE}/ContractServiceBundleAdjustments", json=body, headers=auth_headers(world))
    assert response.status == 200, await response.text()
    rows = await query(client, world, "ContractServiceBundleUnits",
                       {"op": "eq", "field": "contractServiceBundleID", "value": CONTRACT_BUNDLE},
                       {"op": "gte", "field": "endDate", "value": "2024-05-01"},
                       {"op": "lte", "field": "startDate", "value": "2024-05-31"})
    # the month is split on the effective date: prorated from then on, at the adjusted price
    assert [(r["startDate"][:10], r["endDate"][:10], r["units"], r["price"]) for r in rows] == [
        ("2024-05-01", "2024-05-14", 4, 15.0), ("2024-05-15", "2024-05-31", 7, 14.5)]
    (write,) = world.write_log
    assert (write.service_id, write.before, write.after, write.reference) == (CONTRACT_BUNDLE, 4, 7, "bundle:1")
    # the child route; a bundle the contract lacks is created on the first adjustment
    world.autotask_service_bundles[52] = AutotaskService(52, "Backup bundle", Decimal("6"), Decimal("4"))
    created = await client.post(f"{BASE}/Contracts/{RECURRING}/ServiceBundleAdjustments",
                                json={"serviceBundleID": 52, "unitChange": 2,
                                      "effectiveDate": f"{TODAY.isoformat()}T00:00:00Z"},
                                headers=auth_headers(world))
    assert created.status == 200, await created.text()
    (new,) = [b for b in world.autotask_contract_service_bundles.values() if b.service_id == 52]
    assert new.units == 2 and new.id > CONTRACT_BUNDLE


@pytest.mark.parametrize(("body", "fragment"), [
    ({"serviceBundleID": BUNDLE, "unitChange": 1, "effectiveDate": "2024-05-15"}, "contractID is required"),
    ({"contractID": TIME_AND_MATERIALS, "serviceBundleID": BUNDLE, "unitChange": 1, "effectiveDate": "2024-05-15"},
     "not a Recurring Service contract"),
    ({"contractID": RECURRING, "serviceBundleID": 51, "unitChange": 1, "effectiveDate": "2024-05-15"},
     "active ServiceBundle"),
    ({"contractID": RECURRING, "serviceBundleID": BUNDLE, "unitChange": -5, "effectiveDate": "2024-05-15"},
     "fewer than 0 units"),
    ({"contractID": RECURRING, "serviceBundleID": BUNDLE, "unitChange": 1, "effectiveDate": "2024-05-15",
      "contractServiceBundleID": 1}, "contractServiceBundleID 1 does not link"),
])
async def test_bundle_adjustment_validation(client, world, body, fragment):
    response = await client.post(f"{BASE}/ContractServiceBundleAdjustments", json=body, headers=auth_headers(world))
    assert response.status == 500
    assert fragment in (await response.json())["errors"][0]


async def test_the_write_log_keeps_a_bundle_apart_from_a_service_of_the_same_id(client, world):
    """Autotask numbers bundles and services apart: bundle 1000 and contract service 1000 may both exist."""
    world.autotask_contract_service_bundles[1000] = world.autotask_contract_service_bundles.pop(CONTRACT_BUNDLE)
    world.autotask_contract_service_bundles[1000].id = 1000
    assert world.autotask_contract_services[1000].contract_id == RECURRING
    day = f"{TODAY.isoformat()}T00:00:00Z"
    for entity, body in (("ContractServiceBundleAdjustments", {"serviceBundleID": BUNDLE, "unitChange": 2}),
                         ("ContractServiceAdjustments", {"serviceID": M365, "unitChange": 1})):
        response = await client.post(f"{BASE}/{entity}", json={"contractID": RECURRING, "effectiveDate": day, **body},
                                     headers=auth_headers(world))
        assert response.status == 200, await response.text()
    assert [(w.service_id, w.kind, w.written, w.before, w.after) for w in world.write_log] == [
        (1000, "bundle", "bundle:1000", 4, 6), (1000, "service", "1000", 5, 6)]
