"""HaloPsaClient posts to the HaloPSA simulator over real HTTP: the new quantity with its pro-rata charge or credit
billed on the next invoice, the key Halo keeps, every other line untouched, a lost reply recognised by its key, the
token renewed under a write without writing twice, and what Halo (or SeatSync for it) refuses."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from decimal import Decimal

import pytest

from bot.connectors.errors import (
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RejectedError,
    UnreachableError,
)
from bot.connectors.psa.halopsa.vendor import explain_error
from bot.domain.records import AdjustmentRequest
from bot.sandbox.halopsa.invoicing import create_due_invoices
from bot.sync.failures import explain_failure
from tests.sandbox.halopsa_world import (
    ACME_INVOICE,
    ARCHIVE_LINE,
    BETA_INVOICE,
    BETA_LINE,
    EXO,
    EXO_LINE,
    M365_LINE,
    MANUAL_PRORATA,
    OLD_INVOICE,
    OLD_LINE,
    ManualClock,
)

TODAY = date(2026, 3, 15)  # the hand-built world's day; ACME's invoice billed March (1 Mar, next 1 Apr)


def change(line: int = EXO_LINE, invoice: int = ACME_INVOICE, *, units_from: int = 5, units_to: int = 8,
           key: str = "k-1", effective: date = TODAY, **more) -> AdjustmentRequest:
    return AdjustmentRequest(idempotency_key=key, service_external_id=str(line), contract_external_id=str(invoice),
                             catalog_id=None, units_from=units_from, units_to=units_to, effective_date=effective,
                             description=f"SeatSync: Exchange Online {units_from} -> {units_to}", **more)


async def read_invoice(client, invoice: int = ACME_INVOICE) -> dict:
    return await client.api.get_record("RecurringInvoice", invoice, operation="test.read")


def line_of(invoice: dict, line_id: int) -> dict:
    return next(line for line in invoice["lines"] if line["id"] == line_id)


@pytest.fixture
async def client(halo):
    connector = halo.client()
    yield connector
    await connector.aclose()


async def test_an_increase_posts_the_quantity_and_a_prorated_charge_for_the_next_invoice(halo, client) -> None:
    result = await client.post_adjustment(change())
    assert (result.psa_reference, result.units_after) == (f"{ACME_INVOICE}/{EXO_LINE}", 8)
    assert halo.writes() == [(EXO_LINE, 5, 8, "k-1")]
    exo = line_of(await read_invoice(client), EXO_LINE)
    assert exo["qty_order"] == 8 and exo["item_internal_reference"] == "[seatsync:k-1]"
    (record,) = exo["prorata_data"]
    # 3 seats for 15..31 March: 17 of March's 31 days, at 4.40 a seat a month (cost 3.60)
    assert (record["date"], record["quantity"], record["unitprice"], record["unitcost"]) == \
        ("2026-03-15T00:00:00", 3, 2.4129, 1.9742)
    assert record["prorata_next_invoice"] is True and record["isinvoiced"] is False
    assert record["longdescription"] == "[seatsync:k-1] SeatSync: Exchange Online 5 -> 8"
    assert record["shortdescription"] == "Exchange Online (Plan 1): 5 -> 8, pro rata 17 of 31 days"
    # the next invoice (1 April) bills 8 seats for April and the charge for March's rest, once
    halo.world.today = date(2026, 4, 1)
    (invoice,) = [i for i in create_due_invoices(halo.world) if i.recurring_invoice_id == ACME_INVOICE]
    billed = {(ln.recurring_line_id, ln.prorata_id): ln.quantity * ln.unit_price for ln in invoice.lines}
    assert billed[(EXO_LINE, None)] == Decimal("8") * Decimal("4.4")
    assert billed[(EXO_LINE, record["id"])].quantize(Decimal("0.01")) == Decimal("7.24")  # 3 x 4.40 x 17/31


async def test_a_decrease_posts_a_credit_and_a_price_from_the_request(halo, client) -> None:
    await client.post_adjustment(change(units_from=5, units_to=2, unit_price=Decimal("5"), unit_cost=Decimal("4")))
    exo = line_of(await read_invoice(client), EXO_LINE)
    assert (exo["qty_order"], exo["unit_price"], exo["unit_cost"]) == (2, 5.0, 4.0)
    (record,) = exo["prorata_data"]
    assert (record["quantity"], record["unitprice"], record["unitcost"]) == (-3, 2.7419, 2.1935)  # 17/31 of 5 and 4


@pytest.mark.parametrize(("invoice", "line", "request_changes"), [
    (ACME_INVOICE, EXO_LINE, {"prorate": False}),  # a dropped credit, or a contract that does not prorate
    (ACME_INVOICE, EXO_LINE, {"effective": date(2026, 4, 1)}),  # from the next invoice on: billed in full there
    (BETA_INVOICE, BETA_LINE, {"units_from": 20, "units_to": 25}),  # never invoiced: the first invoice bills it
], ids=["not-prorated", "next-period", "never-invoiced"])
async def test_no_pro_rata_record_when_none_is_due(halo, client, invoice, line, request_changes) -> None:
    result = await client.post_adjustment(change(line, invoice, **request_changes))
    stored = line_of(await read_invoice(client, invoice), line)
    assert stored["prorata_data"] == [] and result.units_after == stored["qty_order"]
    assert halo.writes()[0][3] == "k-1"  # the key travels in the write all the same (the line's reference)


async def test_every_other_line_stays_exactly_as_it_was(halo, client) -> None:
    before = await read_invoice(client)
    await client.post_adjustment(change(M365_LINE, units_from=10, units_to=12))
    after = await read_invoice(client)
    assert [line["id"] for line in after["lines"]] == [line["id"] for line in before["lines"]]
    for line_id in (EXO_LINE, ARCHIVE_LINE):
        assert line_of(after, line_id) == line_of(before, line_id)
    m365_before, m365_after = line_of(before, M365_LINE), line_of(after, M365_LINE)
    # its own billed and hand-added pro-rata records are kept; one more is SeatSync's
    assert m365_after["prorata_data"][:2] == m365_before["prorata_data"]
    assert [r["id"] for r in m365_after["prorata_data"]][1] == MANUAL_PRORATA and len(m365_after["prorata_data"]) == 3
    unchanged = {k: v for k, v in m365_before.items() if k not in (
        "qty_order", "net_amount", "total_price", "item_internal_reference", "prorata_data", "prorata_quantity",
        "prorata_next_invoice")}
    assert {k: m365_after[k] for k in unchanged} == unchanged
    assert halo.writes() == [(M365_LINE, 10, 12, "k-1")]  # one line changed, nothing deleted
    # the POST carried every line, each as read
    posted = halo.requests("POST", "/api/RecurringInvoice")[0]
    (body,) = json.loads(posted.content)
    assert set(body) == {"id", "lines"} and body["id"] == ACME_INVOICE
    assert [line["id"] for line in body["lines"]] == [M365_LINE, EXO_LINE, ARCHIVE_LINE]
    assert line_of(body, EXO_LINE) == line_of(before, EXO_LINE)


async def test_a_key_already_on_the_line_is_replaced_and_the_text_before_it_kept(halo, client) -> None:
    halo.world.halopsa.line(EXO_LINE).internal_reference = "PO 4471"
    await client.post_adjustment(change(key="k-1"))
    await client.post_adjustment(change(units_from=8, units_to=9, key="k-2"))
    exo = line_of(await read_invoice(client), EXO_LINE)
    assert exo["item_internal_reference"] == "PO 4471 [seatsync:k-2]"
    assert [w[3] for w in halo.writes()] == ["k-1", "k-2"]
    assert await client.find_posted(change(key="k-1")) is not None  # its pro-rata record still names it


async def test_a_lost_reply_is_recognised_by_its_key_and_not_posted_again(halo, client) -> None:
    halo.knobs.update({"drop_reply_rate": 1.0})
    with pytest.raises(UnreachableError) as lost:
        await client.post_adjustment(change())
    assert lost.value.outcome_unknown is True
    assert len(halo.requests("POST", "/api/RecurringInvoice")) == 1  # a write is never retried blindly
    halo.knobs.update({"drop_reply_rate": 0.0})
    found = await client.find_posted(change())
    assert found is not None and (found.psa_reference, found.units_after) == (f"{ACME_INVOICE}/{EXO_LINE}", 8)
    assert await client.find_posted(change(key="k-other")) is None
    assert await client.find_posted(change(BETA_LINE, BETA_INVOICE)) is None
    assert await client.find_posted(change(invoice=-5)) is None  # no such recurring invoice
    assert halo.writes() == [(EXO_LINE, 5, 8, "k-1")]


async def test_a_token_refused_under_a_write_is_renewed_and_the_write_lands_once(halo) -> None:
    client = halo.client(clock=ManualClock())
    try:
        await client.read_units([str(EXO_LINE)])
        halo.clock.now += 7200  # Halo expired the token; the client does not know yet
        result = await client.post_adjustment(change())
        assert result.units_after == 8 and halo.writes() == [(EXO_LINE, 5, 8, "k-1")]
        assert client.stats.by_status["401"] == 1
    finally:
        await client.aclose()


async def test_changes_to_lines_of_one_invoice_do_not_overwrite_each_other(halo, client) -> None:
    halo.knobs.update({"latency_ms": 20})
    await asyncio.gather(client.post_adjustment(change(EXO_LINE, key="k-exo")),
                         client.post_adjustment(change(M365_LINE, units_from=10, units_to=11, key="k-m365")))
    stored = await read_invoice(client)
    assert (line_of(stored, EXO_LINE)["qty_order"], line_of(stored, M365_LINE)["qty_order"]) == (8, 11)
    assert sorted(halo.writes()) == [(M365_LINE, 10, 11, "k-m365"), (EXO_LINE, 5, 8, "k-exo")]


async def test_an_ended_line_is_refused_before_any_write(halo, client) -> None:
    with pytest.raises(RejectedError, match="has ended") as refused:
        await client.post_adjustment(change(OLD_LINE, OLD_INVOICE, units_from=0, units_to=3))
    assert halo.requests("POST", "/api/RecurringInvoice") == [] and halo.writes() == []
    assert explain_error(refused.value).startswith("HaloPSA will not change the quantity of a recurring-invoice line")
    assert explain_failure(refused.value) == explain_error(refused.value)


async def test_a_line_halo_calculates_itself_is_not_driven_by_seatsync_too(halo, client, monkeypatch) -> None:
    from bot.sandbox.halopsa import shapes

    render = shapes.line_json
    monkeypatch.setattr(shapes, "line_json", lambda line, *args: render(line, *args) | (
        {"_is_calculated_line": True, "quantity_licences": [{"id": 1, "licence_id": 88}]}
        if line.id == EXO_LINE else {}))
    with pytest.raises(RejectedError, match="calculated by Halo"):
        await client.post_adjustment(change())
    assert halo.writes() == []


async def test_halos_own_refusal_reaches_the_billing_team_in_its_words(halo, client) -> None:
    del halo.world.halopsa.items[EXO]  # the line's item is gone from the catalogue: Halo refuses the whole update
    with pytest.raises(RejectedError) as refused:
        await client.post_adjustment(change(M365_LINE, units_from=10, units_to=11))
    assert refused.value.status == 400 and refused.value.outcome_unknown is False
    assert "The recurring invoice update was refused." in refused.value.vendor_message
    assert f"_itemid {EXO} is not an item" in refused.value.vendor_message
    assert explain_failure(refused.value).startswith("HaloPSA refused the change: The recurring invoice update")
    assert halo.writes() == []


async def test_a_deleted_line_or_invoice_is_not_found(halo, client) -> None:
    with pytest.raises(NotFoundError, match="has no line 424242"):
        await client.post_adjustment(change(424242))
    with pytest.raises(NotFoundError, match="was not found"):
        await client.post_adjustment(change(invoice=-5))


async def test_a_write_without_edit_scope_names_the_scope(halo) -> None:
    client = halo.client(scope="read:customers read:contracts read:invoices")
    try:
        with pytest.raises(PermissionDeniedError, match="needs the scope edit:invoices") as refused:
            await client.post_adjustment(change())
        assert "allow it in Halo (Configuration > Integrations > Halo API)" in explain_failure(refused.value)
    finally:
        await client.aclose()


async def test_an_unreadable_reply_to_a_write_leaves_the_outcome_unknown(halo, client) -> None:
    async def garble(response) -> None:
        if response.request.method == "POST" and "RecurringInvoice" in response.request.url.path:
            await response.aread()
            response._content = b"<html>proxy</html>"  # noqa: SLF001 - what a proxy in between could answer

    client.api.client.event_hooks["response"].append(garble)
    with pytest.raises(MalformedReplyError) as unknown:
        await client.post_adjustment(change())
    assert unknown.value.outcome_unknown is True
    assert await client.find_posted(change()) is not None


async def test_a_line_levelled_meanwhile_is_not_written_again(halo, client) -> None:
    halo.world.halopsa.line(EXO_LINE).quantity = Decimal(8)
    result = await client.post_adjustment(change())
    assert result.units_after == 8 and halo.requests("POST", "/api/RecurringInvoice") == []
    assert halo.writes() == []
