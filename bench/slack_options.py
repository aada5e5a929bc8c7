"""Benchmark: options-load latency of the link wizard's pickers with 10,000 companies.

SeatSync runs as `seatsync serve` does it, in its own process, over a migrated SQLite database holding
10,000 marketplace companies and 10,000 Autotask companies spelled differently (`tests/many_companies.py`;
each with one subscription/contract and one resource/service, nothing linked). This process plays Slack
with the simulator: `/seats link` opens the wizard, then signed `block_suggestion` requests are sent one
after another, as a person types: the marketplace company picker with nothing typed, then growing
prefixes of company names (1 to 12 characters) and whole names; after one company is picked, the PSA
company picker (10,000 names ranked by the picked company's name) with nothing typed and with prefixes.
Measured per request: the HTTP round trip until SeatSync's options answer (Slack waits 3 s at most).
Every answer is checked against Slack's limits (<= 100 options, texts <= 75 characters).

    /work/venv/bin/python bench/slack_options.py [--companies 10000] [--requests 400] [--concurrency 1]

Prints one JSON line: p50/p95/p99/max in ms, overall and per picker, any answer Slack would refuse, and the
CPU SeatSync's process spent per request (which a loaded machine inflates far less than the latencies).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiohttp import web
from latency import cpu_seconds, figures, free_port, serve, wait_healthy  # bench/latency.py

from bot.clock import SYSTEM_CLOCK
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.sandbox.slack import SlackRecorder, create_slack_app
from bot.sandbox.slack_ratelimit import SlackRateLimits
from bot.sandbox.slack_requests import SlackRequestSender
from bot.slack.ids import LinkActionId

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the seeder lives with the tests

from tests.many_companies import insert_many_companies  # noqa: E402

TOKEN = "xoxb-seatsync-bench"
SECRET = "seatsync-bench-signing-secret"
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnop"
USER, CHANNEL = "U0DANA0001", "C0BILLING01"


async def seed_database(url: str, companies: int) -> list[str]:
    engine = create_engine(url)
    await upgrade(engine)
    async with session_factory(engine)() as session:
        many = await insert_many_companies(session=session, count=companies, now=SYSTEM_CLOCK())
    await engine.dispose()
    return many.marketplace_names


def start_seatsync(folder: str, database_url: str, slack_api_url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SEATSYNC_DATA_DIR": folder, "SEATSYNC_SECRET_KEY": SECRET_KEY,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": TOKEN, "SEATSYNC_SLACK_API_URL": slack_api_url,
           "SEATSYNC_PORT": str(port), "SEATSYNC_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    env.pop("SLACK_APP_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=folder), port  # noqa: S603


def typings(names: list[str], count: int, rng: random.Random) -> list[str]:
    """What a person types into a picker: nothing, a prefix of a name, or a whole name."""
    typed: list[str] = []
    while len(typed) < count:
        name = rng.choice(names)
        typed += ["", *(name[:n] for n in (1, 2, 3, 5, 8, 12)), name]
    return typed[:count]


async def until(predicate, what: str) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


async def main(companies: int, requests: int, concurrency: int, seed: int) -> dict:
    recorder = SlackRecorder(bot_token=TOKEN, signing_secret=SECRET,
                             limits=SlackRateLimits(post_message_per_second=1e6, post_message_burst=10**6,
                                                    tiers_enabled=False))
    slack_app = web.Application()
    slack_app.add_subapp("/slack", create_slack_app(recorder))
    slack_runner, slack_port = await serve(slack_app)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'seatsync.db'}"
        names = await seed_database(database_url, companies)
        process, app_port = start_seatsync(folder, database_url, f"http://127.0.0.1:{slack_port}/slack/api/")
        sender = SlackRequestSender(signing_secret=SECRET, events_url=f"http://127.0.0.1:{app_port}/slack/events",
                                    recorder=recorder, slack_base_url=f"http://127.0.0.1:{slack_port}/slack",
                                    default_user_id=USER, default_channel_id=CHANNEL)
        try:
            await wait_healthy(app_port, process, timeout_s=60)
            started = time.perf_counter()
            await sender.slash_command("link")
            await until(lambda: recorder.open_views(USER), "the link wizard")
            wizard_opened_ms = (time.perf_counter() - started) * 1000
            view_id = recorder.open_views(USER)[-1]["id"]
            timings: dict[str, list[float]] = {"marketplace company": [], "PSA company": []}
            problems: Counter[str] = Counter()
            gate = asyncio.Semaphore(concurrency)

            async def ask(picker: str, action_id: str, typed: str) -> dict:
                async with gate:
                    started = time.perf_counter()
                    reply = await sender.block_suggestion(action_id, typed, view=view_id, user_id=USER)
                    timings[picker].append((time.perf_counter() - started) * 1000)
                for problem in reply.problems:
                    problems[problem] += 1
                return reply.json or {}

            half = requests // 2
            cpu_before = cpu_seconds(process.pid)
            await asyncio.gather(*(ask("marketplace company", LinkActionId.PICK_COMPANY, typed)
                                   for typed in typings(names, half, rng)))
            first = await ask("marketplace company", LinkActionId.PICK_COMPANY, names[0])
            updates = len(recorder.calls("views.update"))
            started = time.perf_counter()
            await sender.block_actions(LinkActionId.PICK_COMPANY, view=view_id, user_id=USER,
                                       selected_option=first["options"][0])
            await until(lambda: len(recorder.calls("views.update")) > updates, "the PSA company step")
            psa_step_shown_ms = (time.perf_counter() - started) * 1000
            await asyncio.gather(*(ask("PSA company", LinkActionId.PICK_PSA_COMPANY, typed)
                                   for typed in typings(names, requests - half, rng)))
            every = [ms for values in timings.values() for ms in values]
            server_cpu_ms = (cpu_seconds(process.pid) - cpu_before) * 1000
            return {"benchmark": "slack_options", "companies": companies, "concurrency": concurrency,
                    **figures(every), "server_cpu_ms_per_request": round(server_cpu_ms / len(every), 1),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                    "by_picker": {name: figures(values) for name, values in timings.items()},
                    # the pickers' names are read and ranked before each step shows (bot.commands.link.wizard)
                    "wizard_opened_ms": round(wizard_opened_ms, 1), "psa_step_shown_ms": round(psa_step_shown_ms, 1),
                    "answers_slack_would_refuse": dict(problems),
                    "slack_calls_refused": dict(Counter(f"{c.method}: {c.error}" for c in recorder.calls()
                                                        if not c.ok))}
        finally:
            await sender.close()
            process.terminate()
            process.wait(timeout=30)
            await slack_runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=1, help="options requests in flight at once")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(main(arguments.companies, arguments.requests, arguments.concurrency,
                                      arguments.seed))))
