"""The shapes the HaloPSA connector relies on, checked against SeatSync's notes on Halo's API (tests/specs/
halopsa-notes.md, a copy of shared/apis/halopsa.md) and against what the simulator serves over real HTTP.

Halo publishes its swagger per instance only, so the notes are the reference: every field the connector reads or
writes must be named in the notes' section for its object, or be one of the few fields taken from the models
generated from Halo's swagger (EXTRAS, each with its model); and the simulator must serve each one, with a JSON
type the connector can read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.sandbox.halopsa_world import ACME, ACME_INVOICE, M365_LINE

NOTES = (Path(__file__).parents[3] / "specs" / "halopsa-notes.md").read_text()

# object -> (the notes' section heading, fields the connector reads or writes)
USED = {
    "auth": ("## 1. Hosts, tenant, auth", ("tenant", "grant_type", "client_id", "client_secret", "scope",
                                          "access_token", "expires_in", "token_type", "auth_url")),
    "paging": ("## 2. Request conventions", ("pageinate", "page_size", "page_no", "record_count", "clients",
                                             "contracts", "invoices", "Retry-After")),
    "client": ("### 3.1 Client", ("id", "name", "inactive")),
    "contract": ("### 3.2 Contract", ("id", "client_id", "ref", "start_date", "end_date", "active")),
    "invoice": ("### 3.3 Recurring invoice", ("id", "client_id", "contract_id", "contract_ref", "lastcreated",
                                              "nextcreationdate", "period_start_date", "lines", "client_ids",
                                              "includelines")),
    "line": ("### 3.3 Recurring invoice", ("id", "ihid", "_itemid", "item_code", "item_shortdescription", "qty_order",
                                           "unit_price", "unit_cost", "enddate", "isinactive", "prorata_data",
                                           "quantity_users", "quantity_assets", "quantity_licences",
                                           "quantity_subscriptions", "_is_calculated_line")),
    "prorata": ("### 3.3 Recurring invoice", ("date", "quantity", "unitprice", "unitcost", "prorata_next_invoice")),
}
# not in the notes, found in the generated models (Angelic-Software/angelic, Models/**) or in a client's parameters
EXTRAS = {
    "line": {"item_internal_reference": "Models/Invoice/InvoiceDetail.cs (where the key is kept)"},
    "prorata": {"shortdescription": "Models/Invoice/InvoiceDetailProRata.cs",
                "longdescription": "Models/Invoice/InvoiceDetailProRata.cs"},
    "client": {"includeinactive": "homotechsual Get-HaloClient IncludeInactive (the simulator's reading)"},
}


def section(heading: str) -> str:
    start = NOTES.index(heading)
    following = re.search(r"\n#{2,3} ", NOTES[start + len(heading):])
    return NOTES[start: start + len(heading) + (following.start() if following else len(NOTES))]


def named(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w:]){re.escape(name)}(?!\w)", text) is not None


def test_every_field_the_connector_uses_is_in_the_notes() -> None:
    missing = {what: [name for name in names if not named(name, section(heading))]
               for what, (heading, names) in USED.items()}
    assert {what: names for what, names in missing.items() if names} == {}
    for what, extras in EXTRAS.items():
        for name in extras:
            assert not named(name, section(USED[what][0])), f"{name} is in the notes now: move it to USED"


async def test_the_simulator_serves_every_field_the_connector_reads(halo) -> None:
    client = halo.client()
    try:
        api = client.api
        clients = (await api.call("GET", "Client", operation="t", idempotent=True,
                                  params={"includeinactive": "true", "pageinate": "true", "page_size": 1})).json()
        contracts = (await api.call("GET", "ClientContract", operation="t", idempotent=True,
                                    params={"pageinate": "true", "page_size": 1})).json()
        invoices = (await api.call("GET", "RecurringInvoice", operation="t", idempotent=True,
                                   params={"client_ids": str(ACME), "includelines": "true", "pageinate": "true",
                                           "page_size": 10})).json()
    finally:
        await client.aclose()
    invoice = next(found for found in invoices["invoices"] if found["id"] == ACME_INVOICE)
    assert invoices["record_count"] == 2 and {found["client_id"] for found in invoices["invoices"]} == {ACME}
    line = next(ln for ln in invoice["lines"] if ln["id"] == M365_LINE)
    prorata = line["prorata_data"][0]
    served = {"client": clients["clients"][0], "contract": contracts["contracts"][0], "invoice": invoice,
              "line": line, "prorata": prorata}
    for what, record in served.items():
        wanted = [n for n in USED[what][1] if n not in ("client_ids", "includelines")] + [
            n for n in EXTRAS.get(what, {}) if n != "includeinactive"]
        assert [name for name in wanted if name not in record] == [], what
    assert isinstance(invoice["id"], int) and invoice["id"] < 0  # signed ids, as Halo has them
    assert all(isinstance(line[n], int | float) for n in ("qty_order", "unit_price", "unit_cost", "_itemid"))
    assert all(isinstance(line[n], list) for n in ("prorata_data", "quantity_licences", "quantity_subscriptions"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", invoice["nextcreationdate"])


async def test_the_token_request_and_reply_have_the_notes_shape(halo) -> None:
    creds = halo.world.credentials
    async with httpx.AsyncClient() as http:
        info = (await http.get(f"{halo.base_url}/api/authinfo")).json()
        reply = await http.post(f"{info['auth_url']}/token", params={"tenant": creds.halopsa_tenant},
                                data={"grant_type": "client_credentials", "client_id": creds.halopsa_client_id,
                                      "client_secret": creds.halopsa_client_secret, "scope": "all"})
    body = reply.json()
    assert reply.status_code == 200 and {"access_token", "token_type", "expires_in"} <= set(body)
    assert body["expires_in"] == 3600 and json.dumps(body).count(creds.halopsa_client_secret) == 0
