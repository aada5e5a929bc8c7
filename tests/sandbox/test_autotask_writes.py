"""Autotask simulator writes over HTTP: ContractServiceAdjustments and ContractNotes."""

from __future__ import annotations

from datetime import date, timedelta

import aiohttp
import pytest

from bot.sandbox.faults import FaultKnobs
from bot.sandbox.world import SandboxWorld
from tests.sandbox.autotask_world import (
    BASE,
    DEFENDER,
    EXCHANGE,
    INACTIVE_RECURRING,
    M365,
    MID_MONTH,
    RECURRING,
    RETIRED,
    TIME_AND_MATERIALS,
    TODAY,
    auth_headers,
    build_world,
    make_app,
)


@pytest.fixture
def world() -> SandboxWorld:
    return build_world()


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(make_app(world)[0])


def adjustment(contract: int = RECURRING, service: int = M365, change: int = 3, effective: date = TODAY, **more):
    return {"contractID": contract, "serviceID": service, "unitChange": change,
            "effectiveDate": f"{effective.isoformat()}T00:00:00Z", **more}


async def current_units(client, world, contract_service_id: int, day: date = TODAY) -> int:
    body = {"filter": [{"op": "eq", "field": "contractServiceID", "value": contract_service_id},
                       {"op": "lte", "field": "startDate", "value": day.isoformat()},
                       {"op": "gte", "field": "endDate", "value": day.isoformat()}]}
    response = await client.post(f"{BASE}/ContractServiceUnits/query", json=body, headers=auth_headers(world))
    (row,) = (await response.json())["items"]
    return row["units"]


async def rejected(response) -> str:
    assert response.status == 500, await response.text()
    (message,) = (await response.json())["errors"]
    return message


async def test_root_adjustment_changes_units_from_its_date(client, world):
    response = await client.post(f"{BASE}/ContractServiceAdjustments", json=adjustment(change=3),
                                 headers=auth_headers(world))
    assert response.status == 200
    assert set(await response.json()) == {"itemId"}
    assert await current_units(client, world, 1000) == 8 == world.autotask_contract_services[1000].units
    assert await current_units(client, world, 1000, date(2024, 5, 1)) == 5  # the period was split today
    (write,) = world.write_log
    assert (write.system, write.service_id, write.before, write.after, write.key) == ("autotask", 1000, 5, 8, None)
    notes = await client.get(f"{BASE}/Contracts/{RECURRING}/Notes", headers=auth_headers(world))
    assert "+3" in (await notes.json())["items"][0]["description"]  # the automatic contract note


async def test_child_adjustment_uses_the_parent_contract(client, world):
    body = {"serviceID": EXCHANGE, "unitChange": -1, "effectiveDate": "2024-05-15"}
    response = await client.post(f"{BASE}/Contracts/{MID_MONTH}/ServiceAdjustments", json=body,
                                 headers=auth_headers(world))
    assert response.status == 200
    assert await current_units(client, world, 1001) == 1
    mismatch = await client.post(f"{BASE}/Contracts/{MID_MONTH}/ServiceAdjustments",
                                 json={**body, "contractID": RECURRING}, headers=auth_headers(world))
    assert "does not match the parent contract" in await rejected(mismatch)


async def test_an_adjustment_creates_the_missing_contract_service(client, world):
    response = await client.post(f"{BASE}/ContractServiceAdjustments",
                                 json=adjustment(service=DEFENDER, change=4, adjustedUnitPrice=2.75),
                                 headers=auth_headers(world))
    assert response.status == 200
    links = await client.get(f"{BASE}/Contracts/{RECURRING}/Services", headers=auth_headers(world))
    created = [s for s in (await links.json())["items"] if s["serviceID"] == DEFENDER]
    assert len(created) == 1 and created[0]["unitPrice"] == 2.75
    assert await current_units(client, world, created[0]["id"]) == 4
    assert world.write_log[-1].before == 0 and world.write_log[-1].after == 4


async def test_a_future_adjustment_leaves_today_alone_until_its_day(client, world):
    later = TODAY + timedelta(days=20)
    response = await client.post(f"{BASE}/ContractServiceAdjustments", json=adjustment(change=2, effective=later),
                                 headers=auth_headers(world))
    assert response.status == 200
    assert world.write_log[-1].before == world.write_log[-1].after == 5
    assert await current_units(client, world, 1000) == 5
    assert await current_units(client, world, 1000, later) == 7
    assert await current_units(client, world, 1000, later - timedelta(days=1)) == 5
    world.today = later  # a day passes in the world; the next call settles today's count
    assert await current_units(client, world, 1000, later) == 7
    assert world.autotask_contract_services[1000].units == 7
    world.today = TODAY  # and back
    assert await current_units(client, world, 1000) == 5 == world.autotask_contract_services[1000].units


