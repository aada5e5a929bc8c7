"""Price sources: where the unit price and cost posted to the PSA come from.

Resolution: the setting on the link, else on the marketplace company, else the global one, else
"keep the PSA's price". A custom cost below the PSA's current cost must have been confirmed by a
person (the Slack side asks), or the price source is refused. Every number in a price source is finite
and storable (bot.domain.money): a markup from -100% to 1000%, a custom price and cost from 0 up to the Money
column's size, with at most its 4 decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.domain import money
from bot.domain.enums import PriceSourceKind
from bot.domain.money import NumberError

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
    _check_numbers(source)
    if source.kind is PriceSourceKind.marketplace_cost_markup and source.markup_percent is None:
        raise PriceSourceError("a markup price source needs a markup percentage")
    if source.kind is PriceSourceKind.custom:
        if source.custom_price is None:
            raise PriceSourceError("a custom price source needs a price")
        if (source.custom_cost is not None and psa_cost is not None and source.custom_cost < psa_cost
                and not source.below_cost_confirmed):
            raise PriceSourceError(
                f"the custom cost {source.custom_cost} is below the PSA's current cost {psa_cost}; "
                "confirm it to use it"
            )


def _check_numbers(source: PriceSource) -> None:
    """Each number set, whatever the kind (all are stored): finite, storable, in range."""
    try:
        if source.markup_percent is not None:
            money.amount(source.markup_percent, field="the markup", negative=True)
            if source.markup_percent < money.MIN_MARKUP:
                raise NumberError("a markup below -100% would give a negative price")
            money.markup(source.markup_percent, field="the markup")
        for value, field in ((source.custom_price, "the custom price"), (source.custom_cost, "the custom cost")):
            if value is not None:
                money.amount(value, field=field, negative=True)
                if value < 0:
                    raise NumberError("custom price and cost cannot be negative")
    except NumberError as exc:
        raise PriceSourceError(str(exc)) from None


def check_billable(source: PriceSource, *, market_price: Decimal | None, market_cost: Decimal | None,
                   psa_price: Decimal | None, limits: dict[str, Decimal | None]) -> None:
    """PriceSourceError naming the first stored number a link cannot be billed with: one written before these
    rules, or by hand (the setters and the vendor parsers let none through; SQLite keeps a NaN as NULL, so a
    custom price may also be missing). `limits`: the policy amounts in force, by name."""
    try:
        validate_price_source(source, psa_cost=None)  # the cost confirmation was asked when it was set
    except PriceSourceError as exc:
        raise PriceSourceError(f"its price source: {exc}") from None
    stored = (("the marketplace unit price", market_price), ("the marketplace unit cost", market_cost),
              ("the PSA unit price", psa_price), *limits.items())
    try:
        for field, value in stored:
            money.usable(value, field=field)
    except NumberError as exc:
        raise PriceSourceError(str(exc)) from None


def check_computed(*, unit_price: Decimal | None, unit_cost: Decimal | None,
                   prorated_amount: Decimal | None) -> None:
    """PriceSourceError when a computed number would not fit the Money column (a large markup on a large cost,
    a large price times many seats)."""
    try:
        money.usable(unit_price, field="the unit price to post")
        money.usable(unit_cost, field="the unit cost to post")
        money.usable(prorated_amount, field="the prorated amount", negative=True)
    except NumberError as exc:
        raise PriceSourceError(str(exc)) from None


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
