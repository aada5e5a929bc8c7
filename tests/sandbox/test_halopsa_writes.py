"""The HaloPSA simulator's one write over real HTTP: `POST /api/RecurringInvoice` with an array body, the
safe readings (a line left out is deleted, a posted line replaces the stored one), pro-rata records, the
write log, refusals that change nothing, and the invoice run that bills pro-rata records."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from bot.sandbox.faults import FaultKnobs
from bot.sandbox.halopsa.invoicing import create_due_invoices
from tests.sandbox.halopsa_world import (
    ACME,
    ACME_INVOICE,
    ARCHIVE_LINE,
    BETA_INVOICE,
    BETA_LINE,
    BILLED_PRORATA,
    EXO,
    EXO_LINE,
    M365_LINE,
    MANUAL_PRORATA,
    OLD_INVOICE,
    OLD_LINE,
    ManualClock,
    bearer,
    build_app,
    build_world,
)

API = "/halopsa/api"


@pytest.fixture
async def halo(aiohttp_client):
    world = build_world()
    client = await aiohttp_client(build_app(world, FaultKnobs(), ManualClock()))
    client.world, client.auth = world, await bearer(client, world)
    return client


async def read(halo, invoice_id: int = ACME_INVOICE) -> dict:
    response = await halo.get(f"{API}/RecurringInvoice/{invoice_id}", headers=halo.auth)
    assert response.status == 200
    return await response.json()


async def post(halo, body, expected: int = 201):
    response = await halo.post(f"{API}/RecurringInvoice", json=body, headers=halo.auth)
    assert response.status == expected, await response.text()
    return await response.json()


def line_of(invoice: dict, line_id: int) -> dict:
    return next(line for line in invoice["lines"] if line["id"] == line_id)


def writes(halo) -> list[tuple]:
    return [(w.service_id, w.before, w.after, w.key, w.reference) for w in halo.world.write_log]


# --- updates -----------------------------------------------------------------------------------
async def test_re_posting_every_line_changes_one_quantity(halo) -> None:
    invoice = await read(halo)
    line_of(invoice, EXO_LINE)["qty_order"] = 8
    reply = await post(halo, [{"id": ACME_INVOICE, "lines": invoice["lines"]}])
    assert reply["id"] == ACME_INVOICE and line_of(reply, EXO_LINE)["qty_order"] == 8
    after = await read(halo)
    assert [(ln["id"], ln["qty_order"]) for ln in after["lines"]] == [(M365_LINE, 10), (EXO_LINE, 8), (ARCHIVE_LINE, 3)]
    assert [p["id"] for p in line_of(after, M365_LINE)["prorata_data"]] == [BILLED_PRORATA, MANUAL_PRORATA]
    assert line_of(after, ARCHIVE_LINE)["comment_1"] == "kept by hand"
    assert writes(halo) == [(EXO_LINE, 5, 8, None, f"{ACME_INVOICE}/{EXO_LINE}")]
    assert after["last_modified"] != invoice["last_modified"]


async def test_a_line_left_out_of_the_array_is_deleted(halo) -> None:
    invoice = await read(halo)
    await post(halo, [{"id": ACME_INVOICE, "lines": [ln for ln in invoice["lines"] if ln["id"] != EXO_LINE]}])
    assert [ln["id"] for ln in (await read(halo))["lines"]] == [M365_LINE, ARCHIVE_LINE]
    assert writes(halo) == [(EXO_LINE, 5, 0, None, f"{ACME_INVOICE}/{EXO_LINE}")]
    assert halo.world.halopsa.units(EXO_LINE) is None and halo.world.halopsa.units(M365_LINE) == 10


async def test_posting_only_the_changed_line_deletes_the_others(halo) -> None:
    invoice = await read(halo)
    changed = line_of(invoice, EXO_LINE) | {"qty_order": 6}
    await post(halo, [{"id": ACME_INVOICE, "lines": [changed]}])
    assert [ln["id"] for ln in (await read(halo))["lines"]] == [EXO_LINE]
    assert sorted(writes(halo)) == sorted([(EXO_LINE, 5, 6, None, f"{ACME_INVOICE}/{EXO_LINE}"),
                                           (M365_LINE, 10, 0, None, f"{ACME_INVOICE}/{M365_LINE}"),
                                           (ARCHIVE_LINE, 3, 0, None, f"{ACME_INVOICE}/{ARCHIVE_LINE}")])


async def test_a_posted_line_replaces_the_stored_one(halo) -> None:
    invoice = await read(halo)
    partial = [{"id": ln["id"], "qty_order": ln["qty_order"]} for ln in invoice["lines"]]
    partial[1] = {"id": EXO_LINE, "unit_price": 4.4, "_itemid": EXO}  # qty_order left out
    await post(halo, [{"id": ACME_INVOICE, "lines": partial}])
    after = await read(halo)
    exo, m365 = line_of(after, EXO_LINE), line_of(after, M365_LINE)
    assert exo["qty_order"] == 0 and exo["unit_price"] == 4.4 and exo["item_shortdescription"] == ""
    assert m365["unit_price"] == 0 and m365["prorata_data"] == [line_of(invoice, M365_LINE)["prorata_data"][0]]
    assert (EXO_LINE, 5, 0, None, f"{ACME_INVOICE}/{EXO_LINE}") in writes(halo)
    assert (M365_LINE, 10, 10, None, f"{ACME_INVOICE}/{M365_LINE}") in writes(halo)  # its manual pro-rata went


async def test_without_lines_the_lines_stay_and_the_header_changes(halo) -> None:
    await post(halo, [{"id": ACME_INVOICE, "internal_note": "[seatsync:note-1] checked", "total": 1}])
    after = await read(halo)
    assert after["internal_note"] == "[seatsync:note-1] checked" and len(after["lines"]) == 3
    assert after["total"] == 10 * 22 + 5 * 4.4 + 3 * 3 and writes(halo) == []


async def test_a_new_line_gets_an_id(halo) -> None:
    invoice = await read(halo)
    new = {"_itemid": EXO, "item_shortdescription": "Exchange Online (Plan 1)", "qty_order": 2, "unit_price": 4.4,
           "comment_2": "[seatsync:k-new]"}
    reply = await post(halo, [{"id": ACME_INVOICE, "lines": [*invoice["lines"], new]}])
    created = reply["lines"][-1]
    assert created["id"] > ARCHIVE_LINE and created["ihid"] == ACME_INVOICE and created["qty_order"] == 2
    assert writes(halo) == [(created["id"], 0, 2, "k-new", f"{ACME_INVOICE}/{created['id']}")]


async def test_several_invoices_in_one_array(halo) -> None:
    acme, beta = await read(halo), await read(halo, BETA_INVOICE)
    line_of(beta, BETA_LINE)["qty_order"] = 21
    reply = await post(halo, [{"id": ACME_INVOICE, "lines": acme["lines"]},
                              {"id": BETA_INVOICE, "lines": beta["lines"]}])
    assert [ri["id"] for ri in reply] == [ACME_INVOICE, BETA_INVOICE]
    assert writes(halo) == [(BETA_LINE, 20, 21, None, f"{BETA_INVOICE}/{BETA_LINE}")]


# --- pro-rata records and the key ----------------------------------------------------------------
def charge(key: str, quantity: float = 2, unit_price: float = 1.2) -> dict:
    return {"date": "2026-03-15", "quantity": quantity, "unitprice": unit_price, "unitcost": 0.9,
            "shortdescription": "Exchange Online (pro rata)", "longdescription": f"[seatsync:{key}] +2 seats",
            "prorata_next_invoice": True}


async def test_a_pro_rata_record_rides_with_the_quantity_and_keeps_the_key(halo) -> None:
    invoice = await read(halo)
    exo = line_of(invoice, EXO_LINE)
    exo["qty_order"] = 7
    exo["prorata_data"].append(charge("key-1"))
    await post(halo, [{"id": ACME_INVOICE, "lines": invoice["lines"]}])
    (record,) = line_of(await read(halo), EXO_LINE)["prorata_data"]
    assert record["id"] > MANUAL_PRORATA and record["invoicedetailid"] == EXO_LINE and not record["isinvoiced"]
    assert (record["date"], record["quantity"], record["unitprice"]) == ("2026-03-15T00:00:00", 2.0, 1.2)
    assert record["longdescription"] == "[seatsync:key-1] +2 seats" and record["client_id"] == ACME
    assert writes(halo) == [(EXO_LINE, 5, 7, "key-1", f"{ACME_INVOICE}/{EXO_LINE}")]


async def test_a_blind_retry_of_the_same_body_is_a_second_write_with_the_same_key(halo) -> None:
    invoice = await read(halo)
    exo = line_of(invoice, EXO_LINE)
    exo["qty_order"] = 7
    exo["prorata_data"].append(charge("key-2"))
    body = [{"id": ACME_INVOICE, "lines": invoice["lines"]}]
    first = line_of(await post(halo, copy.deepcopy(body)), EXO_LINE)["prorata_data"]
    await post(halo, copy.deepcopy(body))  # the reply was "lost", re-sent without reading first
    second = line_of(await read(halo), EXO_LINE)["prorata_data"]
    # the array replaced the first record (left out, not invoiced) with a new one: one charge, re-made
    assert len(first) == len(second) == 1 and first[0]["id"] != second[0]["id"]
    assert [(w[1], w[2], w[3]) for w in writes(halo)] == [(5, 7, "key-2"), (7, 7, "key-2")]


async def test_a_second_charge_echoing_the_first_bills_twice(halo) -> None:
    invoice = await read(halo)
    exo = line_of(invoice, EXO_LINE)
    exo["qty_order"] = 7
    exo["prorata_data"].append(charge("key-4"))
    await post(halo, [{"id": ACME_INVOICE, "lines": invoice["lines"]}])
    again = await read(halo)  # read, but the key it shows is not looked for
    line_of(again, EXO_LINE)["prorata_data"].append(charge("key-4"))
    await post(halo, [{"id": ACME_INVOICE, "lines": again["lines"]}])
    assert len(line_of(await read(halo), EXO_LINE)["prorata_data"]) == 2
    assert [(w[1], w[2], w[3]) for w in writes(halo)] == [(5, 7, "key-4"), (7, 7, "key-4")]


async def test_pro_rata_records_left_out_go_unless_invoiced(halo) -> None:
    invoice = await read(halo)
    line_of(invoice, M365_LINE)["prorata_data"] = []
    await post(halo, [{"id": ACME_INVOICE, "lines": invoice["lines"]}])
    assert [p["id"] for p in line_of(await read(halo), M365_LINE)["prorata_data"]] == [BILLED_PRORATA]
    assert writes(halo) == [(M365_LINE, 10, 10, None, f"{ACME_INVOICE}/{M365_LINE}")]


async def test_posted_values_of_an_existing_pro_rata_record_are_ignored(halo) -> None:
    invoice = await read(halo)
    line_of(invoice, M365_LINE)["prorata_data"][1]["quantity"] = 50
    await post(halo, [{"id": ACME_INVOICE, "lines": invoice["lines"]}])
    assert line_of(await read(halo), M365_LINE)["prorata_data"][1]["quantity"] == 2 and writes(halo) == []


# --- refusals ----------------------------------------------------------------------------------
def with_change(invoice: dict, line_id: int, **fields) -> list[dict]:
    lines = copy.deepcopy(invoice["lines"])
    line_of({"lines": lines}, line_id).update(fields)
    return [{"id": invoice["id"], "lines": lines}]


@pytest.mark.parametrize(("make_body", "says"), [
    (lambda inv: {"id": ACME_INVOICE, "lines": inv["lines"]}, "array"),
    (lambda inv: [], "array"),
    (lambda inv: [{"id": -999, "lines": inv["lines"]}], "-999 was not found"),
    (lambda inv: [{"lines": inv["lines"]}], "existing recurring invoice"),
    (lambda inv: [{"id": ACME_INVOICE, "lines": {"id": 1}}], "must be an array"),
    (lambda inv: with_change(inv, EXO_LINE, qty_order=-1), "qty_order must not be negative"),
    (lambda inv: with_change(inv, EXO_LINE, qty_order="many"), "qty_order must be a number"),
    (lambda inv: with_change(inv, EXO_LINE, qty_order=True), "qty_order must be a number"),
    (lambda inv: with_change(inv, EXO_LINE, unit_price=1e300), "unit_price must be a finite number"),
    (lambda inv: with_change(inv, EXO_LINE, id=BETA_LINE), f"line {BETA_LINE} is not a line of"),
    (lambda inv: with_change(inv, EXO_LINE, id=M365_LINE), "appears twice"),
    (lambda inv: with_change(inv, EXO_LINE, _itemid=99999), "_itemid 99999 is not an item"),
    (lambda inv: with_change(inv, EXO_LINE, startdate="next week"), "is not a date"),
    (lambda inv: with_change(inv, EXO_LINE, prorata_data=[{"quantity": 0, "unitprice": 1}]), "other than 0"),
    (lambda inv: with_change(inv, EXO_LINE, prorata_data=[{"quantity": 1}]), "unitprice is required"),
    (lambda inv: with_change(inv, EXO_LINE, prorata_data=[{"id": MANUAL_PRORATA}]), "is not on this line"),
    (lambda inv: with_change(inv, EXO_LINE, qty_order=9, isinactive=True), "has ended"),
])
async def test_a_refused_update_changes_nothing(halo, make_body, says) -> None:
    invoice = await read(halo)
    body = await post(halo, make_body(invoice), expected=400)
    assert body["message"] and any(says in error for error in body["errors"]), body
    assert await read(halo) == invoice and writes(halo) == []


async def test_one_bad_invoice_in_the_array_refuses_the_whole_array(halo) -> None:
    acme, old = await read(halo), await read(halo, OLD_INVOICE)
    line_of(acme, EXO_LINE)["qty_order"] = 9
    line_of(old, OLD_LINE)["qty_order"] = 1  # that line ended on 2025-12-31
    body = await post(halo, [{"id": ACME_INVOICE, "lines": acme["lines"]}, {"id": OLD_INVOICE, "lines": old["lines"]}],
                      expected=400)
    assert body["errors"] == [f"[1].lines[0]: line {OLD_LINE} has ended (enddate or isinactive); "
                              "its qty_order cannot change"]
    assert line_of(await read(halo), EXO_LINE)["qty_order"] == 5 and writes(halo) == []


async def test_nan_and_wrong_content_types_are_refused(halo) -> None:
    text = '[{"id": -94, "lines": [{"id": 24964, "qty_order": NaN}]}]'
    response = await halo.post(f"{API}/RecurringInvoice", data=text,
                               headers={**halo.auth, "Content-Type": "application/json"})
    assert response.status == 400 and "NaN" in (await response.json())["message"]
    response = await halo.post(f"{API}/RecurringInvoice", data="id=-94", headers={**halo.auth,
                               "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 415
    response = await halo.post(f"{API}/RecurringInvoice", data=" ", headers={**halo.auth,
                               "Content-Type": "application/json"})
    assert response.status == 400


async def test_numeric_strings_and_halos_null_date_are_accepted(halo) -> None:
    invoice = await read(halo)
    await post(halo, with_change(invoice, EXO_LINE, qty_order="6", enddate="1899-12-30T00:00:00"))
    exo = line_of(await read(halo), EXO_LINE)
    assert exo["qty_order"] == 6 and exo["enddate"] == "1899-12-30T00:00:00"


# --- the invoice run ---------------------------------------------------------------------------
async def test_the_next_invoice_bills_the_lines_and_the_pro_rata_due(halo) -> None:
    invoice = await read(halo)
    exo = line_of(invoice, EXO_LINE)
    exo["qty_order"] = 7
    exo["prorata_data"].append(charge("key-3", quantity=2, unit_price=1.2))
    await post(halo, [{"id": ACME_INVOICE, "lines": invoice["lines"]}])
    world = halo.world
    world.today = date(2026, 3, 31)
    assert create_due_invoices(world) == []
    world.today = date(2026, 4, 1)
    assert len(create_due_invoices(world)) == 2  # Acme's and Beta's
    listed = await (await halo.get(f"{API}/Invoice", params={"client_id": str(ACME)}, headers=halo.auth)).json()
    (created,) = [inv for inv in listed["invoices"] if inv["recurring_invoice_id"] == ACME_INVOICE]
    full = await (await halo.get(f"{API}/Invoice/{created['id']}", headers=halo.auth)).json()
    billed = [(ln["item_shortdescription"], ln["qty_order"], ln["unit_price"], ln["pro_rata_line_id"])
              for ln in full["lines"]]
    new_record = line_of(await read(halo), EXO_LINE)["prorata_data"][0]["id"]
    assert billed == [("Microsoft 365 Business Premium", 10.0, 22.0, 0), ("M365 (pro rata)", 2.0, 19.5, MANUAL_PRORATA),
                      ("Exchange Online (Plan 1)", 7.0, 4.4, 0), ("Exchange Online (pro rata)", 2.0, 1.2, new_record),
                      ("Archiving (free text)", 3.0, 3.0, 0)]
    assert full["startdate"] == "2026-04-01T00:00:00" and full["enddate"] == "2026-04-30T00:00:00"
    assert full["total"] == pytest.approx(220 + 39 + 30.8 + 2.4 + 9)
    after = await read(halo)
    assert after["nextcreationdate"] == "2026-05-01T00:00:00" and after["lastcreated"] == "2026-04-01T00:00:00"
    record = line_of(after, EXO_LINE)["prorata_data"][0]
    assert record["isinvoiced"] and record["invoiceheaderid"] == created["id"]
    # the ended Dropbox line bills nothing, so its recurring invoice makes no invoice
    assert not [inv for inv in listed["invoices"] if inv["recurring_invoice_id"] == OLD_INVOICE]
    world.today += timedelta(days=1)
    assert create_due_invoices(world) == [] and len(world.halopsa.invoices) == 2
