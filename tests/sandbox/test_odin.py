"""The Odin BA XML-RPC simulator: envelope, positional rows, sorting, faults, HTTP-level faults."""

from __future__ import annotations

import asyncio
import base64
import re
import xmlrpc.client
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from aiohttp import web

from bot.sandbox.faults import FaultKnobs, fault_middleware
from bot.sandbox.ingram_gateway import GatewayQuota
from bot.sandbox.odin import create_odin_app, decode_fault_string, odin_error
from bot.sandbox.odin_gateway import OdinGateway
from bot.sandbox.world import Credentials, Customer, Product, SandboxWorld, Subscription, SubscriptionLine

ACME, BRIGHTSIDE, COBALT = 1000027, 1000031, 1000040
CREDENTIALS = Credentials.for_seed(7)  # marketplace_world's
LOGIN = {"Username": CREDENTIALS.odin_username, "Password": CREDENTIALS.odin_password}
BASIC, PREMIUM, EXCHANGE = 100103, 100112, 100120


def marketplace_world() -> SandboxWorld:
    """A small hand-built marketplace: every status and term, a customer without subscriptions."""
    world = SandboxWorld(seed=7, today=date(2025, 3, 15), credentials=Credentials.for_seed(7))
    for product in (
        Product(BASIC, 200103, "CFQ7TTC0LH18:0001", "Microsoft 365 Business Basic", "unit", Decimal("7.20"),
                Decimal("6.00")),
        Product(PREMIUM, 200112, "CFQ7TTC0LCHC:0002", "Microsoft 365 Business Premium", "unit", Decimal("26.40"),
                Decimal("22.00")),
        Product(EXCHANGE, 200120, "CFQ7TTC0LH16:0001", "Exchange Online (Plan 1)", "seat", Decimal("4.80"),
                Decimal("4.00")),
    ):
        world.products[product.resource_id] = product

    def customer(account_id: int, name: str, created: date, city: str = "", email: str = "") -> None:
        world.customers[account_id] = Customer(account_id, str(account_id), name,
                                               datetime(created.year, created.month, created.day, 9, tzinfo=UTC),
                                               city=city, email=email)

    customer(ACME, "Acme Mfg. Inc.", date(2021, 1, 5), city="Irvine", email="it@acme.example.com")
    customer(BRIGHTSIDE, "Brightside Dental LLC", date(2022, 7, 19))
    customer(COBALT, "Cobalt Logistics", date(2024, 11, 2))

    def subscription(sid: int, account: int, plan: int, term: str, status: str, start: date, end: date,
                     modified: date, lines: list[SubscriptionLine]) -> None:
        plan_name = {5001: "Microsoft 365 Business Basic", 5002: "Microsoft 365 Business Premium (annual)"}[plan]
        world.subscriptions[sid] = Subscription(
            subscription_id=sid, cmp_id=str(sid), account_id=account, name=f"{plan_name} #{sid}", plan_id=plan,
            plan_name=plan_name, term=term, status=status, start_date=start, expiration_date=end,  # type: ignore[arg-type]
            created=datetime(start.year, start.month, start.day, 10, tzinfo=UTC),
            last_modified=datetime(modified.year, modified.month, modified.day, 16, 30, tzinfo=UTC), lines=lines)

    subscription(1001880, ACME, 5001, "monthly", "active", date(2024, 1, 10), date(2025, 4, 9), date(2025, 3, 1), [
        SubscriptionLine(BASIC, included=0, additional=12, used=9, unit_price=Decimal("7.20"),
                         unit_cost=Decimal("6.00")),
        SubscriptionLine(EXCHANGE, included=5, additional=2, used=7, unit_price=Decimal("4.50"),
                         unit_cost=Decimal("4.00")),
    ])
    subscription(1001886, ACME, 5002, "annual", "suspended", date(2024, 6, 1), date(2025, 5, 31), date(2025, 2, 2), [
        SubscriptionLine(PREMIUM, included=0, additional=25, used=20, unit_price=Decimal("26.40"),
                         unit_cost=Decimal("22.00")),
    ])
    subscription(1001893, BRIGHTSIDE, 5001, "monthly", "cancelled", date(2023, 3, 1), date(2025, 2, 28),
                 date(2025, 1, 20), [SubscriptionLine(BASIC, 0, 3, 0, Decimal("7.20"), Decimal("6.00"))])
    subscription(1001899, BRIGHTSIDE, 5002, "annual", "expired", date(2023, 2, 1), date(2024, 1, 31),
                 date(2024, 2, 1), [SubscriptionLine(PREMIUM, 2, 8, 10, Decimal("25.00"), Decimal("22.00"))])
    subscription(1001905, BRIGHTSIDE, 5001, "monthly", "active", date(2025, 2, 20), date(2026, 2, 19),
                 date(2025, 3, 14), [SubscriptionLine(BASIC, 1, 4, 5, Decimal("7.20"), Decimal("6.00"))])
    return world


