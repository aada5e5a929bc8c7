"""The ConnectWise Manage simulator over real HTTP: auth, queries, paging, additions, limits, faults."""

from __future__ import annotations

import base64
import re
import time
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.sandbox.connectwise import CONNECTWISE_BUDGET, connectwise_error, create_connectwise_app
from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.world import (
    ConnectWiseAddition,
    ConnectWiseAgreement,
    ConnectWiseCompany,
    ConnectWiseProduct,
    Credentials,
    SandboxWorld,
)

API = "/connectwise/v4_6_release/apis/3.0"
TODAY = date(2026, 3, 15)
FILLER = 50  # companies 101..150 for paging


def build_world() -> SandboxWorld:
    world = SandboxWorld(seed=7, today=TODAY, credentials=Credentials.for_seed(7))
    companies = [
        ConnectWiseCompany(1, "Acme", "Acme Inc"),
        ConnectWiseCompany(2, "Smith", 'Smith "Quoted" LLC'),
        ConnectWiseCompany(3, "Beta", "Beta Corp", status="Inactive"),
        ConnectWiseCompany(4, "Gamma", "Gamma [Labs]", deleted=True),
        *(ConnectWiseCompany(100 + n, f"Filler{n:02d}", f"Filler {n:02d} Ltd") for n in range(1, FILLER + 1)),
    ]
    world.connectwise_companies = {c.id: c for c in companies}
    products = [
        ConnectWiseProduct(5, "M365-BP", "Microsoft 365 Business Premium", Decimal("22"), Decimal("18.50")),
        ConnectWiseProduct(6, "BUNDLE-1", "Starter bundle", Decimal("50"), Decimal("40"), product_class="Bundle"),
        ConnectWiseProduct(7, "OLD-SKU", "Retired plan", Decimal("5"), Decimal("4"), inactive=True),
        ConnectWiseProduct(8, "EXO-P1", "Exchange Online Plan 1", Decimal("4.40"), Decimal("3.60")),
    ]
    world.connectwise_products = {p.id: p for p in products}
    agreements = [
        ConnectWiseAgreement(10, "Acme M365", 1, prorate=True),
        ConnectWiseAgreement(11, "Acme Exchange", 1, prorate=False),
        ConnectWiseAgreement(12, "Beta M365", 3, status="Cancelled", cancelled=True),
        ConnectWiseAgreement(13, "Smith old", 2, status="Expired", end_date=date(2025, 12, 31)),
    ]
    world.connectwise_agreements = {a.id: a for a in agreements}
    additions = [
        ConnectWiseAddition(100, 10, 5, 10, Decimal("22"), Decimal("18.50")),
        ConnectWiseAddition(101, 11, 8, 5, Decimal("4.40"), Decimal("3.60"), description="EXO seats"),
        ConnectWiseAddition(102, 12, 5, 3, Decimal("22"), Decimal("18.50")),
        ConnectWiseAddition(103, 13, 5, 1, Decimal("22"), Decimal("18.50")),
    ]
    world.connectwise_additions = {a.id: a for a in additions}
    return world


def auth_headers(world: SandboxWorld, *, company: str | None = None, private: str | None = None) -> dict:
    creds = world.credentials
    user = f"{company or creds.connectwise_company_id}+{creds.connectwise_public_key}"
    token = base64.b64encode(f"{user}:{private or creds.connectwise_private_key}".encode()).decode()
    return {"Authorization": f"Basic {token}", "clientId": creds.connectwise_client_id}


def build_app(world: SandboxWorld, knobs: FaultKnobs | None = None) -> tuple[web.Application, web.Application]:
    app = web.Application()
    sub = create_connectwise_app(world)
    sub.middlewares.insert(0, fault_middleware(knobs or FaultKnobs(), connectwise_error))
    app.add_subapp("/connectwise", sub)
    return app, sub


@pytest.fixture
def world() -> SandboxWorld:
    return build_world()


@pytest.fixture
def knobs() -> FaultKnobs:
    return FaultKnobs(seed=3)


@pytest.fixture
async def cw(aiohttp_client, world, knobs):
    app, sub = build_app(world, knobs)
    client = await aiohttp_client(app)
    client.world, client.sub, client.auth = world, sub, auth_headers(world)
    return client


async def get(cw, path: str, **params) -> aiohttp.ClientResponse:
    return await cw.get(API + path, params=params, headers=cw.auth)


async def ids_of(cw, path: str, **params) -> list[int]:
    response = await get(cw, path, **params)
    assert response.status == 200, await response.text()
    return [row["id"] for row in await response.json()]


# --- auth, versioning, codebase ----------------------------------------------------------------
async def test_valid_auth_and_case_insensitive_company(cw) -> None:
    headers = auth_headers(cw.world, company=cw.world.credentials.connectwise_company_id.upper())
    response = await cw.get(API + "/company/companies/1", headers=headers)
    assert response.status == 200
    assert (await response.json())["name"] == "Acme Inc"


