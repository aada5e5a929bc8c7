"""`seatsync demo --once --tenants N`: N MSPs on one install, each its own Slack workspace and vendor accounts.

Tenant i (from 0) is the Slack team `TDEMO<seed + i>`, made as an install makes it (`ensure_tenant`), with a
sandbox world of its own (seed + i) served on its own port. The scripted run (`bot.demo.scripted`) runs for each
in turn inside its tenant scope, with sessions bound to it and its connections under its own data key; each
verdict is read from that tenant's own simulators. Then `probe_cross_tenant_reads` looks, through the sessions
the application uses, for any row some tenant's read paths were shown that belongs to another.

The JSON line sums the single run's counts over the tenants (`in_sync` when every tenant is), and adds `tenants`,
`cross_tenant_reads` and each tenant's own line (`per_tenant`).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from bot.clock import SYSTEM_CLOCK, Clock
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.tenancy import ensure_tenant, tenant_scope
from bot.demo import scripted
from bot.demo.progress import Progress
from bot.demo.scripted import DemoOptions, Say
from bot.keys import SecretBox
from bot.services.tenant_probe import probe_cross_tenant_reads

MAX_TENANTS = 20
SUMMED = ("linked", "adjustments_posted", "failed", "psa_writes", "duplicate_writes", "bundle_writes")


def team_id(seed: int) -> str:
    """The Slack team id of the demo's MSP whose world has this seed."""
    return f"TDEMO{seed:04d}"


async def run_tenants(options: DemoOptions, tenants: int, say: Say = print, *, clock: Clock = SYSTEM_CLOCK,
                      progress: Progress | None = None) -> dict:
    """The scripted run for `tenants` MSPs sharing one database; raises DemoFailed when one cannot finish."""
    if not 1 <= tenants <= MAX_TENANTS:
        raise ValueError(f"--tenants {tenants} must be between 1 and {MAX_TENANTS}")
    progress = progress or Progress()
    with tempfile.TemporaryDirectory(prefix="seatsync-demo-") as folder:
        database_url = options.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        db = create_engine(database_url)
        try:
            await upgrade(db)
            sessions = session_factory(db)
            seeds = [options.seed + number for number in range(tenants)]
            async with sessions() as session:
                ids = [await ensure_tenant(session, team_id=team_id(seed), enterprise_id=None,
                                           is_enterprise_install=False) for seed in seeds]
                await session.commit()
            results = []
            for number, (tenant_id, seed) in enumerate(zip(ids, seeds, strict=True)):
                say(f"MSP {number + 1} of {tenants}: Slack team {team_id(seed)} (tenant {tenant_id}), "
                    f"its own sandbox world (seed {seed})")
                port = options.sandbox_port + number if options.sandbox_port else 0
                with tenant_scope(tenant_id):
                    result = await scripted.run_once(replace(options, seed=seed, database_url=database_url,
                                                             sandbox_port=port),
                                                     say, clock=clock, progress=progress, tenant_id=tenant_id)
                results.append({"team_id": team_id(seed), "tenant_id": tenant_id, **result})
            progress.enter(f"probing every read path of {tenants} tenants for another tenant's rows")
            cross = await probe_cross_tenant_reads(sessions=sessions, box=SecretBox(options.secret_key),
                                                   now=clock())
        finally:
            await db.dispose()
    say(f"{tenants} MSPs: in sync: {all(r['in_sync'] for r in results)}, "
        f"{sum(r['duplicate_writes'] for r in results)} duplicate writes, {cross} rows read across tenants")
    return {**{key: sum(r[key] for r in results) for key in SUMMED},
            "in_sync": all(r["in_sync"] for r in results), "tenants": tenants, "cross_tenant_reads": cross,
            "per_tenant": results}