# Field orders as recorded in shared/apis/marketplaces.md section 1.1 (kept here on purpose, so a
# change of order in the simulator fails these tests).
ACCOUNT_FIELDS = ["AccountID", "VendorAccountID", "CompanyName", "Address1", "Address2", "City", "State", "Zip",
                  "CountryID", "PostalAddress", "accFName", "accMName", "accLName", "accEmail", "accPhCountryCode",
                  "accPhAreaCode", "accPhNumber", "accPhExtention", "accFaxCountryCode", "accFaxAreaCode",
                  "accFaxNumber", "accFaxExtention", "CreationDate", "TaxStatus"]
CUSTOMER_SUBSCRIPTION_FIELDS = ["SubscriptionID", "SubscriptionName", "PlanID", "PlanName", "PlanPeriodID",
                                "Period", "PeriodType", "StartDate", "ExpirationDate", "Status", "ServStatus",
                                "ContainerName"]
SUBSCRIPTION_FIELDS = ["SubscriptionID", "SubscriptionName", "AccountID", "PlanID", "PlanName", "Status",
                       "ServStatus"]
SUBSCRIPTION_EX_FIELDS = [*SUBSCRIPTION_FIELDS, "StartDate", "ExpirationDate", "LastBillDate", "NextBillDate",
                          "BillingPeriodType", "BillingPeriod", "Trial", "ShutdownDate", "TerminateDate", "Period",
                          "PeriodType", "FreezePrices", "PromoCode"]
RESOURCE_FIELDS = ["ResourceID", "ResourceRateID", "ResourceName", "StoreDescription", "StorePriceText",
                   "StoreSortOrder", "Status", "ResourceCategory", "IncludedAmount", "AdditionalAmount",
                   "UsedAmount", "OrderedAmount", "Unit", "MinUnits", "MaxUnits", "Measurable", "RelativeStatus",
                   "OrderNumber", "SetupFee", "RecurringFee", "OveruseFee", "Location", "IsOveruseFeeTiered",
                   "IsRecurringFeeTiered", "IsSetupFeeTiered"]
PLAN_RATE_FIELDS = ["ResourceRateID", "ResourceRateName", "Description", "Included_Value", "Upper_Limit",
                    "Lower_Limit", "Unit_of_Measure", "Setup_Fee", "Recurring_Fee", "Measurable", "ResourceID",
                    "SetupFeeDescr", "RecurrFeeDescr", "IsVisible", "IsMain", "StoreText", "IsSFperUnit",
                    "IsRFperUnit", "IsSFforUpgrade", "StorePriceText", "ResourceCategoryID", "SortOrder",
                    "IsOveruseFeeTiered", "IsRecurringFeeTiered", "IsSetupFeeTiered"]
PLAN_FIELDS = ["PlanID", "Name", "CategoryID", "ResourceCurrencyID", "ShortDescription", "LongDescription",
               "GateName", "GroupID", "IsParentReq", "RecurringType", "BillingPeriodType", "BillingPeriod",
               "ShowPriority", "Default_PlanPeriodID", "IsOTFI", "DocID", "VendorAccountID", "ServiceTemplateID",
               "PricePeriodType", "Published"]