@pytest.mark.parametrize("case", ["missing", "wrong key", "wrong company", "bearer", "garbage"])
async def test_auth_failures_are_401(cw, case: str) -> None:
    headers = {
        "missing": {"clientId": cw.world.credentials.connectwise_client_id},
        "wrong key": auth_headers(cw.world, private="not-the-key"),
        "wrong company": auth_headers(cw.world, company="othermsp"),
        "bearer": {**cw.auth, "Authorization": "Bearer abc"},
        "garbage": {**cw.auth, "Authorization": "Basic !!!not-base64"},
    }[case]
    response = await cw.get(API + "/company/companies", headers=headers)
    assert response.status == 401
    body = await response.json()
    assert body["code"] == "Unauthorized" and body["message"] and body["errors"] is None


async def test_client_id_is_required_and_must_be_registered(cw) -> None:
    headers = {k: v for k, v in cw.auth.items() if k != "clientId"}
    response = await cw.get(API + "/company/companies", headers=headers)
    assert response.status == 400
    assert "clientId" in (await response.json())["message"]
    response = await cw.get(API + "/company/companies",
                            headers={**headers, "clientid": "00000000-0000-0000-0000-000000000000"})
    assert response.status == 400 and "clientId" in (await response.json())["message"]


async def test_accept_version_is_honoured_and_current_version_echoed(cw) -> None:
    for accept in ("application/vnd.connectwise.com+json; version=2025.8", "application/json", "*/*",
                   "application/vnd.connectwise.com+json; version=2019.1"):
        response = await cw.get(API + "/company/companies/count", headers={**cw.auth, "Accept": accept})
        assert response.status == 200, accept
        assert response.headers["api-current-version"] == "2025.16"


@pytest.mark.parametrize("version", ["1.0", "2018.6", "2099.1", "latest"])
async def test_unsupported_accept_version_is_400(cw, version: str) -> None:
    accept = f"application/vnd.connectwise.com+json; version={version}"
    response = await cw.get(API + "/company/companies", headers={**cw.auth, "Accept": accept})
    assert response.status == 400
    body = await response.json()
    assert body["code"] == "BadRequest" and version in body["message"]


async def test_company_info_gives_the_codebase(cw) -> None:
    company_id = cw.world.credentials.connectwise_company_id
    response = await cw.get(f"/connectwise/login/companyinfo/{company_id.upper()}")
    info = await response.json()
    assert response.status == 200 and info["Codebase"] == "v4_6_release/"
    assert info["CompanyID"] == company_id and info["IsCloud"] is False
    assert info["SiteUrl"].endswith("/connectwise")
    for key in ("CompanyName", "VersionCode", "VersionNumber"):
        assert info[key]
    response = await cw.get("/connectwise/login/companyinfo/nobody")
    assert response.status == 200 and await response.json() is None


async def test_unknown_route_and_method_in_cw_shape(cw) -> None:
    response = await get(cw, "/service/tickets")
    assert response.status == 404
    assert (await response.json())["code"] == "NotFound"
    response = await get(cw, "/company/companies/999")
    assert response.status == 404 and (await response.json())["code"] == "NotFound"
    response = await cw.delete(API + "/company/companies/1", headers=cw.auth)
    assert response.status == 405 and (await response.json())["code"] == "MethodNotAllowed"


# --- record shapes -----------------------------------------------------------------------------
async def test_company_agreement_and_catalog_shapes(cw) -> None:
    company = await (await get(cw, "/company/companies/3")).json()
    assert company["status"]["name"] == "Inactive" and company["status"]["id"] == 2
    assert "isActive" not in company and company["deletedFlag"] is False
    assert company["_info"]["lastUpdated"] == "2020-01-01T00:00:00Z"
    agreement = await (await get(cw, "/finance/agreements/13")).json()
    assert agreement["agreementStatus"] == "Expired" and agreement["prorateFlag"] is True
    assert agreement["company"]["id"] == 2 and agreement["company"]["identifier"] == "Smith"
    assert agreement["company"]["_info"]["company_href"].endswith(f"{API}/company/companies/2")
    assert agreement["endDate"] == "2025-12-31T00:00:00Z" and agreement["noEndingDateFlag"] is False
    assert "proRateFlag" not in agreement
    product = await (await get(cw, "/procurement/catalog/8")).json()
    assert product["price"] == 4.4 and product["cost"] == 3.6 and product["productClass"] == "Agreement"


async def test_addition_shape_and_money(cw) -> None:
    addition = await (await get(cw, "/finance/agreements/11/additions/101")).json()
    assert addition["product"]["identifier"] == "EXO-P1"
    assert addition["product"]["_info"]["product_href"].endswith("/procurement/catalog/8")
    assert addition["quantity"] == 5 and addition["unitPrice"] == 4.4 and addition["agreementId"] == 11
    assert addition["extPrice"] == 22 and addition["extCost"] == 18 and addition["margin"] == 4
    assert addition["agreementStatus"] == "Active" and addition["prorateCurrentPeriodFlag"] is False
    assert "cancelledDate" not in addition  # nulls are left out, as CW does


