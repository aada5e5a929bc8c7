"""The Pax8 partner API's reads, every answer validated against Pax8's OpenAPI document (real HTTP)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import pytest

from tests.sandbox.pax8_client import TODAY, connect, small_world


@pytest.fixture(scope="module")
def shared_world():
    return small_world(seed=5)


@pytest.fixture
async def api(aiohttp_client, shared_world):
    return await connect(aiohttp_client, shared_world)


def ids(reply) -> list[str]:
    return [row["id"] for row in reply.body["content"]]


# --- paging ---------------------------------------------------------------------------------------------
async def test_the_page_envelope_and_its_defaults(api, shared_world):
    reply = await api.get("/subscriptions")
    total = len(shared_world.pax8.subscriptions)
    assert len(reply.body["content"]) == 10
    assert reply.body["page"] == {"size": 10, "totalElements": total, "totalPages": math.ceil(total / 10), "number": 0}


async def test_paging_through_everything_yields_each_record_once(api, shared_world):
    rows = await api.all_pages("/subscriptions", size=7)
    assert [r["id"] for r in rows] == list(shared_world.pax8.subscriptions)
    assert await api.all_pages("/companies", size=200) == (await api.get("/companies", size=200)).body["content"]


async def test_a_page_past_the_end_is_empty(api, shared_world):
    reply = await api.get("/companies", page=99, size=5)
    assert reply.body["content"] == [] and reply.body["page"]["number"] == 99
    assert reply.body["page"]["totalElements"] == len(shared_world.pax8.companies)


@pytest.mark.parametrize("path", ["/companies", "/products", "/subscriptions", "/invoices", "/invoices/draftItems"])
async def test_size_over_200_is_refused_and_200_is_served(api, path):
    refused = await api.get(path, size=201)
    assert refused.status == 422
    assert refused.body["type"] == "UNPROCESSABLE_ENTITY"
    assert refused.body["details"][0]["type"] == "INVALID_PARAM" and "size" in refused.body["details"][0]["message"]
    assert (await api.get(path, size=200)).status == 200


@pytest.mark.parametrize(("params", "status"), [({"size": 0}, 422), ({"page": -1}, 422), ({"size": "ten"}, 400),
                                                ({"page": "1.5"}, 400)])
async def test_bad_paging_values(api, params, status):
    reply = await api.get("/subscriptions", **params)
    assert reply.status == status


# --- companies ------------------------------------------------------------------------------------------
async def test_companies_and_their_filters(api, shared_world):
    book = shared_world.pax8
    rows = await api.all_pages("/companies")
    assert [r["id"] for r in rows] == list(book.companies)
    some = rows[0]
    assert set(some["address"]) >= {"street", "city", "stateOrProvince", "postalCode", "country"}
    city = some["address"]["city"]
    assert {r["id"] for r in (await api.get("/companies", city=city, size=200)).body["content"]} == \
        {c.id for c in book.companies.values() if c.city == city}
    inactive = (await api.get("/companies", status="Inactive", size=200)).body["content"]
    assert {r["id"] for r in inactive} == {c.id for c in book.companies.values() if c.status == "Inactive"}
    self_service = (await api.get("/companies", selfServiceAllowed=True, size=200)).body["content"]
    assert all(r["selfServiceAllowed"] for r in self_service) and self_service
    by_name = (await api.get("/companies", sort="name", size=200)).body["content"]
    assert [r["name"].casefold() for r in by_name] == sorted(r["name"].casefold() for r in rows)
    desc = (await api.get("/companies", sort="name,desc", size=200)).body["content"]
    assert desc == list(reversed(by_name))


async def test_one_company_and_a_missing_one(api, shared_world):
    company = next(iter(shared_world.pax8.companies.values()))
    assert (await api.get(f"/companies/{company.id}")).body["name"] == company.name
    missing = await api.get("/companies/3d0617ac-57f6-40e3-951d-e91da47a326b")
    assert missing.status == 404
    assert missing.body == {"type": "NOT_FOUND", "message": "Company Not Found: 3d0617ac-57f6-40e3-951d-e91da47a326b",
                            "instance": "/public/v1/companies/3d0617ac-57f6-40e3-951d-e91da47a326b", "status": 404,
                            "details": []}  # devx's own example, word for word


# --- products --------------------------------------------------------------------------------------------
async def test_products_search_vendor_and_sort(api, shared_world):
    products = await api.all_pages("/products")
    assert len(products) == len(shared_world.pax8.products)
    microsoft = (await api.get("/products", vendorName="microsoft", size=200)).body["content"]
    assert microsoft and all(p["vendorName"] == "Microsoft" for p in microsoft)
    premium = (await api.get("/products", search="business premium")).body["content"]
    assert [p["name"] for p in premium] == ["Microsoft 365 Business Premium"]
    assert premium[0]["vendorSku"] == "CFQ7TTC0LCHC:0002"
    by_vendor = (await api.get("/products", sort="vendor", size=200)).body["content"]
    assert [p["vendorName"].casefold() for p in by_vendor] == sorted(p["vendorName"].casefold() for p in products)


async def test_product_detail_pricing_and_dependencies(api, shared_world):
    premium = next(p for p in shared_world.pax8.products.values() if p.name == "Microsoft 365 Business Premium")
    detail = await api.get(f"/products/{premium.id}")
    assert detail.body["description"] and detail.body["requiresCommitment"] is False
    pricing = (await api.get(f"/products/{premium.id}/pricing")).body["content"]
    plans = {(p["billingTerm"], p.get("commitmentTerm")): p["rates"][0] for p in pricing}
    assert set(plans) == {("Monthly", None), ("Monthly", "1-Year"), ("Annual", "1-Year")}
    annual, flex = plans[("Annual", "1-Year")], plans[("Monthly", None)]
    assert flex["partnerBuyRate"] == pytest.approx(annual["partnerBuyRate"] * 1.2, abs=0.01)
    dependencies = (await api.get(f"/products/{premium.id}/dependencies")).body
    [commitment] = dependencies["commitmentDependencies"]
    assert commitment["term"] == "1-Year" and commitment["allowForQuantityDecrease"] is False
    azure = next(p for p in shared_world.pax8.products.values() if p.usage_based)
    [azure_plan] = (await api.get(f"/products/{azure.id}/pricing")).body["content"]
    assert azure_plan["rates"][0]["partnerBuyRate"] == 0 and azure_plan["unitOfMeasurement"] == "Each"
    for path in ("", "/pricing", "/dependencies"):
        assert (await api.get(f"/products/aaaee3f-262c-47a4-b0e6-f9ce8b54fcd7{path}")).status == 404


# --- subscriptions -----------------------------------------------------------------------------------------
async def test_subscriptions_carry_quantity_terms_dates_status_and_money(api, shared_world):
    book = shared_world.pax8
    rows = {r["id"]: r for r in await api.all_pages("/subscriptions")}
    for sub in book.subscriptions.values():
        row = rows[sub.id]
        assert row["quantity"] == sub.now.quantity and row["status"] == sub.now.status
        assert row["billingTerm"] == sub.now.billing_term and row["companyId"] == sub.company_id
        assert row["price"] == pytest.approx(float(sub.now.price))
        assert row["partnerCost"] == pytest.approx(float(sub.now.partner_cost))
        assert row["billingStart"] == sub.billing_start.isoformat()
        assert row["productName"] == book.products[sub.product_id].name
        if sub.commitment is not None:
            assert row["commitmentTerm"]["term"] == "1-Year"
            assert row["commitmentTerm"]["endDate"] > TODAY.isoformat()
        else:
            assert "commitmentTerm" not in row
    statuses = Counter(r["status"] for r in rows.values())
    assert statuses["Active"] > len(rows) / 2 and (statuses["Trial"] or statuses["Converted"])


async def test_subscription_filters_and_sorts(api, shared_world):
    book = shared_world.pax8
    company = next(c for c in book.companies.values() if any(s.company_id == c.id for s in book.subscriptions.values()))
    mine = (await api.get("/subscriptions", companyId=company.id, size=200)).body["content"]
    assert {r["id"] for r in mine} == {s.id for s in book.subscriptions.values() if s.company_id == company.id}
    annual = (await api.get("/subscriptions", billingTerm="Annual", status="Active", size=200)).body["content"]
    assert annual and all(r["billingTerm"] == "Annual" and r["status"] == "Active" for r in annual)
    product_id = mine[0]["productId"]
    of_product = (await api.get("/subscriptions", productId=product_id, size=200)).body["content"]
    assert all(r["productId"] == product_id for r in of_product)
    by_quantity = (await api.get("/subscriptions", sort="quantity,desc", size=200)).body["content"]
    assert [r["quantity"] for r in by_quantity] == sorted((r["quantity"] for r in by_quantity), reverse=True)


async def test_an_unknown_company_is_the_specs_403_and_bad_values_400(api):
    forbidden = await api.get("/subscriptions", companyId="f7fc273a-8d86-45c9-a26f-ffd42416adda")
    assert forbidden.status == 403 and forbidden.body["type"] == "FORBIDDEN"
    assert (await api.get("/subscriptions", companyId="not-a-uuid")).status == 400
    assert (await api.get("/subscriptions", status="active")).status == 400  # the enum is case-sensitive
    assert (await api.get("/subscriptions", sort="colour,asc")).status == 400


async def test_one_subscription_its_history_and_a_missing_one(api, shared_world):
    book = shared_world.pax8
    sub = max(book.subscriptions.values(), key=lambda s: len(s.history))
    assert (await api.get(f"/subscriptions/{sub.id}")).body["quantity"] == sub.now.quantity
    history = (await api.get(f"/subscriptions/{sub.id}/history")).body["content"]
    assert len(history) == len(sub.history) >= 3
    assert [h["updatedDate"] for h in history] == sorted((h["updatedDate"] for h in history), reverse=True)
    assert history[0]["quantity"] == sub.now.quantity and history[-1]["status"] == "PendingAutomated"
    assert all(h["id"] == sub.id for h in history)
    for path in ("", "/history"):
        assert (await api.get(f"/subscriptions/04814f37-bef0-48b7-b388-c04a1e31f889{path}")).status == 404


# --- usage -------------------------------------------------------------------------------------------------
async def test_usage_summaries_and_lines_of_an_azure_plan(api, shared_world):
    book = shared_world.pax8
    summary = next(iter(book.usage_summaries.values()))
    page = (await api.get(f"/subscriptions/{summary.subscription_id}/usage-summaries")).body
    assert summary.id in ids_of(page)
    one = (await api.get(f"/usage-summaries/{summary.id}")).body
    yesterday = date(2026, 11, 15)
    lines = (await api.get(f"/usage-summaries/{summary.id}/usage-lines", usageDate=yesterday.isoformat())).body
    assert len(lines["content"]) == len(summary.meters)
    assert all(line["usageDate"] == "2026-11-15" for line in lines["content"])
    line = lines["content"][0]
    assert line["currentCharges"] == pytest.approx(line["partnerTotal"] + line["currentProfit"], abs=0.005)
    month_charges = 0.0
    for day in range(1, 16):
        month_charges += sum(row["currentCharges"] for row in (await api.get(
            f"/usage-summaries/{summary.id}/usage-lines", usageDate=f"2026-11-{day:02d}")).body["content"])
    assert one["currentCharges"] == pytest.approx(month_charges, abs=0.01)
    today = await api.get(f"/usage-summaries/{summary.id}/usage-lines", usageDate=TODAY.isoformat())
    assert today.body["content"] == []  # today's usage is not in yet
    assert (await api.get(f"/usage-summaries/{summary.id}/usage-lines")).status == 400  # usageDate is required
    seats = next(s for s in book.subscriptions.values() if not book.products[s.product_id].usage_based)
    assert (await api.get(f"/subscriptions/{seats.id}/usage-summaries")).body["content"] == []


def ids_of(page: dict) -> list[str]:
    return [row["id"] for row in page["content"]]


# --- invoices ----------------------------------------------------------------------------------------------
async def test_invoices_are_released_monthly_and_filtered(api, shared_world):
    invoices = (await api.get("/invoices")).body["content"]
    assert [i["invoiceDate"] for i in invoices] == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert [i["status"] for i in invoices] == ["Paid", "Paid", "Paid"]  # due on the 15th; today is the 16th
    assert all(i["balance"] == 0 and i["total"] > 0 for i in invoices)
    latest = invoices[-1]
    assert latest["dueDate"] == "2026-11-15"
    ranged = (await api.get("/invoices", invoiceDateRangeStart="2026-10-01", invoiceDateRangeEnd="2026-10-31")).body
    assert [i["invoiceDate"] for i in ranged["content"]] == ["2026-10-01"]
    assert [i["invoiceDate"] for i in (await api.get("/invoices", sort="invoiceDate,desc")).body["content"]][0] == \
        "2026-11-01"
    assert (await api.get("/invoices", status="Void")).body["content"] == []
    assert (await api.get(f"/invoices/{latest['id']}")).body == latest
    assert (await api.get("/invoices/57328a3c-6e95-493c-ad2f-e33b896378c7")).status == 404


async def test_invoice_items_add_up_to_the_invoice(api):
    invoice = (await api.get("/invoices")).body["content"][-1]
    items = await api.all_pages(f"/invoices/{invoice['id']}/items")
    assert items and sum(i["amountDue"] for i in items) == pytest.approx(invoice["total"], abs=0.01)
    for item in items:
        assert item["subTotal"] == pytest.approx(item["quantity"] * item["price"], abs=0.01) \
            or item["type"] == "prorate"
        assert item["subscriptionId"] and item["companyName"]
    assert {i["type"] for i in items} <= {"subscription", "prorate"}
    assert (await api.get("/invoices/57328a3c-6e95-493c-ad2f-e33b896378c7/items")).status == 404


async def test_draft_items_preview_next_months_invoice(api, shared_world):
    draft = await api.all_pages("/invoices/draftItems")
    assert draft and all("id" not in item for item in draft)
    assert {i["startPeriod"][:7] for i in draft if i["type"] == "subscription" and i["term"] == "Monthly"} == \
        {"2026-12"}
    assert all(i["term"] != "Arrears" for i in draft)  # usage billed in arrears is left out
    current = await api.all_pages("/invoices/draftItems", monthOffset=0)
    invoice = (await api.get("/invoices")).body["content"][-1]
    released = await api.all_pages(f"/invoices/{invoice['id']}/items")
    assert sorted((i["subscriptionId"], i["type"], i["quantity"]) for i in current) == \
        sorted((i["subscriptionId"], i["type"], i["quantity"]) for i in released if i["term"] != "Arrears")
    company = draft[0]["companyId"]
    assert {i["companyId"] for i in await api.all_pages("/invoices/draftItems", companyId=company)} == {company}
    invalid = await api.get("/invoices/draftItems", monthOffset=2)
    assert invalid.status == 422
    assert (await api.get("/invoices/draftItems", companyId="7e338a9b-7bf5-4489-ad0a-59f5e664be19")).status == 404


async def test_unknown_paths_and_methods_speak_pax8(api):
    missing = await api.get("/orders/8f72220b")
    assert missing.status == 404 and missing.body["type"] == "NOT_FOUND"
    wrong = await api.call("DELETE", "/companies")
    assert wrong.status == 405


async def test_an_invoice_is_unpaid_until_its_due_date(aiohttp_client):
    api = await connect(aiohttp_client, small_world(seed=5, today=date(2026, 12, 6)))
    invoices = (await api.get("/invoices", sort="invoiceDate,desc")).body["content"]
    latest = invoices[0]
    assert (latest["invoiceDate"], latest["status"]) == ("2026-12-01", "Unpaid")
    assert latest["balance"] == latest["total"] > 0
    assert [i["status"] for i in invoices[1:]] == ["Paid", "Paid"]
    assert (await api.get("/invoices", status="Unpaid")).body["content"] == [latest]
    before_release = await connect(aiohttp_client, small_world(seed=5, today=date(2026, 12, 4)))
    assert [i["invoiceDate"] for i in (await before_release.get("/invoices")).body["content"]][-1] == "2026-11-01"
