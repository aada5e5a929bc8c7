"""`seatsync tenants list` and `seatsync tenants export --tenant ID --output DIR` (multi-workspace mode): who is
installed, who left and when their data goes, and a leaving tenant's data as files (bot.services.tenant_export)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import Settings
from bot.db.engine import session_factory
from bot.db.migrate import open_existing
from bot.db.models import Tenant
from bot.services.tenant_export import export_tenant
from bot.wording import counted


def add_tenants_parser(commands: argparse._SubParsersAction) -> None:
    tenants = commands.add_parser("tenants", help="the MSPs installed through Slack (multi-workspace mode)")
    actions = tenants.add_subparsers(dest="tenants_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="every tenant: its workspace or enterprise, status, when its data is purged")
    export = actions.add_parser("export", help="write a tenant's links, adjustments and audit trail as CSV files")
    export.add_argument("--tenant", type=int, required=True, metavar="ID", help="the tenant's id (see `list`)")
    export.add_argument("--output", required=True, metavar="DIR", help="the folder to write the files in")


def tenants_command(settings: Settings, args: argparse.Namespace, *, out: TextIO | None = None,
                    err: TextIO | None = None, clock: Clock = SYSTEM_CLOCK) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.tenants_command == "export":
        try:
            Path(args.output).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"seatsync tenants export: cannot make {args.output}: {exc.strerror}", file=err)
            return 1
    return asyncio.run(_run(settings, args, out=out, err=err, clock=clock))


async def _run(settings: Settings, args: argparse.Namespace, *, out: TextIO, err: TextIO, clock: Clock) -> int:
    engine = await open_existing(settings.database_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            tenants = list(await session.scalars(select(Tenant).order_by(Tenant.id)))
        if args.tenants_command == "list":
            for tenant in tenants:
                purge = f", purged after {tenant.purge_after.isoformat()}" if tenant.purge_after else ""
                print(f"{tenant.id}\t{tenant.install_key or 'single workspace'}\t{tenant.status.value}{purge}",
                      file=out)
            return 0
        if args.tenant not in {tenant.id for tenant in tenants}:
            print(f"seatsync tenants export: there is no tenant {args.tenant} (see `seatsync tenants list`)",
                  file=err)
            return 1
        try:
            files = await export_tenant(sessions=sessions, tenant_id=args.tenant, directory=Path(args.output),
                                        today=clock().date())
        except OSError as exc:
            print(f"seatsync tenants export: cannot write to {args.output}: {exc.strerror}", file=err)
            return 1
        for file in files:
            print(f"wrote {counted(file.rows, 'row')} to {Path(args.output) / file.name}", file=err)
        return 0
    finally:
        await engine.dispose()