# --- conditions over HTTP ----------------------------------------------------------------------
@pytest.mark.parametrize(("conditions", "expected"), [
    ('name = "Acme Inc"', [1]),
    ('identifier like "Filler0*"', list(range(101, 110))),
    ('name contains "[Labs]"', [4]),
    ('name like "Gamma [[]Labs]"', [4]),
    ('name = "Smith \\"Quoted\\" LLC"', [2]),
    ('status/name = "Inactive" or deletedFlag = True', [3, 4]),
    ("id in (1,2,3)", [1, 2, 3]),
    ('id < 100 and name not like "*Inc" and name not contains "LLC"', [3, 4]),
    ("(id = 1 or id = 2) and status/id = 1", [1, 2]),
    ("lastUpdated > [2019-12-31T00:00:00Z] and id <= 2", [1, 2]),
    ("id not in (1,2,3,4) and id > 148", [149, 150]),
])
async def test_company_conditions(cw, conditions: str, expected: list[int]) -> None:
    assert await ids_of(cw, "/company/companies", conditions=conditions, pageSize=1000) == expected


async def test_agreement_addition_and_catalog_conditions(cw) -> None:
    assert await ids_of(cw, "/finance/agreements", conditions='company/id = 1 and agreementStatus = "Active"') \
        == [10, 11]
    assert await ids_of(cw, "/finance/agreements", conditions="cancelledFlag = False and prorateFlag = False") \
        == [11]
    assert await ids_of(cw, "/finance/agreements", conditions='agreementStatus in ("Cancelled","Expired")') \
        == [12, 13]
    assert await ids_of(cw, "/finance/agreements", conditions="endDate = null") == [10, 11, 12]
    assert await ids_of(cw, "/finance/agreements/11/additions",
                        conditions='product/identifier = "EXO-P1" and agreementId = 11') == [101]
    assert await ids_of(cw, "/procurement/catalog", conditions='productClass != "Bundle" and inactiveFlag = False') \
        == [5, 8]


@pytest.mark.parametrize(("conditions", "fragment"), [
    ('nmae = "x"', "Unknown field 'nmae'"),
    ('name = "unterminated', "Unterminated string"),
    ("id = 1 and", "Expected a field name"),
    ('id = "1"', "id is a number field"),
    ("status = 1", "status is an object"),
])
async def test_bad_conditions_are_400(cw, conditions: str, fragment: str) -> None:
    response = await get(cw, "/company/companies", conditions=conditions)
    assert response.status == 400
    body = await response.json()
    assert body["code"] == "BadRequest" and fragment in body["message"] and "conditions" in body["message"]


async def test_child_conditions_filter_array_children(cw) -> None:
    companies = cw.world.connectwise_companies
    companies[2].types = ("Prospect",)
    companies[3].types = ("Client", "Partner")
    small = "id < 5"
    client = 'types/name = "Client"'
    assert await ids_of(cw, "/company/companies", conditions=small, childConditions=client) == [1, 3, 4]
    assert await ids_of(cw, "/company/companies", conditions=small, childConditions="types/id = 2") == [2]
    # one child must satisfy the whole expression: no single type of company 3 is both Client and Partner
    both = 'types/name = "Client" and types/name = "Partner"'
    assert await ids_of(cw, "/company/companies", conditions=small, childConditions=both) == []
    either = 'types/name = "Prospect" or types/name = "Partner"'
    assert await ids_of(cw, "/company/companies", conditions=small, childConditions=either) == [2, 3]
    count = await (await get(cw, "/company/companies/count", conditions=small,
                             childConditions='types/name = "Client"')).json()
    assert count == {"count": 3}
    for bad in ('colour/name = "x"', 'types/name = 3', "types/name like"):
        response = await get(cw, "/company/companies", childConditions=bad)
        assert response.status == 400 and "childConditions" in (await response.json())["message"]
    response = await get(cw, "/finance/agreements", childConditions='types/name = "Client"')
    assert response.status == 400 and "Unknown field" in (await response.json())["message"]


async def test_custom_field_conditions_test_the_custom_fields(cw) -> None:
    cw.world.connectwise_agreements[10].custom_fields = {"Marketplace Subscription": "1001880"}
    cw.world.connectwise_agreements[12].custom_fields = {"Marketplace Subscription": "1001999"}
    one = (await (await get(cw, "/finance/agreements/10")).json())["customFields"]
    assert one == [{"id": 21, "caption": "Marketplace Subscription", "type": "Text", "entryMethod": "EntryField",
                    "numberOfDecimals": 0, "value": "1001880"}]
    is_set = 'caption = "Marketplace Subscription" and value != null'
    assert await ids_of(cw, "/finance/agreements", customFieldConditions=is_set) == [10, 12]
    exact = 'caption = "Marketplace Subscription" and value = "1001880"'
    assert await ids_of(cw, "/finance/agreements", customFieldConditions=exact) == [10]
    assert await ids_of(cw, "/finance/agreements", customFieldConditions=exact, conditions="id > 10") == []
    assert await ids_of(cw, "/finance/agreements", customFieldConditions='caption = "Nope"') == []
    cw.world.connectwise_additions[101].custom_fields = {"Marketplace Resource": "CFQ7TTC0LDPB:0001"}
    assert await ids_of(cw, "/finance/agreements/11/additions",
                        customFieldConditions='value like "CFQ7*"') == [101]
    for bad in ('colour = "x"', "value = 3"):
        response = await get(cw, "/finance/agreements", customFieldConditions=bad)
        assert response.status == 400 and "customFieldConditions" in (await response.json())["message"]
    response = await get(cw, "/procurement/catalog", customFieldConditions=is_set)
    assert response.status == 400 and "no custom fields" in (await response.json())["message"]


