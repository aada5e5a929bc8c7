"""Pax8's catalogue as the sandbox MSP sees it: the sandbox products, plus Azure billed from usage.

Product ids are uuid5 of the Pax8 SKU, so they are the same in every world (Pax8's catalogue is
global, not per partner). Pax8 SKUs are a simulator choice in the form of the spec's examples
("MST-OFC-EE3-C100"); `vendorSku` is the vendor's part number (Microsoft's NCE "product:sku" id).

Terms and prices (per unit per month; choices where the sources are silent):
- Microsoft NCE products can be bought on a 1-Year commitment, billed Annual or Monthly, or on
  monthly terms with no commitment. Monthly billing of a 1-Year term costs 5 % more ("since April
  2025, annual subscriptions billed monthly carry a 5 % price premium", shared/apis/invoices.md 4),
  no commitment 20 % more (Microsoft's NCE monthly premium).
- `requiresCommitment` is false for every product: a monthly subscription without a commitment is
  always possible, and Pax8's own CLI notes that monthly subscriptions carry no `commitmentTerm`.
- Dropbox and Google Workspace offer a 1-Year commitment too; the others are monthly only.
- Azure is usage-based: its rates are $0 and its unit "Each" (devx understanding-usage-products).
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

from bot.sandbox.catalogue import PRODUCTS_BY_KEY, ProductSpec
from bot.sandbox.marketplace_seed import product_spec
from bot.sandbox.pax8.book import Commitment, Pax8Book, Pax8Product
from bot.sandbox.world import SandboxWorld

CATALOGUE_NAMESPACE = uuid.UUID("6a1c3f0e-5d2b-4c8e-9f47-2b8d0c9e7a11")
CURRENCY = "USD"
MONTHLY_PREMIUM = {"Annual": Decimal("1.00"), "Monthly+1-Year": Decimal("1.05"), "Monthly": Decimal("1.20")}

_VENDORS = (("m365", "Microsoft", "MST"), ("exo", "Microsoft", "MST"), ("o365", "Microsoft", "MST"),
            ("teams", "Microsoft", "MST"), ("defender", "Microsoft", "MST"), ("entra", "Microsoft", "MST"),
            ("intune", "Microsoft", "MST"), ("copilot", "Microsoft", "MST"), ("visio", "Microsoft", "MST"),
            ("project", "Microsoft", "MST"), ("power-bi", "Microsoft", "MST"), ("onedrive", "Microsoft", "MST"),
            ("windows365", "Microsoft", "MST"), ("acronis", "Acronis", "ACR"), ("dropbox", "Dropbox", "DBX"),
            ("gws", "Google", "GGL"), ("keeper", "Keeper Security", "KPR"),
            ("bitdefender", "Bitdefender", "BDF"), ("proofpoint", "Proofpoint", "PPT"))
_UNITS = {"GB": "GB", "unit": "User"}
_COMMITTED_VENDORS = ("Microsoft", "Dropbox", "Google")
AZURE_SKU = "MST-AZR-PLAN"


def _vendor(spec: ProductSpec) -> tuple[str, str]:
    return next((name, prefix) for key, name, prefix in _VENDORS if spec.key.startswith(key))


def product_id(sku: str) -> str:
    return str(uuid.uuid5(CATALOGUE_NAMESPACE, sku))


def _commitments(sku: str, vendor: str) -> tuple[Commitment, ...]:
    if vendor not in _COMMITTED_VENDORS:
        return ()
    return (Commitment(id=str(uuid.uuid5(CATALOGUE_NAMESPACE, f"{sku}:1-Year")), term="1-Year", months=12,
                       allow_quantity_decrease=False, allow_early_cancellation=False),)


def build_catalogue(book: Pax8Book, world: SandboxWorld, rng: random.Random) -> None:
    for product in world.products.values():
        spec = product_spec(product)
        vendor, prefix = _vendor(spec)
        if prefix == "MST":
            sku = "MST-NCE-" + "".join(ch for ch in spec.psa_code if ch.isalnum())
        else:
            sku = spec.psa_code if spec.psa_code.startswith(prefix) else f"{prefix}-{spec.psa_code}"
        buy = (product.cost * Decimal(rng.choice(("0.97", "0.98", "1.00", "1.01", "1.03")))).quantize(
            Decimal("0.01") if product.cost >= 1 else Decimal("0.0001"))
        unit = _UNITS.get(spec.unit, "User")
        if spec.key.startswith(("acronis-workstation", "acronis-server", "bitdefender")):
            unit = "Device"
        commitments = _commitments(sku, vendor)
        book.products[product_id(sku)] = Pax8Product(
            id=product_id(sku), name=product.name, vendor_name=vendor, sku=sku, vendor_sku=product.mpn,
            short_description=f"{product.name}, sold by {vendor} through Pax8", unit_of_measure=unit,
            partner_buy_rate=buy, suggested_retail_price=spec.list_price, requires_commitment=False,
            commitments=commitments, resource_id=product.resource_id)
    azure = Pax8Product(
        id=product_id(AZURE_SKU), name="Microsoft Azure Plan", vendor_name="Microsoft", sku=AZURE_SKU,
        vendor_sku="DZH318Z0BPS6:0001", short_description="Microsoft Azure consumption, billed in arrears",
        unit_of_measure="Each", partner_buy_rate=Decimal("0"), suggested_retail_price=Decimal("0"),
        requires_commitment=False, usage_based=True)
    book.products[azure.id] = azure


def seat_products(book: Pax8Book) -> list[Pax8Product]:
    return [p for p in book.products.values() if not p.usage_based]


def popularity(product: Pax8Product, world: SandboxWorld) -> int:
    if product.resource_id is None:
        return 0
    spec = product_spec(world.products[product.resource_id])
    return PRODUCTS_BY_KEY[spec.key].popularity


def unit_rates(product: Pax8Product, billing_term: str, committed: bool) -> tuple[Decimal, Decimal]:
    """(customer price, partner cost) per unit per month for a billing term and commitment."""
    key = "Annual" if billing_term == "Annual" else ("Monthly+1-Year" if committed else "Monthly")
    if not product.commitments:
        key = "Annual"  # no commitment offered: one price
    factor = MONTHLY_PREMIUM[key]
    places = Decimal("0.01") if product.partner_buy_rate >= 1 else Decimal("0.0001")
    return ((product.suggested_retail_price * factor).quantize(places),
            (product.partner_buy_rate * factor).quantize(places))
