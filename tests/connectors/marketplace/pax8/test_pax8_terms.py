"""Pax8's terms drive the same policies as Ingram's: an NCE annual commitment (billed monthly or annually) holds a
decrease for a person and dates it at the commitment's end; a monthly subscription does neither; several
subscriptions of one product stay apart. Pure: Pax8's JSON (shapes from the partner spec) read by the
connector's records, then the domain's own rules."""

from __future__ import annotations

from datetime import date

import pytest

from bot.connectors.errors import MalformedReplyError
from bot.connectors.marketplace.pax8.records import error_message, moment, subscription
from bot.domain.approval_policy import ApprovalPolicy, hold_reason
from bot.domain.enums import DecreaseTiming, SubscriptionStatus, Term
from bot.domain.levelling import target_units
from bot.domain.proration import effective_date

TODAY = date(2026, 11, 16)


def pax8_subscription(**changes) -> dict:
    body = {"id": "6b1f6c3e-0f55-4a47-9c39-1f2d2f0f3a11", "companyId": "c0a80101-0000-4000-8000-000000000001",
            "productId": "p0a80101-0000-4000-8000-000000000002", "quantity": 20,
            "startDate": "2026-03-10T00:00:00.000Z", "createdDate": "2026-03-09", "updatedDate":
            "2026-10-01T13:20:13.153-0700", "billingStart": "2026-03-10", "status": "Active", "price": 22,
            "partnerCost": 18.5, "currencyCode": "USD", "productName": "Microsoft 365 Business Premium",
            "billingTerm": "Monthly"}
    body.update(changes)
    return body


NCE = {"commitmentTerm": {"id": "1f8e0000-0000-4000-8000-000000000003", "term": "1-Year",
                          "endDate": "2027-03-10T00:00:00.000Z"}}


@pytest.mark.parametrize("billing_term, term", [("Monthly", Term.other), ("Annual", Term.annual)])
def test_an_nce_annual_commitment_holds_a_decrease_until_its_end(billing_term, term):
    read = subscription(pax8_subscription(billingTerm=billing_term, **NCE))
    assert read.term is term and read.end_date == date(2027, 3, 10) and read.start_date == date(2026, 3, 10)
    when = effective_date(delta=-5, today=TODAY, term=read.term, anchor=read.start_date,
                          decrease_timing=DecreaseTiming.commitment_end, term_end=read.end_date)
    assert when == date(2027, 3, 10)  # the anniversary, which is the commitment's end
    assert hold_reason(ApprovalPolicy(), units_from=20, units_to=15, prorated_amount=None, term=read.term)
    # an increase is never held for being committed, and takes effect today
    assert hold_reason(ApprovalPolicy(), units_from=20, units_to=25, prorated_amount=None, term=read.term) is None
    assert effective_date(delta=5, today=TODAY, term=read.term, anchor=read.start_date,
                          decrease_timing=DecreaseTiming.commitment_end, term_end=read.end_date) == TODAY


def test_a_monthly_subscription_is_not_committed():
    read = subscription(pax8_subscription())
    assert read.term is Term.monthly and read.end_date is None
    assert hold_reason(ApprovalPolicy(), units_from=20, units_to=15, prorated_amount=None, term=read.term) is None
    assert effective_date(delta=-5, today=TODAY, term=read.term, anchor=read.start_date,
                          decrease_timing=DecreaseTiming.commitment_end) == date(2026, 12, 1)


@pytest.mark.parametrize("status, billing_term, count, level", [
    ("Active", "Monthly", 20, SubscriptionStatus.active),
    ("PendingCancel", "Monthly", 20, SubscriptionStatus.active),
    ("Trial", "Trial", 0, SubscriptionStatus.pending),
    ("Active", "Trial", 0, SubscriptionStatus.active),
    ("PendingManual", "Monthly", 0, SubscriptionStatus.pending),
    ("PendingActivation", "Monthly", 0, SubscriptionStatus.pending),
    ("Cancelled", "Monthly", 0, SubscriptionStatus.cancelled),
    ("Converted", "Trial", 0, SubscriptionStatus.expired),
])
def test_the_count_is_what_pax8_bills(status, billing_term, count, level):
    read = subscription(pax8_subscription(status=status, billingTerm=billing_term))
    (resource,) = read.resources
    assert (resource.total, read.status) == (count, level)
    assert target_units(marketplace_total=resource.total, subscription_status=read.status) == count


def test_two_subscriptions_of_one_product_are_two_resources_never_summed():
    first = subscription(pax8_subscription(id="a1", quantity=10, **NCE))
    second = subscription(pax8_subscription(id="a2", quantity=3))
    assert first.resources[0].external_id == second.resources[0].external_id  # the same product
    assert (first.external_id, first.resources[0].total) == ("a1", 10)
    assert (second.external_id, second.resources[0].total) == ("a2", 3)


def test_timestamps_in_every_spelling_pax8_uses():
    assert moment({"t": "2020-12-01T13:20:13.153-0700"}, "t").isoformat() == "2020-12-01T13:20:13.153000-07:00"
    assert moment({"t": "2020-12-03"}, "t").isoformat() == "2020-12-03T00:00:00+00:00"
    assert moment({"t": "2026-11-16T13:20:13Z"}, "t").isoformat() == "2026-11-16T13:20:13+00:00"
    with pytest.raises(MalformedReplyError, match="date-time"):
        moment({"t": "yesterday"}, "t")


def test_a_quantity_that_is_not_a_count_makes_the_reply_malformed():
    with pytest.raises(MalformedReplyError, match="quantity"):
        subscription(pax8_subscription(quantity="lots"))


def test_errors_read_in_pax8s_words():
    import httpx

    partner = httpx.Response(422, json={"type": "UNPROCESSABLE_ENTITY", "message": "Validation failed",
                                        "instance": "/public/v1/subscriptions", "status": 422,
                                        "details": [{"type": "INVALID_PARAM", "message": "size must be between 1 "
                                                     "and 200", "status": 422}]})
    assert error_message(partner) == "Validation failed (size must be between 1 and 200)"
    token = httpx.Response(401, json={"error": "access_denied", "error_description": "Unauthorized"})
    assert error_message(token) == "access_denied: Unauthorized"