MONEY = re.compile(r"^USD \d+\.\d{2}$")
STRING_FIELDS = {"CompanyName", "Address1", "Address2", "City", "State", "Zip", "CountryID", "PostalAddress",
                 "accFName", "accMName", "accLName", "accEmail", "accPhCountryCode", "accPhAreaCode", "accPhNumber",
                 "accPhExtention", "accFaxCountryCode", "accFaxAreaCode", "accFaxNumber", "accFaxExtention",
                 "SubscriptionName", "PlanName", "ContainerName", "PromoCode", "ResourceName", "StoreDescription",
                 "StorePriceText", "ResourceCategory", "Unit", "OrderNumber", "Location", "ResourceRateName",
                 "Description", "Unit_of_Measure", "SetupFeeDescr", "RecurrFeeDescr", "StoreText", "Name",
                 "ResourceCurrencyID", "ShortDescription", "LongDescription", "GateName"}
MONEY_FIELDS = {"SetupFee", "RecurringFee", "OveruseFee", "Setup_Fee", "Recurring_Fee"}


def named(fields: list[str], row: list) -> dict:
    assert len(row) == len(fields), f"row has {len(row)} fields, expected {len(fields)}"
    for name, value in zip(fields, row, strict=True):
        if name in MONEY_FIELDS:
            assert isinstance(value, str) and MONEY.match(value), (name, value)
        elif name in STRING_FIELDS:
            assert isinstance(value, str), (name, value)
        else:
            assert type(value) is int, (name, value)
    return dict(zip(fields, row, strict=True))


def ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@pytest.fixture
def world() -> SandboxWorld:
    return marketplace_world()


def odin_app(world: SandboxWorld, knobs: FaultKnobs | None = None, **options) -> web.Application:
    app = web.Application()
    sub = create_odin_app(world, **options)
    if knobs is not None:
        sub.middlewares.insert(0, fault_middleware(knobs, odin_error))
    app.add_subapp("/odin", sub)
    return app


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(odin_app(world))


async def post_xml(client, payload: str, path: str = "/odin/RPC2"):
    response = await client.post(path, data=payload.encode(), headers={"Content-Type": "text/xml"})
    assert response.status == 200
    assert response.content_type == "text/xml"
    return xmlrpc.client.loads(await response.read())[0][0]


async def execute(client, method: str, params: list, server: str = "BM", **extra) -> list:
    envelope = {"Server": server, "Method": method, "Params": params, **LOGIN, **extra}
    result = await post_xml(client, xmlrpc.client.dumps((envelope,), "Execute"))
    assert set(result) == {"Result"}
    return result["Result"]


async def ba_fault(client, method: str, params: list, server: str = "BM") -> str:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        await execute(client, method, params, server)
    assert caught.value.faultCode == -1
    return decode_fault_string(caught.value)


# --- the acceptance call ------------------------------------------------------------------------
async def test_acceptance_call_through_server_proxy(client):
    url = str(client.make_url("/odin/RPC2"))

    def call() -> dict:
        proxy = xmlrpc.client.ServerProxy(url)
        return proxy.Execute({"Server": "BM", "Method": "GetCustomerSubscriptionList_API", "Params": [ACME, 0],
                              **LOGIN})

    answer = await asyncio.to_thread(call)
    assert isinstance(answer, dict) and "Result" in answer
    assert [row[0] for row in answer["Result"][0]] == [1001880, 1001886]


async def test_root_path_answers_like_rpc2(client):
    root = await post_xml(client, xmlrpc.client.dumps(
        ({"Server": "BM", "Method": "SubscriptionDetailsGet_API", "Params": [1001880], "Lang": "en", **LOGIN},),
        "Execute"),
        path="/odin/")
    assert root["Result"][0][0] == 1001880


async def test_lang_is_accepted(client):
    result = await execute(client, "SubscriptionDetailsGet_API", [1001880], Lang="en")
    assert result[0][0] == 1001880


