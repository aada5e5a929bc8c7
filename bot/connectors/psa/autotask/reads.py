"""Reading what the MSP bills in Autotask: companies, Recurring Service contracts, contract services, units.

Cheap reads: IncludeFields limited to what the records need, pages of 500, look-ups batched with `in`
filters of up to 500 ids, and the batches of one look-up run side by side (the limiter keeps each
endpoint within its 3 threads). Units of given services (read_units) are `in` batches on
contractServiceID plus the day's date filter; when every service is read (list_services), the unit
rows covering today are one date-filtered scan run beside the ContractServices scan instead.

Incremental reads (`modified_since`):
- Companies have lastTrackedModifiedDateTime and lastActivityDate (shared/apis/autotask.md A5, from
  the swagger-generated models); a company counts as changed when either, or its createDate, is on or
  after the time.
- Contracts expose no modification date (the swagger-generated ContractModel has none:
  aenichols/ATREST-CSharp-Client docs/ContractModel.md; the simulator agrees), nor do ContractServices and
  ContractServiceUnits. (Services.lastModifiedDate covers the catalogue only.) So the reader keeps what the
  last complete read (and the probes since) returned, and an incremental read asks only:
  - new records, by a probe per entity: Contracts (Recurring Service), ContractServices and
    ContractServiceBundles whose `id` is greater than the greatest this reader holds (Autotask ids only grow):
    one call each when nothing is new; their catalogue names only for services or bundles not seen before;
  - the units: ContractServiceUnits and ContractServiceBundleUnits rows covering today, in full, because
    units change through adjustments dated on any day (a back-dated hand adjustment makes a row that started
    before the last read) and nothing says which rows are new. That is the floor of a read that sees every
    hand edit: ceil(rows / 500) calls.
  The records returned are the kept ones, contract status and units computed for today. What changes in place
  on a contract or a contract service (name, status by hand, a catalogue rename, the price of a service with no
  unit row) is read at the engine's daily complete read. A reader that holds nothing (a new process) makes its
  first read complete whatever it is asked.

Service bundles (ContractServiceBundles, documented beside ContractServices, with ContractServiceBundleUnits
and ContractServiceBundleAdjustments) are seats too: list_services returns each contract service bundle as a
service whose external id is "bundle-<id>" (records.BUNDLE_PREFIX), named after its ServiceBundle, with the
units of its ContractServiceBundleUnits row covering today. A read costs 2 more scans (bundles, their unit
rows covering today, side by side with the services') and the bundle names (`in` batches); an MSP with no
bundles pays 2 calls. read_units and posting tell the two apart by the prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from bot.connectors.psa.autotask.records import (
    BUNDLE_FIELDS,
    BUNDLE_PREFIX,
    BUNDLE_UNIT_FIELDS,
    COMPANY_FIELDS,
    CONTRACT_BUNDLE_FIELDS,
    CONTRACT_FIELDS,
    CONTRACT_SERVICE_FIELDS,
    MAX_IN_VALUES,
    MAX_PAGE,
    RECURRING_SERVICE,
    SERVICE_FIELDS,
    UNIT_FIELDS,
    batches,
    bundle_id,
    bundle_record,
    changed_since,
    company_record,
    contract_record,
    covering_day,
    external_ids,
    one_of,
    query_body,
    rows_in_effect,
    service_record,
    units_of,
    whole,
)
from bot.connectors.psa.autotask.session import AutotaskSession
from bot.domain.records import PsaCompanyRecord, PsaContractRecord, PsaServiceRecord

COMPANY_CHANGE_FIELDS = ("lastTrackedModifiedDateTime", "lastActivityDate", "createDate")


class AutotaskReader:
    def __init__(self, session: AutotaskSession, *, today: Callable[[], date], page_size: int = MAX_PAGE,
                 batch_size: int = MAX_IN_VALUES) -> None:
        self.session = session
        self.today = today
        self.page_size = page_size
        self.batch_size = batch_size
        # what the last complete read returned, and the probes since, by id (see the module docstring)
        self._contracts: dict[int, dict[str, Any]] | None = None
        self._links: dict[int, dict[str, Any]] | None = None  # ContractServices
        self._bundle_links: dict[int, dict[str, Any]] = {}  # ContractServiceBundles
        self._catalogue: dict[int, dict[str, Any]] = {}  # Services
        self._bundle_names: dict[int, dict[str, Any]] = {}  # ServiceBundles

    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]:
        conditions = [changed_since(COMPANY_CHANGE_FIELDS, modified_since)] if modified_since else []
        items = await self.session.query("Companies", self._body(conditions, COMPANY_FIELDS))
        return [company_record(item) for item in items]

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]:
        """Every Recurring Service contract: read in full, or the kept ones plus a probe for new ids."""
        conditions = [{"op": "eq", "field": "contractType", "value": RECURRING_SERVICE}]
        if modified_since is None or self._contracts is None:
            items = await self.session.query("Contracts", self._body(conditions, CONTRACT_FIELDS))
            self._contracts = {whole(item, "id", "Contract"): item for item in items}
        else:
            newer = await self.session.query("Contracts", self._body(
                [*conditions, _newer_than(self._contracts)], CONTRACT_FIELDS))
            self._contracts.update((whole(item, "id", "Contract"), item) for item in newer)
        today = self.today()
        return [contract_record(item, today) for item in self._contracts.values()]

    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]:
        """Every contract service (and bundle) with its name, units and price today: the services read in full,
        or the kept ones plus a probe for new ids; the units covering today in full either way."""
        complete = modified_since is None or self._links is None
        links = self._links if self._links is not None and not complete else {}
        bundle_links = {} if complete else self._bundle_links
        # the rows covering today are one plain date-filtered scan, run beside the other reads: as many calls as
        # `in` batches would take, without waiting for the ids
        day = covering_day(self.today())
        new_links, unit_rows, new_bundle_links, bundle_rows = await self.session.side_by_side(
            ("ContractServices", self._body([] if complete else [_newer_than(links)], CONTRACT_SERVICE_FIELDS)),
            ("ContractServiceUnits", self._body(day, UNIT_FIELDS)),
            ("ContractServiceBundles", self._body([] if complete else [_newer_than(bundle_links)],
                                                  CONTRACT_BUNDLE_FIELDS)),
            ("ContractServiceBundleUnits", self._body(day, BUNDLE_UNIT_FIELDS)),
        )
        links.update((whole(item, "id", "ContractService"), item) for item in new_links)
        bundle_links.update((whole(item, "id", "ContractServiceBundle"), item) for item in new_bundle_links)
        self._links, self._bundle_links = links, bundle_links
        if complete:
            self._catalogue, self._bundle_names = {}, {}
        await self._learn_names(links.values(), bundle_links.values())
        rows = rows_in_effect(unit_rows)
        records = [service_record(item, self._catalogue, rows.get(key)) for key, item in links.items()]
        in_effect = rows_in_effect(bundle_rows, "contractServiceBundleID")
        records += [bundle_record(item, self._bundle_names, in_effect.get(key)) for key, item in bundle_links.items()]
        return records

    async def _learn_names(self, links: Iterable[dict[str, Any]], bundle_links: Iterable[dict[str, Any]]) -> None:
        """Catalogue Services and ServiceBundles not read yet (`in` batches)."""
        service_ids = sorted({whole(item, "serviceID", "ContractService") for item in links} - self._catalogue.keys())
        bundle_ids = sorted({whole(item, "serviceBundleID", "ContractServiceBundle") for item in bundle_links}
                            - self._bundle_names.keys())
        if service_ids:
            bodies = [self._body([one_of("id", batch)], SERVICE_FIELDS)
                      for batch in batches(service_ids, self.batch_size)]
            for item in await self.session.query_many("Services", bodies):
                self._catalogue[whole(item, "id", "Service")] = item
        if bundle_ids:
            bodies = [self._body([one_of("id", batch)], BUNDLE_FIELDS)
                      for batch in batches(bundle_ids, self.batch_size)]
            for item in await self.session.query_many("ServiceBundles", bodies):
                self._bundle_names[whole(item, "id", "ServiceBundle")] = item

    async def read_units(self, service_external_ids: Sequence[str]) -> dict[str, int]:
        """Units in effect today per contract service (or bundle); ids Autotask does not know are left out."""
        today = self.today()
        units = {str(key): value for key, value in (await self.units_on(external_ids(service_external_ids),
                                                                         today)).items()}
        bundles = sorted({found for i in service_external_ids if (found := bundle_id(i)) is not None})
        if bundles:
            units.update({f"{BUNDLE_PREFIX}{key}": value
                          for key, value in (await self.bundle_units_on(bundles, today)).items()})
        return units

    async def bundle_units_on(self, contract_bundle_ids: Sequence[int], day: date) -> dict[int, int]:
        """Units of contract service bundles in effect on `day`; 0 without a row covering it; absent if unknown."""
        bodies = [self._body([one_of("contractServiceBundleID", batch), *covering_day(day)], BUNDLE_UNIT_FIELDS)
                  for batch in batches(contract_bundle_ids, self.batch_size)]
        rows = rows_in_effect(await self.session.query_many("ContractServiceBundleUnits", bodies),
                              "contractServiceBundleID")
        units = {key: units_of(row) for key, row in rows.items()}
        missing = [key for key in contract_bundle_ids if key not in rows]
        if missing:
            bodies = [self._body([one_of("id", batch)], ("id",)) for batch in batches(missing, self.batch_size)]
            for item in await self.session.query_many("ContractServiceBundles", bodies):
                units[whole(item, "id", "ContractServiceBundle")] = 0
        return units

    async def units_on(self, contract_service_ids: Sequence[int], day: date) -> dict[int, int]:
        """Units in effect on `day`; 0 for a service with no row covering the day (its contract is not
        running then); absent when the contract service does not exist."""
        if not contract_service_ids:
            return {}
        rows = await self.rows_covering(contract_service_ids, day)
        units = {key: units_of(row) for key, row in rows.items()}
        missing = [key for key in contract_service_ids if key not in rows]
        if missing:
            for key in await self.existing_contract_services(missing):
                units[key] = 0
        return units

    async def rows_covering(self, contract_service_ids: Sequence[int], day: date) -> dict[int, dict[str, Any]]:
        """contractServiceID -> the ContractServiceUnits row in effect on `day` (one batched query per 500)."""
        bodies = [self._body([one_of("contractServiceID", batch), *covering_day(day)], UNIT_FIELDS)
                  for batch in batches(contract_service_ids, self.batch_size)]
        return rows_in_effect(await self.session.query_many("ContractServiceUnits", bodies)) if bodies else {}

    async def existing_contract_services(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        bodies = [self._body([one_of("id", batch)], CONTRACT_SERVICE_FIELDS) for batch in batches(ids, self.batch_size)]
        items = await self.session.query_many("ContractServices", bodies) if bodies else []
        return {whole(item, "id", "ContractService"): item for item in items}

    def _body(self, conditions: list[dict[str, Any]], fields: Sequence[str]) -> dict[str, Any]:
        return query_body(conditions, fields, page_size=self.page_size)


def _newer_than(kept: dict[int, Any]) -> dict[str, Any]:
    """The probe for records created since: an id greater than the greatest kept (every id when none is)."""
    return {"op": "gt", "field": "id", "value": max(kept, default=0)}
