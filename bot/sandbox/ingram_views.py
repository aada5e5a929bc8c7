"""The world as the Ingram Micro Cloud Marketplace API (spec 1.6) shows it: Customer, Subscription,
SubscriptionDetailed with its SubscriptionProduct lines.

Mapping choices:
- ids are the world's `cmp_id`s (strings, as the spec types them); `planId` is the BA plan id, and a
  product line's `id` is its BA ResourceID (CMP sits on the same platform).
- status (spec enum pending|active|hold|terminated|removed): active -> active, suspended -> hold,
  cancelled -> terminated, expired -> removed.
- a product's `quantity` is the line's ordered amount (included + additional), so CMP quantities and
  BA's OrderedAmount always agree. Prices are the line's own per-unit monthly price and cost;
  `unitProviderCost` (Ingram's cost) is a simulator choice at 85 % of the reseller's cost.
- dates are `YYYY-MM-DD` (spec `format: date`): `lastModifiedDate` has day granularity only.
- list rows also carry fields the spec 1.6 `Subscription` schema omits but live CMP answers were seen
  with (Onify blueprint, inserveit PHP client): `expirationDate`, `subscriptionPeriod`,
  `billingPeriod`, `billingModel`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.sandbox.odin_accounts import account_profile, reseller_account_id
from bot.sandbox.world import Customer, Product, SandboxWorld, Subscription, SubscriptionLine

CURRENCY = "USD"
VENDOR = "Microsoft"
CMP_STATUS = {"active": "active", "suspended": "hold", "cancelled": "terminated", "expired": "removed"}
PROVIDER_COST_SHARE = Decimal("0.85")


def _money(amount: Decimal) -> dict[str, str]:
    return {"currency": CURRENCY, "amount": f"{Decimal(amount).quantize(Decimal('0.01'))}"}


def customer_json(world: SandboxWorld, customer: Customer) -> dict[str, Any]:
    p = account_profile(customer)
    address: dict[str, Any] = {"streetAddress": p.street, "postalCode": p.zip_code, "city": p.city,
                               "state": p.state, "countryCode": p.country}
    if p.street2:
        address["addressExtension"] = p.street2
    return {
        "id": customer.cmp_id,
        "externalId": f"CUST-{customer.account_id}",
        "attributes": {},
        "status": "active",
        "name": customer.name,
        "address": address,
        "contactPersons": [{"type": "admin", "firstName": p.first_name, "lastName": p.last_name,
                            "email": p.email, "phoneNumber": p.phone_e164_hashed}],
        "language": "en",
        "taxRegId": f"{customer.account_id % 100:02d}-{customer.account_id % 10000000:07d}",
        "resellerId": str(reseller_account_id(world)),
    }


def subscription_json(world: SandboxWorld, sub: Subscription) -> dict[str, Any]:
    customer = world.customers.get(sub.account_id)
    period = {"type": "year" if sub.term == "annual" else "month", "duration": 1}
    return {
        "id": sub.cmp_id,
        "name": sub.name,
        "customerId": customer.cmp_id if customer else str(sub.account_id),
        "status": CMP_STATUS[sub.status],
        "attributes": {},
        "renewalStatus": sub.status == "active",
        "creationDate": sub.created.date().isoformat(),
        "renewalDate": sub.expiration_date.isoformat(),
        "lastModifiedDate": sub.last_modified.date().isoformat(),
        "expirationDate": sub.expiration_date.isoformat(),
        "subscriptionPeriod": period,
        "billingPeriod": {"type": "month", "duration": 1},
        "billingModel": "chargeBeforeBillingPeriod",
    }


def _product(world: SandboxWorld, resource_id: int) -> Product:
    product = world.products.get(resource_id)
    if product is None:
        return Product(resource_id=resource_id, resource_rate_id=resource_id, mpn=f"RES-{resource_id}",
                       name=f"Resource #{resource_id}")
    return product


def product_json(world: SandboxWorld, sub: Subscription, line: SubscriptionLine) -> dict[str, Any]:
    product = _product(world, line.resource_id)
    quantity = line.ordered
    provider_cost = line.unit_cost * PROVIDER_COST_SHARE
    return {
        "mpn": product.mpn,
        "vendor": VENDOR,
        "id": str(product.resource_id),
        "quantity": quantity,
        "name": product.name,
        "unitPrice": _money(line.unit_price),
        "unitCost": _money(line.unit_cost),
        "unitProviderCost": _money(provider_cost),
        "extendedPrice": _money(line.unit_price * quantity),
        "vendorSubscriptionId": f"{sub.subscription_id:08d}{line.resource_id:06d}",
        "totalSubscriptionPrice": _money(line.unit_price * quantity),
        "totalSubscriptionCost": _money(line.unit_cost * quantity),
        "totalSubscriptionProviderCost": _money(provider_cost * quantity),
    }


def subscription_detail_json(world: SandboxWorld, sub: Subscription) -> dict[str, Any]:
    lines = sorted(sub.lines, key=lambda ln: ln.resource_id)
    price = sum((ln.unit_price * ln.ordered for ln in lines), Decimal(0))
    cost = sum((ln.unit_cost * ln.ordered for ln in lines), Decimal(0))
    detail = subscription_json(world, sub)
    detail.update({
        "totalPrice": _money(price),
        "totalSubscriptionPrice": _money(price),
        "totalSubscriptionCost": _money(cost),
        "totalSubscriptionProviderCost": _money(cost * PROVIDER_COST_SHARE),
        "products": [product_json(world, sub, line) for line in lines],
        "orderParameters": [],
        "fulfillmentParameters": [],
        "planId": sub.plan_id,
    })
    return detail
