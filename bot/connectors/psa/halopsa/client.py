"""HaloPSA as SeatSync's PSA: clients, recurring invoices (the contracts) and their lines (the services).

Connection: `base_url` is the Halo instance (`https://acme.halopsa.com`; its /api and /auth servers); `options` =
tenant, client_id, optionally scope (space-separated; NEEDED_SCOPES when empty) and requests_per_minute;
`secrets` = client_secret. The HTTP side (token, paging, errors) is `api`, JSON mapping `records`, writes
`posting`, test_connection `check`.

Reading, at the paging floor (pages of 1,000, api.py):
- Companies: `GET /api/Client?includeinactive=true` (inactive clients too, so their contracts keep a company).
- Contracts and services: `GET /api/RecurringInvoice?includelines=true`, the invoices with every line, and
  `GET /api/ClientContract` for names, dates and status, both at once. list_contracts keeps the invoices it read
  for the list_services that follows in the same cycle (within KEPT_FOR_SERVICES_S, used once), so a complete
  read is ceil(clients/1000) + ceil(contracts/1000) + ceil(recurring invoices/1000) calls and nothing else.
- No incremental reads: Halo's list filters (notes §3.3) have no modified-since, and a line edited in place
  changes no filterable date that the sources confirm; every cycle reads at the floor, which for the large
  sandbox MSP (2,000 clients, 3,940 recurring invoices with 9,900 lines) is 11 calls.
- read_units: `GET /api/RecurringInvoice?client_ids=<up to 100>&includelines=true` for the clients whose
  invoices hold the lines asked for (learnt from list_services, each read and each post); a line not met yet,
  or not where it was, is looked for in one complete read of the invoices. Lines do not move between invoices
  and ids are not reused: one missing from a complete read is remembered as gone.
Writing (posting.py): read the invoice, post every line with ours changed, under a lock per recurring invoice so
two changes to one invoice in this process never interleave. Two SeatSync processes posting to lines of the same
invoice at the same instant could still overwrite each other's line (Halo offers no version check that the
sources name); the loser's change shows as drift in the next cycle and is posted again, under a new key.
No future-dated changes (`vendor.CAPABILITIES`): a line's quantity has no effective date, so a change is posted on
its day and its pro-rata record covers the invoiced period from then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from bot.connectors.connection import Connection
from bot.connectors.fanout import fan_out, first_failure
from bot.connectors.http import CallStats, RetryPolicy
from bot.connectors.psa.halopsa.api import (
    DEFAULT_SCOPE,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENT,
    PAGE_SIZE,
    REQUESTS_PER_MINUTE,
    SYSTEM,
    HaloApi,
    HaloLogin,
)
from bot.connectors.psa.halopsa.check import check_connection
from bot.connectors.psa.halopsa.posting import find_seat_change, ids_of, post_seat_change
from bot.connectors.psa.halopsa.records import (
    company_record,
    contract_records,
    invoice_lines,
    line_units,
    readable,
    service_record,
)
from bot.connectors.psa.halopsa.vendor import CAPABILITIES
from bot.domain.records import (
    AdjustmentRequest,
    ConnectionCheck,
    PostResult,
    PsaCompanyRecord,
    PsaContractRecord,
    PsaServiceRecord,
)

Today = Callable[[], date]
KEPT_FOR_SERVICES_S = 300.0
CLIENTS_PER_READ = 100


def _utc_today() -> date:
    return datetime.now(UTC).date()


class HaloPsaClient:
    system = SYSTEM
    supports_future_dates = CAPABILITIES.future_dated_changes

    def __init__(self, api: HaloApi, *, today: Today = _utc_today) -> None:
        self.api = api
        self.today = today
        self._invoice_of: dict[int, int] = {}  # line id -> recurring invoice id
        self._client_of: dict[int, int] = {}  # recurring invoice id -> client id
        self._gone: set[int] = set()  # line ids Halo no longer has
        self._kept: tuple[float, list[dict[str, Any]]] | None = None  # invoices list_contracts read, for services
        self._locks: dict[int, asyncio.Lock] = {}

    @classmethod
    def from_connection(
        cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(), requests_per_minute: int | None = None,
        max_concurrent: int = MAX_CONCURRENT, today: Today = _utc_today,
        transport: httpx.AsyncBaseTransport | None = None, clock: Callable[[], float] = time.monotonic,
        page_size: int = PAGE_SIZE,
    ) -> HaloPsaClient:
        """`clock`: monotonic seconds for the token's expiry; `page_size` (tests page small data with small ones)."""
        options, secrets = connection.options, connection.secrets
        missing = [f"option {name}" for name in ("tenant", "client_id") if not str(options.get(name) or "").strip()]
        missing += ["secret client_secret"] if not secrets.get("client_secret") else []
        if missing:
            raise ValueError(f"the HaloPSA connection lacks {', '.join(missing)}")
        login = HaloLogin(instance_url=connection.base_url, tenant=str(options["tenant"]).strip(),
                          client_id=str(options["client_id"]).strip(), client_secret=secrets["client_secret"],
                          scope=" ".join(str(options.get("scope") or DEFAULT_SCOPE).split()))
        per_minute = requests_per_minute or int(options.get("requests_per_minute") or REQUESTS_PER_MINUTE)
        api = HaloApi(login, timeout=timeout, retry=retry, requests_per_minute=per_minute,
                      max_concurrent=max_concurrent, clock=clock, transport=transport, page_size=page_size)
        return cls(api, today=today)

    @property
    def stats(self) -> CallStats:
        return self.api.stats

    async def aclose(self) -> None:
        await self.api.aclose()

    async def test_connection(self) -> ConnectionCheck:
        return await check_connection(self.api)

    # --- reads ---------------------------------------------------------------------------------
    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]:
        rows = await self.api.list_all("Client", "clients", operation="clients.list",
                                       params={"includeinactive": "true"})
        return [company_record(row) for row in rows]

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]:
        try:
            async with asyncio.TaskGroup() as group:  # both at once; the first failure stops the other
                reading = group.create_task(self._all_invoices())
                contracts = await self.api.list_all("ClientContract", "contracts", operation="contracts.list")
        except BaseExceptionGroup as failures:
            raise first_failure(failures) from None
        invoices = reading.result()
        self._kept = (time.monotonic(), invoices)
        by_id = {row["id"]: row for row in contracts}
        return contract_records(invoices, by_id, self.today())

    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]:
        kept, self._kept = self._kept, None
        fresh = kept is not None and time.monotonic() - kept[0] <= KEPT_FOR_SERVICES_S
        invoices = kept[1] if fresh and kept is not None else await self._all_invoices()
        today = self.today()
        return [service_record(line, invoice["id"], today) for invoice in invoices for line in invoice_lines(invoice)]

    async def read_units(self, service_external_ids: Sequence[str]) -> dict[str, int]:
        wanted = {int(i) for i in service_external_ids if str(i).strip().isdigit()} - self._gone
        clients = sorted({self._client_of[self._invoice_of[line]] for line in wanted
                          if self._invoice_of.get(line) in self._client_of})
        batches = [clients[start:start + CLIENTS_PER_READ] for start in range(0, len(clients), CLIENTS_PER_READ)]
        pages = await fan_out(batches, self._invoices_of_clients, workers=self.api.http.limiter.max_concurrent)
        found = self._lines_in([invoice for page in pages for invoice in page], wanted)
        if wanted - found.keys():
            found.update(self._lines_in(await self._all_invoices(), wanted - found.keys()))
            self._gone.update(wanted - found.keys())  # not in a complete read: deleted
        today = self.today()
        return {str(line_id): line_units(line, today) for line_id, line in found.items()}

    # --- writes --------------------------------------------------------------------------------
    async def post_adjustment(self, request: AdjustmentRequest) -> PostResult:
        invoice_id, line_id = ids_of(request)
        self._invoice_of.setdefault(line_id, invoice_id)
        async with self._locks.setdefault(invoice_id, asyncio.Lock()):
            return await post_seat_change(self.api, request, today=self.today())

    async def find_posted(self, request: AdjustmentRequest) -> PostResult | None:
        invoice_id, line_id = ids_of(request)
        self._invoice_of.setdefault(line_id, invoice_id)
        return await find_seat_change(self.api, request, today=self.today())

    # --- internals -----------------------------------------------------------------------------
    async def _all_invoices(self) -> list[dict[str, Any]]:
        invoices = await self.api.list_all("RecurringInvoice", "invoices", operation="invoices.list",
                                           params={"includelines": "true"})
        self._remember(invoices)
        return invoices

    async def _invoices_of_clients(self, client_ids: list[int]) -> list[dict[str, Any]]:
        invoices = await self.api.list_all(
            "RecurringInvoice", "invoices", operation="invoices.units",
            params={"client_ids": ",".join(str(i) for i in client_ids), "includelines": "true"})
        self._remember(invoices)
        return invoices

    def _remember(self, invoices: list[dict[str, Any]]) -> None:
        for invoice in invoices:
            with readable(invoice, "recurring invoice"):
                self._client_of[invoice["id"]] = int(invoice["client_id"])
                for line in invoice_lines(invoice):
                    self._invoice_of[line["id"]] = invoice["id"]

    @staticmethod
    def _lines_in(invoices: list[dict[str, Any]], wanted: set[int]) -> dict[int, dict[str, Any]]:
        return {line["id"]: line for invoice in invoices for line in invoice_lines(invoice) if line["id"] in wanted}
