"""Benchmark: the calls of a no-change cycle per marketplace x PSA pair, beside the paging floor of the data.

For each pair, the `large` MSP (2,000 customers, ~10,000 resources) runs in its own process
(`sandbox_process.py`), every generator-paired resource linked and the PSA level with the marketplace. The
simulators add 20 ms to every call and 2 ms per KiB of each reply (`latency_per_kib_ms`), so a 1,000-row page
costs more than a one-row read. After the complete first read, `--cycles` incremental cycles run with nothing
changed (two by default: ConnectWise's recheck alternates between halves); one JSON line per pair gives each
cycle's calls per system, counted by the connectors (the same counters as `sync_cycle.py`), and the floors
computed from the data SeatSync stored:
  - `paging_floor`: what the pair's APIs cannot go below for a read that sees every change their change signals
    show: Autotask ceil(unit rows / 500) + companies + 3 new-id probes; ConnectWise companies + agreements changed
    since (1 call each when nothing changed); Ingram ceil(subscriptions / 1000) list pages (the dates: changes
    that are no order) + 1 page of orders created since the last read; Odin (no delta call, no paging) 1 customer
    list + one subscription list per customer + one resource list per subscription; Pax8 (no list filters by
    modification) ceil(companies / 200) + ceil(subscriptions / 200); HaloPSA (no modified-since filter)
    ceil(clients / 1000) + ceil(contracts / 1000) + ceil(recurring invoices / 1000), the sizes read from the
    simulator's world;
  - `drift_floor`: the extra calls per cycle that seeing an edit no change signal shows costs, at the pair's
    cadence: ConnectWise ceil(L / recheck_turns), L the open agreements holding linked additions; Ingram
    ceil(S / recheck_reads) when that option is on (off by default: its orders show every seat change).
With `--after-day` (Ingram pairs), a day then passes in the sandbox (`POST /admin/advance-day`) and two more cycles
run: `after_day` gives their calls beside the day's changed subscriptions and orders, so "each changed subscription
fetched once per change" is checked: the day's cycle fetches each once, the cycle after it none.

    python bench/no_change_cycle.py [--pairs odin:autotask ingram:autotask pax8:autotask odin:connectwise ...]
                                    [--seed 5] [--cycles 2] [--latency-ms 20] [--latency-per-kib-ms 2]
                                    [--odin-full-read-minutes 0] [--after-day]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bot.connectors.connection import Connection
from bot.connectors.factory import build_marketplace, build_psa
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import (
    Adjustment,
    MarketplaceCompany,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    ResourceLink,
)
from bot.demo.workspace import sandbox_connection
from bot.domain.enums import ContractStatus
from bot.sandbox.faults import PROFILES
from bot.sync.engine import SyncEngine

sys.path.insert(0, str(Path(__file__).parent))
from sync_cycle import SANDBOX_SCRIPT, admin, link_ground_truth  # noqa: E402

PAIRS = tuple(f"{marketplace}:{psa}" for psa in ("autotask", "connectwise", "halopsa")
              for marketplace in ("odin", "ingram", "pax8"))
AUTOTASK_PAGE, CONNECTWISE_PAGE, INGRAM_PAGE, PAX8_PAGE, HALOPSA_PAGE = 500, 1000, 1000, 200, 1000


async def sizes(sessions, psa: str) -> dict[str, int]:
    async with sessions() as session:
        async def count(query) -> int:
            return int(await session.scalar(query) or 0)
        linked_contracts = await count(
            select(func.count(func.distinct(PsaService.contract_id))).join(ResourceLink,
                                                                          ResourceLink.psa_service_id == PsaService.id)
            .join(PsaContract, PsaContract.id == PsaService.contract_id)
            .where(PsaService.psa == psa, PsaContract.status == ContractStatus.active))
        return {"marketplace_companies": await count(select(func.count(MarketplaceCompany.id))),
                "subscriptions": await count(select(func.count(MarketplaceSubscription.id))),
                "psa_companies": await count(select(func.count(PsaCompany.id))),
                "contracts": await count(select(func.count(PsaContract.id))),
                "services": await count(select(func.count(PsaService.id))),
                "open_contracts_with_links": linked_contracts}


def floors(marketplace: str, psa: str, size: dict[str, int], world: dict[str, int], *, recheck_turns: int,
           recheck_reads: int) -> dict:
    market = {"odin": 1 + size["marketplace_companies"] + size["subscriptions"],
              "ingram": math.ceil(size["subscriptions"] / INGRAM_PAGE) + 1,
              # no list filters by modification: every read pages through both lists
              "pax8": math.ceil(world["pax8_companies"] / PAX8_PAGE)
              + math.ceil(world["pax8_subscriptions"] / PAX8_PAGE)}[marketplace]
    psa_floor = {"autotask": 1 + math.ceil(size["services"] / AUTOTASK_PAGE) + 3,
                 "connectwise": 2,
                 # no modified-since filter either: clients, contracts and recurring invoices (with their lines)
                 "halopsa": sum(math.ceil(world[f"halopsa_{what}"] / HALOPSA_PAGE)
                                for what in ("clients", "contracts", "recurring_invoices"))}[psa]
    drift = {"marketplace": math.ceil(size["subscriptions"] / recheck_reads)
             if marketplace == "ingram" and recheck_reads else 0,
             "psa": math.ceil(size["open_contracts_with_links"] / recheck_turns) if psa == "connectwise" else 0}
    return {"paging_floor": {"marketplace": market, "psa": psa_floor}, "drift_floor": drift}


async def measure(args: argparse.Namespace, marketplace: str, psa: str, config: dict) -> dict:
    pairs, world = config.pop("linked_pairs"), config.pop("world_sizes")
    for system in (marketplace, psa):
        knobs = {**PROFILES["none"], "latency_ms": args.latency_ms, "latency_jitter_ms": 0,
                 "latency_per_kib_ms": args.latency_per_kib_ms}
        admin(config, "PUT", f"/faults/{system}", knobs)
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await upgrade(db)
        sessions = session_factory(db)
        market_url, market_options, market_secrets = sandbox_connection(marketplace, config)
        if marketplace == "odin" and args.odin_full_read_minutes:
            market_options = {**market_options, "full_read_minutes": str(args.odin_full_read_minutes)}
        psa_url, psa_options, psa_secrets = sandbox_connection(psa, config)
        engine = SyncEngine(sessions=sessions, psa=build_psa(Connection(psa, psa_url, psa_options, psa_secrets)),
                            marketplace=build_marketplace(Connection(marketplace, market_url, market_options,
                                                                     market_secrets)))
        started = time.perf_counter()
        first = await engine.run_cycle(trigger="bench")
        complete = {"api_calls": first.api_calls, "wall_s": round(time.perf_counter() - started, 1)}
        linked = await link_ground_truth(sessions, pairs)
        cycles = [await counted_cycle(engine) for _ in range(args.cycles)]
        after_day = None
        if args.after_day and marketplace == "ingram":
            day = admin(config, "POST", "/advance-day")["days"][0]
            orders = sum(len(day[kind]) for kind in ("increases", "decreases", "new_subscriptions",
                                                     "cancelled_subscriptions", "renewed_subscriptions"))
            after_day = {"changed_subscriptions": len(day["changed_subscriptions"]), "orders": orders,
                         "cycles": [await counted_cycle(engine) for _ in range(2)]}
        size = await sizes(sessions, psa)
        recheck_turns = getattr(engine.psa, "recheck_turns", 2)  # before it was an option: RECHECK_TURNS, 2
        recheck_reads = getattr(engine.marketplace, "recheck_reads", 1)
        await engine.aclose()
        await db.dispose()
    return {"marketplace": marketplace, "psa": psa, "linked": linked, "sizes": size, "complete": complete,
            "no_change": cycles, **({"after_day": after_day} if after_day else {}),
            **floors(marketplace, psa, size, world, recheck_turns=recheck_turns, recheck_reads=recheck_reads),
            "latency_ms": args.latency_ms, "latency_per_kib_ms": args.latency_per_kib_ms,
            "odin_full_read_minutes": args.odin_full_read_minutes,
            "load_average": [round(x, 1) for x in os.getloadavg()]}


async def counted_cycle(engine: SyncEngine) -> dict:
    engine.marketplace.stats.reset()
    engine.psa.stats.reset()
    started = time.perf_counter()
    report = await engine.run_cycle(trigger="bench")
    return {"status": report.status.value, "api_calls": report.api_calls, "planned": len(report.planned),
            "wall_s": round(time.perf_counter() - started, 1),
            "posting": report.posting.as_stats() if report.posting else None,
            **({"why_partial": await why_partial(engine, report)} if report.status.value == "partial" else {}),
            "by_operation": {"marketplace": dict(engine.marketplace.stats.by_operation),
                             "psa": dict(engine.psa.stats.by_operation)}}


async def why_partial(engine: SyncEngine, report) -> dict:
    """What made a cycle partial: the cycle's errors, and its failed posts' reasons (as recorded), counted."""
    failed = [change.adjustment_id for change in report.posting.changes if change.outcome == "failed"] \
        if report.posting else []
    async with engine.sessions() as session:
        reasons = list(await session.scalars(select(Adjustment.last_error).where(Adjustment.id.in_(failed))))
    return {"errors": report.errors, "failed_posts": dict(Counter(reasons))}


def run_pair(args: argparse.Namespace, pair: str) -> dict:
    marketplace, psa = pair.split(":")
    command = [sys.executable, str(SANDBOX_SCRIPT), "--seed", str(args.seed), "--psa", psa,
               "--marketplace", marketplace]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        return asyncio.run(measure(args, marketplace, psa, json.loads(process.stdout.readline())))
    finally:
        process.terminate()
        try:
            process.wait(60)  # a loaded machine may take a while to stop a large sandbox
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), help="marketplace:psa pairs")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--latency-per-kib-ms", type=float, default=2.0)
    parser.add_argument("--odin-full-read-minutes", type=float, default=0.0,
                        help="Odin's own complete-read cadence (the connection option full_read_minutes)")
    parser.add_argument("--after-day", action="store_true",
                        help="Ingram pairs: a day passes, then two more cycles (each change fetched once?)")
    arguments = parser.parse_args()
    for pair in arguments.pairs:
        print(json.dumps(run_pair(arguments, pair)), flush=True)
