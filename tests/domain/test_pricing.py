from decimal import Decimal

import pytest

from bot.domain.enums import PriceSourceKind, SubscriptionStatus
from bot.domain.levelling import target_units
from bot.domain.pricing import (
    PriceSource,
    PriceSourceError,
    UnitPricing,
    resolve_price_source,
    unit_pricing,
    validate_price_source,
)

LINK = PriceSource(PriceSourceKind.custom, custom_price=Decimal("12"), custom_cost=Decimal("7"))
COMPANY = PriceSource(PriceSourceKind.marketplace_price)
GLOBAL = PriceSource(PriceSourceKind.marketplace_cost_markup, markup_percent=Decimal("20"))


def test_resolution_order_link_company_global_default():
    assert resolve_price_source(LINK, COMPANY, GLOBAL) is LINK
    assert resolve_price_source(None, COMPANY, GLOBAL) is COMPANY
    assert resolve_price_source(None, None, GLOBAL) is GLOBAL
    assert resolve_price_source(None, None, None).kind is PriceSourceKind.keep_psa


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (PriceSource(), UnitPricing(None, None)),
        (COMPANY, UnitPricing(Decimal("8.00"), Decimal("6.40"))),
        (GLOBAL, UnitPricing(Decimal("7.68"), Decimal("6.40"))),
        (PriceSource(PriceSourceKind.marketplace_cost_markup, markup_percent=Decimal("12.5")),
         UnitPricing(Decimal("7.20"), Decimal("6.40"))),
        (LINK, UnitPricing(Decimal("12"), Decimal("7"))),
    ],
)
def test_unit_pricing(source, expected):
    assert unit_pricing(source, market_price=Decimal("8.00"), market_cost=Decimal("6.40")) == expected


def test_custom_cost_below_psa_cost_needs_confirmation():
    source = PriceSource(PriceSourceKind.custom, custom_price=Decimal("9"), custom_cost=Decimal("5"))
    with pytest.raises(PriceSourceError, match="below the PSA's current cost 6.40; confirm it"):
        validate_price_source(source, psa_cost=Decimal("6.40"))
    confirmed = PriceSource(PriceSourceKind.custom, custom_price=Decimal("9"), custom_cost=Decimal("5"),
                            below_cost_confirmed=True)
    validate_price_source(confirmed, psa_cost=Decimal("6.40"))


@pytest.mark.parametrize(
    "source",
    [
        PriceSource(PriceSourceKind.marketplace_cost_markup),
        PriceSource(PriceSourceKind.custom),
        PriceSource(PriceSourceKind.custom, custom_price=Decimal("-1")),
        PriceSource(PriceSourceKind.marketplace_cost_markup, markup_percent=Decimal("-150")),
    ],
)
def test_incomplete_sources_are_refused(source):
    with pytest.raises(PriceSourceError):
        validate_price_source(source, psa_cost=None)


@pytest.mark.parametrize(
    ("status", "removed", "expected"),
    [
        (SubscriptionStatus.active, False, 8),
        (SubscriptionStatus.suspended, False, 8),
        (SubscriptionStatus.cancelled, False, 0),
        (SubscriptionStatus.expired, False, 0),
        (SubscriptionStatus.active, True, 0),
    ],
)
def test_target_units(status, removed, expected):
    assert target_units(marketplace_total=8, subscription_status=status, removed=removed) == expected