async def test_units_never_go_below_zero(client, world):
    message = await rejected(await client.post(f"{BASE}/ContractServiceAdjustments", json=adjustment(change=-6),
                                               headers=auth_headers(world)))
    assert "fewer than 0 units" in message
    # a later removal counts too: -4 today is fine alone, not with -2 already booked for next month
    await client.post(f"{BASE}/ContractServiceAdjustments", json=adjustment(change=-2, effective=date(2024, 6, 1)),
                      headers=auth_headers(world))
    assert "fewer than 0" in await rejected(await client.post(
        f"{BASE}/ContractServiceAdjustments", json=adjustment(change=-4), headers=auth_headers(world)))
    assert "fewer than 0" in await rejected(await client.post(
        f"{BASE}/ContractServiceAdjustments", json=adjustment(service=DEFENDER, change=-1),
        headers=auth_headers(world)))
    assert world.autotask_contract_services[1000].units == 5 and len(world.write_log) == 1


@pytest.mark.parametrize(("body", "fragment"), [
    (adjustment(contract=TIME_AND_MATERIALS), "not a Recurring Service contract"),
    (adjustment(contract=INACTIVE_RECURRING, effective=date(2023, 6, 1)), "inactive"),
    (adjustment(contract=424242), "Unable to find the Contract"),
    (adjustment(service=RETIRED), "active Service"),
    (adjustment(change=0), "must not be zero"),
    (adjustment(change=1.5), "whole number"),
    (adjustment(change=True), "whole number"),
    (adjustment(effective=date(2025, 1, 1)), "outside the contract's dates"),
    ({**adjustment(), "effectiveDate": "soon"}, "ISO-8601"),
    ({"serviceID": M365, "unitChange": 1, "effectiveDate": "2024-05-15"}, "contractID is required"),
    ({"contractID": RECURRING, "unitChange": 1, "effectiveDate": "2024-05-15"}, "serviceID is required"),
    (adjustment(contractServiceID=1001), "does not link"),
    ([1, 2], "must be a ContractServiceAdjustment JSON object"),
])
async def test_adjustment_validation(client, world, body, fragment):
    response = await client.post(f"{BASE}/ContractServiceAdjustments", json=body, headers=auth_headers(world))
    assert fragment in await rejected(response)
    assert world.write_log == []


async def test_adjustment_keys_are_case_insensitive_and_bad_json_is_refused(client, world):
    body = {"ContractID": RECURRING, "ServiceID": M365, "UnitChange": 1, "EffectiveDate": "2024-05-15T00:00:00"}
    response = await client.post(f"{BASE}/ContractServiceAdjustments", json=body, headers=auth_headers(world))
    assert response.status == 200
    bad = await client.post(f"{BASE}/ContractServiceAdjustments", data="{unitChange: 1", headers=auth_headers(world))
    assert "Unable to parse the request body as JSON" in await rejected(bad)


async def test_notes_are_created_under_a_contract_and_found_by_contains(client, world):
    key = "seatsync:adj:7f3a9c"
    response = await client.post(f"{BASE}/Contracts/{RECURRING}/Notes", headers=auth_headers(world),
                                 json={"title": "SeatSync adjustment", "description": f"+3 seats [{key}]"})
    assert response.status == 200
    note_id = (await response.json())["itemId"]
    search = {"filter": [{"op": "eq", "field": "contractID", "value": RECURRING},
                         {"op": "contains", "field": "description", "value": key.upper()}]}
    found = await client.post(f"{BASE}/ContractNotes/query", json=search, headers=auth_headers(world))
    assert [n["id"] for n in (await found.json())["items"]] == [note_id]
    item = await (await client.get(f"{BASE}/ContractNotes/{note_id}", headers=auth_headers(world))).json()
    assert item["item"]["title"] == "SeatSync adjustment" and item["item"]["contractID"] == RECURRING
    child = await client.get(f"{BASE}/Contracts/{RECURRING}/Notes/{note_id}", headers=auth_headers(world))
    assert (await child.json())["item"]["id"] == note_id


@pytest.mark.parametrize(("contract", "body", "fragment"), [
    (RECURRING, {"description": "no title"}, "title is required"),
    (RECURRING, {"title": "no description", "description": "  "}, "description is required"),
    (RECURRING, {"title": "x" * 251, "description": "long"}, "longer than 250"),
    (RECURRING, {"title": "t", "description": "d", "contractID": MID_MONTH}, "does not match the parent"),
    (424242, {"title": "t", "description": "d"}, "Unable to find the Contract"),
])
async def test_note_validation(client, world, contract, body, fragment):
    response = await client.post(f"{BASE}/Contracts/{contract}/Notes", json=body, headers=auth_headers(world))
    assert fragment in await rejected(response)


async def test_a_dropped_reply_still_applies_the_adjustment(aiohttp_client, world):
    knobs = FaultKnobs(drop_reply_rate=1.0)
    client = await aiohttp_client(make_app(world, knobs)[0])
    with pytest.raises(aiohttp.ClientError):
        await client.post(f"{BASE}/ContractServiceAdjustments", json=adjustment(change=2),
                          headers=auth_headers(world))
    assert world.autotask_contract_services[1000].units == 7 and len(world.write_log) == 1
    knobs.drop_reply_rate = 0
    assert await current_units(client, world, 1000) == 7  # a retry would read the applied change back
    # a read is never dropped: only requests that changed state are
    knobs.drop_reply_rate = 1.0
    assert await current_units(client, world, 1000) == 7