@pytest.mark.parametrize("login", [
    {},
    {"Username": CREDENTIALS.odin_username},
    {"Username": CREDENTIALS.odin_username, "Password": "wrong"},
    {"Username": "someone-else", "Password": CREDENTIALS.odin_password},
    {"Username": CREDENTIALS.odin_username, "Password": 12345},
])
async def test_the_gateway_requires_the_credentials_in_the_struct(client, login):
    envelope = {"Server": "BM", "Method": "SubscriptionDetailsGet_API", "Params": [1001880], **login}
    with pytest.raises(xmlrpc.client.Fault) as caught:
        await post_xml(client, xmlrpc.client.dumps((envelope,), "Execute"))
    assert caught.value.faultCode == -1
    assert decode_fault_string(caught.value).startswith("Access denied:")


async def test_a_method_the_gateway_does_not_allow_is_a_fault(aiohttp_client, world):
    gateway = OdinGateway(allowed_methods=frozenset({"AccountGetMyCustomersList"}))
    client = await aiohttp_client(odin_app(world, gateway=gateway))
    assert len((await execute(client, "AccountGetMyCustomersList", []))[0]) == 3
    with pytest.raises(xmlrpc.client.Fault) as caught:
        await execute(client, "AccountDetailsGet_API", [ACME])
    assert decode_fault_string(caught.value) == (
        f"Method 'AccountDetailsGet_API' is not allowed for user '{CREDENTIALS.odin_username}'.")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_a_gateway_configured_for_basic_auth_answers_401_without_it(aiohttp_client, world):
    client = await aiohttp_client(odin_app(world, gateway=OdinGateway(basic_auth=True)))
    body = xmlrpc.client.dumps(({"Server": "BM", "Method": "AccountGetMyCustomersList", "Params": [], **LOGIN},),
                               "Execute")
    for headers in ({}, basic(CREDENTIALS.odin_username, "wrong")):
        response = await client.post("/odin/RPC2", data=body, headers=headers)
        assert response.status == 401 and response.content_type == "text/html"
        assert response.headers["WWW-Authenticate"] == 'Basic realm="BA"'
    response = await client.post("/odin/RPC2", data=body, headers=basic(CREDENTIALS.odin_username,
                                                                         CREDENTIALS.odin_password))
    assert response.status == 200
    assert xmlrpc.client.loads(await response.read())[0][0]["Result"][0] == [[ACME], [BRIGHTSIDE], [COBALT]]


async def test_the_gateway_limits_each_users_call_rate(aiohttp_client, world):
    now = [100.0]
    gateway = OdinGateway(quota=GatewayQuota(calls=3, renewal_period_s=1.0), clock=lambda: now[0])
    client = await aiohttp_client(odin_app(world, gateway=gateway))
    body = xmlrpc.client.dumps(({"Server": "BM", "Method": "AccountGetMyCustomersList", "Params": [], **LOGIN},),
                               "Execute")
    for _ in range(3):
        assert (await client.post("/odin/RPC2", data=body)).status == 200
    refused = await client.post("/odin/RPC2", data=body)
    assert refused.status == 429 and refused.headers["Retry-After"] == "1" and refused.content_type == "text/html"
    now[0] += 1.0
    assert (await client.post("/odin/RPC2", data=body)).status == 200


# --- rows: order, types, values -----------------------------------------------------------------
async def test_account_details(client, world):
    result = await execute(client, "AccountDetailsGet_API", [ACME])
    assert len(result) == 1
    row = named(ACCOUNT_FIELDS, result[0])
    assert row["AccountID"] == ACME
    assert row["CompanyName"] == "Acme Mfg. Inc."
    assert row["City"] == "Irvine"
    assert row["CountryID"] == "US"
    assert row["accEmail"] == "it@acme.example.com"
    assert row["CreationDate"] == int(world.customers[ACME].created.timestamp())
    assert row["TaxStatus"] == 2
    assert row["VendorAccountID"] not in world.customers