# --- fields and orderBy ------------------------------------------------------------------------
async def test_fields_give_a_partial_response(cw) -> None:
    rows = await (await get(cw, "/company/companies", fields="id,name,status/id", conditions="id <= 2")).json()
    assert rows == [{"id": 1, "name": "Acme Inc", "status": {"id": 1}},
                    {"id": 2, "name": 'Smith "Quoted" LLC', "status": {"id": 1}}]
    one = await (await get(cw, "/finance/agreements/10", fields="id,company")).json()
    assert set(one) == {"id", "company"} and one["company"]["identifier"] == "Acme"
    response = await get(cw, "/company/companies", fields="id,colour")
    assert response.status == 400 and "colour" in (await response.json())["message"]


async def test_order_by(cw) -> None:
    assert await ids_of(cw, "/company/companies", conditions="id < 5", orderBy="name asc") == [1, 3, 4, 2]
    assert await ids_of(cw, "/company/companies", conditions="id < 5", orderBy="name desc") == [2, 4, 3, 1]
    assert await ids_of(cw, "/finance/agreements", orderBy="company/id desc, name asc") == [12, 13, 11, 10]
    assert await ids_of(cw, "/finance/agreements", orderBy="endDate desc") == [13, 10, 11, 12]  # nulls last
    response = await get(cw, "/company/companies", orderBy="colour asc")
    assert response.status == 400 and "orderBy" in (await response.json())["message"]
    response = await get(cw, "/company/companies", orderBy="name sideways")
    assert response.status == 400


# --- paging ------------------------------------------------------------------------------------
LINK = re.compile(r'<([^>]*)>; rel="(\w+)"')


def links(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("Link", ""))}


def page_numbers(response: aiohttp.ClientResponse) -> dict[str, int]:
    """The way pyconnectwise reads the header: split on commas, `page=(\\d+)>; rel="..."`."""
    found = {}
    for part in response.headers.get("Link", "").split(","):
        match = re.search(r'page=(\d+)>; rel="(.*?)"', part)
        if match:
            found[match.group(2)] = int(match.group(1))
    return found


async def test_default_page_size_and_link_relations(cw) -> None:
    total = len(cw.world.connectwise_companies)  # 54 -> pages of 25: 25, 25, 4
    first = await get(cw, "/company/companies")
    assert len(await first.json()) == 25
    assert page_numbers(first) == {"next": 2, "last": 3}
    middle = await get(cw, "/company/companies", page=2)
    assert page_numbers(middle) == {"first": 1, "prev": 1, "next": 3, "last": 3}
    last = await get(cw, "/company/companies", page=3)
    assert len(await last.json()) == total - 50
    assert page_numbers(last) == {"first": 1, "prev": 2}  # no rel="next" on the last page
    assert all(url.startswith(f"{cw.make_url(API)}/company/companies?") for url in links(middle).values())


async def test_following_next_links_reads_everything_once(cw) -> None:
    seen: list[int] = []
    url = str(cw.make_url(API + "/company/companies")) + "?conditions=" + "id in (1,2,3,4,101,102,103)&pageSize=2"
    while url:
        response = await cw.session.get(url, headers=cw.auth)
        seen += [row["id"] for row in await response.json()]
        url = links(response).get("next")
        if url:  # commas in the conditions are encoded, so the header splits cleanly on ","
            assert "%281%2C2%2C3" in url and parse_qs(urlsplit(url).query)["pageSize"] == ["2"]
    assert seen == [1, 2, 3, 4, 101, 102, 103]


async def test_paging_edges(cw) -> None:
    empty = await get(cw, "/company/companies", conditions='name = "nobody"')
    assert await empty.json() == [] and "Link" not in empty.headers
    exact = await get(cw, "/company/companies", pageSize=len(cw.world.connectwise_companies))
    assert len(await exact.json()) == 54 and "Link" not in exact.headers
    beyond = await get(cw, "/company/companies", page=9)
    assert await beyond.json() == [] and page_numbers(beyond) == {"first": 1, "prev": 3}
    for n in range(1, 1200):
        cw.world.connectwise_companies[1000 + n] = ConnectWiseCompany(1000 + n, f"Bulk{n}", f"Bulk {n}")
    capped = await get(cw, "/company/companies", pageSize=5000)
    assert len(await capped.json()) == 1000
    assert page_numbers(capped) == {"next": 2, "last": 2}
    assert "pageSize=1000" in links(capped)["next"]
    for bad in ({"pageSize": "0"}, {"page": "0"}, {"page": "two"}, {"pageSize": "-5"}):
        response = await get(cw, "/company/companies", **bad)
        assert response.status == 400, bad


