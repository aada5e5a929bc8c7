"""Benchmark: how fast SeatSync acks Slack under 20 concurrent interactions.

SeatSync runs as `seatsync serve` does it, in its own process (migrated SQLite database, scheduler on, no
marketplace or PSA configured); this process plays Slack both ways with the simulator: it sends signed
requests to /slack/events (slash commands and block_actions, each with a fresh trigger_id) and answers the
Web API calls SeatSync makes after its acks (views.open/update/publish, chat.postMessage, users.info,
response_url). Measured per request: the HTTP round trip until SeatSync's answer, i.e. the ack Slack
waits for (3 s at most). The work after each ack shares SeatSync's event loop, so it counts against the
acks that follow. Mix, in turn: `/seats help`, `/seats sync --dry-run` (answers why it cannot run yet),
`/seats config` (opens, then fills a modal), App Home's *Dry run* and *Config* buttons (and the Home tab
republished after each). The simulator's rate limits are off.

Modes: `burst` (default): 20 interactions arrive at once, then a pause (`--pause`, 1 s) before the next
20; `steady`: 20 always in flight, the next sent as soon as one is acked (a saturating load).

    /work/venv/bin/python bench/slack_ack.py [--mode burst|steady] [--requests 1000] [--concurrency 20]
                                             [--pause 1.0] [--postgres] [--only KIND,...] [--profile FILE]

Prints one JSON line: p50/p95/p99/max in ms, overall and per kind, HTTP statuses, and the Web API calls
SeatSync made after the acks, with any that Slack refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from latency import figures, free_port, serve, wait_healthy  # bench/latency.py

from bot.sandbox.slack import SlackRecorder, create_slack_app
from bot.sandbox.slack_ratelimit import SlackRateLimits
from bot.sandbox.slack_requests import SlackReply, SlackRequestSender
from bot.slack.ids import HomeId

TOKEN = "xoxb-seatsync-bench"
SECRET = "seatsync-bench-signing-secret"
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnop"
USERS = ("U0DANA0001", "U0MORGAN04")  # workspace admins: /seats config opens the full modal for them
CHANNEL = "C0BILLING01"


POSTGRES_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}


async def postgres_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(**POSTGRES_ADMIN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def start_seatsync(folder: str, slack_api_url: str, profile: str | None,
                   database_url: str) -> tuple[subprocess.Popen, int]:
    """`seatsync serve` in its own process, talking to this process's Slack simulator."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url,
           "SEATSYNC_DATA_DIR": folder, "SEATSYNC_SECRET_KEY": SECRET_KEY, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_BOT_TOKEN": TOKEN, "SEATSYNC_SLACK_API_URL": slack_api_url, "SEATSYNC_PORT": str(port),
           "SEATSYNC_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}
    env.pop("SLACK_APP_TOKEN", None)
    profiler = ["-m", "cProfile", "-o", str(Path(profile).resolve())] if profile else []
    process = subprocess.Popen([sys.executable, *profiler, "-m", "bot", "serve"], env=env, cwd=folder)  # noqa: S603
    return process, port


async def main(mode: str, requests: int, concurrency: int, pause: float, profile: str | None = None,
               only: str | None = None, postgres: bool = False) -> dict:
    recorder = SlackRecorder(bot_token=TOKEN, signing_secret=SECRET,
                             limits=SlackRateLimits(post_message_per_second=1e6, post_message_burst=10**6,
                                                    tiers_enabled=False))
    slack_app = web.Application()
    slack_app.add_subapp("/slack", create_slack_app(recorder))
    slack_runner, slack_port = await serve(slack_app)
    database = f"seatsync_bench_{os.getpid()}"
    with tempfile.TemporaryDirectory() as folder:
        if postgres:
            await postgres_admin(f'CREATE DATABASE "{database}"')
            database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
        else:
            database_url = f"sqlite+aiosqlite:///{Path(folder) / 'seatsync.db'}"
        process, app_port = start_seatsync(folder, f"http://127.0.0.1:{slack_port}/slack/api/", profile,
                                           database_url)
        sender = SlackRequestSender(signing_secret=SECRET, events_url=f"http://127.0.0.1:{app_port}/slack/events",
                                    recorder=recorder, slack_base_url=f"http://127.0.0.1:{slack_port}/slack",
                                    default_channel_id=CHANNEL)
        try:
            await wait_healthy(app_port, process, timeout_s=30)
            for user in USERS:  # each admin's Home tab, so its buttons can be pressed
                await sender.app_home_opened(user)
            for _ in range(500):
                if len(recorder.home_views) == len(USERS):
                    break
                await asyncio.sleep(0.01)
            kinds: list[tuple[str, Callable[[str], Awaitable[SlackReply]]]] = [
                ("slash help", lambda user: sender.slash_command("help", user_id=user)),
                ("slash sync --dry-run", lambda user: sender.slash_command("sync --dry-run", user_id=user)),
                ("slash config", lambda user: sender.slash_command("config", user_id=user)),
                ("home dry run button", lambda user: sender.block_actions(
                    HomeId.DRY_RUN, view=recorder.home_views[user], user_id=user)),
                ("home config button", lambda user: sender.block_actions(
                    HomeId.CONFIG, view=recorder.home_views[user], user_id=user)),
            ]
            if only:
                kinds = [(name, send) for name, send in kinds if name in only.split(",")]
            calls_before = len(recorder.calls())
            gate = asyncio.Semaphore(concurrency)
            timings: dict[str, list[float]] = {name: [] for name, _ in kinds}
            statuses: Counter[int] = Counter()

            async def one(index: int) -> None:
                name, send = kinds[index % len(kinds)]
                async with gate:
                    started = time.perf_counter()
                    reply = await send(USERS[index % len(USERS)])
                    timings[name].append((time.perf_counter() - started) * 1000)
                    statuses[reply.status] += 1

            started = time.perf_counter()
            if mode == "steady":
                await asyncio.gather(*(one(i) for i in range(requests)))
            else:
                for first in range(0, requests, concurrency):
                    await asyncio.gather(*(one(i) for i in range(first, min(requests, first + concurrency))))
                    await asyncio.sleep(pause)
            wall = time.perf_counter() - started
            await asyncio.sleep(3)  # let the work after the acks finish before counting its calls
            calls = recorder.calls()[calls_before:]
            every = [ms for values in timings.values() for ms in values]
            return {
                "mode": mode, "database": "postgresql" if postgres else "sqlite", "requests": requests,
                "concurrency": concurrency,
                "pause_s": pause if mode == "burst" else None, "wall_s": round(wall, 2), **figures(every),
                "by_kind": {name: figures(values) for name, values in timings.items()},
                "http_statuses": dict(statuses),
                "slack_calls_after_ack": dict(Counter(c.method for c in calls)),
                "slack_calls_refused": dict(Counter(f"{c.method}: {c.error}" for c in calls if not c.ok)),
            }
        finally:
            await sender.close()
            process.terminate()
            process.wait(timeout=30)
            await slack_runner.cleanup()
            if postgres:
                await postgres_admin(f'DROP DATABASE IF EXISTS "{database}"')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("burst", "steady"), default="burst")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between bursts")
    parser.add_argument("--profile", help="write SeatSync's cProfile statistics to this file")
    parser.add_argument("--only", help="comma-separated kinds to send (default: all five)")
    parser.add_argument("--postgres", action="store_true",
                        help="use a fresh PostgreSQL database at 127.0.0.1:5432 (user postgres) instead of SQLite")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(main(arguments.mode, arguments.requests, arguments.concurrency,
                                      arguments.pause, arguments.profile, arguments.only, arguments.postgres))))
