"""The two writes the Autotask simulator accepts: ContractServiceAdjustments and ContractNotes.

ContractServiceAdjustments [doc: ContractServiceAdjustmentsEntity.htm, RecurringSerContractEntityRelation.htm]:
- create only; the contract must be a Recurring Service contract (contractType 7);
- when no ContractService links the contract and the service yet, the API creates one;
- unitChange is a signed delta applied from effectiveDate on; adjustedUnitPrice may be negative (discounts);
- every unit change also leaves an automatic contract note [doc: AdjustServiceUnitsPrice.htm].
Simulator rules where the vendor is silent (wording ours): the contract must be active, the service
must exist and be active, unitChange a non-zero whole number, effectiveDate within the contract's dates,
and the units may never drop below zero on any day from the effective date on.

ContractServiceBundleAdjustments [doc: ContractServiceBundleAdjustmentsEntity; swagger: POST
/V1.0/ContractServiceBundleAdjustments and /V1.0/Contracts/{parentId}/ServiceBundleAdjustments] follow the same
rules with serviceBundleID / contractServiceBundleID, create the ContractServiceBundle when the contract has none
of that bundle, and carry no adjusted cost (a simulator choice: the bundle's cost is its catalogue entry's).

ContractNotes are created through the child URL /Contracts/{id}/Notes only: the vendor swagger has no
root create route for them. title and description are required; the lengths (250 / 8000) are [unverified].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.sandbox.autotask_query import parse_datetime
from bot.sandbox.autotask_units import lowest_units_from, scheduled_units
from bot.sandbox.world import (
    AutotaskContractService,
    AutotaskNote,
    AutotaskService,
    AutotaskUnitChange,
    SandboxWorld,
)

RECURRING_SERVICE = 7
ACTIVE = 1


class WriteRejected(ValueError):
    """A create the API refuses (HTTP 500, the message goes into `errors[]`)."""


@dataclass
class AppliedAdjustment:
    adjustment: AutotaskUnitChange
    service: AutotaskContractService
    before: int  # units in effect today, before and after
    after: int
    created_service: bool
    before_as_scheduled: int  # `before` once the adjustments already dated after today reach their day


@dataclass(frozen=True)
class UnitsKind:
    """What is adjusted: a contract's service, or its service bundle."""

    label: str  # the adjustment entity's singular name
    bundle: bool
    catalogue_key: str  # lower-cased field naming the catalogue entry
    own_key: str  # lower-cased field naming the contract's record
    catalogue_label: str
    has_cost: bool
    adjustment_ids: str  # world.next_id kinds
    record_ids: str

    def catalogue(self, world: SandboxWorld) -> dict[int, AutotaskService]:
        return world.autotask_service_bundles if self.bundle else world.autotask_services

    def records(self, world: SandboxWorld) -> dict[int, AutotaskContractService]:
        return world.autotask_contract_service_bundles if self.bundle else world.autotask_contract_services


SERVICE = UnitsKind("ContractServiceAdjustment", False, "serviceid", "contractserviceid", "Service", True,
                    "autotask_adjustment", "autotask_contract_service")
BUNDLE = UnitsKind("ContractServiceBundleAdjustment", True, "servicebundleid", "contractservicebundleid",
                   "ServiceBundle", False, "autotask_bundle_adjustment", "autotask_contract_service_bundle")