async def test_forward_only_paging(cw) -> None:
    headers = {**cw.auth, "pagination-type": "forward-only"}
    url = str(cw.make_url(API + "/company/companies")) + "?pageSize=20&conditions=id%20%3E%203"
    seen: list[int] = []
    pages = 0
    while url:
        response = await cw.session.get(url, headers=headers)
        rows = await response.json()
        pages += 1
        seen += [row["id"] for row in rows]
        url = links(response).get("next")
        if rows:
            assert url.endswith(f"pageId={rows[-1]['id']}")
        else:
            assert "Link" not in response.headers
    assert seen == sorted(cid for cid in cw.world.connectwise_companies if cid > 3)
    assert pages == 4  # 51 rows: 20, 20, 11, then an empty page
    response = await cw.get(API + "/company/companies", params={"pageId": "140", "page": "3"}, headers=headers)
    assert [row["id"] for row in await response.json()] == list(range(141, 151))
    response = await cw.get(API + "/company/companies", params={"orderBy": "name asc"}, headers=headers)
    assert response.status == 400 and "forward-only" in (await response.json())["message"]


async def test_count_endpoints(cw) -> None:
    async def count(path: str, **params) -> int:
        response = await get(cw, path + "/count", **params)
        assert response.status == 200
        return (await response.json())["count"]

    assert await count("/company/companies") == 54
    assert await count("/company/companies", conditions='name like "Filler*"') == FILLER
    assert await count("/finance/agreements", conditions="company/id = 1") == 2
    assert await count("/finance/agreements/10/additions") == 1
    assert await count("/procurement/catalog", conditions='productClass = "Bundle"') == 1
    response = await get(cw, "/company/companies/count", conditions="bogus = 1")
    assert response.status == 400


# --- additions: create, read, patch, put, delete -----------------------------------------------
ADDITIONS = f"{API}/finance/agreements/10/additions"


async def test_post_creates_an_addition(cw) -> None:
    body = {"product": {"identifier": "m365-bp"}, "billCustomer": "Billable", "quantity": 4,
            "effectiveDate": "2026-03-01T00:00:00Z", "description": "Seats [seatsync:k-post-1]",
            "taxableFlag": True, "id": 999, "extPrice": 1}
    response = await cw.post(ADDITIONS, json=body, headers=cw.auth)
    assert response.status == 201, await response.text()
    created = await response.json()
    assert created["id"] == 104 and created["quantity"] == 4 and created["unitPrice"] == 22  # price from catalog
    assert created["extPrice"] == 88 and created["taxableFlag"] is True and created["agreementId"] == 10
    assert created["proratePrice"] == 0  # effective on the first of the month: nothing to prorate
    fetched = await (await cw.get(f"{ADDITIONS}/104", headers=cw.auth)).json()
    assert fetched == created
    write = cw.world.write_log[-1]
    assert (write.system, write.service_id, write.before, write.after, write.key) == \
        ("connectwise", 104, 0, 4, "k-post-1")
    assert write.day == TODAY


async def test_post_validation_errors(cw) -> None:
    response = await cw.post(ADDITIONS, json={"quantity": 1}, headers=cw.auth)
    body = await response.json()
    assert response.status == 400 and body["code"] == "InvalidObject" and body["message"] == \
        "addition object is invalid"
    assert {(e["code"], e["field"]) for e in body["errors"]} == \
        {("MissingRequiredField", "product"), ("MissingRequiredField", "billCustomer")}
    assert all(e["resource"] == "addition" for e in body["errors"])

    async def first_error(payload: dict) -> dict:
        response = await cw.post(ADDITIONS, json={"billCustomer": "Billable", **payload}, headers=cw.auth)
        assert response.status == 400
        return (await response.json())["errors"][0]

    assert (await first_error({"product": {"id": 99}}))["code"] == "NotFound"
    assert (await first_error({"product": {"id": 6}}))["field"] == "product"  # Bundle
    assert "Bundle" in (await first_error({"product": {"id": 6}}))["message"]
    assert "inactive" in (await first_error({"product": {"id": 7}}))["message"]
    assert (await first_error({"product": {"id": 5}, "quantity": -1}))["field"] == "quantity"
    assert (await first_error({"product": {"id": 5}, "quantity": 1.5}))["field"] == "quantity"
    assert (await first_error({"product": {"id": 5}, "billCustomer": "Sometimes"}))["field"] == "billCustomer"
    assert (await first_error({"product": {"id": 5}, "proRateFlag": True}))["field"] == "proRateFlag"
    assert (await first_error({"product": {"id": 5}, "effectiveDate": "soon"}))["field"] == "effectiveDate"
    assert cw.world.write_log == []