async def test_customer_subscription_list(client):
    result = await execute(client, "GetCustomerSubscriptionList_API", [BRIGHTSIDE, 0])
    rows = [named(CUSTOMER_SUBSCRIPTION_FIELDS, row) for row in result[0]]
    assert [r["SubscriptionID"] for r in rows] == [1001893, 1001899, 1001905]
    by_id = {r["SubscriptionID"]: r for r in rows}
    assert by_id[1001905]["StartDate"] == ts(date(2025, 2, 20))
    assert by_id[1001905]["ExpirationDate"] == ts(date(2026, 2, 19))
    assert by_id[1001905]["Status"] == 30  # Active, per the notes
    assert by_id[1001905]["PlanID"] == 5001
    assert by_id[1001899]["PeriodType"] != by_id[1001905]["PeriodType"]  # annual vs monthly
    assert len({r["Status"] for r in rows}) == 3  # cancelled, expired, active are told apart


async def test_customer_without_subscriptions_gets_an_empty_list(client):
    assert await execute(client, "GetCustomerSubscriptionList_API", [COBALT, 0]) == [[]]


async def test_subscription_details_and_ex_share_the_head(client):
    head = named(SUBSCRIPTION_FIELDS, (await execute(client, "SubscriptionDetailsGet_API", [1001886]))[0])
    ex = named(SUBSCRIPTION_EX_FIELDS, (await execute(client, "SubscriptionDetailsGetEx_API", [1001886]))[0])
    assert {k: ex[k] for k in SUBSCRIPTION_FIELDS} == head
    assert head["AccountID"] == ACME and head["PlanID"] == 5002
    assert head["Status"] != 30  # suspended is not active
    assert ex["StartDate"] == ts(date(2024, 6, 1)) and ex["ExpirationDate"] == ts(date(2025, 5, 31))
    assert ex["ShutdownDate"] > 0 and ex["TerminateDate"] == 0


async def test_subscription_ex_billing_dates_bracket_today(client, world):
    ex = named(SUBSCRIPTION_EX_FIELDS, (await execute(client, "SubscriptionDetailsGetEx_API", [1001880]))[0])
    assert ex["LastBillDate"] == ts(date(2025, 3, 10))
    assert ex["NextBillDate"] == ts(date(2025, 4, 10))
    assert ex["Trial"] == 0 and ex["ShutdownDate"] == 0 and ex["TerminateDate"] == 0
    cancelled = named(SUBSCRIPTION_EX_FIELDS, (await execute(client, "SubscriptionDetailsGetEx_API", [1001893]))[0])
    assert cancelled["TerminateDate"] == int(world.subscriptions[1001893].last_modified.timestamp())
    assert cancelled["NextBillDate"] == 0


async def test_subscription_resources(client):
    result = await execute(client, "SubscriptionResourcesListGet_API", [1001880, 0])
    rows = [named(RESOURCE_FIELDS, row) for row in result[0]]
    assert [r["ResourceID"] for r in rows] == [BASIC, EXCHANGE]
    basic, exchange = rows
    assert (basic["IncludedAmount"], basic["AdditionalAmount"], basic["UsedAmount"], basic["OrderedAmount"]) == \
        (0, 12, 9, 12)
    assert (exchange["IncludedAmount"], exchange["AdditionalAmount"], exchange["OrderedAmount"]) == (5, 2, 7)
    assert basic["ResourceRateID"] == 200103
    assert basic["RecurringFee"] == "USD 7.20" and exchange["RecurringFee"] == "USD 4.50"
    assert basic["SetupFee"] == "USD 0.00"
    assert exchange["Unit"] == "seat"


async def test_plan_details(client):
    row = named(PLAN_FIELDS, (await execute(client, "PlanDetailsGet_API", [5002]))[0])
    assert row["PlanID"] == 5002
    assert row["Name"] == "Microsoft 365 Business Premium (annual)"
    assert row["ResourceCurrencyID"] == "USD"
    assert row["Published"] == 1


async def test_plan_rates(client):
    rows = [named(PLAN_RATE_FIELDS, row) for row in (await execute(client, "PlanRateListFullGet_API", [5001, 0]))[0]]
    assert [r["ResourceID"] for r in rows] == [BASIC, EXCHANGE]
    assert rows[0]["ResourceRateID"] == 200103
    assert rows[0]["Recurring_Fee"] == "USD 7.20"  # the catalogue price, not a subscription's own
    assert rows[1]["Included_Value"] == 5
    assert rows[1]["Unit_of_Measure"] == "seat"


