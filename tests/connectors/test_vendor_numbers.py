"""Absurd numbers in vendor replies, through each connector's parse functions: a price or cost no one can bill
with is dropped for that record (and logged, naming it), an absurd seat count is a malformed reply naming the
record. The values are what the replies decode to: JSON's Infinity, NaN and 1E+999999 are floats to Python's
json module (as httpx reads a body), XML-RPC doubles likewise; BA money is text."""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal

import pytest

from bot.connectors.errors import MalformedReplyError
from bot.connectors.marketplace.ingram import records as ingram_records
from bot.connectors.marketplace.odin import rows as odin_rows
from bot.connectors.psa.autotask import records as autotask_records
from bot.connectors.psa.connectwise import records as connectwise_records

TODAY = date(2026, 11, 16)
# as a JSON reply carries them; json.loads reads the first three as float infinities / NaN
JSON_NUMBERS = ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30", "-1"]


def decoded(number: str):
    return json.loads(f'{{"n": {number}}}')["n"]


def test_json_replies_decode_the_absurd_numbers_as_python_numbers():
    values = [decoded(n) for n in JSON_NUMBERS]
    assert [str(v) for v in values] == ["inf", "-inf", "nan", "inf", "1e+30", "-1"]


# --- Ingram ---------------------------------------------------------------------------------------------

def ingram_product(**fields):
    return {"mpn": "CFQ7TTC0LDPB:0001", "name": "Business Standard", "quantity": 5,
            "unitPrice": {"currency": "USD", "amount": "12.50"}, "unitCost": {"currency": "USD", "amount": "9.50"},
            **fields}


@pytest.mark.parametrize("number", JSON_NUMBERS)
def test_ingram_an_absurd_quantity_is_a_malformed_reply_naming_the_product(number):
    with pytest.raises(MalformedReplyError) as caught:
        ingram_records.resource("1001880", ingram_product(quantity=decoded(number)))
    assert "subscription 1001880: product 'CFQ7TTC0LDPB:0001': quantity is" in caught.value.vendor_message


@pytest.mark.parametrize("number", JSON_NUMBERS)
@pytest.mark.parametrize("as_text", [True, False], ids=["text", "number"])  # the spec says text; some send numbers
@pytest.mark.parametrize("field", ["unitPrice", "unitCost"])
def test_ingram_an_absurd_amount_is_dropped_for_that_product(number, as_text, field, caplog):
    amount = number if as_text else decoded(number)
    with caplog.at_level(logging.WARNING):
        resource = ingram_records.resource("1001880", ingram_product(**{field: {"currency": "USD",
                                                                                 "amount": amount}}))
    kept = {"unitPrice": resource.unit_cost, "unitCost": resource.unit_price}[field]
    dropped = {"unitPrice": resource.unit_price, "unitCost": resource.unit_cost}[field]
    assert dropped is None and kept is not None and resource.total == 5
    assert f"subscription 1001880: product 'CFQ7TTC0LDPB:0001': {field}" in caplog.text


def test_ingram_tiny_amounts_and_quantities_round_to_what_is_stored():
    resource = ingram_records.resource("1", ingram_product(quantity=0.0000001,
                                                           unitPrice={"currency": "USD", "amount": "0.0000001"}))
    assert (resource.total, resource.unit_price) == (1, Decimal("0.0000"))


# --- Odin (BA) ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e30, -1, "Infinity", "1E+999999",
                                   "NaN", "-1", "lots"])
@pytest.mark.parametrize("column", ["included", "additional"])
def test_odin_an_absurd_amount_of_seats_is_a_malformed_reply_naming_the_resource(value, column):
    included, additional = (value, 3) if column == "included" else (2, value)
    with pytest.raises(MalformedReplyError, match="resource 77: "):
        odin_rows.whole_amounts(included, additional, where="resource 77")


def test_odin_tiny_amounts_round_up_to_a_seat():
    assert odin_rows.whole_amounts(0, 0.0000001) == (0, 1)
    assert odin_rows.whole_amounts("2", "3.5") == (2, 4)


@pytest.mark.parametrize("value", ["USD Infinity", "USD 1E+999999", "USD NaN", "USD -1", "eur -3.5",
                                   "USD 100000000000000000000.00", float("inf"), float("nan"), 1e30, -1])
def test_odin_an_absurd_fee_is_dropped_and_logged(value, caplog):
    with caplog.at_level(logging.WARNING):
        assert odin_rows.money(value, where="resource 77: RecurringFee") == (None, None)
    assert "resource 77: RecurringFee" in caplog.text


def test_odin_a_tiny_fee_rounds_to_four_decimals():
    assert odin_rows.money("USD 0.0000001") == (Decimal("0.0000"), "USD")


# --- Autotask -------------------------------------------------------------------------------------------

def autotask_service(unit_row):
    return autotask_records.service_record({"id": 1, "contractID": 9, "serviceID": 30, "unitPrice": 5, "unitCost": 4},
                                           {30: {"id": 30, "name": "Defender", "isActive": True}}, unit_row)


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30"])
def test_autotask_absurd_units_are_a_malformed_reply_naming_the_row(number):
    with pytest.raises(MalformedReplyError, match="ContractServiceUnit 41: units is"):
        autotask_service({"id": 41, "units": decoded(number), "price": 5, "cost": 4})


def test_autotask_negative_units_are_read_as_they_are():
    """Levelling corrects them; only non-finite or gigantic counts are refused."""
    assert autotask_service({"id": 41, "units": -1, "price": 5, "cost": 4}).units == -1


@pytest.mark.parametrize("number", JSON_NUMBERS)
def test_autotask_an_absurd_price_reads_as_unknown(number, caplog):
    with caplog.at_level(logging.WARNING):
        record = autotask_service({"id": 41, "units": 3, "price": decoded(number), "cost": decoded(number)})
    # the unit row's figures are dropped; the contract service's own price and cost stand in
    assert (record.units, record.unit_price, record.unit_cost) == (3, Decimal(5), Decimal(4))
    assert "ContractServiceUnit 41: price" in caplog.text


def test_autotask_tiny_prices_round_to_four_decimals():
    assert autotask_service({"id": 41, "units": 3, "price": 0.0000001, "cost": 4}).unit_price == Decimal("0.0000")


# --- ConnectWise ----------------------------------------------------------------------------------------

def addition(**fields):
    return {"id": 501, "agreementId": 9, "product": {"id": 30, "identifier": "DEF"}, "quantity": 3,
            "unitPrice": 5.5, "unitCost": 4, **fields}


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30"])
def test_connectwise_an_absurd_quantity_is_an_unreadable_addition(number):
    with pytest.raises(MalformedReplyError, match="unreadable addition record .*quantity is"):
        connectwise_records.service_record(addition(quantity=decoded(number)), 9, {}, TODAY)


@pytest.mark.parametrize("number", JSON_NUMBERS)
@pytest.mark.parametrize("field", ["unitPrice", "unitCost"])
def test_connectwise_an_absurd_price_reads_as_unknown(number, field, caplog):
    with caplog.at_level(logging.WARNING):
        record = connectwise_records.service_record(addition(**{field: decoded(number)}), 9, {}, TODAY)
    assert record.units == 3
    assert (record.unit_price if field == "unitPrice" else record.unit_cost) is None
    assert f"addition 501: {field}" in caplog.text


def test_connectwise_tiny_numbers_round():
    record = connectwise_records.service_record(addition(quantity=0.0000001, unitPrice=0.0000001), 9, {}, TODAY)
    assert (record.units, record.unit_price) == (1, Decimal("0.0000"))