@pytest.mark.parametrize("agreement_id", [12, 13])
async def test_closed_agreements_refuse_addition_writes(cw, agreement_id: int) -> None:
    path = f"{API}/finance/agreements/{agreement_id}/additions"
    response = await cw.post(path, json={"product": {"id": 5}, "billCustomer": "Billable"}, headers=cw.auth)
    assert response.status == 400
    error = (await response.json())["errors"][0]
    assert error["field"] == "agreement" and ("Cancelled" in error["message"] or "Expired" in error["message"])
    existing = 102 if agreement_id == 12 else 103
    response = await cw.patch(f"{path}/{existing}", json=[{"op": "replace", "path": "quantity", "value": 9}],
                              headers=cw.auth)
    assert response.status == 400
    assert (await cw.delete(f"{path}/{existing}", headers=cw.auth)).status == 400
    assert cw.world.connectwise_additions[existing].quantity in (3, 1) and cw.world.write_log == []


async def test_prorate_flag_on_a_non_prorating_agreement_is_refused(cw) -> None:
    path = f"{API}/finance/agreements/11/additions"
    body = {"product": {"id": 8}, "billCustomer": "Billable", "quantity": 2, "prorateCurrentPeriodFlag": True}
    response = await cw.post(path, json=body, headers=cw.auth)
    assert response.status == 400
    payload = await response.json()
    assert payload["code"] == "InvalidObject"
    assert payload["errors"] == [{"code": "InvalidField", "field": "prorateCurrentPeriodFlag", "resource": "addition",
                                  "message": payload["errors"][0]["message"]}]
    assert "prorateFlag" in payload["errors"][0]["message"]
    response = await cw.patch(f"{path}/101", json=[{"op": "replace", "path": "prorateCurrentPeriodFlag",
                                                    "value": True}], headers=cw.auth)
    assert response.status == 400
    assert (await response.json())["errors"][0]["field"] == "prorateCurrentPeriodFlag"
    response = await cw.post(ADDITIONS, json={**body, "product": {"id": 5}}, headers=cw.auth)
    assert response.status == 201 and (await response.json())["prorateCurrentPeriodFlag"] is True


@pytest.mark.parametrize("path", ["quantity", "/quantity"])
async def test_patch_quantity_with_key(cw, path: str) -> None:
    operations = [{"op": "replace", "path": path, "value": 12},
                  {"op": "replace", "path": "description", "value": "M365 [seatsync:k-42]"}]
    response = await cw.patch(f"{ADDITIONS}/100", json=operations, headers=cw.auth)
    assert response.status == 200, await response.text()
    updated = await response.json()
    assert updated["quantity"] == 12 and updated["extPrice"] == 264
    assert updated["_info"]["lastUpdated"].startswith("2026-03-15T")
    assert cw.world.connectwise_additions[100].quantity == 12
    write = cw.world.write_log[-1]
    assert (write.service_id, write.before, write.after, write.key) == (100, 10, 12, "k-42")


async def test_patch_keys_only_come_from_the_same_request(cw) -> None:
    url = f"{API}/finance/agreements/11/additions/101"
    described = [{"op": "replace", "path": "description", "value": "EXO [seatsync:old-key]"}]
    assert (await cw.patch(url, json=described, headers=cw.auth)).status == 200
    assert cw.world.write_log == []  # no quantity change, no write record
    assert (await cw.patch(url, json=[{"op": "add", "path": "quantity", "value": 6}], headers=cw.auth)).status == 200
    assert [(w.before, w.after, w.key) for w in cw.world.write_log] == [(5, 6, None)]
    assert (await cw.patch(url, json=[{"op": "replace", "path": "cancelledDate", "value": "2026-03-31"}],
                           headers=cw.auth)).status == 200
    assert [(w.before, w.after) for w in cw.world.write_log] == [(5, 6), (6, 0)]  # a cancel stops billing


@pytest.mark.parametrize(("operations", "status", "fragment"), [
    ({"op": "replace", "path": "quantity", "value": 3}, 400, "JSON array"),
    ([], 400, "no operations"),
    ([{"op": "move", "path": "quantity", "value": 3}], 400, "op must be add, replace or remove"),
    ([{"op": "replace", "path": "quantity"}], 400, "has no value"),
    (["quantity"], 400, "must be an object"),
])
async def test_patch_body_shape_errors(cw, operations, status: int, fragment: str) -> None:
    response = await cw.patch(f"{ADDITIONS}/100", json=operations, headers=cw.auth)
    assert response.status == status
    body = await response.json()
    assert body["code"] == "BadRequest" and fragment in body["message"]


