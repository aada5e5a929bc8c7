"""How `seatsync demo --invoice-check` plants and rates an Ingram invoice month (bot.sandbox.ingram_reports): the
invoice is the rated-data report the simulator serves at `/reports`."""

from __future__ import annotations

from datetime import date
from types import ModuleType
from typing import Any


def _reports() -> ModuleType:
    from bot.sandbox import ingram_reports  # the simulators load only when the demo runs

    return ingram_reports


class IngramInvoiceMonth:
    def truth_links(self, world: Any, psa: str) -> list[tuple[str, str, str]]:
        return _reports().truth_links(world, psa)

    def start(self, world: Any) -> None:
        _reports().start_ledger(world, world.today.replace(day=1))

    def after_day(self, world: Any) -> None:
        _reports().record_day(world)

    def quiet_days(self, world: Any, until: date) -> None:
        _reports().quiet_days(world, until)

    def plant_before_sync(self, world: Any, psa: str, month: Any, rng: Any, at: Any) -> None:
        _reports().plant_second_subscription(world, psa, month, rng, at)

    def plant_after_sync(self, world: Any, psa: str, month: Any, rng: Any, at: Any) -> None:
        _reports().plant_the_rest(world, psa, month, rng, at)

    def known_findings(self, world: Any, psa: str, invoice_month: date) -> list[tuple[str, str, bool]]:
        return _reports().known_findings(world, psa, invoice_month)

    def invoice_line_count(self, world: Any, invoice_month: date) -> int:
        return _reports().invoice_line_count(world, invoice_month)


INVOICE_MONTH = IngramInvoiceMonth()
