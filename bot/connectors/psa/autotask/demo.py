"""How the demo meets the Autotask simulator (`bot/sandbox/autotask*.py`): its connection, and the units in
effect today of a contract service or a contract service bundle ("bundle-<id>", records.BUNDLE_PREFIX; the
simulator applies dated adjustments as their days come), and as scheduled (once those dated later reach their day)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.connectors.psa.autotask.records import BUNDLE_PREFIX, bundle_id

if TYPE_CHECKING:
    from bot.sandbox.world import AutotaskContractService, SandboxWorld, WriteRecord


def sandbox_connection(config: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
    entry = config["autotask"]
    return (entry["url"], {"username": entry["username"]},
            {"integration_code": entry["integration_code"], "secret": entry["secret"]})


def service_units(world: SandboxWorld, external_id: str) -> int | None:
    record = _record(world, external_id)
    return None if record is None else record.units


def scheduled_units(world: SandboxWorld, external_id: str) -> int | None:
    """The units once the adjustments dated after today reach their day: a change Autotask already holds."""
    from bot.sandbox.autotask_units import scheduled_units as units_to_come

    record = _record(world, external_id)
    return None if record is None else units_to_come(record, world.today)


def _record(world: SandboxWorld, external_id: str) -> AutotaskContractService | None:
    from bot.sandbox.autotask_units import settle_units

    settle_units(world)
    bundle = bundle_id(external_id)
    if bundle is not None:
        return world.autotask_contract_service_bundles.get(bundle)
    return world.autotask_contract_services.get(int(external_id)) if external_id.isdigit() else None


def written_service(write: WriteRecord) -> str:
    """A logged write's record as SeatSync names it: the simulator logs a bundle's writes as kind "bundle"."""
    return f"{BUNDLE_PREFIX}{write.service_id}" if write.kind == "bundle" else str(write.service_id)
