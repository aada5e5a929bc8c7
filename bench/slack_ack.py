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
20; `steady`: 20 always in flight, the next sent as soon as one is acked (a saturating load); `cycle`: while a
large sync cycle runs in SeatSync's process, interactions arrive at a fixed rate (`--rate`, 50 a second, each
sent on time whether or not the ones before were answered). For `cycle` the `large` sandbox MSP (2,000
customers, ~10,000 resources; `bench/sandbox_process.py`) runs in a third process with 20 ms per call and 2 ms
per KiB of each reply, SeatSync is configured for it (`seatsync config set`, as an admin would), and its first
cycle runs (the complete read of both sides, every row stored; `/seats sync` asks for it, the scheduler may start
it first); once it is running the interactions are sent for `--seconds` (or until the cycle ends). The JSON line
says how many were sent, whether the cycle still ran when the last was sent and after its ack. SeatSync is
stopped then, mid-cycle. `rate`: the same arrivals with no cycle (nothing configured, as in `burst`): the floor
beside `cycle`'s figure. `--timeline FILE` (rate and cycle) writes a JSON line a second: the acks of the requests
sent in that second (p50, max), SeatSync's CPU in it (all threads, and its main thread, the one serving Slack), and
the rows stored so far (marketplace, PSA, adjustments) with the run's status: what phase of the cycle the acks
waited behind.

    /work/venv/bin/python bench/slack_ack.py [--mode burst|steady|cycle|rate] [--requests 1000] [--concurrency 20]
                                             [--pause 1.0] [--postgres] [--only KIND,...] [--profile FILE]
                                             [--rate 50] [--seconds 30] [--marketplace odin] [--psa autotask]
                                             [--timeline FILE] [--database-prefix seatsync_bench]

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

import aiohttp
from aiohttp import web
from latency import cpu_seconds, figures, free_port, serve, wait_healthy  # bench/latency.py
from sqlalchemy import select, text
from sync_cycle import SANDBOX_SCRIPT, admin  # bench/sync_cycle.py

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import SyncRun
from bot.demo.workspace import sandbox_connection
from bot.sandbox.faults import PROFILES
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


