"""Benchmark: how long from a seat change in the marketplace to the new count in the PSA, by webhook and by polling.

The simulators run in this process with 20 ms added to every call and 2 ms per KiB of each reply; SeatSync's
web app serves on a real port with the marketplace simulator's webhook pointed at it (as tests/web/test_webhooks.py
sets it up). `--trials` linked lines of active subscriptions each get a new count through the sandbox's admin
route (`PUT /counts/...`, which also sends the change notification), one at a time, and the clock runs until the
PSA simulator holds the new count.
  - `--mode webhook`: the notification triggers a sync of that one subscription; aim: p95 < 5 s.
  - `--mode polling`: no webhook; cycles start every `--poll-seconds` (fixed rate, as the scheduler fires), and
    each change lands at a random moment between two polls; aim: p95 < one poll interval + 30 s.
Prints one JSON line: the latency figures, the aim, and whether it was met.

    python bench/change_latency.py [--mode webhook|polling] [--marketplace ingram|odin]
                                   [--psa autotask|connectwise] [--trials 20] [--poll-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import aiohttp
from aiohttp import web
from latency import figures  # bench/latency.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the line helpers live with the tests

from bot.app_factory import create_context  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db.connections import load_connection, save_connection  # noqa: E402
from bot.demo.workspace import open_workspace  # noqa: E402
from bot.keys import SecretBox  # noqa: E402
from bot.sandbox.app import Sandbox  # noqa: E402
from tests.sync.engine_setup import link_line, pick_lines  # noqa: E402
from web.app import create_app  # noqa: E402
from web.webhooks import ROUTE  # noqa: E402

SECRET_KEY = "bench-change-latency-secret-key-0123456789"
WEBHOOK_AIM_S = 5.0
POLLING_MARGIN_S = 30.0
CHECK_EVERY_S = 0.01


async def wait_for_units(line, total: int, timeout_s: float) -> float:
    started = time.perf_counter()
    while line.psa_units != total:
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"line {line.subscription_id}/{line.resource_id} not at {total} after {timeout_s} s")
        await asyncio.sleep(CHECK_EVERY_S)
    return time.perf_counter() - started


async def poll_until(stop: asyncio.Event, workspace, every_s: float) -> None:
    """Fixed-rate cycles, as the scheduler's interval trigger fires them (a late cycle does not shift the next);
    a cycle under way when `stop` is set ends first."""
    start = time.perf_counter()
    number = 0
    while not stop.is_set():
        await workspace.engine.run_cycle(trigger="schedule", actor="bench")
        number += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, start + number * every_s - time.perf_counter()))


async def run(args: argparse.Namespace) -> dict:
    sandbox = await Sandbox.generate(seed=args.seed, scale=args.scale, today=date(2026, 3, 10)).start()
    for system in (args.marketplace, args.psa):
        sandbox.faults[system].update({"latency_ms": args.latency_ms, "latency_per_kib_ms": args.latency_per_kib_ms})
    folder = tempfile.TemporaryDirectory(prefix="seatsync-latency-")
    workspace = await open_workspace(sandbox=sandbox, database_url=f"sqlite+aiosqlite:///{folder.name}/bench.db",
                                     secret_key=SECRET_KEY, marketplace=args.marketplace, psa=args.psa,
                                     fast_retries=False, connector_timeout=30.0)
    box = SecretBox(SECRET_KEY)
    runner: web.AppRunner | None = None
    poller: asyncio.Task | None = None
    stop = asyncio.Event()
    try:
        lines = pick_lines(sandbox.world, args.psa, args.trials)
        await workspace.engine.run_cycle(trigger="bench", actor="bench", force_full=True)
        link_ids = [await link_line(workspace, line, args.marketplace) for line in lines]
        await workspace.engine.reconcile_links(link_ids=link_ids, actor="bench")
        config = sandbox.config()
        admin = config["admin"]
        http = aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin['token']}"})
        if args.mode == "webhook":
            async with workspace.sessions() as session:  # the webhook secret, stored with the connection
                connection = await load_connection(session=session, box=box, system=args.marketplace)
                await save_connection(session=session, box=box, system=args.marketplace,
                                      base_url=connection.base_url, options=connection.options,
                                      secrets={**connection.secrets,
                                               "webhook_secret": config[args.marketplace]["webhook_secret"]},
                                      actor="bench")
                await session.commit()
            context = create_context(Settings(secret_key=SECRET_KEY, data_dir=Path(folder.name)),
                                     engine=workspace.db, clock=workspace.clock)

            async def engine():
                return workspace.engine

            context.engine_source = engine
            runner = web.AppRunner(create_app(context, run_scheduler=False), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            async with http.put(admin["url"] + "/webhook", json={"url": f"http://127.0.0.1:{port}{ROUTE}",
                                                                 "marketplace": args.marketplace}) as response:
                response.raise_for_status()
        else:
            poller = asyncio.create_task(poll_until(stop, workspace, args.poll_seconds))
        rng = random.Random(args.seed)
        latencies = []
        async with http:
            for line in lines:
                total = line.psa_units + rng.choice((-2, -1, 1, 2, 3))
                total = max(total, 1)
                if args.mode == "polling":
                    await asyncio.sleep(rng.uniform(0, args.poll_seconds))
                started = time.perf_counter()
                async with http.put(f"{admin['url']}/counts/{line.subscription_id}/{line.resource_id}",
                                    json={"total": total}) as response:
                    response.raise_for_status()
                timeout = WEBHOOK_AIM_S * 12 if args.mode == "webhook" else args.poll_seconds * 4 + 120
                await wait_for_units(line, total, timeout)
                latencies.append((time.perf_counter() - started) * 1000)
        aim_s = WEBHOOK_AIM_S if args.mode == "webhook" else args.poll_seconds + POLLING_MARGIN_S
        result = {"bench": "change_latency", "mode": args.mode, "marketplace": args.marketplace, "psa": args.psa,
                  "scale": args.scale, "latency_ms": args.latency_ms, "latency_per_kib_ms": args.latency_per_kib_ms,
                  **({"poll_seconds": args.poll_seconds} if args.mode == "polling" else {}),
                  **figures(latencies), "aim_p95_ms": aim_s * 1000}
        result["aim_met"] = result["p95_ms"] < result["aim_p95_ms"]
        return result
    finally:
        if poller is not None:
            stop.set()
            await poller
        if runner is not None:
            await runner.cleanup()
        await workspace.close()
        folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("webhook", "polling"), default="webhook")
    parser.add_argument("--marketplace", choices=("ingram", "odin"), default="ingram")
    parser.add_argument("--psa", choices=("autotask", "connectwise"), default="autotask")
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--latency-per-kib-ms", type=float, default=2.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))
