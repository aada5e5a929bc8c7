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
  aenichols/ATREST-CSharp-Client docs/ContractModel.md; the simulator agrees), so list_contracts reads
  them all.
- ContractServices and ContractServiceUnits expose none either, and units change through adjustments
  on any day, so list_services reads them all. (Services.lastModifiedDate covers the catalogue only.)

Service bundles (ContractServiceBundles, documented beside ContractServices, with ContractServiceBundleUnits
and ContractServiceBundleAdjustments) are seats too: list_services returns each contract service bundle as a
service whose external id is "bundle-<id>" (records.BUNDLE_PREFIX), named after its ServiceBundle, with the
units of its ContractServiceBundleUnits row covering today. A read costs 2 more scans (bundles, their unit
rows covering today, side by side with the services') and the bundle names (`in` batches); an MSP with no
bundles pays 2 calls. read_units and posting tell the two apart by the prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]:
        conditions = [changed_since(COMPANY_CHANGE_FIELDS, modified_since)] if modified_since else []
        items = await self.session.query("Companies", self._body(conditions, COMPANY_FIELDS))
        return [company_record(item) for item in items]

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]:
        """Every Recurring Service contract (`modified_since` is ignored: contracts have no such date)."""
        conditions = [{"op": "eq", "field": "contractType", "value": RECURRING_SERVICE}]
        items = await self.session.query("Contracts", self._body(conditions, CONTRACT_FIELDS))
        today = self.today()
        return [contract_record(item, today) for item in items]

    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]:
        """Every contract service with its name, units and price today (`modified_since` is ignored)."""
        # Reading every service, the rows covering today are one plain date-filtered scan, run beside the
        # ContractServices scan: as many calls as `in` batches would take, without waiting for the ids.
        day = covering_day(self.today())
        links, unit_rows, bundle_links, bundle_rows = await self.session.side_by_side(
            ("ContractServices", self._body([], CONTRACT_SERVICE_FIELDS)),
            ("ContractServiceUnits", self._body(day, UNIT_FIELDS)),
            ("ContractServiceBundles", self._body([], CONTRACT_BUNDLE_FIELDS)),
            ("ContractServiceBundleUnits", self._body(day, BUNDLE_UNIT_FIELDS)),
        )
        rows = rows_in_effect(unit_rows)
        service_ids = sorted({whole(item, "serviceID", "ContractService") for item in links})
        catalogue_items = await self.session.query_many("Services", [
            self._body([one_of("id", batch)], SERVICE_FIELDS) for batch in batches(service_ids, self.batch_size)
        ])
        catalogue = {whole(item, "id", "Service"): item for item in catalogue_items}
        records = [service_record(item, catalogue, rows.get(whole(item, "id", "ContractService"))) for item in links]
        if bundle_links:
            bundle_ids = sorted({whole(item, "serviceBundleID", "ContractServiceBundle") for item in bundle_links})
            names = {whole(item, "id", "ServiceBundle"): item for item in await self.session.query_many(
                "ServiceBundles", [self._body([one_of("id", batch)], BUNDLE_FIELDS)
                                   for batch in batches(bundle_ids, self.batch_size)])}
            in_effect = rows_in_effect(bundle_rows, "contractServiceBundleID")
            records += [bundle_record(item, names, in_effect.get(whole(item, "id", "ContractServiceBundle")))
                        for item in bundle_links]
        return records

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