@pytest.mark.parametrize(("operations", "code", "field"), [
    ([{"op": "replace", "path": "Quantity", "value": 3}], "InvalidField", "Quantity"),
    ([{"op": "replace", "path": "seats", "value": 3}], "InvalidField", "seats"),
    ([{"op": "replace", "path": "extPrice", "value": 3}], "InvalidField", "extPrice"),
    ([{"op": "replace", "path": "product/id", "value": 8}], "InvalidField", "product/id"),
    ([{"op": "remove", "path": "billCustomer"}], "MissingRequiredField", "billCustomer"),
    ([{"op": "replace", "path": "quantity", "value": -2}], "InvalidField", "quantity"),
    ([{"op": "replace", "path": "quantity", "value": "12"}], "InvalidField", "quantity"),
])
async def test_patch_validation_errors(cw, operations, code: str, field: str) -> None:
    response = await cw.patch(f"{ADDITIONS}/100", json=operations, headers=cw.auth)
    assert response.status == 400
    body = await response.json()
    assert body["code"] == "InvalidObject"
    assert (body["errors"][0]["code"], body["errors"][0]["field"]) == (code, field)
    assert cw.world.connectwise_additions[100].quantity == 10 and cw.world.write_log == []


async def test_patch_can_replace_a_reference(cw) -> None:
    operations = [{"op": "replace", "path": "product", "value": {"identifier": "EXO-P1"}}]
    response = await cw.patch(f"{ADDITIONS}/100", json=operations, headers=cw.auth)
    assert response.status == 200 and (await response.json())["product"]["id"] == 8


async def test_put_replaces_the_record(cw) -> None:
    url = f"{API}/finance/agreements/11/additions/101"
    current = await (await cw.get(url, headers=cw.auth)).json()
    replacement = {**current, "quantity": 7}
    del replacement["description"]
    response = await cw.put(url, json=replacement, headers=cw.auth)
    assert response.status == 200
    replaced = await response.json()
    assert replaced["quantity"] == 7 and "description" not in replaced  # missing fields are reset
    assert [(w.before, w.after) for w in cw.world.write_log] == [(5, 7)]
    response = await cw.put(url, json={"quantity": 1}, headers=cw.auth)
    assert response.status == 400 and (await response.json())["code"] == "InvalidObject"


async def test_delete_addition(cw) -> None:
    response = await cw.delete(f"{ADDITIONS}/100", headers=cw.auth)
    assert response.status == 204 and await response.read() == b""
    assert 100 not in cw.world.connectwise_additions
    assert [(w.service_id, w.before, w.after) for w in cw.world.write_log] == [(100, 10, 0)]
    assert (await cw.get(f"{ADDITIONS}/100", headers=cw.auth)).status == 404


async def test_additions_belong_to_their_agreement(cw) -> None:
    assert (await cw.get(f"{ADDITIONS}/101", headers=cw.auth)).status == 404
    assert (await cw.get(f"{API}/finance/agreements/99/additions", headers=cw.auth)).status == 404
    response = await cw.post(f"{API}/finance/agreements/99/additions", json={}, headers=cw.auth)
    assert response.status == 404


@pytest.mark.parametrize(("data", "content_type", "status"), [
    ("{not json", "application/json", 400),
    ("", "application/json", 400),
    ('[{"op": "replace", "path": "quantity", "value": NaN}]', "application/json", 400),
    ('[{"op": "replace", "path": "quantity", "value": 3}]', "text/plain", 415),
])
async def test_malformed_bodies(cw, data: str, content_type: str, status: int) -> None:
    response = await cw.patch(f"{ADDITIONS}/100", data=data, headers={**cw.auth, "Content-Type": content_type})
    assert response.status == status
    body = await response.json()
    assert set(body) == {"code", "message", "errors"}
    assert cw.world.connectwise_additions[100].quantity == 10


# --- proration ---------------------------------------------------------------------------------
async def test_proration_of_a_mid_period_addition(cw) -> None:
    body = {"product": {"id": 5}, "billCustomer": "Billable", "quantity": 4, "effectiveDate": "2026-03-15"}
    created = await (await cw.post(ADDITIONS, json=body, headers=cw.auth)).json()
    # March has 31 days; the 15th to the 31st is 17 of them.
    assert created["proratePrice"] == 12.06  # 22 x 17/31 = 12.0645
    assert created["prorateCost"] == 10.15  # 18.50 x 17/31 = 10.1452
    assert created["extendedProratePrice"] == 48.24  # 12.06 x 4
    assert created["extendedProrateCost"] == 40.6
    body["effectiveDate"] = "2026-02-20T00:00:00Z"  # 9 of February's 28 days
    created = await (await cw.post(ADDITIONS, json=body, headers=cw.auth)).json()
    assert created["proratePrice"] == 7.07 and created["extendedProratePrice"] == 28.28
    path = f"{API}/finance/agreements/11/additions"  # prorateFlag false: no proration at all
    created = await (await cw.post(path, json={**body, "product": {"id": 8}}, headers=cw.auth)).json()
    assert created["proratePrice"] == 0 and created["extendedProratePrice"] == 0


