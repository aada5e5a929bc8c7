"""Agreement additions in the ConnectWise simulator: validation, JSON-patch, money and proration.

Additions are how SeatSync bills seats in ConnectWise, so this is where the simulator is strict.

Bodies (POST/PUT: an addition object; PATCH: a JSON array of `{op, path, value}`, notes B5):
- Required on create/replace: `product` ({id} or {identifier}) and `billCustomer`
  (Billable|DoNotBill|NoCharge), else 400 InvalidObject with MissingRequiredField [spec NewAddition].
- PATCH ops are add/replace/remove on a top-level field, path with or without a leading "/",
  case-sensitive. The real API can answer a wrong path with a misleading 200 (notes B5); the
  simulator is stricter and answers 400 InvalidObject with an InvalidField error naming the path.
  Read-only fields (id, agreementId, extPrice, extCost, margin, the prorate* amounts,
  agreementStatus, _info) are refused the same way in a PATCH and ignored in POST/PUT bodies (so a
  GET-modify-PUT round trip works); keys the addition model does not have are refused.
- quantity and lessIncluded must be whole numbers >= 0 (the world counts seats). unitPrice and
  unitCost default to the catalog price/cost, effectiveDate to the world's today.
- Simulator choices, no public source: a Bundle-class or inactive product is refused
  (InvalidField on `product`); any write to an addition of a Cancelled or Expired agreement is
  refused (InvalidField on `agreement`); `prorateCurrentPeriodFlag: true` on an agreement whose
  `prorateFlag` is false is refused with InvalidField on `prorateCurrentPeriodFlag`, the shape the
  notes (B7) suggest.

Money (read-only, computed on every read):
- extPrice = unitPrice x (quantity - lessIncluded), extCost likewise, margin = extPrice - extCost.
- Proration applies only when the agreement has prorateFlag true. Periods are calendar months
  (the simulator reports invoicingCycle "CalendarYear"). A change "takes effect" on the
  addition's effectiveDate, or, for a later quantity change by PATCH/PUT, on the world's day of
  that change. When that day D is not the first of its month:
      factor               = (days from D to the month's last day, both included) / (days in month)
      proratePrice         = round(unitPrice x factor, 2)      prorateCost likewise
      extendedProratePrice = round(proratePrice x units, 2)    extendedProrateCost likewise
  where units is (quantity - lessIncluded) for a new addition and the net quantity change of the
  day (new - quantity before the day's first change; negative for a reduction) for a change.
  Otherwise all four are 0. Rounding is half-up to cents.

Write log: every POST and DELETE, and every PATCH/PUT that changes the billed units (quantity, or
0 once `cancelledDate` is set), calls `world.record_write("connectwise", id, before, after, key)`.
`key` is read from a `[seatsync:<key>]` marker in the description this request wrote (POST/PUT
always write it; a PATCH only when it touches `description`), so a stale key never labels a new
write.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.sandbox.connectwise_records import CENT, cw_date
from bot.sandbox.world import ConnectWiseAddition, ConnectWiseAgreement, ConnectWiseProduct, SandboxWorld

BILL_CUSTOMER = ("Billable", "DoNotBill", "NoCharge")
CLOSED_AGREEMENT = ("Cancelled", "Expired")
KEY_MARKER = re.compile(r"\[seatsync:([^\]\s]+)\]")

WRITABLE = (
    "product", "quantity", "lessIncluded", "unitPrice", "unitCost", "billCustomer", "effectiveDate",
    "cancelledDate", "description", "invoiceDescription", "prorateCurrentPeriodFlag",
)
EXTRA = {"taxableFlag": bool, "serialNumber": str, "uom": str, "purchaseItemFlag": bool,
         "specialOrderFlag": bool, "sequenceNumber": int}
READ_ONLY = (
    "id", "agreementId", "extPrice", "extCost", "margin", "prorateCost", "proratePrice", "extendedProrateCost",
    "extendedProratePrice", "agreementStatus", "billedQuantity", "_info",
    "customFields",  # a simulator choice: custom field values are set in the world, never written over the API
)


class InvalidAddition(Exception):
    """400 InvalidObject "addition object is invalid" with `errors` (ValidationError dicts)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


