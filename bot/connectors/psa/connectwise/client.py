"""ConnectWise Manage as SeatSync's PSA: companies, agreements, agreement additions (seats) and their posts.

Connection: `base_url` is the site (`https://api-na.myconnectwise.net`, or the on-premise host);
`options` = company_id, public_key, client_id and optionally codebase; `secrets` = private_key. The
HTTP side (codebase lookup, headers, limits, paging, id batches) is `api`, JSON mapping
`records`, writes `posting`, test_connection `check`.

Reading cheaply:
- Companies and agreements: one forward-only pass each, `fields=` only what the records need,
  `lastUpdated > [since]` when only changes are wanted. The agreements are scanned once per cycle:
  list_contracts keeps the rows it read (with the fields the additions pass needs), and list_services, asked
  next with the same `modified_since`, takes them instead of scanning again.
- Additions exist only under their agreement (`finance/agreements/{id}/additions`), so listing them
  costs one call per agreement. ConnectWise gives no way to learn which agreements had an addition
  change: no public source says an addition edit touches the agreement's `_info/lastUpdated`, and the
  simulator does not (connectwise.py `_save` stores the addition only). So `list_services(since)` asks
  only the agreements changed since then for their additions with `lastUpdated > [since]` (a handful
  of calls where a complete read makes one per agreement, ~4,000 at the `large` scale). A cancelledDate
  passing needs no edit: complete reads catch it.
- Hand edits between complete reads: an addition edited in place under an unchanged agreement is not in
  that incremental read. So the engine names the services it has linked (`watch_services`: addition id
  -> agreement id, from its own PSA cache, so it works right after a restart too), and each incremental
  read also re-reads the linked additions of half of the agreements holding them (`agreement id %
  RECHECK_TURNS == this read's turn`), by id, whatever their `lastUpdated`: a hand edit to a linked
  addition is seen within RECHECK_TURNS (2) incremental reads (10 minutes at the default 5-minute poll)
  instead of at the next daily complete read. Cost: about L / 2 calls per incremental read, L being the
  open agreements that hold linked additions (measured at the `large` scale in bench/README.md). Reading every
  linked agreement every read would halve the delay for twice the calls; a rotating sample of all
  agreements would cost as much and still miss linked ones for many reads. Unlinked additions are not
  watched: their drift is nobody's bill; nor are the additions of a cancelled or expired agreement (it
  invoices nothing; the daily complete read still reads them). The connection's `recheck_turns` option trades
  calls against the delay (L / turns calls, seen within `turns` reads).
  Why not fewer calls: additions exist only under `finance/agreements/{id}/additions` (the 2025.8 model has
  no other list of them, and the Agreement record carries no additions array, so `childConditions` on the
  agreement list cannot reach them; its arrays are customFields only), so seeing every linked addition within
  k reads costs at least ceil(L / k) calls per read, whatever the batching: that is the floor this meets.
- Product names: `procurement/catalog` with `id in (...)`, cached for the client's lifetime.
- read_units: `GET finance/agreements/{agr}/additions?conditions=id in (...)`, one call per agreement
  involved, with the fields a post needs (quantity, cancelledDate, description). A post made within
  `POSTING_READ_FRESH_S` of that read levels from it instead of reading the addition again: posting
  always reads units first (bot/sync/posting.py), and the PATCH is absolute, so a second GET per
  change only repeated the same read (a large reconciliation made 1,634 of them). The addition ->
  agreement map is filled by list_services and by each post; an id it does not know is looked for
  agreement by agreement (open ones first), stopping once all are found. Additions
  never move between agreements and ids are not reused, so an addition missing from its agreement, or
  from a scan of every agreement, is remembered as gone and not looked for again.
Writing: no future-dated changes (`vendor.CAPABILITIES`): a PATCH of quantity takes effect when it is made, so the
engine holds future-dated intents until their date.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from bot.connectors.connection import Connection
from bot.connectors.errors import NotFoundError, RejectedError
from bot.connectors.fanout import fan_out
from bot.connectors.http import CallStats, RetryPolicy
from bot.connectors.psa.connectwise.api import (
    DEFAULT_TIMEOUT,
    MAX_CONCURRENT,
    REQUESTS_PER_MINUTE,
    SYSTEM,
    ConnectWiseApi,
    ConnectWiseLogin,
)
from bot.connectors.psa.connectwise.check import check_connection
from bot.connectors.psa.connectwise.conditions import changed_since
from bot.connectors.psa.connectwise.posting import find_seat_change, post_seat_change
from bot.connectors.psa.connectwise.records import (
    ADDITION_FIELDS,
    AGREEMENT_FIELDS,
    AGREEMENT_SCAN_FIELDS,
    CATALOG_FIELDS,
    CLOSED_AGREEMENT_STATUSES,
    COMPANY_FIELDS,
    POSTING_FIELDS,
    UNITS_FIELDS,
    catalog_name,
    company_record,
    contract_record,
    product_id,
    service_record,
    units_in_effect,
)
from bot.connectors.psa.connectwise.vendor import CAPABILITIES
from bot.domain.records import (
    AdjustmentRequest,
    ConnectionCheck,
    PostResult,
    PsaCompanyRecord,
    PsaContractRecord,
    PsaServiceRecord,
)

Today = Callable[[], date]
RECHECK_TURNS = 2  # the open agreements holding linked additions are re-read in this many turns
SCAN_SHARED_S = 600.0  # list_contracts' scan serves the list_services that follows it within this
POSTING_READ_FRESH_S = 600.0  # a posting pass of thousands of changes at 1,000 calls a minute
AgreementRead = Callable[[int], Awaitable[list[dict[str, Any]]]]


def _utc_today() -> date:
    return datetime.now(UTC).date()


class ConnectWiseClient:
    system = SYSTEM
    supports_future_dates = CAPABILITIES.future_dated_changes

    def __init__(self, api: ConnectWiseApi, *, today: Today = _utc_today, recheck_turns: int = RECHECK_TURNS) -> None:
        if recheck_turns < 1:
            raise ValueError("connectwise: recheck_turns must be at least 1")
        self.api = api
        self.today = today
        self.recheck_turns = recheck_turns
        # list_contracts' rows (conditions, monotonic time, rows): list_services takes them once, while fresh
        self._scanned: tuple[str | None, float, list[dict[str, Any]]] | None = None
        self._closed: set[int] = set()  # agreements last read cancelled or expired
        self._agreement_of: dict[int, int] = {}  # addition id -> agreement id
        self._prorates: dict[int, bool] = {}  # agreement id -> prorateFlag
        self._product_names: dict[int, str] = {}
        self._gone: set[int] = set()  # addition ids ConnectWise no longer has
        self._read_for_posting: dict[int, tuple[float, dict[str, Any]]] = {}  # addition id -> (when, row)
        self._watched: dict[int, int] = {}  # linked addition id -> its agreement id (watch_services)
        self._recheck_turn = 0

    @classmethod
    def from_connection(
        cls, connection: Connection, *, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(), requests_per_minute: int | None = None,
        max_concurrent: int = MAX_CONCURRENT, today: Today = _utc_today,
        event_hooks: dict[str, list] | None = None,
    ) -> ConnectWiseClient:
        options, secrets = connection.options, connection.secrets
        missing = [f"option {name}" for name in ("company_id", "public_key", "client_id") if not options.get(name)]
        missing += ["secret private_key"] if not secrets.get("private_key") else []
        if missing:
            raise ValueError(f"the ConnectWise connection lacks {', '.join(missing)}")
        login = ConnectWiseLogin(
            site_url=connection.base_url, company_id=str(options["company_id"]),
            public_key=str(options["public_key"]), private_key=secrets["private_key"],
            client_id=str(options["client_id"]), codebase=options.get("codebase") or None,
        )
        # the connection may carry its own budget (an MSP whose ConnectWise allows more, or the sandbox)
        per_minute = requests_per_minute or int(options.get("requests_per_minute") or REQUESTS_PER_MINUTE)
        api = ConnectWiseApi(login, timeout=timeout, retry=retry, requests_per_minute=per_minute,
                             max_concurrent=max_concurrent, event_hooks=event_hooks)
        return cls(api, today=today, recheck_turns=int(options.get("recheck_turns") or RECHECK_TURNS))

    @property
    def stats(self) -> CallStats:
        return self.api.stats

    async def aclose(self) -> None:
        await self.api.aclose()

    async def test_connection(self) -> ConnectionCheck:
        return await check_connection(self.api)

    # --- companies and agreements --------------------------------------------------------------
    async def list_companies(self, *, modified_since: datetime | None = None) -> list[PsaCompanyRecord]:
        rows = await self.api.list_all("company/companies", operation="companies.list", fields=COMPANY_FIELDS,
                                       conditions=changed_since(modified_since) if modified_since else None)
        return [company_record(row) for row in rows]

    async def list_contracts(self, *, modified_since: datetime | None = None) -> list[PsaContractRecord]:
        conditions = changed_since(modified_since) if modified_since else None
        rows = await self._scan_agreements(conditions=conditions, fields=AGREEMENT_FIELDS)
        self._scanned = (conditions, time.monotonic(), rows)  # the cycle's one scan: list_services takes it
        today = self.today()
        return [contract_record(row, today) for row in rows]

    # --- additions -----------------------------------------------------------------------------
    async def list_services(self, *, modified_since: datetime | None = None) -> list[PsaServiceRecord]:
        since = changed_since(modified_since) if modified_since else None
        # ConnectWise lists additions per agreement only, so asking every open agreement costs one call
        # each, every cycle. An incremental read asks only the agreements changed since; an addition
        # edited in place is picked up by the engine's periodic complete read (and any post reads
        # fresh units first, so nothing is posted on a stale count).
        scanned, self._scanned = self._scanned, None
        if scanned is not None and scanned[0] == since and time.monotonic() - scanned[1] < SCAN_SHARED_S:
            rows = scanned[2]
        else:
            rows = await self._scan_agreements(conditions=since)
        agreement_ids = [row["id"] for row in rows]
        per_agreement = await self._each_agreement(
            agreement_ids, lambda agreement_id: self.api.list_all(
                f"finance/agreements/{agreement_id}/additions", operation="additions.list",
                fields=ADDITION_FIELDS, conditions=since))
        if since is not None:
            per_agreement.update(await self._recheck_linked(exclude=set(agreement_ids)))
        await self._learn_product_names({found for rows in per_agreement.values() for row in rows
                                         if (found := product_id(row)) is not None})
        today = self.today()
        services: list[PsaServiceRecord] = []
        for agreement_id, rows in per_agreement.items():
            for row in rows:
                self._agreement_of[row["id"]] = agreement_id
                services.append(service_record(row, agreement_id, self._product_names, today))
        return services

    def watch_services(self, services: Mapping[str, str]) -> None:
        """The services the engine has linked (service id -> contract id): incremental reads re-read them
        on their own cadence (see the module docstring)."""
        self._watched = {int(s): int(c) for s, c in services.items() if str(s).isdigit() and str(c).isdigit()}

    async def _recheck_linked(self, *, exclude: set[int]) -> dict[int, list[dict[str, Any]]]:
        """This turn's half of the agreements holding linked additions: those additions, read by id."""
        turn, self._recheck_turn = self._recheck_turn, (self._recheck_turn + 1) % self.recheck_turns
        by_agreement: dict[int, list[int]] = {}
        skip = exclude | self._closed
        for addition_id, agreement_id in self._watched.items():
            if agreement_id % self.recheck_turns == turn and agreement_id not in skip:
                by_agreement.setdefault(agreement_id, []).append(addition_id)
        return await self._each_agreement(sorted(by_agreement), lambda agreement_id: self.api.list_by_ids(
            f"finance/agreements/{agreement_id}/additions", sorted(by_agreement[agreement_id]),
            operation="additions.recheck", fields=ADDITION_FIELDS))

    async def read_units(self, service_external_ids: Sequence[str]) -> dict[str, int]:
        wanted = {int(i) for i in service_external_ids if str(i).isdigit()} - self._gone
        by_agreement: dict[int, list[int]] = {}
        for addition_id in wanted & self._agreement_of.keys():
            by_agreement.setdefault(self._agreement_of[addition_id], []).append(addition_id)
        per_agreement = await self._each_agreement(list(by_agreement), lambda a: self.api.list_by_ids(
            f"finance/agreements/{a}/additions", by_agreement[a], operation="additions.units", fields=POSTING_FIELDS))
        found = {row["id"]: row for rows in per_agreement.values() for row in rows}
        self._keep_for_posting(found.values())
        # additions never move between agreements and ids are not reused: one missing from its agreement is gone
        self._gone.update(wanted & self._agreement_of.keys() - found.keys())
        unknown = wanted - self._agreement_of.keys()
        if unknown:
            found.update(await self._look_for_additions(unknown))
        today = self.today()
        return {str(i): units_in_effect(row, today) for i, row in found.items() if i in wanted}

    # --- writes --------------------------------------------------------------------------------
    async def post_adjustment(self, request: AdjustmentRequest) -> PostResult:
        self._remember(request)
        try:
            return await post_seat_change(self.api, request, today=self.today(),
                                          agreement_prorates=self._agreement_prorates,
                                          current=self._fresh_for_posting(request.service_external_id))
        except RejectedError as exc:
            if "prorateCurrentPeriodFlag" in exc.vendor_message:
                self._prorates.pop(int(request.contract_external_id), None)  # read it afresh next time
            raise

    async def find_posted(self, request: AdjustmentRequest) -> PostResult | None:
        self._remember(request)
        return await find_seat_change(self.api, request, today=self.today())

    # --- internals -----------------------------------------------------------------------------
    def _remember(self, request: AdjustmentRequest) -> None:
        if request.service_external_id.isdigit() and request.contract_external_id.isdigit():
            self._agreement_of.setdefault(int(request.service_external_id), int(request.contract_external_id))

    def _keep_for_posting(self, rows: Iterable[dict[str, Any]]) -> None:
        now = time.monotonic()
        for addition_id in [i for i, (when, _) in self._read_for_posting.items() if now - when > POSTING_READ_FRESH_S]:
            del self._read_for_posting[addition_id]
        self._read_for_posting.update((row["id"], (now, row)) for row in rows)

    def _fresh_for_posting(self, service_external_id: str) -> dict[str, Any] | None:
        """The addition as read_units last read it, if recently enough; used once."""
        kept = self._read_for_posting.pop(int(service_external_id), None) if service_external_id.isdigit() else None
        if kept is None or time.monotonic() - kept[0] > POSTING_READ_FRESH_S:
            return None
        return kept[1]

    async def _agreement_prorates(self, agreement_id: int) -> bool:
        if agreement_id not in self._prorates:
            row = await self.api.get_record(f"finance/agreements/{agreement_id}", operation="agreements.get",
                                            fields="id,prorateFlag")
            self._prorates[agreement_id] = bool(row.get("prorateFlag"))
        return self._prorates[agreement_id]

    async def _scan_agreements(self, *, conditions: str | None = None,
                               fields: str = AGREEMENT_SCAN_FIELDS) -> list[dict[str, Any]]:
        rows = await self.api.list_all("finance/agreements", operation="agreements.list", fields=fields,
                                       conditions=conditions)
        self._prorates.update({row["id"]: bool(row["prorateFlag"]) for row in rows if "prorateFlag" in row})
        closed = {status.casefold() for status in CLOSED_AGREEMENT_STATUSES}
        for row in rows:
            if row.get("cancelledFlag") or str(row.get("agreementStatus") or "").casefold() in closed:
                self._closed.add(row["id"])
            else:
                self._closed.discard(row["id"])
        return rows

    async def _each_agreement(self, agreement_ids: list[int], read: AgreementRead) -> dict[int, list[dict[str, Any]]]:
        """`read(agreement_id)` for each agreement, by as many workers as the limiter lets requests fly;
        an agreement deleted meanwhile (404) has nothing. The first other failure stops the rest and is
        raised."""

        async def one(agreement_id: int) -> list[dict[str, Any]]:
            try:
                return await read(agreement_id)
            except NotFoundError:
                return []

        rows = await fan_out(agreement_ids, one, workers=self.api.http.limiter.max_concurrent)
        return dict(zip(agreement_ids, rows, strict=True))

    async def _look_for_additions(self, unknown: set[int]) -> dict[int, dict[str, Any]]:
        """Additions whose agreement we do not know: read agreements' additions a few at a time, open
        agreements first, remembering every addition seen, until all are found or none are left."""
        closed = {status.casefold() for status in CLOSED_AGREEMENT_STATUSES}
        agreements = sorted(await self._scan_agreements(), key=lambda row: bool(row.get("cancelledFlag")) or str(
            row.get("agreementStatus", "")).casefold() in closed)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(agreements), MAX_CONCURRENT):
            chunk = [row["id"] for row in agreements[start:start + MAX_CONCURRENT]]
            per_agreement = await self._each_agreement(chunk, lambda agreement_id: self.api.list_all(
                f"finance/agreements/{agreement_id}/additions", operation="additions.units", fields=UNITS_FIELDS))
            for agreement_id, rows in per_agreement.items():
                for row in rows:
                    self._agreement_of[row["id"]] = agreement_id
                    if row["id"] in unknown:
                        found[row["id"]] = row
            if found.keys() >= unknown:
                return found
        self._gone.update(unknown - found.keys())  # every agreement was read: these do not exist
        return found

    async def _learn_product_names(self, product_ids: set[int]) -> None:
        unknown = sorted(product_ids - set(self._product_names))
        if unknown:
            items = await self.api.list_by_ids("procurement/catalog", unknown, operation="catalog.list",
                                               fields=CATALOG_FIELDS)
            self._product_names.update({item["id"]: catalog_name(item) for item in items})
