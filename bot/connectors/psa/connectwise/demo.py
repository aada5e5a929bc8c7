"""How the demo meets the ConnectWise simulator (`bot/sandbox/connectwise*.py`): its connection, and an
agreement addition's quantity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.world import SandboxWorld


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    entry = config["connectwise"]
    # the sandbox throttles at ConnectWise's documented 1,000 requests a minute; use all of it
    return (entry["site_url"], {"company_id": entry["company_id"], "public_key": entry["public_key"],
                                "client_id": entry["client_id"], "requests_per_minute": 1000},
            {"private_key": entry["private_key"]})


def service_units(world: SandboxWorld, external_id: str) -> int | None:
    addition = world.connectwise_additions.get(int(external_id)) if external_id.isdigit() else None
    return None if addition is None else addition.quantity
