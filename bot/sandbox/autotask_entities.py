"""The Autotask entities the simulator serves: field definitions, rows built from the world, entity info.

Field names and types follow the C# models generated from the vendor swagger
(panoramicdata/AutoTask.Psa.Api Data/*.cs) and the entity pages of the REST docs, as summarised in
shared/apis/autotask.md (A5); responses use camelCase. Rows hold Python values (int, str, bool, Decimal,
datetime, None) so filters compare typed values; `to_json` renders them (datetimes as ISO-8601 UTC).

`entityInformation` replies with {"info": {...}} and `entityInformation/fields` with {"fields": [...]}
whose picklist values are strings [spec: EntityInformationResultModel / FieldInformationResultModel].
Picklists: Contracts.contractType 7 = Recurring Service [doc: ContractServices entity]; the other contract
types, Contracts.status (1 Active / 0 Inactive) and the period types are [unverified] and are served
here so that clients read them instead of hard-coding them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.sandbox.autotask_query import FieldKind, QueryField, QuerySpec, bounds, restricted_values
from bot.sandbox.autotask_units import ROW_ID_FACTOR, price_on, unit_rows
from bot.sandbox.world import (
    AutotaskCompany,
    AutotaskContract,
    AutotaskContractService,
    AutotaskNote,
    AutotaskService,
    SandboxWorld,
)

API_RESOURCE_ID = 29682885  # the resource behind the sandbox's API user (creatorResourceID of notes)

_KIND: dict[str, FieldKind] = {"long": "integer", "integer": "integer", "decimal": "decimal", "string": "string",
         "boolean": "boolean", "datetime": "datetime"}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    data_type: str  # long | integer | decimal | string | boolean | datetime
    required: bool = False
    read_only: bool = False
    length: int = 0
    reference: str | None = None
    picklist: tuple[tuple[str, str], ...] = ()  # (value, label)
    default: str | None = None

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "dataType": self.data_type,
            "length": self.length,
            "isRequired": self.required,
            "isReadOnly": self.read_only,
            "isQueryable": True,
            "isReference": self.reference is not None,
            "referenceEntityType": self.reference or "",
            "isPickList": bool(self.picklist),
            "picklistValues": [
                {"value": value, "label": label, "isDefaultValue": value == self.default, "sortOrder": order,
                 "parentValue": "", "isActive": True, "isSystem": True}
                for order, (value, label) in enumerate(self.picklist, start=1)
            ] if self.picklist else None,
            "picklistParentValueField": "",
            "isSupportedWebhookField": False,
        }


@dataclass(frozen=True)
class Entity:
    name: str  # the URL name, plural: "Companies"
    label: str  # the singular name used in messages: "Company"
    fields: tuple[FieldInfo, ...]
    can_create: bool = False
    can_update: bool = False
    can_query: bool = True
    can_delete: bool = False
    has_udfs: bool = False
    query_fields: dict[str, QueryField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "query_fields", {
            f.name.lower(): QueryField(f.name, _KIND[f.data_type]) for f in self.fields
        })

    def info(self) -> dict:
        def access(allowed: bool) -> str:
            return "All" if allowed else "None"

        return {"info": {
            "name": self.label, "canCreate": self.can_create, "canUpdate": self.can_update,
            "canQuery": self.can_query, "canDelete": self.can_delete, "hasUserDefinedFields": self.has_udfs,
            "supportsWebhookCallouts": False, "userAccessForCreate": access(self.can_create),
            "userAccessForQuery": access(self.can_query), "userAccessForUpdate": access(self.can_update),
            "userAccessForDelete": access(self.can_delete),
        }}


def _f(name: str, data_type: str, **options: Any) -> FieldInfo:
    return FieldInfo(name, data_type, **options)


def _id() -> FieldInfo:
    return _f("id", "long", read_only=True)


CONTRACT_TYPES = (("1", "Time & Materials"), ("3", "Fixed Price"), ("4", "Block Hours"), ("6", "Retainer"),
                  ("7", "Recurring Service"), ("8", "Per Ticket"))
CONTRACT_STATUSES = (("0", "Inactive"), ("1", "Active"))
CONTRACT_PERIODS = (("m", "Monthly"), ("q", "Quarterly"), ("s", "Semi-Annual"), ("y", "Yearly"))
COMPANY_TYPES = (("1", "Customer"), ("2", "Lead"), ("3", "Prospect"), ("4", "Dead"), ("6", "Cancellation"),
                 ("7", "Vendor"), ("8", "Partner"))
SERVICE_PERIODS = (("1", "Monthly"), ("2", "Quarterly"), ("3", "Semi-Annual"), ("4", "Yearly"))

COMPANIES = Entity("Companies", "Company", (
    _id(), _f("companyName", "string", required=True, length=100), _f("companyNumber", "string", length=50),
    _f("companyType", "integer", required=True, picklist=COMPANY_TYPES, default="1"),
    _f("isActive", "boolean"),
    _f("parentCompanyID", "long", reference="Company"),
    _f("ownerResourceID", "long", required=True, reference="Resource"),
    _f("phone", "string", required=True, length=25), _f("address1", "string", length=150),
    _f("address2", "string", length=150), _f("city", "string", length=50), _f("state", "string", length=25),
    _f("postalCode", "string", length=20), _f("countryID", "long", reference="Country"),
    _f("createDate", "datetime", read_only=True), _f("lastActivityDate", "datetime", read_only=True),
    _f("lastTrackedModifiedDateTime", "datetime", read_only=True), _f("taxRegionID", "long"),
    _f("currencyID", "long", reference="Currency"), _f("classification", "integer"),
    _f("marketSegmentID", "integer"), _f("territoryID", "integer"), _f("webAddress", "string", length=255),
), can_create=True, can_update=True, has_udfs=True)

CONTRACTS = Entity("Contracts", "Contract", (
    _id(), _f("companyID", "long", required=True, reference="Company"),
    _f("contractName", "string", required=True, length=100), _f("contractNumber", "string", length=50),
    _f("contractType", "integer", required=True, picklist=CONTRACT_TYPES),
    _f("contractCategory", "integer"),
    _f("contractPeriodType", "string", picklist=CONTRACT_PERIODS, length=1),
    _f("status", "integer", required=True, picklist=CONTRACT_STATUSES, default="1"),
    _f("startDate", "datetime", required=True), _f("endDate", "datetime", required=True),
    _f("isDefaultContract", "boolean"), _f("billingPreference", "integer"),
    _f("billToCompanyID", "long", reference="Company"),
    _f("billToCompanyContactID", "long", reference="Contact"),
    _f("contactID", "long", reference="Contact"), _f("contactName", "string", length=250),
    _f("description", "string", length=2000), _f("estimatedCost", "decimal"), _f("estimatedHours", "decimal"),
    _f("estimatedRevenue", "decimal"), _f("setupFee", "decimal"), _f("internalCurrencySetupFee", "decimal"),
    _f("setupFeeBillingCodeID", "long"), _f("overageBillingRate", "decimal"),
    _f("internalCurrencyOverageBillingRate", "decimal"), _f("exclusionContractID", "long"),
    _f("contractExclusionSetID", "long"), _f("serviceLevelAgreementID", "long"),
    _f("purchaseOrderNumber", "string", length=50), _f("opportunityID", "long"),
    _f("organizationalLevelAssociationID", "long"), _f("renewedContractID", "long"),
    _f("isCompliant", "boolean"),
    _f("timeReportingRequiresStartAndStopTimes", "integer"),
), can_create=True, can_update=True, has_udfs=True)

SERVICES = Entity("Services", "Service", (
    _id(), _f("name", "string", required=True, length=150), _f("description", "string", length=400),
    _f("invoiceDescription", "string", length=1000), _f("isActive", "boolean"), _f("unitPrice", "decimal"),
    _f("unitCost", "decimal"),
    _f("periodType", "integer", required=True, picklist=SERVICE_PERIODS, default="1"),
    _f("billingCodeID", "long", required=True, reference="BillingCode"), _f("markupRate", "decimal"),
    _f("serviceLevelAgreementID", "long"), _f("vendorCompanyID", "long", reference="Company"),
    _f("createDate", "datetime", read_only=True), _f("creatorResourceID", "long", read_only=True),
    _f("lastModifiedDate", "datetime", read_only=True), _f("updateResourceID", "long", read_only=True),
), can_create=True, can_update=True)

CONTRACT_SERVICES = Entity("ContractServices", "ContractService", (
    _id(), _f("contractID", "long", required=True, reference="Contract"),
    _f("serviceID", "long", required=True, reference="Service"), _f("unitPrice", "decimal"),
    _f("unitCost", "decimal", read_only=True), _f("adjustedPrice", "decimal"),
    _f("internalCurrencyUnitPrice", "decimal", read_only=True),
    _f("internalCurrencyAdjustedPrice", "decimal", read_only=True),
    _f("invoiceDescription", "string", length=1000), _f("internalDescription", "string", length=100),
    _f("quoteItemID", "long", read_only=True),
), can_create=True, can_update=True, has_udfs=True)

CONTRACT_SERVICE_UNITS = Entity("ContractServiceUnits", "ContractServiceUnit", tuple(
    _f(name, kind, read_only=True, reference=ref) for name, kind, ref in (
        ("id", "long", None), ("contractID", "long", "Contract"),
        ("contractServiceID", "long", "ContractService"),
        ("serviceID", "long", "Service"), ("startDate", "datetime", None), ("endDate", "datetime", None),
        ("units", "integer", None), ("price", "decimal", None), ("cost", "decimal", None),
        ("internalCurrencyPrice", "decimal", None), ("approveAndPostDate", "datetime", None),
        ("organizationalLevelAssociationID", "long", None), ("vendorCompanyID", "long", "Company"),
    )
))

CONTRACT_SERVICE_ADJUSTMENTS = Entity("ContractServiceAdjustments", "ContractServiceAdjustment", (
    _id(), _f("contractID", "long", required=True, reference="Contract"),
    _f("serviceID", "long", required=True, reference="Service"),
    _f("contractServiceID", "long", reference="ContractService"), _f("unitChange", "integer", required=True),
    _f("effectiveDate", "datetime", required=True), _f("adjustedUnitPrice", "decimal"),
    _f("adjustedUnitCost", "decimal"), _f("quoteItemID", "long"), _f("allowRepeatService", "boolean"),
), can_create=True, can_query=False)

CONTRACT_NOTES = Entity("ContractNotes", "ContractNote", (
    _id(), _f("contractID", "long", required=True, reference="Contract"),
    _f("title", "string", required=True, length=250), _f("description", "string", required=True, length=8000),
    _f("creatorResourceID", "long", read_only=True, reference="Resource"),
    _f("impersonatorCreatorResourceID", "long", read_only=True, reference="Resource"),
    _f("lastActivityDate", "datetime", read_only=True),
), can_create=True, can_update=True)

# Service bundles [doc: ServiceBundlesEntity, ContractServiceBundlesEntity, ContractServiceBundleUnitsEntity,
# ContractServiceBundleAdjustmentsEntity; the vendor swagger has the ContractServiceBundleAdjustments routes].
# They parallel ContractServices / ContractServiceUnits / ContractServiceAdjustments (shared/apis/autotask.md A5);
# field lists from the entity pages as remembered [mem]: a bundle's adjustment carries no adjusted cost (the
# bundle's cost is its services'), and `allowRepeatServiceBundle` replaces `allowRepeatService`.
SERVICE_BUNDLES = Entity("ServiceBundles", "ServiceBundle", (
    _id(), _f("name", "string", required=True, length=150), _f("description", "string", length=400),
    _f("invoiceDescription", "string", length=1000), _f("isActive", "boolean"), _f("unitPrice", "decimal"),
    _f("unitCost", "decimal", read_only=True), _f("unitDiscount", "decimal"), _f("percentageDiscount", "decimal"),
    _f("periodType", "integer", required=True, picklist=SERVICE_PERIODS, default="1"),
    _f("billingCodeID", "long", reference="BillingCode"), _f("serviceLevelAgreementID", "long"),
    _f("createDate", "datetime", read_only=True), _f("creatorResourceID", "long", read_only=True),
    _f("lastModifiedDate", "datetime", read_only=True), _f("updateResourceID", "long", read_only=True),
), can_create=True, can_update=True)

CONTRACT_SERVICE_BUNDLES = Entity("ContractServiceBundles", "ContractServiceBundle", (
    _id(), _f("contractID", "long", required=True, reference="Contract"),
    _f("serviceBundleID", "long", required=True, reference="ServiceBundle"), _f("unitPrice", "decimal"),
    _f("adjustedPrice", "decimal"), _f("internalCurrencyUnitPrice", "decimal", read_only=True),
    _f("internalCurrencyAdjustedPrice", "decimal", read_only=True),
    _f("invoiceDescription", "string", length=1000), _f("internalDescription", "string", length=100),
    _f("quoteItemID", "long", read_only=True),
), can_create=True, can_update=True, has_udfs=True)

CONTRACT_SERVICE_BUNDLE_UNITS = Entity("ContractServiceBundleUnits", "ContractServiceBundleUnit", tuple(
    _f(name, kind, read_only=True, reference=ref) for name, kind, ref in (
        ("id", "long", None), ("contractID", "long", "Contract"),
        ("contractServiceBundleID", "long", "ContractServiceBundle"),
        ("serviceBundleID", "long", "ServiceBundle"), ("startDate", "datetime", None), ("endDate", "datetime", None),
        ("units", "integer", None), ("price", "decimal", None), ("cost", "decimal", None),
        ("internalCurrencyPrice", "decimal", None), ("approveAndPostDate", "datetime", None),
        ("organizationalLevelAssociationID", "long", None),
    )
))

CONTRACT_SERVICE_BUNDLE_ADJUSTMENTS = Entity("ContractServiceBundleAdjustments", "ContractServiceBundleAdjustment", (
    _id(), _f("contractID", "long", required=True, reference="Contract"),
    _f("serviceBundleID", "long", required=True, reference="ServiceBundle"),
    _f("contractServiceBundleID", "long", reference="ContractServiceBundle"),
    _f("unitChange", "integer", required=True), _f("effectiveDate", "datetime", required=True),
    _f("adjustedUnitPrice", "decimal"), _f("quoteItemID", "long"), _f("allowRepeatServiceBundle", "boolean"),
), can_create=True, can_query=False)

ENTITIES = {e.name.lower(): e for e in (COMPANIES, CONTRACTS, SERVICES, CONTRACT_SERVICES,
                                        CONTRACT_SERVICE_UNITS, CONTRACT_SERVICE_ADJUSTMENTS, CONTRACT_NOTES,
                                        SERVICE_BUNDLES, CONTRACT_SERVICE_BUNDLES, CONTRACT_SERVICE_BUNDLE_UNITS,
                                        CONTRACT_SERVICE_BUNDLE_ADJUSTMENTS)}
UNIT_VIEWS = {"ContractServiceUnits": False, "ContractServiceBundleUnits": True}  # entity -> is the bundle view
WITH_UDFS = {e.name for e in ENTITIES.values() if e.has_udfs}

# Child collections under /Contracts/{id}/...: child name -> the entity it is a view of.
CONTRACT_CHILDREN = {"services": CONTRACT_SERVICES, "serviceunits": CONTRACT_SERVICE_UNITS,
                     "notes": CONTRACT_NOTES, "serviceadjustments": CONTRACT_SERVICE_ADJUSTMENTS,
                     "servicebundles": CONTRACT_SERVICE_BUNDLES, "servicebundleunits": CONTRACT_SERVICE_BUNDLE_UNITS,
                     "servicebundleadjustments": CONTRACT_SERVICE_BUNDLE_ADJUSTMENTS}


# --- rows --------------------------------------------------------------------------------------
def company_row(company: AutotaskCompany) -> dict:
    return {
        "id": company.id, "companyName": company.name, "companyNumber": str(company.id),
        "companyType": company.company_type, "isActive": company.is_active, "parentCompanyID": None,
        "ownerResourceID": API_RESOURCE_ID, "phone": None, "address1": None, "address2": None, "city": None,
        "state": None, "postalCode": None, "countryID": None, "createDate": company.create_date,
        "lastActivityDate": company.last_modified, "lastTrackedModifiedDateTime": company.last_modified,
        "taxRegionID": None, "currencyID": 1, "classification": None, "marketSegmentID": None,
        "territoryID": None, "webAddress": None,
    }


def contract_row(contract: AutotaskContract) -> dict:
    row: dict[str, Any] = {f.name: None for f in CONTRACTS.fields}
    row.update({
        "id": contract.id, "companyID": contract.company_id, "contractName": contract.name,
        "contractNumber": contract.number or None, "contractType": contract.contract_type,
        "contractPeriodType": contract.period_type, "status": contract.status,
        "startDate": contract.start_date, "endDate": contract.end_date, "isDefaultContract": False,
        "billingPreference": 1, "billToCompanyID": contract.company_id, "setupFee": Decimal("0"),
        "internalCurrencySetupFee": Decimal("0"),
        "isCompliant": True, "timeReportingRequiresStartAndStopTimes": 1,
    })
    return row


def service_row(service: AutotaskService) -> dict:
    return {
        "id": service.id, "name": service.name, "description": None, "invoiceDescription": service.name,
        "isActive": service.is_active, "unitPrice": service.unit_price, "unitCost": service.unit_cost,
        "periodType": service.period_type, "billingCodeID": 29682801, "markupRate": None,
        "serviceLevelAgreementID": None, "vendorCompanyID": None,
        "createDate": datetime(2020, 1, 1, tzinfo=UTC), "creatorResourceID": API_RESOURCE_ID,
        "lastModifiedDate": service.last_modified, "updateResourceID": API_RESOURCE_ID,
    }


def contract_service_row(service: AutotaskContractService, today: date) -> dict:
    adjusted, _ = price_on(service, today)
    return {
        "id": service.id, "contractID": service.contract_id, "serviceID": service.service_id,
        "unitPrice": service.unit_price, "unitCost": service.unit_cost, "adjustedPrice": adjusted,
        "internalCurrencyUnitPrice": service.unit_price, "internalCurrencyAdjustedPrice": adjusted,
        "invoiceDescription": service.invoice_description or None,
        "internalDescription": service.internal_description or None, "quoteItemID": None,
    }


def service_bundle_row(bundle: AutotaskService) -> dict:
    return {
        "id": bundle.id, "name": bundle.name, "description": None, "invoiceDescription": bundle.name,
        "isActive": bundle.is_active, "unitPrice": bundle.unit_price, "unitCost": bundle.unit_cost,
        "unitDiscount": Decimal("0"), "percentageDiscount": Decimal("0"), "periodType": bundle.period_type,
        "billingCodeID": 29682801, "serviceLevelAgreementID": None,
        "createDate": datetime(2020, 1, 1, tzinfo=UTC), "creatorResourceID": API_RESOURCE_ID,
        "lastModifiedDate": bundle.last_modified, "updateResourceID": API_RESOURCE_ID,
    }


def contract_service_bundle_row(bundle: AutotaskContractService, today: date) -> dict:
    adjusted, _ = price_on(bundle, today)
    return {
        "id": bundle.id, "contractID": bundle.contract_id, "serviceBundleID": bundle.service_id,
        "unitPrice": bundle.unit_price, "adjustedPrice": adjusted,
        "internalCurrencyUnitPrice": bundle.unit_price, "internalCurrencyAdjustedPrice": adjusted,
        "invoiceDescription": bundle.invoice_description or None,
        "internalDescription": bundle.internal_description or None, "quoteItemID": None,
    }


def note_row(note: AutotaskNote) -> dict:
    return {
        "id": note.id, "contractID": note.contract_id, "title": note.title, "description": note.description,
        "creatorResourceID": API_RESOURCE_ID, "impersonatorCreatorResourceID": None,
        "lastActivityDate": note.created,
    }


def entity_rows(entity: Entity, world: SandboxWorld, spec: QuerySpec | None = None,
                after_id: int | None = None) -> Iterator[dict]:
    """The rows of `entity` in id order, lazily, starting after `after_id` when given.

    `spec` only lets ContractServiceUnits skip rows that cannot match (`matches` still decides).
    """
    if entity.name in UNIT_VIEWS:
        rows: Iterable[dict] = _unit_rows(world, spec, after_id, bundle=UNIT_VIEWS[entity.name])
    else:
        records, build = _sources(world)[entity.name]
        rows = (build(records[key]) for key in sorted(records) if after_id is None or key > after_id)
    return (row for row in rows if after_id is None or row["id"] > after_id)


def entity_row(entity: Entity, world: SandboxWorld, record_id: int) -> dict | None:
    if entity.name in UNIT_VIEWS:
        return next(iter(_unit_rows_for_id(world, record_id, bundle=UNIT_VIEWS[entity.name])), None)
    records, build = _sources(world)[entity.name]
    record = records.get(record_id)
    return build(record) if record is not None else None


def _sources(world: SandboxWorld) -> dict[str, tuple[dict[int, Any], Callable[[Any], dict]]]:
    return {
        "Companies": (world.autotask_companies, company_row),
        "Contracts": (world.autotask_contracts, contract_row),
        "Services": (world.autotask_services, service_row),
        "ContractServices": (world.autotask_contract_services,
                             lambda record: contract_service_row(record, world.today)),
        "ContractNotes": (world.autotask_notes, note_row),
        "ServiceBundles": (world.autotask_service_bundles, service_bundle_row),
        "ContractServiceBundles": (world.autotask_contract_service_bundles,
                                   lambda record: contract_service_bundle_row(record, world.today)),
    }


def _unit_rows(world: SandboxWorld, spec: QuerySpec | None, after_id: int | None, *,
               bundle: bool = False) -> Iterator[dict]:
    own, catalogue = ("contractServiceBundleID", "serviceBundleID") if bundle else ("contractServiceID", "serviceID")
    wanted = {name: restricted_values(spec, name) if spec else None for name in ("contractID", own, catalogue, "id")}
    latest_start = _day(bounds(spec, "startDate")[1]) if spec else None
    earliest_end = _day(bounds(spec, "endDate")[0]) if spec else None
    first_service = after_id // ROW_ID_FACTOR if after_id is not None else 0
    services = world.autotask_contract_service_bundles if bundle else world.autotask_contract_services
    for key in sorted(services):
        service = services[key]
        contract = world.autotask_contracts.get(service.contract_id)
        if key < first_service or contract is None or not _may_match(wanted, service, own, catalogue):
            continue
        yield from unit_rows(service, contract, world.today, latest_start, earliest_end, bundle=bundle)


def _may_match(wanted: dict[str, set | None], service: AutotaskContractService, own: str, catalogue: str) -> bool:
    for name, value in (("contractID", service.contract_id), (own, service.id), (catalogue, service.service_id)):
        allowed = wanted[name]
        if allowed is not None and value not in allowed:
            return False
    ids = wanted["id"]
    return ids is None or any(row_id // ROW_ID_FACTOR == service.id for row_id in ids)


def _unit_rows_for_id(world: SandboxWorld, row_id: int, *, bundle: bool = False) -> Iterable[dict]:
    services = world.autotask_contract_service_bundles if bundle else world.autotask_contract_services
    service = services.get(row_id // ROW_ID_FACTOR)
    contract = world.autotask_contracts.get(service.contract_id) if service else None
    if service is None or contract is None:
        return ()
    return (row for row in unit_rows(service, contract, world.today, bundle=bundle) if row["id"] == row_id)


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


# --- JSON --------------------------------------------------------------------------------------
def to_json(entity: Entity, row: dict, include: tuple[str, ...] | None = None) -> dict:
    names = include if include is not None else [f.name for f in entity.fields]
    item = {name: _json_value(row.get(name)) for name in names}
    if include is None and entity.has_udfs:
        item["userDefinedFields"] = []
    return item


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return iso_utc(datetime(value.year, value.month, value.day, tzinfo=UTC))
    return value


def iso_utc(moment: datetime) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"

