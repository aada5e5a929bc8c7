"""The `seatsync` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot import __version__
from bot.cli_config import add_config_parser
from bot.cli_invoices import add_invoices_parser
from bot.cli_tenants import add_tenants_parser, tenants_command
from bot.clock import SYSTEM_CLOCK, Clock
from bot.config import ConfigError, Settings, load_settings
from bot.db.tenant_scope import DEFAULT_TENANT_ID, tenant_scope
from bot.log_redaction import configure_logging

log = logging.getLogger("seatsync")


def build_parser() -> argparse.ArgumentParser:
    from bot.connectors.registry import VENDORS

    parser = argparse.ArgumentParser(prog="seatsync", description="Bill every seat bought, exactly once.")
    parser.add_argument("--version", action="version", version=f"seatsync {__version__}")
    parser.add_argument("--tenant", type=_tenant_id, default=DEFAULT_TENANT_ID, metavar="ID",
                        help="the tenant (one MSP's workspace) a command acts for (default: the single-workspace "
                             "install's)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("serve", help="run the web service, the Slack endpoint and the scheduler")

    sandbox = commands.add_parser("sandbox", help="serve the simulators of the marketplaces, the PSAs and Slack")
    sandbox.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--scale", choices=("small", "large"), default="small")
    sandbox.add_argument("--seed", type=int, default=1, help="data and credentials are fixed for a seed")
    sandbox.add_argument("--faults", choices=("none", "light", "heavy"), default="none")
    sandbox.add_argument("--slack-request-url", default="http://127.0.0.1:3000/slack/events",
                         help="the app's Slack endpoint, where the Slack console sends what people do "
                              "(default: seatsync serve's on this machine)")
    sandbox.add_argument("--slack-workspaces", type=int, default=1, metavar="N",
                         help="workspaces in the simulated Slack (default 1); each has a console, and the others can "
                              "install an app started with SLACK_CLIENT_ID/SLACK_CLIENT_SECRET from --print-config")
    sandbox.add_argument("--autotask-unknown-operators", choices=("refuse", "drop"), default="refuse",
                         help="an Autotask query with an unknown filter operator: refused with an error (default), or "
                              "answered as the live API does, the operator dropped and every row returned")
    sandbox.add_argument("--print-config", action="store_true",
                         help="print base URLs and credentials as JSON for a sandbox on --port, and exit")

    demo = commands.add_parser("demo", help="the whole product against the bundled simulators")
    demo.add_argument("--once", action="store_true",
                      help="one scripted run (link, let days pass, sync until settled), ending with a JSON line")
    choices = VENDORS.demo_choices("psa")
    demo.add_argument("--psa", choices=choices, default=choices[0] if choices else None)
    choices = VENDORS.demo_choices("marketplace")
    demo.add_argument("--marketplace", type=_marketplace_list, default=choices[0] if choices else None,
                      metavar="{" + ",".join(choices) + "}[,...]",
                      help="the marketplace to read, or several separated by commas (read side by side)")
    demo.add_argument("--scale", choices=("small", "large"), default="small")
    demo.add_argument("--faults", choices=("none", "light", "heavy"), default="none")
    demo.add_argument("--days", type=int, default=3)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--tenants", type=int, default=None,
                      help="with --once: this many MSPs on one install, each its own Slack workspace and sandbox "
                           "world (seeds --seed, --seed+1, ...); PostgreSQL (DATABASE_URL) isolates them by row "
                           "security, SQLite by the ORM's filter")
    demo.add_argument("--port", type=int, default=3000, help="where SeatSync serves (without --once)")
    demo.add_argument("--sandbox-port", type=int, default=0,
                      help="where the simulators serve (default: a free port)")
    demo.add_argument("--invoice-check", action="store_true",
                      help="with --once: then plant known discrepancies in an invoice month and check it")
    demo.add_argument("--day-seconds", type=float, default=60.0,
                      help="without --once: real seconds between simulated marketplace days (default 60)")

    sync = commands.add_parser("sync", help="run one sync cycle now")
    sync.add_argument("--once", action="store_true", required=True, help="run one cycle and print a summary")
    sync.add_argument("--dry-run", action="store_true", help="show what would be posted; write nothing to the PSA")

    report = commands.add_parser("report", help="write a report to stdout, or print its signed link")
    report.add_argument("name", help="adjustments, failures, subscriptions, linked, unlinked, psa-unlinked, "
                                     "unbilled, margin")
    report.add_argument("--format", default="csv", help="csv (default), xlsx (bytes: redirect to a file) or html")
    report.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="date_from, date_to, company, subscription, resource, status (which ones: README, "
                             "Report statuses), text, sort, direction")
    report.add_argument("--link", action="store_true", help="print the signed URL instead of the report")

    links = commands.add_parser("links", help="export or import the company/subscription/resource links as CSV")
    links_commands = links.add_subparsers(dest="links_command", required=True, metavar="ACTION")
    links_export = links_commands.add_parser("export", help="write every link as CSV")
    links_export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    links_import = links_commands.add_parser("import", help="check a links CSV against the data; --apply saves it")
    links_import.add_argument("file", metavar="FILE")
    links_import.add_argument("--apply", action="store_true",
                              help="save every row or none, then reconcile each new resource link")

    add_config_parser(commands)

    add_invoices_parser(commands)
    add_tenants_parser(commands)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    db_commands.add_parser("current", help="print the schema revision of the database")
    return parser


def main(argv: list[str] | None = None, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """`clock`: the source of "now" for every command (tests pin one; the demo moves its own)."""
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":  # needs no SeatSync settings: it is the outside world
        return _sandbox(args)
    reads_only = _reads_only(args)
    try:  # a command that only reads neither generates a secret key nor needs one unless it signs
        settings = load_settings(create_secret_key=not reads_only, require_secret_key=not reads_only)
    except ConfigError as exc:
        print(f"seatsync: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if settings.secret_key_generated:
        log.warning("SEATSYNC_SECRET_KEY was not set: generated one and stored it in %s (mode 0600). "
                    "Keep it safe: stored credentials cannot be decrypted without it.",
                    settings.data_dir / "secret.key")
    if args.command == "serve":
        from bot.server import serve

        serve(settings)
        return 0
    if args.command == "demo":
        return _demo(settings, args, clock=clock)
    with tenant_scope(args.tenant):
        return _tenant_command(settings, args, clock=clock)


def _tenant_id(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"a tenant is a positive number, not {text!r}")
    return int(text)


def _tenant_command(settings: Settings, args: argparse.Namespace, *, clock: Clock) -> int:
    """A command that reads or writes one tenant's rows, run in its scope."""
    try:
        if args.command == "db":
            return asyncio.run(_db(settings, args.db_command))
        if args.command == "sync":
            return asyncio.run(_sync_once(settings, dry_run=args.dry_run, clock=clock))
        if args.command == "report":
            return _report(settings, args, clock=clock)
        if args.command == "links":
            from bot.cli_links import links_command

            return links_command(settings, args, clock=clock)
        if args.command == "config":
            from bot.cli_config import config_command

            return config_command(settings, args)
        if args.command == "invoices":
            from bot.cli_invoices import invoices_command

            return invoices_command(settings, args, clock=clock)
        if args.command == "tenants":
            return tenants_command(settings, args, clock=clock)
    except BrokenPipeError:  # `seatsync links export | head`: the reader has had enough
        return 0
    except Exception as exc:
        from bot.db.migrate import DatabaseNotReady  # here: the command's own imports made it cheap by now

        if isinstance(exc, DatabaseNotReady):
            print(f"seatsync {args.command}: {exc}", file=sys.stderr)
            return 1
        reason = _database_unreachable(exc)
        if reason is None:
            raise
        print(f"seatsync {args.command}: cannot reach the database: {reason}", file=sys.stderr)
        return 1
    raise AssertionError(args.command)