async def test_my_customers_lists_every_child_account(client, world):
    rows = (await execute(client, "AccountGetMyCustomersList", []))[0]
    assert rows == [[account_id] for account_id in sorted(world.customers)]  # column 0 only: all a source shows


# --- SortNo ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sort_no", "expected"), [
    (0, [1001893, 1001899, 1001905]),
    (1, [1001893, 1001899, 1001905]),
    (-1, [1001905, 1001899, 1001893]),
    (8, [1001899, 1001893, 1001905]),  # StartDate ascending
    (-9, [1001905, 1001893, 1001899]),  # ExpirationDate descending
])
async def test_sort_numbers(client, sort_no, expected):
    rows = (await execute(client, "GetCustomerSubscriptionList_API", [BRIGHTSIDE, sort_no]))[0]
    assert [row[0] for row in rows] == expected


async def test_sort_number_past_the_last_column_is_a_fault(client):
    message = await ba_fault(client, "GetCustomerSubscriptionList_API", [BRIGHTSIDE, 13])
    assert "sort" in message.lower()


# --- faults ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "params", "expected"), [
    ("AccountDetailsGet_API", [999], "Account #999 does not exist."),
    ("GetCustomerSubscriptionList_API", [999, 0], "Account #999 does not exist."),
    ("SubscriptionDetailsGet_API", [42], "Subscription #42 does not exist."),
    ("SubscriptionDetailsGetEx_API", [42], "Subscription #42 does not exist."),
    ("SubscriptionResourcesListGet_API", [42, 0], "Subscription #42 does not exist."),
    ("PlanDetailsGet_API", [9], "Plan #9 does not exist."),
    ("PlanRateListFullGet_API", [9, 0], "Plan #9 does not exist."),
])
async def test_unknown_ids_fault(client, method, params, expected):
    assert await ba_fault(client, method, params) == expected


@pytest.mark.parametrize("params", [[], [1001880, 0], [1001880, 0, 1]])
async def test_wrong_parameter_count_faults(client, params):
    message = await ba_fault(client, "SubscriptionDetailsGet_API", params)
    assert "expects 1 parameter" in message and f"got {len(params)}" in message


@pytest.mark.parametrize("value", ["1001880", 1001880.0, True])
async def test_wrong_parameter_type_faults(client, value):
    message = await ba_fault(client, "SubscriptionDetailsGet_API", [value])
    assert "Parameter #1 (SubscriptionID)" in message and "must be int" in message


async def test_unknown_method_and_container_fault(client):
    assert await ba_fault(client, "IncrementResourceUsage_API", [1001880, BASIC, 1]) == \
        "Method 'IncrementResourceUsage_API' is not found in container 'BM'."
    assert await ba_fault(client, "SubscriptionDetailsGet_API", [1001880], server="NOSUCH") == \
        "Container 'NOSUCH' is not found."
    assert "container 'DUMMYGATE'" in await ba_fault(client, "SubscriptionDetailsGet_API", [1001880], "DUMMYGATE")


@pytest.mark.parametrize(("envelope", "member"), [
    ({"Method": "SubscriptionDetailsGet_API", "Params": [1]}, "Server"),
    ({"Server": "BM", "Params": [1]}, "Method"),
    ({"Server": "BM", "Method": "SubscriptionDetailsGet_API"}, "Params"),
    ({"Server": "BM", "Method": "SubscriptionDetailsGet_API", "Params": 1001880}, "Params"),
])
async def test_incomplete_envelope_faults(client, envelope, member):
    with pytest.raises(xmlrpc.client.Fault) as caught:
        await post_xml(client, xmlrpc.client.dumps(({**envelope, **LOGIN},), "Execute"))
    assert caught.value.faultCode == -1
    assert f"'{member}'" in decode_fault_string(caught.value)


