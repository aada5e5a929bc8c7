"""World records as ConnectWise Manage 3.0 JSON (companies, agreements, additions, catalog items).

Field names follow the OpenAPI-derived models listed in shared/apis/connectwise.md B6. As the real
API does, fields whose value is null are left out of the JSON (observed by derpenstiltskin/
connectwise-powerbi issue #1: "the API will not return attributes if their value is null").
Money is a JSON number. Dates are `YYYY-MM-DDTHH:MM:SSZ`. References are
`{"id":..,"identifier"/"name":..,"_info":{"<name>_href":..}}`; `_info` carries `lastUpdated`
and `updatedBy`.

Each `*_SCHEMA` maps every path a caller can use in `conditions`, `orderBy` and `fields` to its
kind; `lastUpdated` is accepted in conditions as a short name for `_info/lastUpdated`.
`CHILD_SCHEMAS` names the array children `childConditions` may filter (a company's `types`, as in the
guide's `types/name="Client"` use; the other entities served have no array of children), and
`CUSTOM_FIELD_SCHEMA` the members of a `customFields` entry that `customFieldConditions` may test
(`caption="Field" and value != null`, the form the guide gives). The custom fields each entity has are
`CUSTOM_FIELDS` (a simulator choice: one Text field per entity, for the marketplace id an MSP keeps
there); an entry whose value is not set carries no `value`, like any null field.
Ids of the small setup tables the world does not model (company statuses, agreement types,
billing cycles) are derived from their names so they stay stable between requests.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.sandbox.connectwise_conditions import FieldKind
from bot.sandbox.world import (
    ConnectWiseAddition,
    ConnectWiseAgreement,
    ConnectWiseCompany,
    ConnectWiseProduct,
)

UPDATED_BY = "SeatSyncSandbox"
ALIASES = {"lastUpdated": "_info/lastUpdated"}
CENT = Decimal("0.01")

_INFO: dict[str, FieldKind] = {"_info/lastUpdated": "datetime", "_info/updatedBy": "string"}


def _reference(prefix: str, *names: str, href: str) -> dict[str, FieldKind]:
    schema: dict[str, FieldKind] = {f"{prefix}/id": "number"}
    schema.update({f"{prefix}/{name}": "string" for name in names})
    schema[f"{prefix}/_info/{href}"] = "string"
    return schema


COMPANY_SCHEMA: dict[str, FieldKind] = {
    "id": "number", "identifier": "string", "name": "string",
    **_reference("status", "name", href="status_href"),
    "deletedFlag": "boolean",
    **_INFO, "_info/agreements_href": "string",
}

AGREEMENT_SCHEMA: dict[str, FieldKind] = {
    "id": "number", "name": "string",
    **_reference("type", "name", href="type_href"),
    **_reference("company", "identifier", "name", href="company_href"),
    "agreementStatus": "string", "cancelledFlag": "boolean", "startDate": "datetime", "endDate": "datetime",
    "noEndingDateFlag": "boolean",
    **_reference("billingCycle", "name", href="billingCycle_href"),
    "prorateFlag": "boolean", "invoicingCycle": "string",
    **_INFO, "_info/additions_href": "string",
}

ADDITION_SCHEMA: dict[str, FieldKind] = {
    "id": "number",
    **_reference("product", "identifier", href="product_href"),
    "quantity": "number", "lessIncluded": "number", "unitPrice": "number", "unitCost": "number",
    "billCustomer": "string", "effectiveDate": "datetime", "cancelledDate": "datetime",
    "taxableFlag": "boolean", "serialNumber": "string", "invoiceDescription": "string", "description": "string",
    "uom": "string", "purchaseItemFlag": "boolean", "specialOrderFlag": "boolean", "agreementId": "number",
    "sequenceNumber": "number", "extPrice": "number", "extCost": "number", "margin": "number",
    "prorateCost": "number", "proratePrice": "number", "extendedProrateCost": "number",
    "extendedProratePrice": "number", "prorateCurrentPeriodFlag": "boolean", "agreementStatus": "string",
    **_INFO,
}

CATALOG_SCHEMA: dict[str, FieldKind] = {
    "id": "number", "identifier": "string", "description": "string", "customerDescription": "string",
    "inactiveFlag": "boolean", "productClass": "string", "price": "number", "cost": "number",
    "recurringFlag": "boolean", "recurringRevenue": "number", "recurringCost": "number",
    **_INFO,
}

CHILD_SCHEMAS: dict[str, dict[str, FieldKind]] = {
    "company": {"types/id": "number", "types/name": "string"},
    "agreement": {}, "addition": {}, "catalog": {},
}
CUSTOM_FIELD_SCHEMA: dict[str, FieldKind] = {
    "id": "number", "caption": "string", "type": "string", "entryMethod": "string", "numberOfDecimals": "number",
    "value": "string",
}
# (id, caption) of each entity's custom fields, all Text fields typed in by hand
CUSTOM_FIELDS: dict[str, tuple[tuple[int, str], ...]] = {
    "company": ((11, "Marketplace Account"),),
    "agreement": ((21, "Marketplace Subscription"),),
    "addition": ((31, "Marketplace Resource"),),
}
_COMPANY_TYPE_IDS = {"Client": 1, "Prospect": 2, "Vendor": 3, "Partner": 4}

_STATUS_IDS = {"Active": 1, "Inactive": 2}
_BILLING_CYCLE_IDS = {"Monthly": 1, "Quarterly": 2, "SemiAnnual": 3, "Annual": 4, "Yearly": 4}


def setup_table_id(name: str, known: dict[str, int] | None = None) -> int:
    if known and name in known:
        return known[name]
    return 100 + zlib.crc32(name.encode()) % 900


def cw_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cw_date(value: date | None) -> str | None:
    return None if value is None else f"{value.isoformat()}T00:00:00Z"


def money(value: Decimal) -> float | int:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def drop_nulls(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (drop_nulls(v) if isinstance(v, dict) else v) for k, v in record.items() if v is not None}


def custom_fields_json(entity: str, values: dict[str, str]) -> list[dict[str, Any]]:
    return [drop_nulls({"id": field_id, "caption": caption, "type": "Text", "entryMethod": "EntryField",
                        "numberOfDecimals": 0, "value": values.get(caption)})
            for field_id, caption in CUSTOM_FIELDS[entity]]


def _info(last_updated: datetime, **hrefs: str) -> dict[str, Any]:
    return {"lastUpdated": cw_datetime(last_updated), "updatedBy": UPDATED_BY, **hrefs}


def company_json(company: ConnectWiseCompany, base: str) -> dict[str, Any]:
    status_id = setup_table_id(company.status, _STATUS_IDS)
    return drop_nulls({
        "id": company.id,
        "identifier": company.identifier,
        "name": company.name,
        "status": {"id": status_id, "name": company.status,
                   "_info": {"status_href": f"{base}/company/companies/statuses/{status_id}"}},
        "deletedFlag": company.deleted,
        "types": [{"id": setup_table_id(name, _COMPANY_TYPE_IDS), "name": name} for name in company.types],
        "customFields": custom_fields_json("company", company.custom_fields),
        "_info": _info(company.last_updated,
                       agreements_href=f"{base}/finance/agreements?conditions=company/id={company.id}"),
    })


def company_reference(company: ConnectWiseCompany | None, company_id: int, base: str) -> dict[str, Any]:
    return {"id": company_id,
            "identifier": company.identifier if company else None,
            "name": company.name if company else None,
            "_info": {"company_href": f"{base}/company/companies/{company_id}"}}


def agreement_json(agreement: ConnectWiseAgreement, company: ConnectWiseCompany | None, base: str) -> dict:
    type_id = setup_table_id(agreement.type_name)
    cycle_id = setup_table_id(agreement.billing_cycle, _BILLING_CYCLE_IDS)
    return drop_nulls({
        "id": agreement.id,
        "name": agreement.name,
        "type": {"id": type_id, "name": agreement.type_name,
                 "_info": {"type_href": f"{base}/finance/agreements/types/{type_id}"}},
        "company": company_reference(company, agreement.company_id, base),
        "agreementStatus": agreement.status,
        "cancelledFlag": agreement.cancelled,
        "startDate": cw_date(agreement.start_date),
        "endDate": cw_date(agreement.end_date),
        "noEndingDateFlag": agreement.end_date is None,
        "billingCycle": {"id": cycle_id, "name": agreement.billing_cycle,
                         "_info": {"billingCycle_href": f"{base}/finance/billingCycles/{cycle_id}"}},
        "prorateFlag": agreement.prorate,
        "invoicingCycle": "CalendarYear",
        "customFields": custom_fields_json("agreement", agreement.custom_fields),
        "_info": _info(agreement.last_updated, additions_href=f"{base}/finance/agreements/{agreement.id}/additions"),
    })


def catalog_json(product: ConnectWiseProduct, base: str) -> dict[str, Any]:
    return drop_nulls({
        "id": product.id,
        "identifier": product.identifier,
        "description": product.description,
        "customerDescription": product.description,
        "inactiveFlag": product.inactive,
        "productClass": product.product_class,
        "price": money(product.price),
        "cost": money(product.cost),
        "recurringFlag": product.product_class == "Agreement",
        "recurringRevenue": money(product.price),
        "recurringCost": money(product.cost),
        "_info": _info(product.last_updated),
    })


def addition_json(
    addition: ConnectWiseAddition, agreement: ConnectWiseAgreement | None, product: ConnectWiseProduct | None,
    figures: dict[str, Decimal], base: str,
) -> dict[str, Any]:
    """`figures` holds the computed money fields (see connectwise_additions.addition_figures)."""
    extra = addition.extra_fields
    return drop_nulls({
        "id": addition.id,
        "product": {"id": addition.product_id, "identifier": product.identifier if product else None,
                    "_info": {"product_href": f"{base}/procurement/catalog/{addition.product_id}"}},
        "quantity": addition.quantity,
        "lessIncluded": addition.less_included,
        "unitPrice": money(addition.unit_price),
        "unitCost": money(addition.unit_cost),
        "billCustomer": addition.bill_customer,
        "effectiveDate": cw_date(addition.effective_date),
        "cancelledDate": cw_date(addition.cancelled_date),
        "taxableFlag": extra.get("taxableFlag", False),
        "serialNumber": extra.get("serialNumber"),
        "invoiceDescription": addition.invoice_description or None,
        "description": addition.description or None,
        "uom": extra.get("uom"),
        "purchaseItemFlag": extra.get("purchaseItemFlag", False),
        "specialOrderFlag": extra.get("specialOrderFlag", False),
        "agreementId": addition.agreement_id,
        "sequenceNumber": extra.get("sequenceNumber"),
        **{name: money(value) for name, value in figures.items()},
        "prorateCurrentPeriodFlag": addition.prorate_current_period,
        "agreementStatus": agreement.status if agreement else None,
        "customFields": custom_fields_json("addition", addition.custom_fields),
        "_info": _info(addition.last_updated),
    })