class LargeWorld:
    """The `large` sandbox MSP in its own process, and the cycle SeatSync runs against it (`--mode cycle`)."""

    def __init__(self, marketplace: str, psa: str) -> None:
        self.marketplace, self.psa = marketplace, psa
        self.process = subprocess.Popen([sys.executable, str(SANDBOX_SCRIPT), "--psa", psa,  # noqa: S603
                                         "--marketplace", marketplace], stdout=subprocess.PIPE, text=True)
        self.config = json.loads(self.process.stdout.readline())
        self.config.pop("linked_pairs", None)
        self.config.pop("world_sizes", None)
        for system in (marketplace, psa):
            admin(self.config, "PUT", f"/faults/{system}", {**PROFILES["none"], "latency_ms": 20.0,
                                                            "latency_jitter_ms": 0, "latency_per_kib_ms": 2.0})

    def configure(self, env: dict[str, str], folder: str) -> None:
        """`seatsync config set`: the two connections (secrets through the environment) and the pair."""
        values, secrets = [f"marketplace={self.marketplace}", f"psa={self.psa}"], {}
        for system in (self.marketplace, self.psa):
            url, options, system_secrets = sandbox_connection(system, self.config)
            values += [f"{system}.base_url={url}", *(f"{system}.{key}={value}" for key, value in options.items())]
            secrets.update({f"SEATSYNC_{system.upper()}_{key.upper()}": value for key, value in system_secrets.items()})
        subprocess.run([sys.executable, "-m", "bot", "config", "set", *values], env={**env, **secrets},  # noqa: S603
                       cwd=folder, check=True, stdout=subprocess.DEVNULL)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def cycle_state(database_url: str) -> tuple[str | None, float | None]:
    """The newest sync run's status, and its seconds from start to finish once finished."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            run = await session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
            if run is None:
                return None, None
            seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
            return run.status.value, seconds
    finally:
        await engine.dispose()


TIMELINE_TABLES = ("marketplace_resources", "psa_services", "adjustments")


def main_thread_cpu_seconds(pid: int) -> float:
    """The CPU of a process's main thread (its thread id is the process id): SeatSync's serving loop."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timeline:
    """A sample a second of SeatSync's CPU and of the rows stored, beside the acks of the requests sent then."""

    def __init__(self, database_url: str, pid: int) -> None:
        self.database_url, self.pid = database_url, pid
        self.samples: list[dict] = []
        self.acks: list[tuple[float, float]] = []  # (sent at, ms), seconds from `started`
        self.started = time.perf_counter()

    async def sample_every_second(self) -> None:
        engine = create_engine(self.database_url)
        cpu, main_cpu = cpu_seconds(self.pid), main_thread_cpu_seconds(self.pid)
        try:
            while True:
                await asyncio.sleep(1.0)
                rows: dict[str, int | str | None] = {}
                try:
                    async with engine.connect() as connection:
                        for table in TIMELINE_TABLES:
                            rows[table] = await connection.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                        rows["run"] = await connection.scalar(text("SELECT status FROM sync_runs ORDER BY id DESC "
                                                                   "LIMIT 1"))
                        if connection.dialect.name == "postgresql":  # the server's connections are shared
                            rows["connections"] = await connection.scalar(text(
                                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
                            rows["server_connections"] = await connection.scalar(text(
                                "SELECT count(*) FROM pg_stat_activity"))
                except Exception as error:  # a locked SQLite file: the sample says so
                    rows["error"] = type(error).__name__
                try:
                    now_cpu, now_main = cpu_seconds(self.pid), main_thread_cpu_seconds(self.pid)
                except FileNotFoundError:  # SeatSync has exited
                    return
                self.samples.append({"t": round(time.perf_counter() - self.started, 1),
                                     "cpu_s": round(now_cpu - cpu, 2),
                                     "main_thread_cpu_s": round(now_main - main_cpu, 2),
                                     "load1": os.getloadavg()[0], **rows})
                cpu, main_cpu = now_cpu, now_main
        finally:
            await engine.dispose()

    def lines(self) -> list[dict]:
        by_second: dict[int, list[float]] = {}
        for sent_at, ms in self.acks:
            by_second.setdefault(int(sent_at), []).append(ms)
        return [{**sample, **({"acks": figures(by_second[second])} if (second := int(sample["t"]) - 1) in by_second
                              else {})} for sample in self.samples]


async def main(mode: str, requests: int, concurrency: int, pause: float, profile: str | None = None,
               only: str | None = None, postgres: bool = False, rate: float = 50.0, seconds: float = 30.0,
               marketplace: str = "odin", psa: str = "autotask", timeline_file: str | None = None,
               database_prefix: str = "seatsync_bench") -> dict:
    recorder = SlackRecorder(bot_token=TOKEN, signing_secret=SECRET,
                             limits=SlackRateLimits(post_message_per_second=1e6, post_message_burst=10**6,
                                                    tiers_enabled=False))
    slack_app = web.Application()
    slack_app.add_subapp("/slack", create_slack_app(recorder))
    slack_runner, slack_port = await serve(slack_app)
    database = f"{database_prefix}_{os.getpid()}"
    with tempfile.TemporaryDirectory() as folder:
        if postgres:
            await postgres_admin(f'CREATE DATABASE "{database}"')
            database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
        else:
            database_url = f"sqlite+aiosqlite:///{Path(folder) / 'seatsync.db'}"
        world = None
        if mode == "cycle":
            world = LargeWorld(marketplace, psa)
            engine = create_engine(database_url)
            await upgrade(engine)
            await engine.dispose()
            world.configure({**os.environ, "DATABASE_URL": database_url, "SEATSYNC_DATA_DIR": folder,
                             "SEATSYNC_SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING"}, folder)
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
            statuses: Counter[int | str] = Counter()
            timeline = Timeline(database_url, process.pid) if timeline_file else None

            async def one(index: int) -> None:
                name, send = kinds[index % len(kinds)]
                async with gate:
                    started = time.perf_counter()
                    try:
                        reply = await send(USERS[index % len(USERS)])
                    except (aiohttp.ClientError, ConnectionError) as error:  # counted, not timed
                        statuses[f"{type(error).__name__}: {error}"[:80]] += 1
                        return
                    timings[name].append((time.perf_counter() - started) * 1000)
                    if timeline is not None:
                        timeline.acks.append((started - timeline.started, timings[name][-1]))
                    statuses[reply.status] += 1

            during: dict = {}
            if mode == "cycle":
                await sender.slash_command("sync", user_id=USERS[0])
                for _ in range(6000):
                    if (await cycle_state(database_url))[0] == "running":
                        break
                    await asyncio.sleep(0.05)
                calls_before = len(recorder.calls())
            sampling = None
            if timeline is not None:
                timeline.started = time.perf_counter()
                sampling = asyncio.create_task(timeline.sample_every_second())
            started = time.perf_counter()
            if mode == "steady":
                await asyncio.gather(*(one(i) for i in range(requests)))
            elif mode == "rate":
                sent = []
                gate = asyncio.Semaphore(10**6)  # open loop, as in `cycle`
                while time.perf_counter() - started < seconds:
                    sent.append(asyncio.create_task(one(len(sent))))
                    await asyncio.sleep(max(0.0, started + len(sent) / rate - time.perf_counter()))
                await asyncio.gather(*sent)
                during = {"rate_per_s": rate, "sent": len(sent), "cycle": None}
            elif mode == "cycle":
                sent: list[asyncio.Task] = []
                gate = asyncio.Semaphore(10**6)  # open loop: each request leaves on time
                while time.perf_counter() - started < seconds:
                    sent.append(asyncio.create_task(one(len(sent))))
                    if len(sent) % int(rate) == 0 and (await cycle_state(database_url))[0] != "running":
                        break
                    await asyncio.sleep(max(0.0, started + len(sent) / rate - time.perf_counter()))
                status_when_sent = (await cycle_state(database_url))[0]
                await asyncio.gather(*sent)
                state = await cycle_state(database_url)
                during = {"rate_per_s": rate, "sent": len(sent),
                          "sent_while_cycle_ran": status_when_sent == "running",
                          "cycle": {"pair": f"{marketplace} -> {psa}", "status_after_the_last_ack": state[0],
                                    "seconds": state[1] and round(state[1], 1)}}
            else:
                for first in range(0, requests, concurrency):
                    await asyncio.gather(*(one(i) for i in range(first, min(requests, first + concurrency))))
                    await asyncio.sleep(pause)
            wall = time.perf_counter() - started
            if sampling is not None:
                sampling.cancel()
                await asyncio.gather(sampling, return_exceptions=True)
                await asyncio.to_thread(Path(timeline_file).write_text,
                                        "".join(json.dumps(line) + "\n" for line in timeline.lines()))
            await asyncio.sleep(3)  # let the work after the acks finish before counting its calls
            calls = recorder.calls()[calls_before:]
            every = [ms for values in timings.values() for ms in values]
            return {
                "mode": mode, "database": "postgresql" if postgres else "sqlite", "requests": requests,
                "concurrency": concurrency,
                "pause_s": pause if mode == "burst" else None, "wall_s": round(wall, 2), **figures(every),
                **during, "load_average": [round(x, 2) for x in os.getloadavg()],
                "by_kind": {name: figures(values) for name, values in timings.items()},
                "http_statuses": dict(statuses),
                "slack_calls_after_ack": dict(Counter(c.method for c in calls)),
                "slack_calls_refused": dict(Counter(f"{c.method}: {c.error}" for c in calls if not c.ok)),
            }
        finally:
            await sender.close()
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # still busy with the cycle
                process.kill()
                process.wait()
            await slack_runner.cleanup()
            if world is not None:
                world.close()
            if postgres:
                await postgres_admin(f'DROP DATABASE IF EXISTS "{database}"')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("burst", "steady", "cycle", "rate"), default="burst")
    parser.add_argument("--rate", type=float, default=50.0, help="cycle and rate modes: interactions a second")
    parser.add_argument("--seconds", type=float, default=30.0, help="cycle and rate modes: how long to send them")
    parser.add_argument("--timeline", help="cycle and rate modes: write a JSON line a second to this file")
    parser.add_argument("--database-prefix", default="seatsync_bench",
                        help="--postgres: the name of the database made (and dropped) for the run, before its pid")
    parser.add_argument("--marketplace", default="odin", help="cycle mode: the large world's marketplace")
    parser.add_argument("--psa", default="autotask", help="cycle mode: the large world's PSA")
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
                                      arguments.pause, arguments.profile, arguments.only, arguments.postgres,
                                      arguments.rate, arguments.seconds, arguments.marketplace, arguments.psa,
                                      arguments.timeline, arguments.database_prefix))))
