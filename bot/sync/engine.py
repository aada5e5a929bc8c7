"""The sync engine: one cycle = read every marketplace, refresh the PSA cache, plan, post.

It talks to one or more `Marketplace`s and one `Psa` and never knows which vendors they are. The marketplaces
are read side by side (each with its own cursors); one that cannot be read makes the cycle partial, not failed:
the others' snapshots are stored and their links levelled and posted, while the failed one's links wait for a
cycle that reads it. Every cycle is a `SyncRun` row with its statistics; the cursors for incremental reads come
from the last good run (`stats["marketplaces"][key]`, per marketplace; the PSA's as before).
A cycle runs under an in-process lock, and across instances only the lease holder schedules cycles; posts from
anywhere (another instance's webhook, `seatsync sync --once`) are kept apart by claims (bot.sync.claims).
A run names its process and heartbeats while it runs; a cycle starting marks the runs whose heartbeat stopped
(their process died) as failed, "interrupted", and never a live one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.connectors.errors import ConnectorError
from bot.connectors.http import read_deadline
from bot.connectors.interfaces import Marketplace, Psa
from bot.connectors.shared_budget import SHARED_BUDGET, SharedBudget
from bot.db.audit import record_audit
from bot.db.connector_health import record_failure, record_success
from bot.db.models import (
    AdjustmentTrigger,
    PsaContract,
    PsaService,
    ResourceLink,
    SyncRun,
    SyncRunStatus,
)
from bot.domain.proration import business_date
from bot.domain.records import MarketplaceSnapshot
from bot.sync.claims import DEFAULT_CLAIM_TTL, process_instance_id
from bot.sync.planner_stats import analyze_loaded_tables
from bot.sync.planning import LinkFailure, PlannedChange, plan_levelling
from bot.sync.posting import PostingReport, post_due_adjustments
from bot.sync.psa_cache import PsaRefresh, apply_psa_records
from bot.sync.runs import end_runs_of, heartbeat_while, mark_interrupted_runs
from bot.sync.scheduled_changes import landed_since
from bot.sync.snapshot import SnapshotDiff, apply_marketplace_snapshot
from bot.sync.subscription_sync import open_intent_ids, subscription_link_ids

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CURSOR_MARGIN = timedelta(minutes=5)  # re-read a little overlap: vendor clocks and our clock differ
READ_DEADLINE = timedelta(minutes=30)  # a cycle's reads retry 429s and 5xx until then (bot.connectors.http)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CycleReport:
    run_id: int
    status: SyncRunStatus
    dry_run: bool
    marketplace: SnapshotDiff | None = None  # every marketplace read, together (None: none could be read)
    marketplaces: dict[str, SnapshotDiff] = field(default_factory=dict)  # each marketplace read, by its key
    unread_marketplaces: list[str] = field(default_factory=list)  # those that could not be read this cycle
    psa: PsaRefresh | None = None
    planned: list[PlannedChange] = field(default_factory=list)
    link_failures: list[LinkFailure] = field(default_factory=list)  # links whose change could not be computed
    posting: PostingReport | None = None
    errors: list[str] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class SyncEngine:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], psa: Psa, marketplace: Marketplace | None = None,
        marketplaces: Sequence[Marketplace] = (), clock: Clock = utcnow, timezone: str = "UTC",
        full_read_every: timedelta = timedelta(hours=24),
        post_concurrency: int = 4, read_deadline: timedelta = READ_DEADLINE, instance_id: str | None = None,
        claim_ttl: timedelta = DEFAULT_CLAIM_TTL, budget: SharedBudget | None = None,
    ) -> None:
        self.sessions = sessions
        # the tenant's vendor budgets shared with every instance (PostgreSQL: bot.db.rate_budgets), drawn on by
        # whatever starts the work: a queue job, a webhook, a Slack button, the CLI
        self.budget = budget
        self.marketplaces: tuple[Marketplace, ...] = tuple(marketplaces) or ((marketplace,) if marketplace else ())
        if not self.marketplaces:
            raise ValueError("the engine needs at least one marketplace")
        if len({m.system for m in self.marketplaces}) != len(self.marketplaces):
            raise ValueError("each marketplace may be read once")
        self.psa = psa
        self.clock = clock
        self.timezone = timezone
        self.full_read_every = full_read_every
        self.post_concurrency = post_concurrency
        self.read_deadline = read_deadline
        self.instance_id = instance_id or process_instance_id()
        self.claim_ttl = claim_ttl  # claims on intents; a run is taken for dead after as long without a heartbeat
        self.heartbeat_every = claim_ttl / 3
        self._lock = asyncio.Lock()
        # a cycle asked for and not started yet, by what it does: the same asked again meanwhile joins it
        self._cycles_waiting: dict[tuple[bool, bool, bool], asyncio.Future[CycleReport]] = {}

    @property
    def marketplace(self) -> Marketplace:
        """The first marketplace (the only one of a single-marketplace install)."""
        return self.marketplaces[0]

    @marketplace.setter
    def marketplace(self, connector: Marketplace) -> None:
        self.marketplaces = (connector, *self.marketplaces[1:])

    def marketplace_of(self, system: str | None) -> Marketplace:
        """The connector of marketplace `system` (the first when None); KeyError when it is not read here."""
        if system is None:
            return self.marketplace
        for connector in self.marketplaces:
            if connector.system == system:
                return connector
        raise KeyError(system)

    async def aclose(self) -> None:
        for connector in self.marketplaces:
            await connector.aclose()
        await self.psa.aclose()

    async def aclose_when_idle(self) -> None:
        """Close once the cycle or outbox pass under way (if any) has finished."""
        async with self._lock:
            await self.aclose()

    def today(self):
        return business_date(self.clock(), self.timezone)

    @contextlib.asynccontextmanager
    async def _working(self) -> AsyncIterator[None]:
        """One cycle or pass at a time; its vendor requests (and the tasks it starts) draw on the shared budget,
        unless the caller set one already (a queue job sets the same tenant's)."""
        async with self._lock:
            if self.budget is None or SHARED_BUDGET.get() is not None:
                yield
                return
            token = SHARED_BUDGET.set(self.budget)
            try:
                yield
            finally:
                SHARED_BUDGET.reset(token)

    async def run_cycle(
        self, *, trigger: str = "schedule", actor: str = "system", dry_run: bool = False,
        ignore_backoff: bool = False, force_full: bool = False,
    ) -> CycleReport:
        """One cycle. Asked for while the same cycle (dry run or not, the same options) waits for the one under way,
        it is that cycle: ten *Sync now* clicks during a long read make one more cycle, not ten, and each caller
        gets its report. A cycle already running is never joined: it may have read before the caller's change."""
        key = (dry_run, ignore_backoff, force_full)
        if (waiting := self._cycles_waiting.get(key)) is not None:
            return await asyncio.shield(waiting)
        joined = self._cycles_waiting[key] = asyncio.get_running_loop().create_future()
        try:
            report = await self._run_cycle(key, joined, trigger=trigger, actor=actor, dry_run=dry_run,
                                           ignore_backoff=ignore_backoff, force_full=force_full)
        except BaseException as error:
            if self._cycles_waiting.get(key) is joined:
                del self._cycles_waiting[key]
            joined.set_exception(error if isinstance(error, Exception) else RuntimeError("the cycle was cancelled"))
            joined.exception()  # retrieved: nobody may have joined
            raise
        joined.set_result(report)
        return report

    async def _run_cycle(self, key: tuple[bool, bool, bool], joined: asyncio.Future[CycleReport], *, trigger: str,
                         actor: str, dry_run: bool, ignore_backoff: bool, force_full: bool) -> CycleReport:
        async with self._working(), heartbeat_while(sessions=self.sessions, owner=self.instance_id, clock=self.clock,
                                               every=self.heartbeat_every):
            if self._cycles_waiting.get(key) is joined:
                del self._cycles_waiting[key]  # started: what is asked for from now on waits for the next one
            try:
                with read_deadline(self.read_deadline.total_seconds()):
                    return await self._cycle(trigger=trigger, actor=actor, dry_run=dry_run,
                                             ignore_backoff=ignore_backoff, force_full=force_full)
            except Exception as exc:
                await end_runs_of(sessions=self.sessions, owner=self.instance_id, now=self.clock(),
                                  error=f"the cycle stopped on an unexpected error: {type(exc).__name__}")
                raise

    async def post_outbox(self, *, ignore_backoff: bool = False, only_ids: list[int] | None = None) -> PostingReport:
        """Post what is due (new intents and retries) without reading the marketplace; `only_ids`: just
        these intents (an approval posts its change at once)."""
        async with self._working():
            return await self._post(ignore_backoff=ignore_backoff, only_ids=only_ids)

    async def reconcile_links(self, *, link_ids: list[int], actor: str,
                              trigger: AdjustmentTrigger = AdjustmentTrigger.link,
                              failures: list[LinkFailure] | None = None,
                              ) -> tuple[list[PlannedChange], PostingReport]:
        """The one-time reconciliation after linking: post the difference between the two sides, once. Links
        whose change cannot be computed are added to `failures`."""
        async with self._working():
            async with self.sessions() as session:
                planned = await plan_levelling(session=session, today=self.today(), now=self.clock(),
                                               trigger=trigger, actor=actor, link_ids=link_ids, failures=failures)
                now = self.clock()
                for link in await session.scalars(select(ResourceLink).where(ResourceLink.id.in_(link_ids))):
                    link.reconciled_at = now
                await session.commit()
            report = await self._post(ignore_backoff=True)
            return planned, report

    async def sync_subscription(self, external_id: str, *, actor: str = "webhook", marketplace: str | None = None,
                                ) -> tuple[SnapshotDiff, list[PlannedChange], PostingReport | None]:
        """Read one subscription of `marketplace` (the first when None) now and level only its links (a change
        notification)."""
        connector = self.marketplace_of(marketplace)
        async with self._working():
            now = self.clock()
            try:
                incoming = await connector.get_subscription(external_id)
            except ConnectorError as exc:
                await self._record_health(connector.system, error=exc.describe())
                raise
            await self._record_health(connector.system)
            marketplace = connector.system
            async with self.sessions() as session:
                diff = await apply_marketplace_snapshot(
                    session=session, marketplace=marketplace, now=now,
                    snapshot=MarketplaceSnapshot(companies=[], subscriptions=[incoming], complete=False, read_at=now))
                link_ids = await subscription_link_ids(session=session, marketplace=marketplace,
                                                       external_id=external_id)
                planned = await plan_levelling(session=session, today=self.today(), now=now,
                                               trigger=AdjustmentTrigger.sync, actor=actor,
                                               link_ids=link_ids) if link_ids else []
                intent_ids = await open_intent_ids(session=session, link_ids=link_ids)
                await session.commit()
            report = await self._post(ignore_backoff=False, only_ids=intent_ids) if intent_ids else None
            return diff, planned, report

    async def _cycle(self, *, trigger: str, actor: str, dry_run: bool, ignore_backoff: bool,
                     force_full: bool) -> CycleReport:
        started = time.monotonic()
        now = self.clock()
        calls_before = ({m.system: m.stats.total for m in self.marketplaces}, self.psa.stats.total)
        async with self.sessions() as session:
            await mark_interrupted_runs(session=session, now=now, stale_after=self.claim_ttl)
            cursors = await _last_cursors(session)
            run = SyncRun(trigger=trigger, triggered_by=actor, status=SyncRunStatus.running, dry_run=dry_run,
                          started_at=now, owner=self.instance_id, heartbeat_at=now)
            session.add(run)
            await session.commit()
        report = CycleReport(run_id=run.id, status=SyncRunStatus.running, dry_run=dry_run)
        stats: dict = {}
        loaded: dict[str, int] = {}  # rows a complete read holds, by table: large ones are analyzed (planner_stats)
        known = dict(cursors.get("marketplaces") or {})
        full_psa = force_full or _full_due(cursors.get("psa_full_at"), now, self.full_read_every)
        psa_since = None if full_psa else _parse(cursors.get("psa_read_at"))
        # every side is read at once (each can be minutes of rate-limited calls); the PSA's records are stored
        # after the marketplaces', and dropped if no marketplace could be read
        psa_read = asyncio.create_task(self._read_psa(psa_since))
        plans = {m.system: self._marketplace_plan(known.get(m.system) or {}, now, force_full)
                 for m in self.marketplaces}
        try:
            fetched = await asyncio.gather(*(self._fetch_marketplace(m, plans[m.system][1])
                                             for m in self.marketplaces), return_exceptions=True)
            marketplace_cursors: dict[str, dict] = {}
            for connector, outcome in zip(self.marketplaces, fetched, strict=True):
                system, (full, since) = connector.system, plans[connector.system]
                if isinstance(outcome, ConnectorError):
                    report.errors.append(f"marketplace not read: {outcome.describe()}")
                    report.unread_marketplaces.append(system)
                    await self._record_health(system, error=outcome.describe())
                    if known.get(system):
                        marketplace_cursors[system] = known[system]  # kept for the next cycle
                    continue
                if isinstance(outcome, BaseException):
                    raise outcome
                report.marketplaces[system] = await self._store_marketplace(system, outcome, run.id, now, since)
                if full:
                    _count_loaded(loaded, marketplace_companies=len(outcome[0]),
                                  marketplace_subscriptions=report.marketplaces[system].subscriptions_seen,
                                  marketplace_resources=report.marketplaces[system].resources_seen)
                marketplace_cursors[system] = {"read_at": now.isoformat(),
                                               "full_at": now.isoformat() if full else (known.get(system) or {})
                                               .get("full_at")}
                await self._record_health(system)
            stats["marketplaces"] = marketplace_cursors
            if report.marketplaces:
                report.marketplace = _together(report.marketplaces.values())
        finally:
            if report.marketplace is None:
                psa_read.cancel()
                await asyncio.gather(psa_read, return_exceptions=True)
        if report.marketplace is not None:
            try:
                report.psa = await self._refresh_psa(now, psa_since, psa_read)
                if full_psa:
                    _count_loaded(loaded, psa_companies=report.psa.companies, psa_contracts=report.psa.contracts,
                                  psa_services=report.psa.services)
                stats["psa_read_at"] = now.isoformat()
                stats["psa_full_at"] = now.isoformat() if full_psa else cursors.get("psa_full_at")
                await self._record_health(self.psa.system)
            except ConnectorError as exc:
                report.errors.append(f"PSA not read: {exc.describe()}")
                await self._record_health(self.psa.system, error=exc.describe())
        await analyze_loaded_tables(self.sessions.kw.get("bind"), loaded)  # before planning reads them
        if report.marketplace is not None and report.psa is not None:
            # never level against a half-read world: only the links of the marketplaces read now
            read = None if not report.unread_marketplaces else list(report.marketplaces)
            async with self.sessions() as session:
                report.planned = await plan_levelling(
                    session=session, today=self.today(), now=self.clock(), trigger=AdjustmentTrigger.sync,
                    actor=actor, dry_run=dry_run, failures=report.link_failures, marketplaces=read)
                if dry_run:
                    await session.rollback()
                else:
                    await session.commit()
            if not dry_run:
                report.posting = await self._post(ignore_backoff=ignore_backoff)
                if report.posting.read_error:
                    report.errors.append(f"PSA units not read before posting: {report.posting.read_error}")
            report.errors += [failure.describe() for failure in report.link_failures]
        by_marketplace = {m.system: m.stats.total - calls_before[0][m.system] for m in self.marketplaces}
        report.api_calls = {"marketplace": sum(by_marketplace.values()), "psa": self.psa.stats.total - calls_before[1]}
        if len(by_marketplace) > 1:
            report.api_calls.update({f"marketplace:{system}": calls for system, calls in by_marketplace.items()})
        report.seconds = round(time.monotonic() - started, 3)
        report.status = _status(report)
        await self._finish(run.id, report, stats)
        return report

    def _marketplace_plan(self, cursor: dict, now: datetime, force_full: bool) -> tuple[bool, datetime | None]:
        """(complete read?, changed since) for one marketplace, from its cursor of the last good run."""
        full = force_full or _full_due(cursor.get("full_at"), now, self.full_read_every)
        return full, None if full else _parse(cursor.get("read_at"))

    async def _fetch_marketplace(self, connector: Marketplace, since: datetime | None) -> tuple[list, list]:
        # subscriptions first: a connector whose incremental read lists only new customers learns from them
        # which customers are new (Ingram); a complete read (since None) lists every customer either way
        modified_since = None if since is None else since - CURSOR_MARGIN
        subscriptions = await connector.list_subscriptions(modified_since=modified_since)
        companies = await connector.list_companies(modified_since=modified_since)
        return companies, subscriptions

    async def _store_marketplace(self, system: str, read: tuple[list, list], run_id: int, now: datetime,
                                 since: datetime | None) -> SnapshotDiff:
        companies, subscriptions = read
        snapshot = MarketplaceSnapshot(companies=companies, subscriptions=subscriptions, complete=since is None,
                                       read_at=now)
        async with self.sessions() as session:
            diff = await apply_marketplace_snapshot(session=session, marketplace=system, snapshot=snapshot, now=now,
                                                    sync_run_id=run_id)
            await session.commit()
        return diff

    async def _read_psa(self, since: datetime | None) -> tuple[list, list, list]:
        modified_since = None if since is None else since - CURSOR_MARGIN
        watch = getattr(self.psa, "watch_services", None)  # a PSA whose incremental reads miss edits (interfaces)
        if watch is not None:
            async with self.sessions() as session:
                watch(await _linked_contracts(session, self.psa.system))
        companies = await self.psa.list_companies(modified_since=modified_since)
        contracts = await self.psa.list_contracts(modified_since=modified_since)
        services = await self.psa.list_services(modified_since=modified_since)
        return companies, contracts, services

    async def _refresh_psa(self, now: datetime, since: datetime | None,
                           read: Awaitable[tuple[list, list, list]]) -> PsaRefresh:
        companies, contracts, services = await read
        async with self.sessions() as session:
            linked = await _linked_units(session)
            refresh = await apply_psa_records(session=session, psa=self.psa.system, now=now,
                                              complete=since is None, companies=companies, contracts=contracts,
                                              services=services)
            moved = [(linked[r.external_id], r) for r in services
                     if r.external_id in linked and linked[r.external_id].units != r.units]
            landed = await landed_since(session, today=self.today(), last_read={
                before.id: business_date(before.last_seen_at, self.timezone) for before, _ in moved})
            for before, record in moved:
                if before.units + landed.get(before.id, 0) == record.units:
                    continue  # a posted change reached its day (Autotask shows it only from then on)
                # units moved in the PSA without SeatSync (a hand edit): levelled back this cycle
                record_audit(session=session, actor=f"{self.psa.system}", action="psa_drift",
                             subject_type="psa_service", subject_id=record.external_id,
                             before={"units": before.units}, after={"units": record.units})
            await session.commit()
        return refresh

    async def _post(self, *, ignore_backoff: bool, only_ids: list[int] | None = None) -> PostingReport:
        hold_after = None if self.psa.supports_future_dates else self.today()
        calls_before = self.psa.stats.total
        report = await post_due_adjustments(sessions=self.sessions, psa=self.psa, clock=self.clock,
                                            concurrency=self.post_concurrency, ignore_backoff=ignore_backoff,
                                            hold_after=hold_after, today=self.today(), only_ids=only_ids,
                                            owner=self.instance_id, claim_ttl=self.claim_ttl)
        if report.read_error:
            await self._record_health(self.psa.system, error=report.read_error)
        elif self.psa.stats.total > calls_before:  # a pass with nothing due talks to no one
            await self._record_health(self.psa.system)
        return report

    async def _record_health(self, system: str, *, error: str | None = None) -> None:
        """The connector's last outcome, for /healthz and the health alerts (bot.db.connector_health)."""
        async with self.sessions() as session:
            if error is None:
                await record_success(session=session, system=system, now=self.clock())
            else:
                await record_failure(session=session, system=system, error=error, now=self.clock())
            await session.commit()

    async def _finish(self, run_id: int, report: CycleReport, stats: dict) -> None:
        async with self.sessions() as session:
            run = await session.get(SyncRun, run_id)
            run.finished_at = self.clock()
            run.status = report.status
            run.error = "\n".join(report.errors) or None
            run.stats = {
                **stats,
                **(report.marketplace.as_stats() if report.marketplace else {}),
                **(report.psa.as_stats() if report.psa else {}),
                **(report.posting.as_stats() if report.posting else {}),
                "planned": len(report.planned),
                "api_calls": report.api_calls,
                "seconds": report.seconds,
            }
            await session.commit()


def _together(diffs) -> SnapshotDiff:
    """Several marketplaces' diffs as one (the cycle's summary)."""
    total = SnapshotDiff()
    for diff in diffs:
        total.increases += diff.increases
        total.decreases += diff.decreases
        total.new_subscriptions += diff.new_subscriptions
        total.cancelled_subscriptions += diff.cancelled_subscriptions
        total.price_changes += diff.price_changes
        total.new_resources += diff.new_resources
        total.removed_resources += diff.removed_resources
        total.subscriptions_seen += diff.subscriptions_seen
        total.resources_seen += diff.resources_seen
    return total


def _status(report: CycleReport) -> SyncRunStatus:
    if report.errors and report.marketplace is None:
        return SyncRunStatus.failed
    if report.errors or (report.posting and report.posting.failed):
        return SyncRunStatus.partial
    return SyncRunStatus.succeeded


def _full_due(last_full: str | None, now: datetime, every: timedelta) -> bool:
    parsed = _parse(last_full)
    return parsed is None or now - parsed >= every


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def _last_cursors(session: AsyncSession) -> dict:
    """Cursors of the latest run that read both sides (dry runs read too; their cursors are as good)."""
    stats = await session.scalar(
        select(SyncRun.stats)
        .where(SyncRun.status.in_([SyncRunStatus.succeeded, SyncRunStatus.partial]))
        .order_by(SyncRun.id.desc()).limit(1)
    )
    return dict(stats or {})


async def _linked_contracts(session: AsyncSession, psa: str) -> dict[str, str]:
    """service external id -> its contract's external id, for every linked service of `psa`."""
    rows = await session.execute(
        select(PsaService.external_id, PsaContract.external_id)
        .join(ResourceLink, ResourceLink.psa_service_id == PsaService.id)
        .join(PsaContract, PsaContract.id == PsaService.contract_id)
        .where(PsaService.psa == psa)
    )
    return {service: contract for service, contract in rows}


@dataclass(frozen=True)
class _CachedUnits:
    id: int
    units: int
    last_seen_at: datetime  # when the units were read (or posted and read back)


async def _linked_units(session: AsyncSession) -> dict[str, _CachedUnits]:
    rows = await session.execute(
        select(PsaService.external_id, PsaService.id, PsaService.units, PsaService.last_seen_at)
        .join(ResourceLink, ResourceLink.psa_service_id == PsaService.id)
    )
    return {external_id: _CachedUnits(service_id, units, seen) for external_id, service_id, units, seen in rows}


def _count_loaded(loaded: dict[str, int], **rows: int) -> None:
    for table, count in rows.items():
        loaded[table] = loaded.get(table, 0) + count