def create_adjustment(world: SandboxWorld, body: Any, parent_contract_id: int | None = None,
                      kind: UnitsKind = SERVICE) -> AppliedAdjustment:
    fields = _fields(body, kind.label)
    contract_id = _optional_whole(fields, "contractid")
    if parent_contract_id is not None:
        if contract_id is not None and contract_id != parent_contract_id:
            raise WriteRejected(f"contractID {contract_id} does not match the parent contract {parent_contract_id}.")
        contract_id = parent_contract_id
    if contract_id is None:
        raise WriteRejected("contractID is required.")
    contract = world.autotask_contracts.get(contract_id)
    if contract is None:
        raise WriteRejected(f"Unable to find the Contract with id {contract_id}.")
    if contract.contract_type != RECURRING_SERVICE:
        raise WriteRejected(f"Contract {contract.id} is not a Recurring Service contract (contractType 7); "
                            "service adjustments can only be made to Recurring Service contracts.")
    if contract.status != ACTIVE:
        raise WriteRejected(f"Contract {contract.id} is inactive; service units cannot be adjusted.")
    service_id = _required_whole(fields, kind.catalogue_key)
    catalogue_entry = kind.catalogue(world).get(service_id)
    if catalogue_entry is None or not catalogue_entry.is_active:
        raise WriteRejected(f"Unable to find an active {kind.catalogue_label} with id {service_id}.")
    unit_change = _required_whole(fields, "unitchange")
    if unit_change == 0:
        raise WriteRejected("unitChange must not be zero.")
    effective = _effective_date(fields)
    if not contract.start_date <= effective <= contract.end_date:
        raise WriteRejected(f"effectiveDate {effective.isoformat()} is outside the contract's dates "
                            f"({contract.start_date.isoformat()} to {contract.end_date.isoformat()}).")
    price = _money(fields, "adjustedunitprice")
    cost = _money(fields, "adjustedunitcost") if kind.has_cost else None

    records = kind.records(world)
    service = next((s for s in records.values() if s.contract_id == contract.id and s.service_id == service_id), None)
    named = _optional_whole(fields, kind.own_key)
    if named is not None and (service is None or service.id != named):
        raise WriteRejected(f"{_name(kind.own_key)} {named} does not link contract {contract.id} "
                            f"and {kind.catalogue_label} {service_id}.")
    lowest = lowest_units_from(service, effective, world.today) if service is not None else 0
    if lowest + unit_change < 0:
        raise WriteRejected(f"The adjustment would leave fewer than 0 units of {kind.catalogue_label} {service_id} "
                            f"on contract {contract.id} from {effective.isoformat()} on.")

    created = service is None
    if service is None:
        service = AutotaskContractService(
            id=world.next_id(kind.record_ids, start=max(records, default=0) + 1),
            contract_id=contract.id, service_id=service_id,
            unit_price=price if price is not None else catalogue_entry.unit_price,
            unit_cost=cost if cost is not None else catalogue_entry.unit_cost,
            units=0, invoice_description=catalogue_entry.name, last_modified=world.now(),
        )
        records[service.id] = service
    before = service.units
    before_as_scheduled = scheduled_units(service, world.today)
    adjustment = AutotaskUnitChange(
        id=world.next_id(kind.adjustment_ids), contract_id=contract.id, service_id=service_id,
        contract_service_id=service.id, unit_change=unit_change, effective_date=effective,
        adjusted_unit_price=price, adjusted_unit_cost=cost, created=world.now(),
    )
    service.adjustments.append(adjustment)
    if effective <= world.today:  # a future-dated change takes effect on its day (see settle_units)
        service.units += unit_change
    service.last_modified = adjustment.created
    _automatic_note(world, contract.id, catalogue_entry.name, adjustment)
    return AppliedAdjustment(adjustment, service, before, service.units, created, before_as_scheduled)


def create_note(world: SandboxWorld, body: Any, parent_contract_id: int) -> AutotaskNote:
    fields = _fields(body, "ContractNote")
    contract_id = _optional_whole(fields, "contractid")
    if contract_id is not None and contract_id != parent_contract_id:
        raise WriteRejected(f"contractID {contract_id} does not match the parent contract {parent_contract_id}.")
    if parent_contract_id not in world.autotask_contracts:
        raise WriteRejected(f"Unable to find the Contract with id {parent_contract_id}.")
    title = _text(fields, "title", 250)
    description = _text(fields, "description", 8000)
    note = AutotaskNote(id=world.next_id("autotask_note"), contract_id=parent_contract_id, title=title,
                        description=description, created=world.now())
    world.autotask_notes[note.id] = note
    return note


def _automatic_note(world: SandboxWorld, contract_id: int, service_name: str, change: AutotaskUnitChange) -> None:
    note = AutotaskNote(
        id=world.next_id("autotask_note"), contract_id=contract_id, title="Service Units Adjusted",
        description=(f"Units of service '{service_name}' changed by {change.unit_change:+d}, "
                     f"effective {change.effective_date.isoformat()}."),
        created=change.created,
    )
    world.autotask_notes[note.id] = note


def _fields(body: Any, label: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WriteRejected(f"The request body must be a {label} JSON object.")
    return {str(k).lower(): v for k, v in body.items()}


def _required_whole(fields: dict[str, Any], key: str) -> int:
    value = _optional_whole(fields, key)
    if value is None:
        raise WriteRejected(f"{_name(key)} is required.")
    return value


def _optional_whole(fields: dict[str, Any], key: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
        raise WriteRejected(f"{_name(key)} must be a whole number (got {value!r}).")
    return int(value)


def _effective_date(fields: dict[str, Any]) -> date:
    value = fields.get("effectivedate")
    if value is None:
        raise WriteRejected("effectiveDate is required.")
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise WriteRejected(f"effectiveDate must be an ISO-8601 date (got {value!r}).")
    return moment.date()


def _money(fields: dict[str, Any], key: str) -> Decimal | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise WriteRejected(f"{_name(key)} must be a number.")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise WriteRejected(f"{_name(key)} must be a number (got {value!r}).") from None


def _text(fields: dict[str, Any], key: str, limit: int) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WriteRejected(f"{_name(key)} is required.")
    if len(value) > limit:
        raise WriteRejected(f"{_name(key)} is longer than {limit} characters.")
    return value


_NAMES = {"contractid": "contractID", "serviceid": "serviceID", "contractserviceid": "contractServiceID",
          "servicebundleid": "serviceBundleID", "contractservicebundleid": "contractServiceBundleID",
          "unitchange": "unitChange", "adjustedunitprice": "adjustedUnitPrice",
          "adjustedunitcost": "adjustedUnitCost", "title": "title", "description": "description"}


def _name(key: str) -> str:
    return _NAMES.get(key, key)
