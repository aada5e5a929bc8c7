"""The margin guard: for each linked resource, the marketplace unit cost against the price billed for it.

Billed price = the price source's price when it sets one (resolved link > company > global, as planning
posts it), else the PSA service's unit price. A link is flagged `below_cost` when the cost is above the
price, and `below_minimum` when the margin, (price − cost) / price, is under the resolved
`min_margin_percent` (a margin exactly at the minimum is fine). Links whose cost or price is unknown
(a marketplace whose API carries no cost) are not judged, nor is a link with a stored number no one can compute
with (logged; the sync cycle reports that link as failing). Used by the alert job
(bot.notify.margin_alerts) and the `margin` report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.db.models import (
    MarketplaceResource,
    MarketplaceSubscription,
    ResourceLink,
    SlackMessage,
    SlackMessageState,
)
from bot.domain import money
from bot.domain.pricing import check_billable, unit_pricing
from bot.sync.planning import LinkSettings, computation_failure

log = logging.getLogger(__name__)

BELOW_COST = "below_cost"
BELOW_MINIMUM = "below_minimum"
KEY_PREFIX = "margin:"
TENTH = Decimal("0.1")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LinkMargin:
    link_id: int
    account_id: str
    company: str
    subscription: str
    resource: str
    service: str
    seats: int  # the marketplace count
    unit_cost: Decimal
    unit_price: Decimal
    margin_percent: Decimal | None  # None when the price is 0
    min_margin_percent: Decimal | None
    problem: str | None  # below_cost | below_minimum | None

    def numbers(self) -> dict[str, str | None]:
        """What an alert shows; an alert is updated only when these change."""
        return {"cost": f"{self.unit_cost:.2f}", "price": f"{self.unit_price:.2f}",
                "margin": None if self.margin_percent is None else f"{self.margin_percent:.1f}",
                "minimum": None if self.min_margin_percent is None else f"{self.min_margin_percent.normalize():f}",
                "problem": self.problem}


def judge(*, unit_cost: Decimal, unit_price: Decimal, min_margin_percent: Decimal | None
          ) -> tuple[Decimal | None, str | None]:
    """(margin percent, problem) for one link; plain maths, no I/O."""
    margin = None if unit_price == 0 else ((unit_price - unit_cost) * 100 / unit_price).quantize(TENTH)
    if unit_cost > unit_price:
        return margin, BELOW_COST
    if min_margin_percent is not None and margin is not None and margin < min_margin_percent:
        return margin, BELOW_MINIMUM
    return margin, None


async def link_margins(*, session: AsyncSession) -> list[LinkMargin]:
    """Every linked resource whose cost and billed price are known, judged."""
    settings = await LinkSettings.load(session)
    links = (await session.scalars(select(ResourceLink).options(
        joinedload(ResourceLink.resource).joinedload(MarketplaceResource.subscription)
        .joinedload(MarketplaceSubscription.company),
        joinedload(ResourceLink.service),
    ).order_by(ResourceLink.id))).unique()
    margins: list[LinkMargin] = []
    for link in links:
        resource, service = link.resource, link.service
        subscription = resource.subscription
        if resource.removed_at is not None or resource.unit_cost is None:
            continue
        try:
            source = settings.price_source(link, subscription.company_id)
            minimum = settings.min_margin_percent(link, subscription.company_id)
            check_billable(source, market_price=resource.unit_price, market_cost=resource.unit_cost,
                           psa_price=service.unit_price, limits={})
            money.usable(minimum, field="the minimum margin", negative=True)
            pricing = unit_pricing(source, market_price=resource.unit_price, market_cost=resource.unit_cost)
            price = pricing.unit_price if pricing.unit_price is not None else service.unit_price
            if price is None:
                continue
            margin, problem = judge(unit_cost=resource.unit_cost, unit_price=price, min_margin_percent=minimum)
        except (ValueError, ArithmeticError) as exc:
            log.warning("margin guard: link %s not judged: %s", link.id, computation_failure(exc))
            continue
        margins.append(LinkMargin(
            link_id=link.id, account_id=subscription.company.external_id, company=subscription.company.name,
            subscription=subscription.name, resource=resource.name, service=service.name, seats=resource.total,
            unit_cost=resource.unit_cost.quantize(CENT), unit_price=price.quantize(CENT), margin_percent=margin,
            min_margin_percent=minimum, problem=problem))
    return margins


def margin_key(link_id: int) -> str:
    return f"{KEY_PREFIX}{link_id}"


@dataclass(frozen=True)
class OpenMarginAlert:
    key: str
    link_id: int
    payload: dict[str, Any]
    delivered: bool


async def open_margin_alerts(*, session: AsyncSession) -> dict[int, OpenMarginAlert]:
    """Margin alerts still open (red), by link id."""
    rows = await session.scalars(select(SlackMessage).where(SlackMessage.key.startswith(KEY_PREFIX),
                                                            SlackMessage.state == SlackMessageState.open))
    alerts: dict[int, OpenMarginAlert] = {}
    for row in rows:
        link_id = row.key.removeprefix(KEY_PREFIX)
        if link_id.isdigit():
            alerts[int(link_id)] = OpenMarginAlert(row.key, int(link_id), dict(row.payload or {}),
                                                   delivered=row.ts is not None and row.last_error is None)
    return alerts