class MalformedBody(Exception):
    """400 for a body that is not the right JSON shape at all."""


def field_error(code: str, field: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message, "resource": "addition", "field": field}


# --- money -------------------------------------------------------------------------------------
def month_bounds(day: date) -> tuple[date, date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def addition_figures(addition: ConnectWiseAddition, agreement: ConnectWiseAgreement | None) -> dict[str, Decimal]:
    billable = max(addition.quantity - addition.less_included, 0)
    ext_price = addition.unit_price * billable
    ext_cost = addition.unit_cost * billable
    prorate_price = prorate_cost = ext_prorate_price = ext_prorate_cost = Decimal(0)
    starts, units = _prorated_change(addition, billable)
    first, last = month_bounds(starts)
    if agreement is not None and agreement.prorate and starts > first:
        factor = Decimal((last - starts).days + 1) / Decimal((last - first).days + 1)
        prorate_price = _cents(addition.unit_price * factor)
        prorate_cost = _cents(addition.unit_cost * factor)
        ext_prorate_price = _cents(prorate_price * units)
        ext_prorate_cost = _cents(prorate_cost * units)
    return {
        "extPrice": ext_price, "extCost": ext_cost, "margin": ext_price - ext_cost,
        "prorateCost": prorate_cost, "proratePrice": prorate_price,
        "extendedProrateCost": ext_prorate_cost, "extendedProratePrice": ext_prorate_price,
    }


def _prorated_change(addition: ConnectWiseAddition, billable: int) -> tuple[date, int]:
    changed_on = addition.quantity_changed_on
    if changed_on is not None and addition.quantity_before_change is not None and changed_on > addition.effective_date:
        return changed_on, addition.quantity - addition.quantity_before_change
    return addition.effective_date, billable


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- bodies ------------------------------------------------------------------------------------
def writable_view(addition: ConnectWiseAddition, product: ConnectWiseProduct | None) -> dict[str, Any]:
    """The addition's writable fields as API JSON: what a PATCH operates on."""
    view: dict[str, Any] = {
        "product": {"id": addition.product_id, "identifier": product.identifier if product else None},
        "quantity": addition.quantity,
        "lessIncluded": addition.less_included,
        "unitPrice": addition.unit_price,
        "unitCost": addition.unit_cost,
        "billCustomer": addition.bill_customer,
        "effectiveDate": cw_date(addition.effective_date),
        "cancelledDate": cw_date(addition.cancelled_date),
        "description": addition.description,
        "invoiceDescription": addition.invoice_description,
        "prorateCurrentPeriodFlag": addition.prorate_current_period,
    }
    view.update(addition.extra_fields)
    return view


def body_view(body: Any) -> dict[str, Any]:
    """A POST/PUT body reduced to the writable fields (read-only ones dropped, unknown ones refused)."""
    if not isinstance(body, dict):
        raise MalformedBody("The request body must be a JSON object (an addition)")
    unknown = [k for k in body if k not in WRITABLE and k not in EXTRA and k not in READ_ONLY]
    if unknown:
        raise InvalidAddition([field_error("InvalidField", k, f"{k} is not a field of addition") for k in unknown])
    return {k: v for k, v in body.items() if k not in READ_ONLY}


def apply_patch(view: dict[str, Any], operations: Any) -> tuple[dict[str, Any], set[str]]:
    """Apply a JSON-patch array to `view`; returns the new view and the top-level fields touched."""
    if not isinstance(operations, list):
        raise MalformedBody("A PATCH body must be a JSON array of operations like "
                            '[{"op": "replace", "path": "quantity", "value": 12}]')
    if not operations:
        raise MalformedBody("The PATCH body has no operations")
    result = dict(view)
    touched: set[str] = set()
    errors: list[dict[str, str]] = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise MalformedBody(f"Operation {index} must be an object with op, path and value")
        op = operation.get("op")
        path = operation["path"].removeprefix("/")
        if op not in ("add", "replace", "remove"):
            raise MalformedBody(f"Operation {index}: op must be add, replace or remove, got {op!r}")
        if "/" in path:
            errors.append(field_error("InvalidField", path, f"{path}: a PATCH path names a top-level field; "
                                      "replace the whole reference instead (e.g. path product, value {\"id\": 1})"))
        elif path in READ_ONLY:
            errors.append(field_error("InvalidField", path, f"{path} is read-only"))
        elif path not in WRITABLE and path not in EXTRA:
            errors.append(field_error("InvalidField", path, f"{path!r} is not a field of addition"))
        elif op == "remove":
            result[path] = None
            touched.add(path)
        elif "value" not in operation:
            raise MalformedBody(f"Operation {index} ({op} {path}) has no value")
        else:
            result[path] = operation["value"]
            touched.add(path)
    if errors:
        raise InvalidAddition(errors)
    return result, touched


def check_agreement_open(agreement: ConnectWiseAgreement) -> None:
    if agreement.status in CLOSED_AGREEMENT or agreement.cancelled:
        raise InvalidAddition([field_error(
            "InvalidField", "agreement",
            f"Agreement {agreement.id} is {agreement.status if agreement.status in CLOSED_AGREEMENT else 'Cancelled'}"
            "; its additions cannot be added, changed or deleted")])


def build_addition(
    view: dict[str, Any], *, world: SandboxWorld, agreement: ConnectWiseAgreement, addition_id: int,
    existing: ConnectWiseAddition | None,
) -> ConnectWiseAddition:
    """Validate `view` (API field names) and return the addition it describes; raises InvalidAddition."""
    errors: list[dict[str, str]] = []
    product = _product(view.get("product"), world, errors)
    bill_customer = view.get("billCustomer")
    if bill_customer is None:
        errors.append(field_error("MissingRequiredField", "billCustomer", "billCustomer is required."))
    elif bill_customer not in BILL_CUSTOMER:
        errors.append(field_error("InvalidField", "billCustomer",
                                  f"billCustomer must be one of {', '.join(BILL_CUSTOMER)}"))
    quantity = _whole(view, "quantity", errors)
    less_included = _whole(view, "lessIncluded", errors)
    unit_price = _money(view, "unitPrice", product.price if product else Decimal(0), errors)
    unit_cost = _money(view, "unitCost", product.cost if product else Decimal(0), errors)
    effective = _date(view, "effectiveDate", errors) or world.today
    cancelled = _date(view, "cancelledDate", errors)
    if cancelled is not None and cancelled < effective:
        errors.append(field_error("InvalidField", "cancelledDate", "cancelledDate cannot be before effectiveDate"))
    description = _text(view, "description", errors)
    invoice_description = _text(view, "invoiceDescription", errors)
    prorate_now = view.get("prorateCurrentPeriodFlag")
    if prorate_now is None:
        prorate_now = False
    elif not isinstance(prorate_now, bool):
        errors.append(field_error("InvalidField", "prorateCurrentPeriodFlag", "prorateCurrentPeriodFlag must be "
                                  "true or false"))
    elif prorate_now and not agreement.prorate:
        errors.append(field_error(
            "InvalidField", "prorateCurrentPeriodFlag",
            f"Agreement {agreement.id} is not set to prorate (prorateFlag is false), so an addition cannot "
            "bill a prorated amount in the current period"))
    extra = _extra(view, errors)
    if errors:
        raise InvalidAddition(errors)
    assert product is not None and quantity is not None and less_included is not None
    fresh = ConnectWiseAddition(
        id=addition_id, agreement_id=agreement.id, product_id=product.id, quantity=quantity,
        unit_price=unit_price, unit_cost=unit_cost, less_included=less_included, bill_customer=str(bill_customer),
        effective_date=effective, cancelled_date=cancelled, description=description,
        invoice_description=invoice_description, prorate_current_period=bool(prorate_now),
        last_updated=world.now(), extra_fields=extra,
    )
    if existing is not None:
        fresh = replace(_carry_quantity_change(existing, fresh, world.today), custom_fields=existing.custom_fields)
    return fresh


def _carry_quantity_change(old: ConnectWiseAddition, new: ConnectWiseAddition, today: date) -> ConnectWiseAddition:
    changed_on, before = old.quantity_changed_on, old.quantity_before_change
    if new.quantity != old.quantity and today > new.effective_date and changed_on != today:
        changed_on, before = today, old.quantity
    return replace(new, quantity_changed_on=changed_on, quantity_before_change=before)


def _product(value: Any, world: SandboxWorld, errors: list) -> ConnectWiseProduct | None:
    if value is None:
        errors.append(field_error("MissingRequiredField", "product", "product is required."))
        return None
    if not isinstance(value, dict) or (value.get("id") is None and value.get("identifier") is None):
        errors.append(field_error("InvalidField", "product", 'product must be a reference: {"id": 1} or '
                                  '{"identifier": "SKU"}'))
        return None
    if value.get("id") is not None:
        found = world.connectwise_products.get(value["id"]) if isinstance(value["id"], int) else None
        field, shown = "product/id", value["id"]
    else:
        wanted = str(value["identifier"]).casefold()
        found = next((p for p in world.connectwise_products.values() if p.identifier.casefold() == wanted), None)
        field, shown = "product/identifier", value["identifier"]
    if found is None:
        errors.append(field_error("NotFound", field, f"Product {shown} not found"))
    elif found.product_class == "Bundle":
        errors.append(field_error("InvalidField", "product",
                                  f"Product {found.identifier} is a Bundle; bundles cannot be agreement additions"))
    elif found.inactive:
        errors.append(field_error("InvalidField", "product", f"Product {found.identifier} is inactive"))
    else:
        return found
    return None


def _whole(view: dict[str, Any], name: str, errors: list) -> int | None:
    value = view.get(name)
    if value is None:
        return 0
    if not _finite_number(value) or value != int(value):
        errors.append(field_error("InvalidField", name, f"{name} must be a whole number"))
        return None
    if value < 0:
        errors.append(field_error("InvalidField", name, f"{name} cannot be negative"))
        return None
    return int(value)


def _money(view: dict[str, Any], name: str, default: Decimal, errors: list) -> Decimal:
    value = view.get(name)
    if value is None:
        return default
    if not _finite_number(value):
        errors.append(field_error("InvalidField", name, f"{name} must be a number"))
        return default
    return Decimal(str(value))


def _finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    return isinstance(value, int) or Decimal(value).is_finite()


def _date(view: dict[str, Any], name: str, errors: list) -> date | None:
    value = view.get(name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        errors.append(field_error("InvalidField", name, f"{name} must be a date like 2026-01-02T00:00:00Z"))
        return None


def _text(view: dict[str, Any], name: str, errors: list) -> str:
    value = view.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(field_error("InvalidField", name, f"{name} must be a string"))
        return ""
    return value


def _extra(view: dict[str, Any], errors: list) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for name, kind in EXTRA.items():
        value = view.get(name)
        if value is None:
            continue
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            errors.append(field_error("InvalidField", name, f"{name} must be a {kind.__name__}"))
        else:
            extra[name] = value
    return extra


# --- write log ---------------------------------------------------------------------------------
def billed_units(addition: ConnectWiseAddition | None) -> int:
    if addition is None or addition.cancelled_date is not None:
        return 0
    return addition.quantity


def key_in(description: str) -> str | None:
    found = KEY_MARKER.search(description or "")
    return found.group(1) if found else None
