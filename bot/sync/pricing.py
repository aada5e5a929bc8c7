"""Price sources: where the unit price and cost posted to the PSA come from.

Resolution: the setting on the link, else on the marketplace company, else the global one, else
"keep the PSA's price". A custom cost below the PSA's current cost must have been confirmed by a
person (the Slack side asks), or the price source is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.db.models.enums import PriceSourceKind

CENT = Decimal("0.01")


class PriceSourceError(ValueError):
    """A price source cannot be used as set; the message says what to fix."""


@dataclass(frozen=True)
class PriceSource:
    kind: PriceSourceKind = PriceSourceKind.keep_psa
    markup_percent: Decimal | None = None
    custom_price: Decimal | None = None
    custom_cost: Decimal | None = None
    below_cost_confirmed: bool = False


@dataclass(frozen=True)
class UnitPricing:
    unit_price: Decimal | None  # None: keep what the PSA has
    unit_cost: Decimal | None


def resolve_price_source(*candidates: PriceSource | None) -> PriceSource:
    """The first set source among (link, company, global), else keep the PSA's price."""
    return next((c for c in candidates if c is not None), PriceSource())


def validate_price_source(source: PriceSource, *, psa_cost: Decimal | None) -> None:
    if source.kind is PriceSourceKind.marketplace_cost_markup:
        if source.markup_percent is None:
            raise PriceSourceError("a markup price source needs a markup percentage")
        if source.markup_percent < Decimal("-100"):
            raise PriceSourceError("a markup below -100% would give a negative price")
    if source.kind is PriceSourceKind.custom:
        if source.custom_price is None:
            raise PriceSourceError("a custom price source needs a price")
        if source.custom_price < 0 or (source.custom_cost is not None and source.custom_cost < 0):
            raise PriceSourceError("custom price and cost cannot be negative")
        if (source.custom_cost is not None and psa_cost is not None and source.custom_cost < psa_cost
                and not source.below_cost_confirmed):
            raise PriceSourceError(
                f"the custom cost {source.custom_cost} is below the PSA's current cost {psa_cost}; "
                "confirm it to use it"
            )


def unit_pricing(
    source: PriceSource, *, market_price: Decimal | None, market_cost: Decimal | None,
) -> UnitPricing:
    match source.kind:
        case PriceSourceKind.keep_psa:
            return UnitPricing(None, None)
        case PriceSourceKind.marketplace_price:
            return UnitPricing(market_price, market_cost)
        case PriceSourceKind.marketplace_cost_markup:
            if market_cost is None:
                return UnitPricing(None, None)
            markup = source.markup_percent or Decimal(0)
            price = (market_cost * (Decimal(100) + markup) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
            return UnitPricing(price, market_cost)
        case PriceSourceKind.custom:
            return UnitPricing(source.custom_price, source.custom_cost)
    raise AssertionError(source.kind)
