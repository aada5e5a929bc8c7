"""Units over time for Autotask contract services: the ContractServiceUnits view and today's count.

Autotask keeps no unit count on a ContractService. Units come from ContractServiceAdjustments, each
effective from its date on, and are read back through ContractServiceUnits: one row per billing period
(the period comes from the contract's period type), split when an adjustment takes effect in mid-period.
The new row starts on the adjustment's effectiveDate [doc: ContractServiceUnitsEntity.htm].

Simulator choices:
- Billing periods run from the contract start date in steps of the period type (m=1, q=3, s=6, y=12
  months), anchored on the start day (a contract starting on the 15th bills 15th..14th), clipped to the
  contract end. Rows exist for every period of the contract, future ones included.
- endDate is the last day the row covers, inclusive. The doc says a split row ends "at the effectiveDate
  of the later adjustment". We end it the day before, so exactly one row contains any given day.
- `price`/`cost` are per-unit amounts in effect for the row: the latest adjustedUnitPrice/Cost effective
  on or before the row's start, else the contract service's own unit price/cost [unverified].
- `AutotaskContractService.units` holds the units in effect on `world.today`. The world records the
  day it was last brought up to date (`autotask_units_day`); `settle_units` rolls every count forward
  (or back) when the world's clock has moved, so future-dated adjustments take effect on their day.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot.sandbox.world import AutotaskContract, AutotaskContractService, SandboxWorld

PERIOD_MONTHS = {"m": 1, "q": 3, "s": 6, "y": 12}
ROW_ID_FACTOR = 10_000  # ContractServiceUnits ids: contract service id * factor + row number


def settle_units(world: SandboxWorld) -> None:
    """Bring every contract service's `units` to the units in effect on `world.today`."""
    last = world.autotask_units_day
    today = world.today
    if last == today:
        return
    if last is not None:
        low, high, sign = (last, today, 1) if today > last else (today, last, -1)
        for service in [*world.autotask_contract_services.values(), *world.autotask_contract_service_bundles.values()]:
            moved = sum(a.unit_change for a in service.adjustments if low < a.effective_date <= high)
            service.units += sign * moved
    world.autotask_units_day = today


def scheduled_units(service: AutotaskContractService, today: date) -> int:
    """The units once every adjustment dated after `today` has reached its day (`service.units`: today's)."""
    return service.units + sum(a.unit_change for a in service.adjustments if a.effective_date > today)


def units_on(service: AutotaskContractService, day: date, today: date) -> int:
    """Units in effect on `day`, given that `service.units` are the units in effect on `today`."""
    before_any = service.units - sum(a.unit_change for a in service.adjustments if a.effective_date <= today)
    return before_any + sum(a.unit_change for a in service.adjustments if a.effective_date <= day)


def price_on(service: AutotaskContractService, day: date) -> tuple[Decimal, Decimal]:
    """(unit price, unit cost) in effect on `day`."""
    price, cost = service.unit_price, service.unit_cost
    for adjustment in sorted(service.adjustments, key=lambda a: (a.effective_date, a.id)):
        if adjustment.effective_date > day:
            break
        if adjustment.adjusted_unit_price is not None:
            price = adjustment.adjusted_unit_price
        if adjustment.adjusted_unit_cost is not None:
            cost = adjustment.adjusted_unit_cost
    return price, cost


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    wanted = anchor_day or day.day
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def billing_periods(contract: AutotaskContract) -> Iterator[tuple[date, date]]:
    step = PERIOD_MONTHS.get(str(contract.period_type).lower(), 1)
    return iter(_periods(contract.start_date, contract.end_date, step))


@functools.lru_cache(maxsize=4096)
def _periods(first: date, last: date, step: int) -> tuple[tuple[date, date], ...]:
    """A contract's billing periods, kept: every query of units computed them anew (~200,000 add_months calls over
    the test suite)."""
    periods = []
    start, index = first, 0
    while start <= last:
        following = add_months(first, (index + 1) * step, first.day)
        periods.append((start, min(following - timedelta(days=1), last)))
        index += 1
        start = following
    return tuple(periods)


def unit_rows(
    service: AutotaskContractService,
    contract: AutotaskContract,
    today: date,
    latest_start: date | None = None,
    earliest_end: date | None = None,
    *,
    bundle: bool = False,
) -> list[dict]:
    """The ContractServiceUnits rows of one contract service, in id (= date) order; with `bundle`, the
    ContractServiceBundleUnits rows of one contract service bundle (the same periods and splits).

    Rows starting after `latest_start` or ending before `earliest_end` are left out; ids do not change.
    """
    own, catalogue = ("contractServiceBundleID", "serviceBundleID") if bundle else ("contractServiceID", "serviceID")
    change_days = sorted({a.effective_date for a in service.adjustments})
    rows: list[dict] = []
    number = 0
    for period_start, period_end in billing_periods(contract):
        if latest_start is not None and period_start > latest_start:
            break
        starts = [period_start] + [d for d in change_days if period_start < d <= period_end]
        if earliest_end is not None and period_end < earliest_end:
            number += len(starts)
            continue
        for position, start in enumerate(starts):
            number += 1
            end = starts[position + 1] - timedelta(days=1) if position + 1 < len(starts) else period_end
            price, cost = price_on(service, start)
            rows.append({
                "id": service.id * ROW_ID_FACTOR + number,
                "contractID": service.contract_id,
                own: service.id,
                catalogue: service.service_id,
                "startDate": _midnight(start),
                "endDate": _midnight(end),
                "units": units_on(service, start, today),
                "price": price,
                "cost": cost,
                "internalCurrencyPrice": price,
                "approveAndPostDate": None,
                "organizationalLevelAssociationID": None,
                "vendorCompanyID": None,
            })
    return rows


def lowest_units_from(service: AutotaskContractService, day: date, today: date) -> int:
    """The fewest units the service will hold on any day from `day` on (for the never-below-zero rule)."""
    checkpoints = [day] + [a.effective_date for a in service.adjustments if a.effective_date > day]
    return min(units_on(service, point, today) for point in checkpoints)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
