"""BA's value formats and fault decoding, without I/O."""

from __future__ import annotations

import base64
import xmlrpc.client
from datetime import date
from decimal import Decimal

import pytest

from bot.connectors.errors import MalformedReplyError, NotFoundError, RejectedError
from bot.connectors.marketplace.odin.rows import (
    CUSTOMER_SUBSCRIPTIONS,
    MY_CUSTOMERS,
    money,
    named_row,
    named_rows,
    subscription_status,
    term,
    unix_day,
    whole_amounts,
)
from bot.connectors.marketplace.odin.rpc import fault_error, fault_text
from bot.domain.enums import SubscriptionStatus, Term


@pytest.mark.parametrize(("value", "expected"), [
    ("USD 12.00", (Decimal("12.00"), "USD")),
    ("BRL 1,234.50", (Decimal("1234.50"), "BRL")),
    ("eur 3.5", (Decimal("3.5"), "EUR")),  # a negative fee is refused (tests/connectors/test_vendor_numbers.py)
    ("7.20", (Decimal("7.20"), None)),
    (12.5, (Decimal("12.5"), None)),
    (3, (Decimal("3"), None)),
    ("", (None, None)),
    (None, (None, None)),
    ("free", (None, None)),
])
def test_money_keeps_amount_and_currency(value, expected):
    assert money(value) == expected


def test_unix_timestamps_are_utc_days_and_zero_is_unset():
    assert unix_day({"StartDate": 1716940800}, "StartDate") == date(2024, 5, 29)
    assert unix_day({"StartDate": 1716940800 + 86399}, "StartDate") == date(2024, 5, 29)
    assert unix_day({"StartDate": 0}, "StartDate") is None
    assert unix_day({}, "StartDate") is None
    with pytest.raises(MalformedReplyError, match="StartDate should be a unix timestamp"):
        unix_day({"StartDate": "yesterday"}, "StartDate")


@pytest.mark.parametrize(("included", "additional", "expected"), [
    (0, 12, (0, 12)), (5, 2, (5, 2)), (2.0, 3.0, (2, 3)), (0.5, 0.5, (1, 0)), (1.2, 2.3, (2, 2)), (None, 4, (0, 4)),
])
def test_amounts_become_whole_units_rounding_the_sum_up(included, additional, expected):
    assert whole_amounts(included, additional) == expected
    assert sum(expected) >= (included or 0) + additional


def test_negative_amounts_are_malformed():
    with pytest.raises(MalformedReplyError):
        whole_amounts(-1, 3)


def test_status_codes_and_periods():
    assert [subscription_status(c) for c in (30, 40, 50, 60, 15)] == [
        SubscriptionStatus.active, SubscriptionStatus.suspended, SubscriptionStatus.expired,
        SubscriptionStatus.cancelled, SubscriptionStatus.pending]
    assert subscription_status(99) is SubscriptionStatus.pending
    assert term(1, 2) is Term.monthly
    assert term(12, 2) is Term.annual
    assert term(1, 3) is Term.annual
    assert term(3, 2) is Term.other
    assert term(30, 1) is Term.other


def test_rows_are_named_by_the_method_table():
    row = [1001880, "M365", 5001, "Plan", 50012, 1, 3, 0, 0, 30, 60, "PEMGATE", "a later column"]
    named = named_rows(CUSTOMER_SUBSCRIPTIONS, [[row]])[0]
    assert (named["SubscriptionID"], named["PeriodType"], named["ContainerName"]) == (1001880, 3, "PEMGATE")
    assert named_rows(MY_CUSTOMERS, [[[1000027]]]) == [{"AccountID": 1000027}]
    with pytest.raises(MalformedReplyError, match="a row has 3 fields, expected 12"):
        named_rows(CUSTOMER_SUBSCRIPTIONS, [[row[:3]]])
    with pytest.raises(MalformedReplyError, match="expected Result\\[0\\] to be a row"):
        named_row(CUSTOMER_SUBSCRIPTIONS, [])


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_faults_are_decoded_and_typed():
    missing = xmlrpc.client.Fault(-1, encoded("Account #5 does not exist."))
    assert fault_text(missing) == "Account #5 does not exist."
    assert isinstance(fault_error("AccountDetailsGet_API", missing), NotFoundError)
    unknown_method = xmlrpc.client.Fault(-1, encoded("Method 'X' is not found in container 'BM'."))
    assert isinstance(fault_error("X", unknown_method), RejectedError)
    assert isinstance(fault_error("X", xmlrpc.client.Fault(-32601, "requested method not found")), RejectedError)
    assert fault_text(xmlrpc.client.Fault(-1, "Plain text, not base64!")) == "Plain text, not base64!"
    assert fault_text(xmlrpc.client.Fault(-1, encoded("Répertoire \u00e9tendu"))) == "Répertoire \u00e9tendu"
    assert fault_text(xmlrpc.client.Fault(-1, encoded("Line one.\nLine two."))) == "Line one.\nLine two."
    # valid base64 that is not text stays as sent
    assert fault_text(xmlrpc.client.Fault(-1, "AAEC")) == "AAEC"
