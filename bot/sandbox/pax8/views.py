"""The Pax8 book in the partner API's shapes (spec components.schemas; shared/apis/pax8.md 4).

Choices where the spec's examples disagree or are silent:
- timestamps are RFC 3339 with milliseconds and `Z` ("2026-11-16T13:20:13.153Z"); the examples also
  show "-0700" offsets and bare dates, which a client must parse too, but the spec types them
  `date-time`. `billingStart`, invoice and usage dates are `yyyy-MM-dd`.
- money is a JSON number, as in every example; prices are per unit per month (see `book`), an
  invoice line's per unit of its period.
- `commitmentTerm` appears only on a subscription with a commitment (Pax8's CLI: monthly
  subscriptions carry none); `endDate` only once an end is set (a cancellation, a trial).
- `parentSubscriptionId` is never set (no add-ons in the sandbox); `altVendorSku` (deprecated) is not sent.
- the history lists snapshots newest first, each with its own `updatedDate`.
- `rateType` is "single", as both invoice examples send it (the spec's enum holds the values with
  their descriptions, "single (Single price for any quantity, same as flat)").
- an invoice carries `status` (in every example, not in the schema) and no `companyId` (it is the
  partner's invoice; its items name the companies).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.sandbox.pax8.book import Commitment, Pax8Book, Pax8Company, Pax8Product, Pax8Subscription, SubscriptionState
from bot.sandbox.pax8.catalogue import CURRENCY, unit_rates
from bot.sandbox.pax8.invoices import InvoiceLine, due_date, invoice_id, invoice_status
from bot.sandbox.pax8.usage import UsageLine


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def company_json(company: Pax8Company) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": company.id,
        "name": company.name,
        "address": {"street": company.street, "city": company.city, "stateOrProvince": company.state,
                    "postalCode": company.postal_code, "country": company.country},
        "phone": company.phone,
        "website": company.website,
    }
    if company.external_id is not None:
        body["externalId"] = company.external_id
    body.update({"billOnBehalfOfEnabled": company.bill_on_behalf_of_enabled,
                 "selfServiceAllowed": company.self_service_allowed,
                 "orderApprovalRequired": company.order_approval_required,
                 "status": company.status, "updatedDate": stamp(company.updated)})
    return body


def product_json(product: Pax8Product, *, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"id": product.id, "name": product.name, "vendorName": product.vendor_name,
                            "shortDescription": product.short_description, "sku": product.sku,
                            "vendorSku": product.vendor_sku, "requiresCommitment": product.requires_commitment}
    if detail:
        body["description"] = (f"{product.name} from {product.vendor_name}, sold per {product.unit_of_measure.lower()}"
                               f" through Pax8.")
    return body


def commitment_json(commitment: Commitment) -> dict[str, Any]:
    return {"id": commitment.id, "term": commitment.term, "autoRenew": True, "renewalWindowDaysBeforeTermEnd": 0,
            # NCE lets seats go down or the subscription be cancelled within 7 days of a (re)start
            "renewalWindowDaysAfterTermEnd": 7, "allowForQuantityIncrease": True,
            "allowForQuantityDecrease": commitment.allow_quantity_decrease,
            "allowForEarlyCancellation": commitment.allow_early_cancellation, "cancellationFeeApplied": True,
            "isTransferable": True}


def pricing_json(product: Pax8Product) -> list[dict[str, Any]]:
    offers: list[tuple[str, Commitment | None]] = [("Monthly", None)]
    for commitment in product.commitments:
        offers += [("Monthly", commitment), ("Annual", commitment)]
    plans = []
    for billing_term, commitment in offers:
        price, cost = unit_rates(product, billing_term, committed=commitment is not None)
        plan: dict[str, Any] = {"productId": product.id, "productName": product.name, "billingTerm": billing_term}
        if commitment is not None:
            plan.update({"commitmentTerm": commitment.term, "commitmentTermInMonths": commitment.months})
        plan.update({"type": "Flat", "unitOfMeasurement": product.unit_of_measure,
                     "rates": [{"partnerBuyRate": number(cost), "suggestedRetailPrice": number(price),
                                "startQuantityRange": 1, "chargeType": "Per Unit"}]})
        plans.append(plan)
    return plans


def subscription_json(book: Pax8Book, sub: Pax8Subscription, state: SubscriptionState | None = None) -> dict:
    state = state or sub.now
    product = book.products[sub.product_id]
    body: dict[str, Any] = {
        "id": sub.id,
        "companyId": sub.company_id,
        "productId": sub.product_id,
        "vendorSubscriptionId": sub.vendor_subscription_id,
        "vendorSkuId": product.vendor_sku,
        "quantity": state.quantity,
        "startDate": stamp(state.start_date),
    }
    if state.end_date is not None:
        body["endDate"] = stamp(state.end_date)
    body.update({
        "createdDate": stamp(sub.created),
        "updatedDate": stamp(state.updated),
        "billingStart": sub.billing_start.isoformat(),
        "status": state.status,
        "price": number(state.price),
        "currencyCode": CURRENCY,
        "partnerCost": number(state.partner_cost),
        "productName": product.name,
        "billingTerm": state.billing_term,
    })
    if sub.commitment is not None and state.commitment_end is not None:
        body["commitmentTerm"] = {"id": sub.commitment.id, "term": sub.commitment.term,
                                  "endDate": stamp(state.commitment_end)}
    return body


def history_json(book: Pax8Book, sub: Pax8Subscription) -> list[dict[str, Any]]:
    return [subscription_json(book, sub, state) for state in reversed(sub.history)]


def invoice_json(book: Pax8Book, month: date, lines: list[InvoiceLine], today: date, *, version_id: str | None = None,
                 credited: bool = False) -> dict[str, Any]:
    total = sum((line.cost_total for line in lines), Decimal("0"))
    status = "Credited" if credited else invoice_status(month, today)
    return {"id": version_id or invoice_id(book, month), "invoiceDate": month.isoformat(),
            "dueDate": due_date(month).isoformat(),
            "status": status, "total": number(total), "balance": number(total if status == "Unpaid" else Decimal(0)),
            "carriedBalance": 0, "currencyCode": CURRENCY, "partnerName": book.partner_name}


def invoice_item_json(book: Pax8Book, line: InvoiceLine, *, draft: bool = False) -> dict[str, Any]:
    company = book.companies[line.company_id]
    product = book.products[line.product_id]
    body: dict[str, Any] = {} if draft else {"id": line.id}
    body.update({"type": line.type, "purchaseOrderNumber": "N/A", "companyId": company.id})
    if company.external_id is not None:
        body["externalId"] = company.external_id
    body.update({
        "companyName": company.name,
        "startPeriod": line.start_period.isoformat(),
        "endPeriod": line.end_period.isoformat(),
        "quantity": line.quantity,
        "unitOfMeasure": product.unit_of_measure,
        "term": line.term,
        "sku": product.sku,
        "description": product.name,
        "rateType": "single",
        "chargeType": "per",
        "price": number(line.price),
        "subTotal": number(line.sub_total),
        "cost": number(line.cost),
        "costTotal": number(line.cost_total),
        "offeredBy": "Pax8",
        "billedByPax8": False,
        "total": number(line.sub_total),
        "productId": product.id,
        "productName": product.name,
        "billingFee": 0,
        "billingFeeRate": 0,
        "amountDue": number(line.cost_total),
        "currencyCode": CURRENCY,
        "salesTax": 0,
        "subscriptionId": line.subscription_id,
        "vendorName": product.vendor_name,
    })
    return body


def usage_summary_json(book: Pax8Book, summary, charges: Decimal, partner_total: Decimal) -> dict[str, Any]:
    product = book.products[summary.product_id]
    return {"id": summary.id, "companyId": summary.company_id, "subscriptionId": summary.subscription_id,
            "productId": summary.product_id, "resourceGroup": summary.resource_group,
            "vendorName": product.vendor_name, "currentCharges": number(charges), "currencyCode": CURRENCY,
            "partnerTotal": number(partner_total), "isTrial": False}


def usage_line_json(line: UsageLine) -> dict[str, Any]:
    return {"usageSummaryId": line.usage_summary_id, "usageDate": line.usage_date.isoformat(),
            "productName": line.product_name, "productId": line.product_id, "unitOfMeasure": line.unit_of_measure,
            "quantity": number(line.quantity), "currentCharges": number(line.charges),
            "currentProfit": number(line.charges - line.partner_total), "partnerTotal": number(line.partner_total),
            "unitPrice": number(line.unit_price), "currencyCode": CURRENCY, "isTrial": False}
