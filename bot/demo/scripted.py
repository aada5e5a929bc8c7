"""`seatsync demo --once`: one scripted run — link, let N days pass, sync until settled — narrated,
ending with one JSON line whose `in_sync` and write counts are read from the PSA simulator.

After the last day, the same day's next poll runs too: a change can take two cycles (seats bought back beyond a
decrease the PSA already holds for a later day bill from today first; the next cycle cancels the decrease at its day,
bot/sync/planning._change), and a run ending between the two left a PSA below the marketplace as scheduled. A change
SeatSync holds because it is dated after its contract's end is named apart by the verdict (`waiting_past_contract_end`,
bot/demo/verdict.py), with its date and the contract's end.

The narrative goes to `say` (stdout); a line per phase and a heartbeat go to stderr (`progress`), and a
run that stops moving ends with DemoFailed saying where it stood, never in silence."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import SYSTEM_CLOCK, Clock
from bot.connectors.registry import VENDORS
from bot.connectors.vendor import Kind
from bot.db.links import LinkError, link_resource
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaContract,
    PsaService,
    ResourceLink,
)
from bot.db.tenancy import DEFAULT_TENANT_ID
from bot.demo.narration import day_line
from bot.demo.progress import DemoFailed, Progress, Watchdog
from bot.demo.verdict import LinkedPair, TargetBook, WaitingChange, judge
from bot.demo.workspace import (
    ACTOR,
    DemoWorkspace,
    demo_support,
    marketplace_keys,
    open_workspace,
    world_options,
)
from bot.domain.proration import business_date
from bot.sandbox.app import Sandbox
from bot.services.suggestions import suggest_links
from bot.sync.engine import CycleReport
from bot.sync.posting import PostingReport

Say = Callable[[str], None]
MAX_SETTLE_PASSES = 60
READ_TRIES = 10
LAST_CYCLES = 3  # same-day cycles after the last day, until one plans nothing
OPEN = (AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed)


def _default(kind: Kind) -> Callable[[], str]:
    return lambda: VENDORS.demo_choices(kind)[0]


@dataclass(frozen=True)
class DemoOptions:
    psa: str = field(default_factory=_default("psa"))
    marketplace: str = field(default_factory=_default("marketplace"))
    scale: str = "small"
    faults: str = "none"
    days: int = 3
    seed: int = 1
    database_url: str | None = None
    secret_key: str = ""
    sandbox_port: int = 0  # where the simulators serve (0: a free port)
    invoice_check: bool = False  # then a month-end invoice check of planted discrepancies (bot.demo.invoice_proof)
    decreases_today: bool = True  # False: at the next period's start, the product's default (bench/next_period_demo.py)


async def run_once(options: DemoOptions, say: Say = print, *, clock: Clock = SYSTEM_CLOCK,
                   progress: Progress | None = None, tenant_id: int = DEFAULT_TENANT_ID) -> dict:
    """The scripted run; raises DemoFailed when it cannot finish. `clock`: where the demo's time starts
    (the simulated world begins on its date, UTC). `tenant_id`: the MSP it runs for (inside its `tenant_scope`;
    `bot.demo.tenants` runs several)."""
    progress = progress or Progress()
    progress.enter(f"generating the {options.scale} sandbox (seed {options.seed})")
    sandbox = Sandbox.generate(seed=options.seed, scale=options.scale,  # type: ignore[arg-type]
                               today=business_date(clock(), "UTC"),
                               **world_options(*marketplace_keys(options.marketplace)))
    try:
        await sandbox.start(port=options.sandbox_port)
    except OSError as exc:
        await sandbox.stop()
        raise DemoFailed(f"cannot serve the simulators on port {options.sandbox_port}: {exc.strerror}") from None
    with tempfile.TemporaryDirectory(prefix="seatsync-demo-") as folder:
        database_url = options.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=options.secret_key,
                                         marketplace=options.marketplace, psa=options.psa, clock=clock,
                                         tenant_id=tenant_id, decreases_today=options.decreases_today)
        try:
            watchdog = Watchdog(progress, lambda: {connector.system: connector.stats
                                                   for connector in (*workspace.marketplaces, workspace.psa)})
            return await watchdog.run(_script(workspace, options, say, progress))
        finally:
            await workspace.close()


async def _script(workspace: DemoWorkspace, options: DemoOptions, say: Say, progress: Progress) -> dict:
    world = workspace.sandbox.world
    say(f"SeatSync demo: {options.marketplace} -> {options.psa}, {options.scale} MSP "
        f"({len(world.customers)} customers), seed {options.seed}, faults {options.faults}, {options.days} day(s)")
    marketplaces = marketplace_keys(options.marketplace)
    simulators = tuple(demo_support(system).simulator for system in (*marketplaces, options.psa))
    workspace.sandbox.apply_profile(options.faults, tuple(name for name in simulators if name is not None))
    progress.enter(f"first sync cycle: a complete read of {' and '.join(marketplaces)} and {options.psa}")
    report = await _cycle_until_read(workspace, say, force_full=True)
    read = ", ".join(f"{system} {diff.resources_seen}" for system, diff in report.marketplaces.items())
    say(f"read the marketplace ({report.marketplace.resources_seen if report.marketplace else 0} resources: {read}) "
        f"and the PSA ({report.psa.services if report.psa else 0} services)")

    progress.enter("linking the high-confidence name matches")
    link_ids = await link_high_confidence(workspace, say)
    pairs = await _linked_pairs(workspace)
    book = TargetBook()
    book.record(world, marketplaces[0], pairs)
    first_write = len(world.write_log)
    progress.enter(f"link-time reconciliation of {len(link_ids)} links")
    planned, posting = await workspace.engine.reconcile_links(link_ids=link_ids, actor=ACTOR)
    say(f"link-time reconciliation: {len(planned)} of {len(link_ids)} linked resources differed; "
        f"{describe_posting(posting)}")
    progress.enter("posting what is still open")
    await settle(workspace, say)

    # The run makes one complete read, at its start; each scripted day is then synced as the polls within
    # a day are, incrementally (a large PSA's complete read can be ~4,000 calls: four minutes at its budget).
    workspace.engine.full_read_every = timedelta(days=options.days + 1)
    for number in range(1, options.days + 1):
        day = workspace.pass_day()
        book.record(world, marketplaces[0], pairs)
        say(day_line(day, marketplaces))
        progress.enter(f"day {number} of {options.days} ({day.day}): sync cycle")
        report = await _cycle_until_read(workspace, say)
        say(f"  sync: {len(report.planned)} changes planned, {report.posting.posted if report.posting else 0} posted "
            f"({report.api_calls.get('marketplace', 0)} marketplace and {report.api_calls.get('psa', 0)} PSA calls)")
        progress.enter(f"day {number} of {options.days}: posting what is still open")
        await settle(workspace, say)

    if options.days:
        progress.enter("the last day's next sync cycle: what takes two cycles")
        for _ in range(LAST_CYCLES):
            report = await _cycle_until_read(workspace, say)
            if not report.planned:
                break
            say(f"  the same day's next cycle: {len(report.planned)} changes planned, "
                f"{report.posting.posted if report.posting else 0} posted")
            await settle(workspace, say)

    progress.enter("reading the verdict from the simulators")
    verdict = judge(world, marketplace=marketplaces[0], psa=options.psa, pairs=pairs, book=book,
                    first_write=first_write, waiting=await waiting_past_contract_end(workspace))
    async with workspace.sessions() as session:
        posted = await session.scalar(select(func.count()).select_from(Adjustment)
                                      .where(Adjustment.status == AdjustmentStatus.posted))
        failed = await session.scalar(select(func.count()).select_from(Adjustment)
                                      .where(Adjustment.status == AdjustmentStatus.failed))
    for problem in verdict.out_of_sync[:10]:
        say(f"  out of sync: {problem}")
    for held in verdict.waiting[:10]:
        say(f"  waiting past its contract's end: {held}")
    waits = (f" ({len(verdict.waiting)} services differ only by a change dated after their PSA contract's end, held "
             "until the contract is renewed)") if verdict.waiting else ""
    say(f"done: {verdict.linked} linked, {posted} adjustments posted, {failed} failed; the PSA simulator saw "
        f"{verdict.psa_writes} writes, {verdict.duplicate_writes} duplicates; in sync: {verdict.in_sync}{waits}")
    result = {"linked": verdict.linked, "adjustments_posted": posted, "failed": failed,
              "psa_writes": verdict.psa_writes, "duplicate_writes": verdict.duplicate_writes,
              "bundle_writes": verdict.bundle_writes, "in_sync": verdict.in_sync,
              "waiting_past_contract_end": len(verdict.waiting)}
    if options.invoice_check:
        from bot.demo.invoice_proof import invoice_proof

        result.update(await invoice_proof(workspace, marketplace=options.marketplace, psa=options.psa,
                                          seed=options.seed, days=options.days, say=say, progress=progress,
                                          cycle=_cycle_until_read, settle=settle))
    return result


async def waiting_past_contract_end(workspace: DemoWorkspace) -> dict[str, WaitingChange]:
    """The open intents posting leaves for later because they are dated after their contract's end, by service."""
    async with workspace.sessions() as session:
        rows = await session.execute(
            select(PsaService.external_id, Adjustment.units_to, Adjustment.effective_date, PsaContract.end_date)
            .join(PsaService, PsaService.id == Adjustment.psa_service_id)
            .join(PsaContract, PsaContract.id == PsaService.contract_id)
            .where(Adjustment.status.in_(OPEN), PsaContract.end_date.is_not(None),
                   Adjustment.effective_date > PsaContract.end_date))
        return {external_id: WaitingChange(units_to, day, end) for external_id, units_to, day, end in rows}


