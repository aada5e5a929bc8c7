"""How the demo meets the Autotask simulator (`bot/sandbox/autotask*.py`): its connection, and a contract
service's units in effect today (the simulator applies dated adjustments as their days come)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.world import SandboxWorld


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    entry = config["autotask"]
    return (entry["url"], {"username": entry["username"]},
            {"integration_code": entry["integration_code"], "secret": entry["secret"]})


def service_units(world: SandboxWorld, service_id: int) -> int | None:
    from bot.sandbox.autotask_units import settle_units

    settle_units(world)
    service = world.autotask_contract_services.get(service_id)
    return None if service is None else service.units
