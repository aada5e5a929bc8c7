"""The HaloPSA simulator's reads over real HTTP: Halo's paging (`pageinate`, `page_size`, `page_no`,
`record_count`), filters, record shapes, negative recurring-invoice ids, routes and the generated MSP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.sandbox.faults import FaultKnobs
from bot.sandbox.halopsa.records import HaloItem
from tests.sandbox.halopsa_world import (
    ACME,
    ACME_INVOICE,
    ACME_M365,
    ACME_OLD,
    BETA,
    BETA_INVOICE,
    BILLED_PRORATA,
    GONE,
    M365_LINE,
    MANUAL_PRORATA,
    OLD_INVOICE,
    ManualClock,
    bearer,
    build_app,
    build_world,
)

API = "/halopsa/api"


@pytest.fixture
async def halo(aiohttp_client):
    world = build_world()
    for n in range(1, 1206):  # 1,208 items: past the largest page
        world.halopsa.items[1000 + n] = HaloItem(1000 + n, f"Filler item {n:04d}", f"F{n}", Decimal(1), Decimal(1))
    client = await aiohttp_client(build_app(world, FaultKnobs(), ManualClock()))
    client.world, client.auth = world, await bearer(client, world)
    return client


async def get(halo, path: str, **params):
    response = await halo.get(API + path, params={k: str(v) for k, v in params.items()}, headers=halo.auth)
    assert response.status == 200, await response.text()
    return await response.json()


# --- paging ------------------------------------------------------------------------------------
async def test_pages_to_the_floor_by_record_count(halo) -> None:
    first = await get(halo, "/Client", pageinate="true", page_size=1, page_no=1)
    assert first["record_count"] == 2 and [c["id"] for c in first["clients"]] == [ACME]
    second = await get(halo, "/Client", pageinate="true", page_size=1, page_no=2)
    assert [c["id"] for c in second["clients"]] == [BETA] and second["record_count"] == 2
    past = await get(halo, "/Client", pageinate="true", page_size=1, page_no=3)
    assert past == {"record_count": 2, "clients": []}


async def test_every_item_once_over_pages(halo) -> None:
    seen: list[int] = []
    page_no = 1
    while True:
        page = await get(halo, "/Item", pageinate="true", page_size=500, page_no=page_no)
        seen += [item["id"] for item in page["items"]]
        if page_no * 500 >= page["record_count"]:
            break
        page_no += 1
    assert page_no == 3 and seen == sorted(halo.world.halopsa.items)


async def test_page_size_is_cut_to_1000_silently(halo) -> None:
    page = await get(halo, "/Item", pageinate="true", page_size=5000)
    assert len(page["items"]) == 1000 and page["record_count"] == 1208
    default = await get(halo, "/Item", pageinate="true")
    assert len(default["items"]) == 50


async def test_without_pageinate_count_caps_and_defaults_to_100(halo) -> None:
    capped = await get(halo, "/Item", count=3)
    assert len(capped["items"]) == 3 and capped["record_count"] == 1208
    unpaged = await get(halo, "/Item", page_size=500, page_no=2)  # ignored without pageinate
    assert len(unpaged["items"]) == 100 and unpaged["items"][0]["id"] == min(halo.world.halopsa.items)


@pytest.mark.parametrize("params", [{"pageinate": "yes"}, {"pageinate": "true", "page_size": "0"},
                                    {"pageinate": "true", "page_no": "-1"}, {"count": "many"},
                                    {"client_id": "acme"}])
async def test_bad_paging_parameters_are_400(halo, params) -> None:
    response = await halo.get(f"{API}/RecurringInvoice", params=params, headers=halo.auth)
    assert response.status == 400 and (await response.json())["message"]


async def test_parameter_names_and_paths_ignore_case(halo) -> None:
    page = await get(halo, "/client", PageInate="TRUE", Page_Size=1)
    assert len(page["clients"]) == 1 and page["record_count"] == 2
    response = await halo.get(f"/halopsa/API/recurringINVOICE/{ACME_INVOICE}", headers=halo.auth)
    assert response.status == 200 and (await response.json())["id"] == ACME_INVOICE


async def test_order_and_orderdesc(halo) -> None:
    by_name = await get(halo, "/Client", order="name", orderdesc="true", includeinactive="true")
    assert [c["name"] for c in by_name["clients"]] == ["Gone Ltd", "Beta LLC", "Acme Mfg."]
    unknown = await get(halo, "/Client", order="nonsense")
    assert [c["id"] for c in unknown["clients"]] == [ACME, BETA]


# --- filters -----------------------------------------------------------------------------------
async def test_inactive_clients_only_when_asked(halo) -> None:
    assert GONE not in [c["id"] for c in (await get(halo, "/Client"))["clients"]]
    everyone = await get(halo, "/Client", includeinactive="true")
    assert [c["id"] for c in everyone["clients"]] == [ACME, BETA, GONE] and everyone["clients"][2]["inactive"]
    assert [c["id"] for c in (await get(halo, "/Client", search="beta"))["clients"]] == [BETA]


async def test_contracts_by_client_and_their_ends(halo) -> None:
    contracts = (await get(halo, "/ClientContract", client_id=ACME))["contracts"]
    assert [c["id"] for c in contracts] == [ACME_M365, ACME_OLD]
    live, ended = contracts
    assert live["end_date"] == "1899-12-30T00:00:00" and live["active"] and not live["expired"]
    assert ended["end_date"] == "2025-12-31T00:00:00" and ended["expired"] and not ended["active"]
    assert live["client_name"] == "Acme Mfg." and live["ref"] == "Microsoft 365 NCE - Annual"


async def test_recurring_invoices_by_client_contract_and_lines_on_request(halo) -> None:
    listed = await get(halo, "/RecurringInvoice", client_id=ACME)
    assert [ri["id"] for ri in listed["invoices"]] == [OLD_INVOICE, ACME_INVOICE] and listed["record_count"] == 2
    assert all("lines" not in ri for ri in listed["invoices"])
    with_lines = await get(halo, "/RecurringInvoice", contract_id=ACME_M365, includelines="true")
    (invoice,) = with_lines["invoices"]
    assert [ln["id"] for ln in invoice["lines"]] == [M365_LINE, M365_LINE + 1, M365_LINE + 2]
    both = await get(halo, "/RecurringInvoice", client_ids=f"{ACME},{BETA}")
    assert both["record_count"] == 3
    assert [ri["id"] for ri in (await get(halo, "/RecurringInvoice", search="beta"))["invoices"]] == [BETA_INVOICE]


# --- shapes ------------------------------------------------------------------------------------
async def test_recurring_invoice_has_a_negative_id_and_halos_line_fields(halo) -> None:
    invoice = await get(halo, f"/RecurringInvoice/{ACME_INVOICE}")
    assert invoice["id"] == -94 and invoice["is_recurring_invoice"] and invoice["contract_id"] == ACME_M365
    assert invoice["nextcreationdate"] == "2026-04-01T00:00:00" and invoice["lastcreated"] == "2026-03-01T00:00:00"
    assert (invoice["period_start_date"], invoice["period_end_date"]) == ("2026-03-01T00:00:00", "2026-03-31T00:00:00")
    assert invoice["total"] == 10 * 22 + 5 * 4.4 + 3 * 3
    line = invoice["lines"][0]
    assert (line["id"], line["ihid"], line["_itemid"], line["item_code"]) == (M365_LINE, -94, 702, "M365-BP")
    assert (line["qty_order"], line["unit_price"], line["unit_cost"], line["net_amount"]) == (10.0, 22.0, 18.5, 220.0)
    assert line["startdate"] == "2025-01-01T00:00:00" and line["enddate"] == "1899-12-30T00:00:00"
    assert line["recurring_invoice_id"] == -1 and line["recurring_invoice_quantity_type"] == 0
    assert line["prorata_next_invoice"] and line["prorata_quantity"] == 2.0
    billed, manual = line["prorata_data"]
    assert (billed["id"], billed["isinvoiced"], billed["invoiceheaderid"]) == (BILLED_PRORATA, True, 4100)
    assert (manual["id"], manual["isinvoiced"], manual["quantity"], manual["unitprice"]) == (
        MANUAL_PRORATA, False, 2.0, 19.5)
    assert manual["invoicedetailid"] == M365_LINE and manual["recurring_invoice_id"] == -94
    assert invoice["lines"][2]["_itemid"] == -1  # a free-text line


async def test_client_item_and_contract_records(halo) -> None:
    client = await get(halo, f"/Client/{ACME}")
    assert client["name"] == "Acme Mfg." and client["inactive"] is False and client["toplevel_name"]
    item = await get(halo, "/Item/702")
    assert (item["baseprice"], item["costprice"], item["supplier_part_code"]) == (22.0, 18.5, "M365-BP")
    assert item["recurringprice"] == 22.0 and item["isrecurringitem"]
    contract = await get(halo, f"/ClientContract/{ACME_OLD}")
    assert contract["expired"] is True


# --- routes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/RecurringInvoice/-999", 404), ("GET", "/Client/abc", 404), ("GET", "/Tickets", 404),
    ("GET", "/Client/1/sites", 404), ("DELETE", f"/Client/{ACME}", 405), ("POST", "/Client", 405),
    ("PUT", "/RecurringInvoice", 405), ("POST", f"/RecurringInvoice/{ACME_INVOICE}", 405),
])
async def test_unknown_records_routes_and_methods(halo, method, path, status) -> None:
    response = await halo.request(method, API + path, headers=halo.auth, json=[])
    assert response.status == status and (await response.json())["message"]
    if status == 405:
        assert response.headers["Allow"]


# --- the generated MSP -------------------------------------------------------------------------
async def test_serves_the_generated_msp(aiohttp_client, small_world) -> None:
    client = await aiohttp_client(build_app(small_world, FaultKnobs(), ManualClock()))
    headers = await bearer(client, small_world)
    halo = small_world.halopsa
    for path, key, stored in (("/Client", "clients", [c for c in halo.clients if not halo.clients[c].inactive]),
                              ("/ClientContract", "contracts", list(halo.contracts)),
                              ("/RecurringInvoice", "invoices", list(halo.recurring_invoices))):
        ids, page_no = [], 1
        while True:
            response = await client.get(API + path, params={"pageinate": "true", "page_size": "40",
                                                            "page_no": str(page_no)}, headers=headers)
            page = await response.json()
            ids += [row["id"] for row in page[key]]
            if page_no * 40 >= page["record_count"]:
                break
            page_no += 1
        assert ids == sorted(stored), path
    assert all(ri_id < -1 for ri_id in halo.recurring_invoices)
