"""Benchmark: sync cycles on the `large` MSP (2,000 customers, ~10,000 linked resources).

The simulators run in a separate process (so SeatSync's wall time, CPU and memory are its own) with 20 ms
added to every call and 2 ms per KiB of its reply (a 500-row page of ~350 KiB costs 0.7 s more than a one-row
read, so fewer, bigger pages are not flattered), and optionally a fault profile's errors and 429s (`--faults
light`: 2% 500s, 2% 429s, 2% lost write replies). The connectors are built as `seatsync demo` builds them from
the sandbox: ConnectWise's client keeps to the simulator's own budget (1,000 requests a minute). Every
resource the generator paired with a PSA service is linked and the PSA starts level with the marketplace.
Then, measured:
  1. a complete cycle (first read of both sides, nothing to post);
  2. a no-change incremental cycle (the steady state, every poll);
  3. a cycle after a day in which ~1% of resources changed: it must post exactly those.
Prints one JSON line per cycle: wall seconds, API calls per system, posts, peak traced memory.

    python bench/sync_cycle.py [--psa autotask|connectwise] [--marketplace odin|ingram]
                               [--seed 5] [--latency-ms 20] [--latency-per-kib-ms 2] [--faults none|light]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from bot.connectors.connection import Connection
from bot.connectors.factory import build_marketplace, build_psa
from bot.db.engine import create_engine, session_factory
from bot.db.links import link_resource
from bot.db.migrate import upgrade
from bot.db.models import Adjustment, MarketplaceResource, MarketplaceSubscription, PsaService, ResourceLink
from bot.demo.workspace import sandbox_connection
from bot.sandbox.faults import PROFILES
from bot.sync.engine import SyncEngine

SANDBOX_SCRIPT = Path(__file__).with_name("sandbox_process.py")


def admin(config: dict, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(config["admin"]["url"] + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {config['admin']['token']}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - localhost sandbox only
        return json.loads(response.read() or b"{}")


async def link_ground_truth(sessions, pairs: list[dict]) -> int:
    """Link every (subscription, resource) -> service pair the generator made, through link_resource."""
    async with sessions() as session:
        resources = {(s, r): rid for rid, s, r in await session.execute(
            select(MarketplaceResource.id, MarketplaceSubscription.external_id, MarketplaceResource.external_id)
            .join(MarketplaceSubscription))}
        services = {external: sid for sid, external in await session.execute(
            select(PsaService.id, PsaService.external_id))}
        linked = 0
        for pair in pairs:
            resource_id = resources.get((pair["subscription"], pair["resource"]))
            service_id = services.get(pair["service"])
            if resource_id is None or service_id is None:
                continue
            await link_resource(session=session, resource_id=resource_id, service_id=service_id, actor="bench")
            linked += 1
        await session.commit()
    return linked


async def measured_cycle(engine: SyncEngine, label: str, *, trace_memory: bool) -> dict:
    if trace_memory:
        tracemalloc.start()
    connectors = (engine.marketplace, engine.psa)
    retries_before = [connector.stats.retries for connector in connectors]
    started = time.perf_counter()
    report = await engine.run_cycle(trigger="bench")
    wall = time.perf_counter() - started
    retries = {connector.system: connector.stats.retries - before
               for connector, before in zip(connectors, retries_before, strict=True)}
    result = {"cycle": label, "status": report.status.value, "wall_s": round(wall, 2),
              "api_calls": report.api_calls, "retries": retries,
              "planned": len(report.planned), "posted": report.posting.posted if report.posting else 0,
              "errors": report.errors}
    if trace_memory:
        result["peak_traced_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    failures = [c for c in (report.posting.changes if report.posting else []) if c.outcome == "failed"]
    if failures:
        async with engine.sessions() as session:
            reasons = {a.last_error for a in await session.scalars(
                select(Adjustment).where(Adjustment.id.in_([c.adjustment_id for c in failures])))}
        result["failures"] = sorted(reasons)[:5]
    if report.marketplace:
        result["marketplace_changes"] = report.marketplace.as_stats()
    async with engine.sessions() as session:  # what the planned changes are waiting for, if not posted
        result["intents"] = {f"{status.value}{' (dated later)' if later else ''}": count
                             for status, later, count in await session.execute(
                                 select(Adjustment.status, Adjustment.effective_date > engine.today(), func.count())
                                 .group_by(Adjustment.status, Adjustment.effective_date > engine.today()))}
    return result


async def main(args: argparse.Namespace, config: dict) -> None:
    pairs = config.pop("linked_pairs")
    for system in (args.marketplace, args.psa):
        admin(config, "PUT", f"/faults/{system}", {**PROFILES[args.faults], "latency_ms": args.latency_ms,
                                                   "latency_jitter_ms": 0,
                                                   "latency_per_kib_ms": args.latency_per_kib_ms})
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await upgrade(db)
        sessions = session_factory(db)
        market_url, market_options, market_secrets = sandbox_connection(args.marketplace, config)
        psa_url, psa_options, psa_secrets = sandbox_connection(args.psa, config)
        marketplace = build_marketplace(Connection(args.marketplace, market_url, market_options, market_secrets))
        psa = build_psa(Connection(args.psa, psa_url, psa_options, psa_secrets))
        engine = SyncEngine(sessions=sessions, marketplace=marketplace, psa=psa)
        results = [await measured_cycle(engine, "complete (first read)", trace_memory=args.trace_memory)]
        linked = await link_ground_truth(sessions, pairs)
        async with sessions() as session:
            assert len(list(await session.scalars(select(ResourceLink.id)))) == linked
        results.append(await measured_cycle(engine, "no change", trace_memory=args.trace_memory))
        day = admin(config, "POST", "/advance-day?days=1")["days"][0]
        ended = set(day["cancelled_subscriptions"]) | set(day["expired_subscriptions"])
        changed = {(c["subscription_id"], c["resource_id"]) for c in day["increases"] + day["decreases"]}
        linked_keys = {(p["subscription_id"], p["resource_id"]) for p in pairs}
        # linked lines whose count moved, or whose subscription ended (they level to 0)
        expected = {key for key in linked_keys if key in changed or key[0] in ended}
        results.append({**await measured_cycle(engine, "after a day (~1% changed)", trace_memory=args.trace_memory),
                        "linked_resources_changed": len(expected)})
        for line in results:
            print(json.dumps({"psa": args.psa, "marketplace": args.marketplace, "faults": args.faults,
                              "linked": linked, **line}),
                  flush=True)
        print(json.dumps({"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
        await engine.aclose()
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--psa", choices=("autotask", "connectwise"), default="autotask")
    parser.add_argument("--marketplace", choices=("odin", "ingram"), default="odin")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--latency-per-kib-ms", type=float, default=2.0,
                        help="added per KiB of each reply, so big pages cost more than small ones (0: flat)")
    parser.add_argument("--faults", choices=("none", "light"), default="none",
                        help="the sandbox's fault profile (its errors and 429s; latency stays --latency-ms)")
    parser.add_argument("--trace-memory", action="store_true",
                        help="also report peak traced memory per cycle (tracemalloc slows the cycles down)")
    arguments = parser.parse_args()
    command = [sys.executable, str(SANDBOX_SCRIPT), "--seed", str(arguments.seed), "--psa", arguments.psa,
               "--marketplace", arguments.marketplace]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        asyncio.run(main(arguments, json.loads(process.stdout.readline())))
    finally:
        process.terminate()
        process.wait(10)
