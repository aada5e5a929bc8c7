"""Tenants set up for the queue harness in a process of its own, so that hundreds are set up on every core:
`python -m tests.e2e.tenant_setup JOB.json UNITS.json`.

JOB.json: {"database_url", "seed", "sandbox_url", "marketplace", "psa", "at_once", "tenants": {tenant id: [service
ids of its lines]}}. The process generates the sandbox's world again from its seed (the same lines, the same
services), then sets each tenant up in its scope as `prepare_database` does (its connections, settings, first read
and links; the schema is migrated already), `at_once` side by side, each tried up to 3 times; it writes every
linked service's units as read to UNITS.json and exits 0, or exits 1 saying which tenant failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.db.tenancy import tenant_scope
from bot.sandbox.app import Sandbox
from tests.e2e.processes import prepare_database, utc_now
from tests.sync.engine_setup import pick_lines

ATTEMPTS = 3  # a tenant's set-up is saved and read again from the start: the product's saves and reads are idempotent


@dataclass
class AttachedSandbox:
    """What `prepare_database` reads of a sandbox another process started: its world and its configuration."""

    world_copy: Sandbox
    config: dict


def attach(seed: int, url: str) -> AttachedSandbox:
    world_copy = Sandbox.generate(seed=seed, scale="small", today=utc_now().date())
    host, port = url.removeprefix("http://").split(":")
    world_copy.host, world_copy.port = host, int(port)
    return AttachedSandbox(world_copy=world_copy, config=world_copy.config())


async def set_up(job: dict) -> dict[int, int]:
    sandbox = attach(job["seed"], job["sandbox_url"])
    lines = {line.service_id: line for line in pick_lines(sandbox.world_copy.world, job["psa"], 10_000)}
    units: dict[int, int] = {}
    turns = asyncio.Semaphore(job["at_once"])

    async def one(tenant_id: int, service_ids: list[int]) -> None:
        async with turns:
            with tenant_scope(tenant_id):
                for attempt in range(1, ATTEMPTS + 1):
                    try:
                        units.update(await prepare_database(
                            database_url=job["database_url"], sandbox=sandbox, marketplace=job["marketplace"],
                            psa=job["psa"], lines=[lines[service_id] for service_id in service_ids], migrate=False))
                        return
                    except Exception as exc:  # e.g. a PostgreSQL shared with others out of connections for a moment
                        if attempt == ATTEMPTS:
                            raise RuntimeError(f"tenant {tenant_id} was not set up: {exc!r}") from exc
                        print(f"tenant {tenant_id}, attempt {attempt}: {exc!r}; again", file=sys.stderr, flush=True)
                        await asyncio.sleep(5 * attempt)

    await asyncio.gather(*(one(int(tenant_id), ids) for tenant_id, ids in job["tenants"].items()))
    return units


def main(job_path: str, units_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    try:
        units = asyncio.run(set_up(job))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    Path(units_path).write_text(json.dumps(units))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