async def test_protocol_level_faults_are_plain(client):
    with pytest.raises(xmlrpc.client.Fault) as other_method:
        await post_xml(client, xmlrpc.client.dumps(({"Server": "BM"},), "SubscriptionDetailsGet_API"))
    assert other_method.value.faultCode == -32601
    with pytest.raises(xmlrpc.client.Fault) as two_params:
        await post_xml(client, xmlrpc.client.dumps(({"Server": "BM"}, 1), "Execute"))
    assert two_params.value.faultCode == -32602
    with pytest.raises(xmlrpc.client.Fault) as not_a_struct:
        await post_xml(client, xmlrpc.client.dumps(([1, 2],), "Execute"))
    assert not_a_struct.value.faultCode == -32602
    with pytest.raises(xmlrpc.client.Fault) as garbage:
        await post_xml(client, "<methodCall><methodName>Execute</methodName><params>")
    assert garbage.value.faultCode == -32700


async def test_fault_strings_are_base64_by_default_and_plain_on_request(aiohttp_client, world):
    encoded = await aiohttp_client(odin_app(world))
    with pytest.raises(xmlrpc.client.Fault) as caught:
        await execute(encoded, "SubscriptionDetailsGet_API", [42])
    assert caught.value.faultString == base64.b64encode(b"Subscription #42 does not exist.").decode()
    plain = await aiohttp_client(odin_app(world, encode_faults=False))
    with pytest.raises(xmlrpc.client.Fault) as caught:
        await execute(plain, "SubscriptionDetailsGet_API", [42])
    assert (caught.value.faultCode, caught.value.faultString) == (-1, "Subscription #42 does not exist.")
    assert decode_fault_string(caught.value) == "Subscription #42 does not exist."  # not base64: left as is


async def test_get_is_not_allowed(client):
    response = await client.get("/odin/RPC2")
    assert response.status == 405


async def test_world_changes_are_seen_at_once(client, world):
    world.subscriptions[1001880].lines[0].additional = 20
    rows = (await execute(client, "SubscriptionResourcesListGet_API", [1001880, 0]))[0]
    assert rows[0][11] == 20  # OrderedAmount


# --- HTTP-level fault knobs ---------------------------------------------------------------------
CALL = xmlrpc.client.dumps(({"Server": "BM", "Method": "SubscriptionDetailsGet_API", "Params": [1001880], **LOGIN},),
                          "Execute")


async def test_injected_error_is_an_html_page(aiohttp_client, world):
    client = await aiohttp_client(odin_app(world, FaultKnobs(error_rates={503: 1.0})))
    response = await client.post("/odin/RPC2", data=CALL)
    assert response.status == 503
    assert response.content_type == "text/html"
    assert "Service Unavailable" in await response.text()


async def test_injected_429_burst_then_recovery(aiohttp_client, world):
    client = await aiohttp_client(odin_app(world, FaultKnobs(burst_429=2, retry_after_s=0.5)))
    for _ in range(2):
        response = await client.post("/odin/RPC2", data=CALL)
        assert response.status == 429
        assert response.headers["Retry-After"] == "0.5"
        assert response.content_type == "text/html"
    assert (await post_xml(client, CALL))["Result"][0][0] == 1001880


async def test_injected_timeout_and_latency(aiohttp_client, world):
    slow = await aiohttp_client(odin_app(world, FaultKnobs(latency_ms=5, latency_jitter_ms=2)))
    assert (await post_xml(slow, CALL))["Result"][0][0] == 1001880
    hung = await aiohttp_client(odin_app(world, FaultKnobs(timeout_rate=1.0, timeout_s=0.01)))
    response = await hung.post("/odin/RPC2", data=CALL)
    assert response.status == 504
    assert "Gateway Timeout" in await response.text()


async def test_reads_are_never_dropped(aiohttp_client, world):
    client = await aiohttp_client(odin_app(world, FaultKnobs(drop_reply_rate=1.0)))
    assert (await post_xml(client, CALL))["Result"][0][0] == 1001880


def test_odin_error_shape():
    response = odin_error(502, "upstream BA host unreachable")
    assert response.status == 502 and response.content_type == "text/html"
    assert "502 Bad Gateway" in response.text and "upstream BA host unreachable" in response.text
