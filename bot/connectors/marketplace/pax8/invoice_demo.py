"""How `seatsync demo --invoice-check` plants and releases a Pax8 invoice month (bot.sandbox.pax8.invoice_plants):
the invoice is Pax8's own, computed from the subscriptions' history and served by the simulator's API."""

from __future__ import annotations

from datetime import date
from types import ModuleType
from typing import Any


def _plants() -> ModuleType:
    from bot.sandbox.pax8 import invoice_plants  # the simulators load only when the demo runs

    return invoice_plants


class Pax8InvoiceMonth:
    def truth_links(self, world: Any, psa: str) -> list[tuple[str, str, str]]:
        return _plants().truth_links(world, psa)

    def start(self, world: Any) -> None:
        """Nothing to record: Pax8 keeps each subscription's history."""

    def after_day(self, world: Any) -> None:
        """Nothing to record: Pax8 keeps each subscription's history."""

    def plant_before_sync(self, world: Any, psa: str, month: Any, rng: Any, at: Any) -> None:
        _plants().plant_second_subscription(world, psa, month, rng, at)

    def plant_after_sync(self, world: Any, psa: str, month: Any, rng: Any, at: Any) -> None:
        _plants().plant_the_rest(world, psa, month, rng, at)

    def quiet_days(self, world: Any, until: date) -> None:
        _plants().quiet_days(world, until)

    def known_findings(self, world: Any, psa: str, invoice_month: date) -> list[tuple[str, str, bool]]:
        return _plants().known_findings(world, psa, invoice_month)

    def invoice_line_count(self, world: Any, invoice_month: date) -> int:
        return _plants().invoice_line_count(world, invoice_month)


INVOICE_MONTH = Pax8InvoiceMonth()
