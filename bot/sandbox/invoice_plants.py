"""Known discrepancies planted in an invoice month, for the month-end check's proof (`seatsync demo --invoice-check`).

The generator's world bills every seat it meant to (once the billing lead has linked what corresponds, and the
PSA is level with the marketplace); then, in the invoice month, it plants one of each (issue 16):
- `unbilled_increase`: seats added at the distributor and never billed: the month's seats and their prorate;
- `missing_prorate`: seats added, the PSA's units raised by hand, no prorate billed for the days before;
- `under_cost`: the distributor's cost raised above the PSA's price;
- `unlinked_line`: a new subscription nobody links: invoiced, billed to nobody;
- `billing_for_nothing`: a subscription cancelled at the distributor and still billed in the PSA;
- `two_subscriptions`: a second subscription of a product the customer already has, with its own PSA service
  one seat short: its finding is its own, the first subscription's none.
Each plant names the findings it should cause: (kind, prorate?) on its subscription. Subscriptions the
generator never gave a PSA service (`known_unlinked`) are invoiced and billed by nobody by construction:
their `unlinked` findings are true, not planted.

The PSA side is written straight into the PSA simulator's records (a person editing the PSA by hand); the
marketplace side through the vendor's own book (`pax8.invoice_plants`, `ingram_reports`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from bot.sandbox.world import SandboxWorld

PLANT_KINDS = ("unbilled_increase", "missing_prorate", "under_cost", "unlinked_line", "billing_for_nothing",
               "two_subscriptions")


@dataclass(frozen=True)
class Plant:
    kind: str
    subscription_id: str  # the marketplace's id, as its API shows it
    expected: tuple[tuple[str, bool], ...]  # the findings it causes: (finding kind, on the prorates?)
    detail: str


@dataclass
class PlantedMonth:
    marketplace: str
    plants: list[Plant] = field(default_factory=list)
    known_unlinked: set[str] = field(default_factory=set)  # subscription ids billed by nobody by construction
    # (subscription id, resource id, PSA service id) the billing lead links once the PSA bills the second
    # subscription (the two_subscriptions plant)
    to_link: list[tuple[str, str, int]] = field(default_factory=list)


# --- the PSA simulator's records, edited by hand --------------------------------------------------------------
def service_price(world: SandboxWorld, psa: str, service_id: int) -> Decimal:
    if psa == "autotask":
        return world.autotask_contract_services[service_id].unit_price
    if psa == "connectwise":
        return world.connectwise_additions[service_id].unit_price
    raise ValueError(f"invoice plants support autotask and connectwise, not {psa}")


def service_units(world: SandboxWorld, psa: str, service_id: int) -> int:
    if psa == "autotask":
        return world.autotask_contract_services[service_id].units
    return world.connectwise_additions[service_id].quantity


def add_units_by_hand(world: SandboxWorld, psa: str, service_id: int, units: int) -> None:
    now = world.now()
    if psa == "autotask":
        record = world.autotask_contract_services[service_id]
        record.units += units
        record.last_modified = now
    else:
        record = world.connectwise_additions[service_id]
        record.quantity += units
        record.last_updated = now


def second_service(world: SandboxWorld, psa: str, service_id: int, units: int) -> int:
    """A copy of `service_id` on a copy of its contract (a PSA service is fed by one subscription), with `units`."""
    now = world.now()
    if psa == "autotask":
        service = world.autotask_contract_services[service_id]
        contract = world.autotask_contracts[service.contract_id]
        new_contract = replace(contract, id=max(world.autotask_contracts) + 1, name=f"{contract.name} (2)",
                               number=f"{contract.number}-2", last_modified=now)
        world.autotask_contracts[new_contract.id] = new_contract
        new = replace(service, id=max(world.autotask_contract_services) + 1, contract_id=new_contract.id, units=units,
                      adjustments=[], last_modified=now)
        world.autotask_contract_services[new.id] = new
        return new.id
    if psa == "connectwise":
        addition = world.connectwise_additions[service_id]
        agreement = world.connectwise_agreements[addition.agreement_id]
        new_agreement = replace(agreement, id=max(world.connectwise_agreements) + 1, name=f"{agreement.name} (2)",
                                last_updated=now)
        world.connectwise_agreements[new_agreement.id] = new_agreement
        new_addition = replace(addition, id=max(world.connectwise_additions) + 1, agreement_id=new_agreement.id,
                               quantity=units, last_updated=now)
        world.connectwise_additions[new_addition.id] = new_addition
        return new_addition.id
    raise ValueError(f"invoice plants support autotask and connectwise, not {psa}")
