"""How the demo meets the HaloPSA simulator (`bot/sandbox/halopsa/`): its connection, and a recurring-invoice
line's quantity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.world import SandboxWorld


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    entry = config["halopsa"]
    # the simulator admits 1,000 requests a minute (bot/sandbox/halopsa/gate.py); use all of it
    return (entry["url"], {"tenant": entry["tenant"], "client_id": entry["client_id"], "scope": entry["scope"],
                           "requests_per_minute": 1000},
            {"client_secret": entry["client_secret"]})


def service_units(world: SandboxWorld, external_id: str) -> int | None:
    line = world.halopsa.line(int(external_id)) if external_id.lstrip("-").isdigit() else None
    if line is None:
        return None
    return 0 if line.ended(world.today) else int(line.quantity)
