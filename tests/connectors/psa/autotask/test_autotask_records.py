"""Pure pieces of the Autotask connector: record mapping, unit-row choice, error texts (no I/O)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from bot.connectors.errors import MalformedReplyError
from bot.connectors.psa.autotask.http import autotask_error_message, is_generic_failure
from bot.connectors.psa.autotask.posting import adjustment_body, note_body, note_marker
from bot.connectors.psa.autotask.records import (
    batches,
    contract_record,
    contract_status,
    external_ids,
    rows_in_effect,
    service_record,
)
from bot.domain.enums import ContractStatus
from bot.domain.records import AdjustmentRequest

TODAY = date(2026, 11, 16)


@pytest.mark.parametrize("status, end, expected", [
    (1, date(2027, 1, 1), ContractStatus.active),
    (0, date(2027, 1, 1), ContractStatus.inactive),
    (0, date(2026, 11, 15), ContractStatus.expired),
    (1, date(2026, 11, 15), ContractStatus.expired),
    (1, TODAY, ContractStatus.active),
    (1, None, ContractStatus.active),
])
def test_contract_status(status, end, expected):
    assert contract_status(status, end, TODAY) is expected


def test_contract_dates_are_read_as_days():
    record = contract_record({"id": 5, "companyID": 7, "contractName": " M365 ", "status": 1,
                              "startDate": "2026-01-01T00:00:00Z", "endDate": "2026-12-31T00:00:00.000Z"}, TODAY)
    assert (record.name, record.start_date, record.end_date, record.prorates) == (
        "M365", date(2026, 1, 1), date(2026, 12, 31), None)


def test_on_a_split_day_the_row_that_started_last_wins():
    rows = [
        {"id": 11, "contractServiceID": 1, "startDate": "2026-11-01T00:00:00Z", "endDate": "2026-11-16T00:00:00Z",
         "units": 5, "price": 10.0, "cost": 8.0},
        {"id": 12, "contractServiceID": 1, "startDate": "2026-11-16T00:00:00Z", "endDate": "2026-11-30T00:00:00Z",
         "units": 9, "price": 11.5, "cost": 8.0},
        {"id": 21, "contractServiceID": 2, "startDate": "2026-11-01T00:00:00Z", "endDate": "2026-11-30T00:00:00Z",
         "units": 3, "price": None, "cost": None},
    ]
    chosen = rows_in_effect(rows)
    assert {key: row["units"] for key, row in chosen.items()} == {1: 9, 2: 3}
    link = {"id": 1, "contractID": 4, "serviceID": 30, "unitPrice": 10.0, "unitCost": 8.0}
    record = service_record(link, {30: {"id": 30, "name": "Defender", "isActive": False}}, chosen[1])
    assert (record.units, record.unit_price, record.name, record.is_active) == (9, Decimal("11.5"), "Defender", False)
    fallback = service_record({**link, "id": 2, "invoiceDescription": "Backup"}, {}, chosen[2])
    assert (fallback.units, fallback.unit_price, fallback.name) == (3, Decimal("10.0"), "Backup")
    assert service_record({**link, "id": 3}, {}, None).units == 0


def test_records_without_ids_are_malformed():
    with pytest.raises(MalformedReplyError):
        rows_in_effect([{"id": 1, "units": 3}])


def test_ids_and_batches():
    assert external_ids(["5", " 7", "5", "x", "-1", ""]) == [5, 7]
    assert [len(b) for b in batches(range(1201), 500)] == [500, 500, 201]


@pytest.mark.parametrize("body, expected", [
    ({"errors": ["first", "second"]}, "first; second"),
    ({"errors": [{"message": "as an object"}]}, "as an object"),
    ({"Message": "No HTTP resource was found"}, "No HTTP resource was found"),
    ({"errors": []}, ""),
    (["not", "an", "object"], ""),
])
def test_error_messages(body, expected):
    assert autotask_error_message(httpx.Response(500, json=body)) == expected
    assert autotask_error_message(httpx.Response(500, text="<html>")) == ""


@pytest.mark.parametrize("message, generic", [
    ("Internal Server Error", True), ("", True), ("The operation has timed out.", True),
    ("Object reference not set to an instance of an object.", True),
    ("Contract 5 is inactive; service units cannot be adjusted.", False),
])
def test_generic_failures(message, generic):
    assert is_generic_failure(message) is generic


def test_write_bodies():
    request = AdjustmentRequest(idempotency_key="ss-abc", service_external_id="901", contract_external_id="77",
                                catalog_id="30", units_from=8, units_to=5, effective_date=date(2026, 12, 1),
                                unit_price=Decimal("12.50"), description="x" * 9000)
    body = adjustment_body(request, contract_id=77, service_id=30, contract_service_id=901)
    assert body == {"contractID": 77, "serviceID": 30, "contractServiceID": 901, "unitChange": -3,
                    "effectiveDate": "2026-12-01T12:00:00Z", "adjustedUnitPrice": 12.5}
    note = note_body(request, contract_id=77, adjustment_id=4444)
    assert note["description"].startswith(note_marker("ss-abc") + " xxx")
    assert note["description"].endswith("(ContractServiceAdjustment 4444: unitChange -3 on contract service 901, "
                                        "effective 2026-12-01)")
    assert len(note["description"]) <= 8000
