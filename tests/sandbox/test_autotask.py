"""The Autotask REST simulator over real HTTP: zones, auth, queries, paging, reads, routes, the swagger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.sandbox.autotask import move_zone
from bot.sandbox.world import SandboxWorld
from tests.sandbox.autotask_world import (
    BASE,
    EVERYTHING,
    MID_MONTH,
    RECURRING,
    TODAY,
    auth_headers,
    build_world,
    make_app,
    world_with_companies,
)

SWAGGER = Path(__file__).resolve().parents[1] / "specs" / "autotask-rest-swagger-v1-partial.json"


@pytest.fixture
def world() -> SandboxWorld:
    return build_world()


@pytest.fixture
async def client(aiohttp_client, world):
    app, _ = make_app(world)
    return await aiohttp_client(app)


def absolute(client, method: str, url: str, **options):
    """Call an absolute URL the simulator handed out (the test client only takes relative paths)."""
    return client.session.request(method, url, **options)


async def errors_of(response, status: int) -> list[str]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"errors"} and all(isinstance(e, str) for e in body["errors"])
    return body["errors"]


# --- zones and versions ------------------------------------------------------------------------
async def test_zone_information_needs_no_auth_and_gives_the_rest_base(client, world):
    user = world.credentials.autotask_username
    response = await client.get(f"/autotask/atservicesrest/v1.0/zoneInformation?user={user}")
    assert response.status == 200
    body = await response.json()
    assert body["url"] == str(client.make_url("/autotask/ATServicesRest/"))
    assert set(body) == {"zoneName", "url", "webUrl", "ci"} and isinstance(body["ci"], int)
    # the acceptance check's spelling
    assert (await client.get(f"/autotask/ATServicesRest/v1.0/zoneInformation?user={user}")).status == 200


@pytest.mark.parametrize("user", ["nobody@example.com", ""])
async def test_zone_information_for_an_unknown_or_blank_user_is_a_500(client, user):
    errors = await errors_of(await client.get(f"{BASE}/zoneInformation?user={user}"), 500)
    assert "Zone information" in errors[0]


async def test_version_information_lists_1_0(client):
    response = await client.get("/autotask/atservicesrest/versioninformation")
    assert response.status == 200
    assert (await response.json())["apiVersions"][-1] == "1.0"


async def test_a_moved_zone_answers_401_at_the_old_base_and_works_at_the_new_one(aiohttp_client, world):
    app, sub = make_app(world)
    client = await aiohttp_client(app)
    move_zone(sub, "webservices2")
    zone = await (await client.get(f"{BASE}/zoneInformation?user={world.credentials.autotask_username}")).json()
    assert zone["url"] == str(client.make_url("/autotask/webservices2/ATServicesRest/"))
    old = await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))
    assert "zone" in (await errors_of(old, 401))[0]
    new = await absolute(client, "POST", zone["url"] + "V1.0/Companies/query", json=EVERYTHING,
                         headers=auth_headers(world))
    assert new.status == 200 and len((await new.json())["items"]) == 3
    move_zone(world, "")  # the world form, as an admin route would call it
    assert (await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))).status == 200
    with pytest.raises(ValueError):
        move_zone(world, "x/ATServicesRest")


# --- auth --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "status"), [
    ({"Secret": ""}, 401),  # missing
    ({"Secret": "wrong"}, 401),
    ({"ApiIntegrationCode": "WRONGCODE"}, 500),  # the live API's answer [apigrate/autotask-restapi#19]
    ({"UserName": "someone@else.example.com"}, 500),
])
async def test_auth_failures(client, world, change, status):
    headers = {k: v for k, v in auth_headers(world, **change).items() if v}
    await errors_of(await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=headers), status)


async def test_header_names_are_case_insensitive(client, world):
    headers = {k.lower(): v for k, v in auth_headers(world).items()} | {"ApiIntegrationcode": "x"}
    headers.pop("apiintegrationcode")
    headers["ApiIntegrationcode"] = world.credentials.autotask_integration_code
    response = await client.post(f"{BASE}/companies/QUERY", json=EVERYTHING, headers=headers)
    assert response.status == 200


# --- queries -----------------------------------------------------------------------------------
async def test_query_returns_camel_case_items_with_udfs_and_utc_dates(client, world):
    response = await client.post(f"{BASE}/Companies/query", json=EVERYTHING, headers=auth_headers(world))
    body = await response.json()
    assert [c["id"] for c in body["items"]] == [1, 2, 3]
    acme = body["items"][0]
    assert acme["companyName"] == "Acme Mfg. Inc." and acme["isActive"] is True
    assert acme["userDefinedFields"] == []
    assert acme["createDate"] == "2021-03-04T15:22:10.787Z"
    assert body["pageDetails"] == {"count": 3, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}


@pytest.mark.parametrize(("flt", "expected"), [
    ({"op": "eq", "field": "companyName", "value": "beta llc"}, [2]),
    ({"op": "noteq", "field": "id", "value": 2}, [1, 3]),
    ({"op": "gt", "field": "id", "value": 1}, [2, 3]),
    ({"op": "gte", "field": "id", "value": 2}, [2, 3]),
    ({"op": "lt", "field": "createDate", "value": "2021-01-01T00:00:00Z"}, [2, 3]),
    ({"op": "lte", "field": "id", "value": 1}, [1]),
    ({"op": "beginsWith", "field": "companyName", "value": "ACME"}, [1]),
    ({"op": "endsWith", "field": "companyName", "value": "co."}, [3]),
    ({"op": "contains", "field": "companyName", "value": "mfg"}, [1]),
    ({"op": "exist", "field": "companyNumber"}, [1, 2, 3]),
    ({"op": "notExist", "field": "parentCompanyID"}, [1, 2, 3]),
    ({"op": "in", "field": "id", "value": [1, 3]}, [1, 3]),
    ({"op": "notIn", "field": "id", "value": [1, 3]}, [2]),
    ({"op": "eq", "field": "isActive", "value": True}, [1, 2]),
    ({"op": "or", "items": [{"op": "eq", "field": "id", "value": 3},
                            {"op": "and", "items": [{"op": "eq", "field": "isActive", "value": True},
                                                    {"op": "contains", "field": "companyName", "value": "beta"}]}]},
     [2, 3]),
])
async def test_every_operator_over_http(client, world, flt, expected):
    response = await client.post(f"{BASE}/Companies/query", json={"filter": [flt]}, headers=auth_headers(world))
    assert [c["id"] for c in (await response.json())["items"]] == expected


async def test_get_query_takes_the_search_parameter(client, world):
    search = json.dumps({"filter": [{"op": "eq", "field": "contractType", "value": 7}], "MaxRecords": 1})
    response = await client.get(f"{BASE}/Contracts/query", params={"search": search}, headers=auth_headers(world))
    body = await response.json()
    assert [c["id"] for c in body["items"]] == [RECURRING]
    assert body["pageDetails"]["requestCount"] == 1 and body["pageDetails"]["nextPageUrl"]


async def test_count_with_get_and_post(client, world):
    flt = {"filter": [{"op": "eq", "field": "isActive", "value": True}]}
    post = await client.post(f"{BASE}/Companies/query/count", json=flt, headers=auth_headers(world))
    get = await client.get(f"{BASE}/Companies/query/count", params={"search": json.dumps(flt)},
                           headers=auth_headers(world))
    assert await post.json() == await get.json() == {"queryCount": 2}


async def test_include_fields_returns_only_those(client, world):
    body = {**EVERYTHING, "IncludeFields": ["companyName", "ID"]}
    response = await client.post(f"{BASE}/Companies/query", json=body, headers=auth_headers(world))
    assert (await response.json())["items"][0] == {"companyName": "Acme Mfg. Inc.", "id": 1}
    bad = await client.post(f"{BASE}/Companies/query", json={**EVERYTHING, "IncludeFields": ["colour"]},
                            headers=auth_headers(world))
    assert (await errors_of(bad, 500)) == ["Unable to find colour in the Company Entity."]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"filter": [{"op": "eq", "field": "projectID", "value": 1}]}, "Unable to find projectID in the Company"),
    ({"filter": [{"op": "eq", "field": "isActive", "value": 1}]}, "use true or false"),
    ({"filter": []}, "Parameter name: filters"),
    ({"filter": [{"op": "in", "field": "id", "value": 1}]}, "array value"),
    ({"filter": [{"op": "eq", "field": "Region", "udf": True, "value": "x"}]}, "user-defined fields"),
    ({**EVERYTHING, "MaxRecords": 501}, "between 1 and 500"),
    ({"filter": [{"op": "or", "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)]}]},
     "Queries are limited to 500 or fewer 'OR' conditions."),
])
async def test_query_errors_are_500_with_errors(client, world, body, fragment):
    response = await client.post(f"{BASE}/Companies/query", json=body, headers=auth_headers(world))
    assert fragment in (await errors_of(response, 500))[0]


async def test_malformed_json_and_missing_search(client, world):
    bad_body = await client.post(f"{BASE}/Companies/query", data="{filter: nope", headers=auth_headers(world))
    assert "Unable to parse the request body as JSON" in (await errors_of(bad_body, 500))[0]
    bad_search = await client.get(f"{BASE}/Companies/query?search=%7Bnope", headers=auth_headers(world))
    assert "search parameter" in (await errors_of(bad_search, 500))[0]
    no_search = await client.get(f"{BASE}/Companies/query", headers=auth_headers(world))
    assert "Parameter name: filters" in (await errors_of(no_search, 500))[0]
    empty = await client.post(f"{BASE}/Companies/query", data="", headers=auth_headers(world))
    await errors_of(empty, 500)


async def test_unknown_operators_are_dropped_like_the_live_api_when_asked(aiohttp_client, world):
    app, _ = make_app(world, drop_unknown_operators=True)
    client = await aiohttp_client(app)
    body = {"filter": [{"op": "ne", "field": "id", "value": 1}]}
    response = await client.post(f"{BASE}/Companies/query", json=body, headers=auth_headers(world))
    assert len((await response.json())["items"]) == 3  # everything, as the live API answers


async def test_unknown_operators_are_refused_by_default(client, world):
    body = {"filter": [{"op": "like", "field": "id", "value": 1}]}
    response = await client.post(f"{BASE}/Companies/query", json=body, headers=auth_headers(world))
    assert "not a valid filter operator" in (await errors_of(response, 500))[0]


# --- paging ------------------------------------------------------------------------------------
async def query_companies(client, world, body: dict) -> dict:
    return await (await client.post(f"{BASE}/Companies/query", json=body, headers=auth_headers(world))).json()


@pytest.mark.parametrize("count", [0, 500])
async def test_one_page_or_none(aiohttp_client, count):
    world = world_with_companies(count)
    client = await aiohttp_client(make_app(world)[0])
    body = await query_companies(client, world, EVERYTHING)
    assert len(body["items"]) == count
    assert body["pageDetails"] == {"count": count, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}


async def test_501_rows_page_with_post_and_get_and_back(aiohttp_client):
    world = world_with_companies(501)
    client = await aiohttp_client(make_app(world)[0])
    first = await query_companies(client, world, EVERYTHING)
    assert first["pageDetails"]["count"] == 500 and first["pageDetails"]["prevPageUrl"] is None
    next_url = first["pageDetails"]["nextPageUrl"]
    assert next_url.startswith(str(client.make_url("/autotask/ATServicesRest/V1.0/Companies/query/next?")))
    by_post = await (await absolute(client, "POST", next_url, json=EVERYTHING, headers=auth_headers(world))).json()
    by_get = await (await absolute(client, "GET", next_url, headers=auth_headers(world))).json()
    assert by_post["items"] == by_get["items"] == [by_get["items"][0]] and by_get["items"][0]["id"] == 501
    assert by_get["pageDetails"]["nextPageUrl"] is None
    back = await (await absolute(client, "GET", by_get["pageDetails"]["prevPageUrl"],
                                 headers=auth_headers(world))).json()
    assert back["items"] == first["items"]


async def test_small_pages_walk_to_the_last_page(aiohttp_client):
    world = world_with_companies(7)
    client = await aiohttp_client(make_app(world)[0])
    page = await query_companies(client, world, {**EVERYTHING, "MaxRecords": 3})
    seen = [c["id"] for c in page["items"]]
    while page["pageDetails"]["nextPageUrl"]:
        next_page = await absolute(client, "GET", page["pageDetails"]["nextPageUrl"], headers=auth_headers(world))
        page = await next_page.json()
        seen += [c["id"] for c in page["items"]]
    assert seen == list(range(1, 8)) and page["pageDetails"]["count"] == 1


async def test_include_fields_over_500_rows_must_include_id(aiohttp_client):
    world = world_with_companies(501)
    client = await aiohttp_client(make_app(world)[0])
    response = await client.post(f"{BASE}/Companies/query", json={**EVERYTHING, "IncludeFields": ["companyName"]},
                                 headers=auth_headers(world))
    assert "must contain id" in (await errors_of(response, 500))[0]
    ok = await query_companies(client, world, {**EVERYTHING, "IncludeFields": ["id", "companyName"]})
    assert ok["items"][0] == {"id": 1, "companyName": "Customer 0001"}


async def test_an_unknown_paging_token_is_an_error(client, world):
    response = await client.get(f"{BASE}/Companies/query/next?paging=nope", headers=auth_headers(world))
    assert "paging token" in (await errors_of(response, 500))[0]


# --- reads by id and child collections ----------------------------------------------------------
async def test_get_by_id_hit_and_miss(client, world):
    hit = await (await client.get(f"{BASE}/Contracts/{RECURRING}", headers=auth_headers(world))).json()
    assert hit["item"]["contractName"] == "Acme - Microsoft 365"
    assert hit["item"]["startDate"] == "2024-01-01T00:00:00Z" and hit["item"]["contractType"] == 7
    miss = await client.get(f"{BASE}/Contracts/99999", headers=auth_headers(world))
    assert miss.status == 200 and await miss.json() == {"item": None}


async def test_contract_children(client, world):
    services = await (await client.get(f"{BASE}/Contracts/{MID_MONTH}/Services", headers=auth_headers(world))).json()
    assert [s["id"] for s in services["items"]] == [1001]
    assert services["items"][0]["adjustedPrice"] == 4.5 and services["items"][0]["unitPrice"] == 4.0
    one = await client.get(f"{BASE}/Contracts/{MID_MONTH}/Services/1001", headers=auth_headers(world))
    assert (await one.json())["item"]["serviceID"] == 11
    other = await client.get(f"{BASE}/Contracts/{RECURRING}/Services/1001", headers=auth_headers(world))
    assert (await other.json()) == {"item": None}
    notes = await client.get(f"{BASE}/Contracts/{RECURRING}/Notes", headers=auth_headers(world))
    assert (await notes.json())["items"] == []


async def test_contract_service_units_have_one_row_per_period_split_by_adjustments(client, world):
    response = await client.get(f"{BASE}/Contracts/{MID_MONTH}/ServiceUnits", headers=auth_headers(world))
    rows = (await response.json())["items"]
    spans = [(r["startDate"][:10], r["endDate"][:10], r["units"], r["price"]) for r in rows[:4]]
    assert spans == [("2024-01-15", "2024-02-14", 1, 4.0), ("2024-02-15", "2024-02-29", 1, 4.0),
                     ("2024-03-01", "2024-03-14", 2, 4.5), ("2024-03-15", "2024-04-14", 2, 4.5)]
    assert rows[-1]["endDate"] == "2025-01-14T00:00:00Z" and len(rows) == 13
    current = [r for r in rows if r["startDate"][:10] <= TODAY.isoformat() <= r["endDate"][:10]]
    assert len(current) == 1 and current[0]["units"] == world.autotask_contract_services[1001].units == 2
    by_id = await client.get(f"{BASE}/ContractServiceUnits/{current[0]['id']}", headers=auth_headers(world))
    assert (await by_id.json())["item"] == current[0]


async def test_contract_service_units_query_by_date(client, world):
    body = {"filter": [{"op": "eq", "field": "contractServiceID", "value": 1000},
                       {"op": "lte", "field": "startDate", "value": TODAY.isoformat()},
                       {"op": "gte", "field": "endDate", "value": TODAY.isoformat()}]}
    response = await client.post(f"{BASE}/ContractServiceUnits/query", json=body, headers=auth_headers(world))
    items = (await response.json())["items"]
    assert [(i["startDate"], i["units"], i["contractID"], i["serviceID"]) for i in items] == [
        ("2024-05-01T00:00:00Z", 5, RECURRING, 10)]


async def test_services_and_contract_services_queries(client, world):
    services = await client.post(f"{BASE}/Services/query", json={"filter": [
        {"op": "eq", "field": "isActive", "value": True}]}, headers=auth_headers(world))
    assert [s["id"] for s in (await services.json())["items"]] == [10, 11, 13]
    links = await client.post(f"{BASE}/ContractServices/query", json={"filter": [
        {"op": "in", "field": "contractID", "value": [RECURRING, MID_MONTH]}]}, headers=auth_headers(world))
    assert [(s["id"], s["userDefinedFields"]) for s in (await links.json())["items"]] == [(1000, []), (1001, [])]


# --- entity information --------------------------------------------------------------------------
async def test_entity_information_and_picklists(client, world):
    info = await (await client.get(f"{BASE}/ContractServiceAdjustments/entityInformation",
                                   headers=auth_headers(world))).json()
    assert info["info"]["canCreate"] is True and info["info"]["canQuery"] is False
    fields = await (await client.get(f"{BASE}/Contracts/entityInformation/fields", headers=auth_headers(world))).json()
    by_name = {f["name"]: f for f in fields["fields"]}
    assert {"value": "7", "label": "Recurring Service"}.items() <= next(
        v for v in by_name["contractType"]["picklistValues"] if v["value"] == "7").items()
    statuses = {(v["value"], v["label"]) for v in by_name["status"]["picklistValues"]}
    assert statuses == {("1", "Active"), ("0", "Inactive")}
    udfs = await client.get(f"{BASE}/Companies/entityInformation/userDefinedFields", headers=auth_headers(world))
    assert await udfs.json() == {"fields": []}
    child = await client.get(f"{BASE}/Contracts/1/ServiceAdjustments/entityInformation/fields",
                             headers=auth_headers(world))
    assert "unitChange" in {f["name"] for f in (await child.json())["fields"]}


# --- routes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/autotask/elsewhere", 404),
    ("GET", f"{BASE}/Tickets/query", 404),
    ("GET", f"{BASE}/Companies/query/nothing", 404),
    ("DELETE", f"{BASE}/Companies/1", 405),
    ("POST", f"{BASE}/Companies", 405),
    ("GET", f"{BASE}/ContractServiceAdjustments", 405),
    ("PATCH", f"{BASE}/ContractServiceAdjustments", 405),
    ("POST", f"{BASE}/ContractServiceAdjustments/query", 404),
    ("GET", f"{BASE}/ContractServiceAdjustments/1", 404),
    ("POST", f"{BASE}/ContractNotes", 405),  # the swagger has no root create for ContractNotes
    ("POST", f"{BASE}/Contracts/1/ServiceUnits", 405),
    ("GET", "/autotask/ATServicesRest/V2.0/Companies/query", 404),
])
async def test_unknown_routes_and_methods(client, world, method, path, status):
    response = await client.request(method, path, headers=auth_headers(world), json={})
    await errors_of(response, status)


# --- the vendor swagger ----------------------------------------------------------------------------
# Every (method, path) the tests above call, as the partial swagger names it, where it covers the path.
CALLED = [
    ("get", "/VersionInformation"), ("post", "/V1.0/Companies/query"), ("get", "/V1.0/Companies/query"),
    ("get", "/V1.0/Companies/query/count"), ("post", "/V1.0/Companies/query/count"),
    ("get", "/V1.0/Contracts/query"), ("get", "/V1.0/Contracts/{id}"),
    ("get", "/V1.0/Companies/entityInformation/userDefinedFields"),
    ("get", "/V1.0/Contracts/entityInformation/fields"),
    ("get", "/V1.0/ContractServiceAdjustments/entityInformation"), ("post", "/V1.0/ContractServiceAdjustments"),
    ("post", "/V1.0/Contracts/{parentId}/ServiceAdjustments"),
    ("get", "/V1.0/Contracts/{parentId}/ServiceAdjustments/entityInformation/fields"),
    ("get", "/V1.0/Contracts/{parentId}/Notes"), ("post", "/V1.0/Contracts/{parentId}/Notes"),
    ("post", "/V1.0/ContractNotes/query"), ("get", "/V1.0/ContractNotes/{id}"),
]
NOT_IN_SWAGGER = [("post", "/V1.0/ContractNotes"), ("get", "/V1.0/ContractServiceAdjustments"),
                  ("patch", "/V1.0/ContractServiceAdjustments"), ("post", "/V1.0/ContractServiceAdjustments/query")]


def test_called_routes_and_their_auth_headers_exist_in_the_swagger():
    paths = json.loads(SWAGGER.read_text())["paths"]
    for method, path in CALLED:
        assert method in paths.get(path, {}), (method, path)
        headers = {p["name"]: p["required"] for p in paths[path][method]["parameters"] if p["in"] == "header"}
        assert headers == {"ApiIntegrationCode": True, "UserName": True, "Secret": True,
                           "ImpersonationResourceId": False}, path
    for method, path in NOT_IN_SWAGGER:  # what the simulator refuses, the vendor does not offer either
        assert method not in paths.get(path, {}), (method, path)
    assert all("zoneinformation" not in p.lower() for p in paths)  # served without the auth headers


# --- a generated world ---------------------------------------------------------------------------
async def test_pages_through_a_generated_world(aiohttp_client, small_world):
    world = small_world
    client = await aiohttp_client(make_app(world)[0])
    response = await client.post(f"{BASE}/Contracts/query", headers=auth_headers(world), json={"filter": [
        {"op": "eq", "field": "contractType", "value": 7}, {"op": "eq", "field": "status", "value": 1}]})
    contracts = await response.json()
    assert contracts["items"] and all(c["contractType"] == 7 for c in contracts["items"])
    contract_id = contracts["items"][0]["id"]
    units = await client.post(f"{BASE}/ContractServiceUnits/query", headers=auth_headers(world), json={"filter": [
        {"op": "eq", "field": "contractID", "value": contract_id},
        {"op": "lte", "field": "startDate", "value": world.today.isoformat()},
        {"op": "gte", "field": "endDate", "value": world.today.isoformat()}]})
    current = {row["contractServiceID"]: row["units"] for row in (await units.json())["items"]}
    expected = {s.id: s.units for s in world.autotask_contract_services.values() if s.contract_id == contract_id}
    assert current == expected
