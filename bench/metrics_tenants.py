"""What a per-tenant /metrics scrape costs with many tenants: N installed tenants, each with a few sync runs,
adjustments and connector-health rows, on PostgreSQL (row-level security: each tenant is read in a transaction of
its own), scraped over HTTP with the operator's token.

    python bench/metrics_tenants.py [--tenants 200] [--scrapes 5]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); it creates and drops its own database. Prints one JSON line:
the scrape's median and worst wall time, the samples it returned, and the public /healthz's median (one query on
the global tenants table, whatever N).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app_factory import create_context  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.db.engine import create_engine, session_factory  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import ConnectorHealth, ConnectorState, SyncRun, SyncRunStatus  # noqa: E402
from bot.db.tenancy import ensure_tenant, tenant_scope  # noqa: E402
from web.app import create_app  # noqa: E402

TOKEN = "bench-operator-token-0123456789abcdef"


async def seed(url: str, tenants: int) -> None:
    db = create_engine(url)
    await upgrade(db)
    sessions = session_factory(db)
    now = datetime.now(UTC)
    async with sessions() as session:
        ids = [await ensure_tenant(session, team_id=f"TBENCH{n:05d}", enterprise_id=None, is_enterprise_install=False)
               for n in range(tenants)]
        await session.commit()
    for tenant_id in ids:
        with tenant_scope(tenant_id):
            async with sessions() as session:
                session.add_all([SyncRun(trigger="schedule", status=status, started_at=now - timedelta(minutes=m),
                                         finished_at=now - timedelta(minutes=m))
                                 for m, status in enumerate([SyncRunStatus.succeeded] * 20 + [SyncRunStatus.failed])])
                session.add_all([ConnectorHealth(system=system, state=ConnectorState.ok, last_success_at=now,
                                                 consecutive_failures=0) for system in ("odin", "autotask")])
                await session.commit()
    await db.dispose()


async def timed(http: aiohttp.ClientSession, url: str, **kw) -> tuple[float, str]:
    started = time.perf_counter()
    async with http.get(url, **kw) as response:
        body = await response.text()
        assert response.status == 200, (response.status, body[:200])
    return time.perf_counter() - started, body


async def main(args: argparse.Namespace) -> None:
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres", timeout=5)
    name = f"seatsync_metrics_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await seed(url, args.tenants)
        with tempfile.TemporaryDirectory(prefix="seatsync-metrics-") as folder:
            settings = load_settings({"DATABASE_URL": url, "SEATSYNC_DATA_DIR": folder,
                                      "SEATSYNC_OPERATOR_TOKEN": TOKEN,
                                      "SEATSYNC_SECRET_KEY": "bench-secret-key-0123456789abcdefghij",
                                      "SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2",
                                      "SLACK_CLIENT_SECRET": "c"}, dotenv_path=None)
            context = create_context(settings)
            runner = web.AppRunner(create_app(context, run_scheduler=False))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            try:
                async with aiohttp.ClientSession() as http:
                    auth = {"Authorization": f"Bearer {TOKEN}"}
                    scrapes = [await timed(http, f"{base}/metrics", headers=auth) for _ in range(args.scrapes)]
                    health = [(await timed(http, f"{base}/healthz"))[0] for _ in range(args.scrapes)]
            finally:
                await runner.cleanup()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    walls = [wall for wall, _ in scrapes]
    samples = sum(1 for line in scrapes[-1][1].splitlines() if line and not line.startswith("#"))
    print(json.dumps({"tenants": args.tenants + 1, "scrapes": args.scrapes,
                      "metrics_median_s": round(statistics.median(walls), 3), "metrics_max_s": round(max(walls), 3),
                      "samples": samples, "healthz_median_s": round(statistics.median(health), 4)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--scrapes", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