async def _cycle_until_read(workspace: DemoWorkspace, say: Say, *, force_full: bool = False) -> CycleReport:
    for _ in range(READ_TRIES):
        report = await workspace.engine.run_cycle(trigger="demo", actor=ACTOR, ignore_backoff=True,
                                                  force_full=force_full)
        if report.marketplace is not None and report.psa is not None and not report.unread_marketplaces:
            return report
        say(f"  cycle incomplete ({'; '.join(report.errors)[:160]}); running it again")
    raise DemoFailed(f"the simulators could not be read in {READ_TRIES} cycles: {'; '.join(report.errors)[:300]}")


async def settle(workspace: DemoWorkspace, say: Say) -> None:
    """Retry what is open until the outbox is empty (the demo does not wait out real backoff)."""
    for _ in range(MAX_SETTLE_PASSES):
        async with workspace.sessions() as session:
            open_count = await session.scalar(select(func.count()).select_from(Adjustment)
                                              .where(Adjustment.status.in_(OPEN)))
        if not open_count:
            return
        report = await workspace.engine.post_outbox(ignore_backoff=True)
        if report.posted or report.confirmed:
            say(f"  retried: {report.posted} posted, {report.confirmed} confirmed as already landed, "
                f"{report.failed} still failing")


async def link_high_confidence(workspace: DemoWorkspace, say: Say) -> list[int]:
    async with workspace.sessions() as session:
        suggestions = await suggest_links(session=session, psa=workspace.psa.system)
        chosen = [s for s in suggestions if s.high_confidence]
        link_ids: list[int] = []
        for suggestion in chosen:
            try:
                link = await link_resource(session=session, resource_id=suggestion.resource_id,
                                           service_id=suggestion.service_id, actor=ACTOR, now=workspace.clock())
            except LinkError:
                continue
            link_ids.append(link.id)
        await session.commit()
    say(f"linked {len(link_ids)} resources: the high-confidence name matches of {len(suggestions)} suggestions")
    return link_ids


async def _linked_pairs(workspace: DemoWorkspace) -> list[LinkedPair]:
    async with workspace.sessions() as session:
        rows = await session.execute(
            select(MarketplaceSubscription.external_id, MarketplaceResource.external_id, PsaService.external_id,
                   MarketplaceResource.marketplace)
            .select_from(ResourceLink)
            .join(MarketplaceResource, MarketplaceResource.id == ResourceLink.resource_id)
            .join(MarketplaceSubscription, MarketplaceSubscription.id == MarketplaceResource.subscription_id)
            .join(PsaService, PsaService.id == ResourceLink.psa_service_id)
        )
        return [LinkedPair(*row) for row in rows]


def describe_posting(report: PostingReport) -> str:
    return (f"posted {report.posted}, confirmed {report.confirmed} already landed, failed for now {report.failed}")


def summary_line(result: dict) -> str:
    return json.dumps(result)
