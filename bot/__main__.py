"""The `seatsync` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.log_redaction import configure_logging

log = logging.getLogger("seatsync")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seatsync", description="Bill every seat bought, exactly once.")
    parser.add_argument("--version", action="version", version=f"seatsync {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("serve", help="run the web service, the Slack endpoint and the scheduler")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="create or upgrade the schema to the latest revision")
    db_commands.add_parser("current", help="print the schema revision of the database")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
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
    if args.command == "db":
        return asyncio.run(_db(settings, args.db_command))
    raise AssertionError(args.command)


async def _db(settings: Settings, action: str) -> int:
    from bot.db.engine import create_engine
    from bot.db.migrate import current_revision, head_revision, upgrade

    engine = create_engine(settings.database_url)
    try:
        if action == "upgrade":
            await upgrade(engine)
            print(f"database is at revision {await current_revision(engine)} (head {head_revision()})")
        else:
            print(await current_revision(engine) or "empty (no schema yet)")
    except OSError as exc:
        print(f"seatsync: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
