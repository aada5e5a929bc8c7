"""The price-source and policy setters refuse every number no cycle can bill with, whoever calls them (Slack,
the links import, a script): a clear error naming the field, nothing saved, nothing audited. Real SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.db.links import link_resource
from bot.db.models import AuditEvent, PriceSourceKind, PriceSourceSetting, Scope, SyncPolicy
from bot.db.policies import (
    PolicyError,
    set_approval_policy,
    set_drop_prorate_below,
    set_min_margin_percent,
    set_price_source,
)
from bot.domain.pricing import PriceSourceError
from tests.db.factories import marketplace_resource, psa_service

ABSURD = ["Infinity", "-Infinity", "NaN", "1E+999999", "1e30", "-1", "0.0000001"]


@pytest.fixture
async def link_id(session):
    resource = await marketplace_resource(session)
    service = await psa_service(session, units=8)
    link = await link_resource(session=session, resource_id=resource.id, service_id=service.id, actor="U1")
    await session.commit()
    return link.id


async def saved(session) -> tuple[int, int, int]:
    counts = [await session.scalar(select(func.count()).select_from(model))
              for model in (PriceSourceSetting, SyncPolicy, AuditEvent)]
    return tuple(counts)


def expected_words(field: str, value: str) -> str:
    if value in ("Infinity", "-Infinity", "NaN"):
        return f"{field} must be a finite number, not {value}"
    if value in ("1E+999999", "1e30"):
        return f"{field} must be below 10,000,000,000 in size"
    if value == "-1":
        return f"{field} cannot be negative (-1)" if field != "the markup" else "must be from -100"
    return f"{field} has more than 4 decimals (0.0000001)"


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("field, kind, argument", [
    ("the custom price", PriceSourceKind.custom, "custom_price"),
    ("the custom cost", PriceSourceKind.custom, "custom_cost"),
    ("the markup", PriceSourceKind.marketplace_cost_markup, "markup_percent"),
])
async def test_price_sources_refuse_absurd_numbers(session, link_id, value, field, kind, argument):
    before = await saved(session)
    values = {"custom_price": Decimal(12)} if kind is PriceSourceKind.custom else {}
    values[argument] = Decimal(value)
    if argument == "markup_percent" and value == "-1":
        await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=kind, actor="U1", **values)
        await session.rollback()  # a markup of -1% is a fine discount on the cost
        return
    with pytest.raises(PriceSourceError) as refused:
        await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=kind, actor="U1", **values)
    if value == "-1":
        assert str(refused.value) == "custom price and cost cannot be negative"
    else:
        assert expected_words(field, value) in str(refused.value)
    await session.rollback()
    assert await saved(session) == before


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("field, setter", [
    ("the percent limit", lambda s, v: set_approval_policy(session=s, scope=Scope.global_, actor="U1",
                                                           max_percent=v)),
    ("the amount limit", lambda s, v: set_approval_policy(session=s, scope=Scope.global_, actor="U1",
                                                          max_amount=v)),
    ("the prorate threshold", lambda s, v: set_drop_prorate_below(session=s, scope=Scope.global_, actor="U1",
                                                                  threshold=v)),
    ("the minimum margin", lambda s, v: set_min_margin_percent(session=s, scope=Scope.global_, actor="U1",
                                                               percent=v)),
])
async def test_policies_refuse_absurd_numbers(session, value, field, setter):
    before = await saved(session)
    if field == "the minimum margin" and value == "-1":
        await setter(session, Decimal(value))  # a margin of -1% is a limit a team may set
        await session.rollback()
        return
    with pytest.raises(PolicyError) as refused:
        await setter(session, Decimal(value))
    words = expected_words(field, value)
    if value == "-1" and field == "the percent limit":
        words = "the percent limit must be from 0 up to 1000, not -1"
    assert words in str(refused.value)
    await session.rollback()
    assert await saved(session) == before


@pytest.mark.parametrize("field, setter, value, words", [
    ("percent", lambda s, v: set_approval_policy(session=s, scope=Scope.global_, actor="U1", max_percent=v),
     Decimal("1000.01"), "the percent limit must be from 0 up to 1000, not 1000.01"),
    ("margin", lambda s, v: set_min_margin_percent(session=s, scope=Scope.global_, actor="U1", percent=v),
     Decimal(100), "the minimum margin must be from -100 below 100, not 100"),
    ("margin", lambda s, v: set_min_margin_percent(session=s, scope=Scope.global_, actor="U1", percent=v),
     Decimal("-100.5"), "the minimum margin must be from -100 below 100, not -100.5"),
    ("units", lambda s, v: set_approval_policy(session=s, scope=Scope.global_, actor="U1", max_units=v),
     10 ** 30, "the unit limit must be a whole number from 0 to 1,000,000,000"),
])
async def test_ranges_are_held_at_their_edges(session, field, setter, value, words):
    with pytest.raises(PolicyError, match=words):
        await setter(session, value)


async def test_values_within_bounds_are_saved(session, link_id):
    await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=PriceSourceKind.custom,
                           custom_price=Decimal("9999999999.9999"), custom_cost=Decimal("0.0001"), actor="U1",
                           below_cost_confirmed=True)
    await set_approval_policy(session=session, scope=Scope.global_, actor="U1", max_percent=1000,
                              max_amount=Decimal("9999999999.9999"), max_units=1_000_000_000)
    await set_min_margin_percent(session=session, scope=Scope.global_, actor="U1", percent=Decimal("-100"))
    await set_drop_prorate_below(session=session, scope=Scope.global_, actor="U1", threshold=Decimal(0))
    await session.commit()
    policy = await session.scalar(select(SyncPolicy))
    assert (policy.approval_max_percent, policy.approval_max_amount, policy.min_margin_percent) == (
        Decimal(1000), Decimal("9999999999.9999"), Decimal(-100))
    price = await session.scalar(select(PriceSourceSetting))
    assert (price.custom_price, price.custom_cost) == (Decimal("9999999999.9999"), Decimal("0.0001"))