async def test_proration_of_a_mid_period_quantity_change(cw) -> None:
    url = f"{ADDITIONS}/100"
    changed = await (await cw.patch(url, json=[{"op": "replace", "path": "quantity", "value": 12}],
                                    headers=cw.auth)).json()
    assert changed["proratePrice"] == 12.06 and changed["extendedProratePrice"] == 24.12  # +2 seats for 17/31
    assert changed["extendedProrateCost"] == 20.3
    changed = await (await cw.patch(url, json=[{"op": "replace", "path": "quantity", "value": 9}],
                                    headers=cw.auth)).json()
    assert changed["extendedProratePrice"] == -12.06  # the day's net change is 10 -> 9
    cw.world.today = date(2026, 4, 1)  # a change on the first of the month is not mid-period
    changed = await (await cw.patch(url, json=[{"op": "replace", "path": "quantity", "value": 11}],
                                    headers=cw.auth)).json()
    assert changed["proratePrice"] == 0 and changed["extendedProratePrice"] == 0


# --- rate limit --------------------------------------------------------------------------------
async def test_rate_limit_429_with_retry_after(cw) -> None:
    clock = [1000.0]
    budget = cw.sub[CONNECTWISE_BUDGET]
    budget.per_minute, budget.clock = 3, lambda: clock[0]
    for _ in range(3):
        assert (await get(cw, "/company/companies/count")).status == 200
    clock[0] += 15
    response = await get(cw, "/company/companies/count")
    assert response.status == 429
    assert response.headers["Retry-After"] == "45"
    assert await response.json() == {"error": "ConnectWiseAPI",
                                     "message": "Too many requests. Please try again in 45 seconds."}
    clock[0] += 45
    assert (await get(cw, "/company/companies/count")).status == 200


async def test_default_budget_is_a_thousand_a_minute(cw) -> None:
    assert cw.sub[CONNECTWISE_BUDGET].per_minute == 1000
    assert cw.sub[CONNECTWISE_BUDGET].window_s == 60


# --- fault knobs through fault_middleware ------------------------------------------------------
async def test_fault_latency(cw, knobs) -> None:
    knobs.latency_ms = 20
    started = time.perf_counter()
    assert (await get(cw, "/company/companies/1")).status == 200
    assert time.perf_counter() - started >= 0.02


@pytest.mark.parametrize("status", [500, 503])
async def test_fault_error_rates(cw, knobs, status: int) -> None:
    knobs.error_rates = {status: 1.0}
    response = await get(cw, "/company/companies/1")
    assert response.status == status
    assert (await response.json())["code"] == "ConnectWiseApi"


async def test_fault_burst_429_uses_the_throttle_body(cw, knobs) -> None:
    knobs.burst_429, knobs.retry_after_s = 2, 2
    for _ in range(2):
        response = await get(cw, "/company/companies/1")
        assert response.status == 429 and response.headers["Retry-After"] == "2"
        assert await response.json() == {"error": "ConnectWiseAPI",
                                         "message": "Too many requests. Please try again in 2 seconds."}
    assert (await get(cw, "/company/companies/1")).status == 200


async def test_fault_rate_429(cw, knobs) -> None:
    knobs.rate_429 = 1.0
    assert (await get(cw, "/company/companies/1")).status == 429


async def test_fault_timeout(cw, knobs) -> None:
    knobs.timeout_rate, knobs.timeout_s = 1.0, 0.01
    response = await cw.patch(f"{ADDITIONS}/100", json=[{"op": "replace", "path": "quantity", "value": 20}],
                              headers=cw.auth)
    assert response.status == 504
    assert cw.world.connectwise_additions[100].quantity == 10  # a timed-out call is not processed


async def test_fault_drop_reply_applies_the_patch(cw, knobs) -> None:
    knobs.drop_reply_rate = 1.0
    assert (await get(cw, "/company/companies/1")).status == 200  # reads are never dropped
    operations = [{"op": "replace", "path": "quantity", "value": 15},
                  {"op": "replace", "path": "description", "value": "[seatsync:k-dropped]"}]
    with pytest.raises(aiohttp.ClientConnectionError):
        await cw.patch(f"{ADDITIONS}/100", json=operations, headers=cw.auth)
    assert cw.world.connectwise_additions[100].quantity == 15
    assert [(w.before, w.after, w.key) for w in cw.world.write_log] == [(10, 15, "k-dropped")]


# --- a generated world -------------------------------------------------------------------------
async def test_serves_a_generated_world(aiohttp_client, small_world) -> None:
    app, _ = build_app(small_world)
    client = await aiohttp_client(app)
    headers = auth_headers(small_world)
    for path, stored in (("/company/companies", small_world.connectwise_companies),
                         ("/finance/agreements", small_world.connectwise_agreements),
                         ("/procurement/catalog", small_world.connectwise_products)):
        response = await client.get(API + path, params={"pageSize": "1000"}, headers=headers)
        assert response.status == 200
        assert [row["id"] for row in await response.json()] == sorted(stored)
    agreement = next(iter(small_world.connectwise_agreements.values()))
    response = await client.get(f"{API}/finance/agreements/{agreement.id}/additions", headers=headers)
    assert response.status == 200
    expected = sorted(a.id for a in small_world.connectwise_additions.values() if a.agreement_id == agreement.id)
    assert [row["id"] for row in await response.json()] == expected