def _reads_only(args: argparse.Namespace) -> bool:
    """Commands that only read: they never create a database, a folder or a secret key
    (bot.db.migrate.open_existing)."""
    return (args.command == "report"
            or (args.command == "invoices" and args.invoices_command == "check")
            or (args.command == "db" and args.db_command == "current")
            or (args.command == "config" and args.config_command != "set")
            or args.command == "tenants"
            or (args.command == "links" and (args.links_command == "export" or not args.apply)))


def _database_unreachable(exc: Exception) -> str | None:
    """Why the database could not be reached (a refused connection, an unknown database, a rejected login),
    or None when `exc` is something else: that keeps its traceback."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.statement is None:  # raised while connecting, before any SQL
        return str(exc.orig)
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        return str(exc)
    return None


def _report(settings: Settings, args: argparse.Namespace, *, clock: Clock) -> int:
    from bot.cli_reports import ReportUsageError, report_request, write_report

    try:
        request = report_request(args.name, args.format, args.filter, link=args.link)
        asyncio.run(write_report(request, settings=settings, out=sys.stdout.buffer, now=clock()))
    except ReportUsageError as exc:
        print(f"seatsync report: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `seatsync report ... | head`: the reader has had enough
        return 0
    return 0


async def _sync_once(settings: Settings, *, dry_run: bool, clock: Clock) -> int:
    from datetime import timedelta

    from bot.db.engine import create_engine, session_factory
    from bot.db.migrate import upgrade
    from bot.db.models import SyncRunStatus
    from bot.db.rate_budgets import tenant_budget
    from bot.db.tenant_scope import current_tenant_id
    from bot.keys import SecretBox
    from bot.sync.claims import claim_ttl_within
    from bot.sync.summary import describe_cycle
    from bot.sync.wiring import NotConfigured, build_engine

    db = create_engine(settings.database_url)
    try:
        await upgrade(db)
        sessions = session_factory(db)
        engine = await build_engine(sessions=sessions, box=SecretBox(settings.secret_key), clock=clock,
                                    claim_ttl=claim_ttl_within(timedelta(seconds=settings.lease_seconds)),
                                    budget=tenant_budget(sessions, current_tenant_id()))
        if isinstance(engine, NotConfigured):
            print(f"seatsync sync: nothing to sync: {engine.reason}", file=sys.stderr)
            return 1
        try:
            report = await engine.run_cycle(trigger="cli", actor="cli", dry_run=dry_run)
        finally:
            await engine.aclose()
        print("\n".join(describe_cycle(report)))
        return 0 if report.status is not SyncRunStatus.failed else 1
    finally:
        await db.dispose()


def _marketplace_list(text: str) -> str:
    """`--marketplace ingram,pax8`: demo marketplaces separated by commas, each once, in order."""
    from bot.connectors.registry import VENDORS

    choices = VENDORS.demo_choices("marketplace")
    keys = list(dict.fromkeys(key.strip() for key in text.split(",") if key.strip()))
    unknown = [key for key in keys if key not in choices]
    if not keys or unknown:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(choices)}, or several "
                                         "separated by commas)")
    return ",".join(keys)


def _demo(settings: Settings, args: argparse.Namespace, *, clock: Clock) -> int:
    if not 0 <= args.days <= 366:
        print(f"seatsync demo: --days {args.days} must be between 0 and 366", file=sys.stderr)
        return 2
    if not 0 <= args.sandbox_port <= 65535:
        print(f"seatsync demo: --sandbox-port {args.sandbox_port} is out of range (0-65535)", file=sys.stderr)
        return 2
    if args.tenants is not None and not args.once:
        print("seatsync demo: --tenants is for the scripted run: add --once", file=sys.stderr)
        return 2
    database_url = settings.database_url if os.environ.get("DATABASE_URL") else None
    if not args.once:
        from bot.demo.live import DemoCannotServe, run_live

        overrides = {name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SEATSYNC_SLACK_API_URL",
                                       "SEATSYNC_PUBLIC_URL") if os.environ.get(name)}
        try:
            asyncio.run(run_live(settings, port=args.port, env_overrides=overrides, database_url=database_url,
                                 marketplace=args.marketplace, seed=args.seed, day_seconds=args.day_seconds,
                                 sandbox_port=args.sandbox_port,
                                 say=lambda line: print(line, flush=True), clock=clock))
        except DemoCannotServe as exc:
            print(f"seatsync demo: {exc}", file=sys.stderr)
            return 1
        return 0
    from bot.demo.progress import DemoFailed
    from bot.demo.scripted import DemoOptions, run_once, summary_line
    from bot.demo.tenants import MAX_TENANTS, run_tenants

    if args.tenants is not None and not 1 <= args.tenants <= MAX_TENANTS:
        print(f"seatsync demo: --tenants {args.tenants} must be between 1 and {MAX_TENANTS}", file=sys.stderr)
        return 2
    if args.tenants is not None and args.invoice_check:
        print("seatsync demo: --invoice-check runs for one MSP: leave out --tenants", file=sys.stderr)
        return 2
    options = DemoOptions(psa=args.psa, marketplace=args.marketplace, scale=args.scale, faults=args.faults,
                          days=args.days, seed=args.seed, database_url=database_url, secret_key=settings.secret_key,
                          sandbox_port=args.sandbox_port, invoice_check=args.invoice_check)
    say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        if args.tenants is None:
            result = asyncio.run(run_once(options, say=say, clock=clock))
        else:
            result = asyncio.run(run_tenants(options, args.tenants, say=say, clock=clock))
    except DemoFailed as failed:
        print(f"seatsync demo: {failed}", file=sys.stderr)
        return 1
    print(summary_line(result), flush=True)
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.serve import print_config, serve_sandbox

    if not 0 <= args.port <= 65535:
        print(f"seatsync sandbox: --port {args.port} is out of range (0-65535)", file=sys.stderr)
        return 2
    if args.print_config:
        print_config(port=args.port, seed=args.seed, scale=args.scale, host=args.host)
        return 0
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(serve_sandbox(port=args.port, seed=args.seed, scale=args.scale, faults=args.faults,
                                  host=args.host, slack_request_url=args.slack_request_url,
                                  slack_workspaces=args.slack_workspaces,
                                  autotask_unknown_operators=args.autotask_unknown_operators))
    except ValueError as exc:
        print(f"seatsync sandbox: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"seatsync sandbox: cannot serve on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


async def _db(settings: Settings, action: str) -> int:
    from bot.db.engine import create_engine, sqlite_file
    from bot.db.migrate import DatabaseNotReady, current_revision, head_revision, upgrade

    path = sqlite_file(settings.database_url)
    if action == "current" and path is not None and not path.is_file():
        raise DatabaseNotReady(f"no database at {path}: `seatsync db upgrade` (or `seatsync serve`) creates it")
    engine = create_engine(settings.database_url, create_folder=action == "upgrade")
    try:
        if action == "upgrade":
            await upgrade(engine)
            print(f"database is at revision {await current_revision(engine)} (head {head_revision()})")
        else:
            print(await current_revision(engine) or "empty (no schema yet)")
    finally:
        await engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
