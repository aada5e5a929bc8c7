"""`seatsync config show|set|test`: SeatSync configured from the command line, without Slack.

The same service functions as the `/seats config` modal and its *Test connection* (`bot.services.configuration`,
`bot.connectors.checks`), so the same validation, storage (secrets encrypted) and audit apply; the actor is
`cli:<the OS user>`.

- `show`: the settings and each connection; a secret reads only "set" or "unset" (and who set it, when).
- `set [--file FILE] [KEY=VALUE ...] [--secret-from-stdin SYSTEM.FIELD]`: KEY is an app setting
  (`poll_minutes`, `marketplace`, `billing_team`...) or `SYSTEM.base_url` / `SYSTEM.OPTION`. A secret is never
  taken from the command line or a file (both end up in shell history, process lists, backups): it comes from
  the environment variable `SEATSYNC_<SYSTEM>_<FIELD>` (`SEATSYNC_AUTOTASK_SECRET`) or, with
  `--secret-from-stdin`, from a line of standard input. A secret not given keeps the stored one.
- `test [SYSTEM ...]`: the connector's own diagnosis of each stored connection (the chosen marketplace and PSA
  by default), word for word with secrets masked; exit 1 unless every one is ok.

What a system needs is asked of the vendor registry (`_systems`, `_fields`, `_label`: the one place this module
looks vendors up); nothing here names a vendor.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.connectors.registry import VENDORS

if TYPE_CHECKING:  # the rest is imported when a command runs: `seatsync` builds its parser on every start
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.config import Settings
    from bot.db.app_settings import AppSettings
    from bot.keys import SecretBox
    from bot.services.configuration import Configuration, ConnectionForm

SECRET_ENV = "SEATSYNC_{system}_{field}"


class ConfigUsageError(Exception):
    """What was asked cannot be done; the message is the lines to print (exit 2)."""


def add_config_parser(commands: Any) -> None:
    """`seatsync config ...` on the main parser's subcommands."""
    config = commands.add_parser("config", help="show, set or test the configuration (connections, settings)")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the settings and connections; secrets only as set or unset")
    show.add_argument("--json", action="store_true", help="as one JSON object")
    change = actions.add_parser("set", help="change settings and connections (secrets from the environment or "
                                            "standard input, never from the command line)")
    change.add_argument("values", nargs="*", metavar="KEY=VALUE",
                        help="an app setting (poll_minutes=10) or SYSTEM.base_url / SYSTEM.OPTION")
    change.add_argument("--file", metavar="FILE", help="KEY=VALUE lines (# comments), read before the arguments")
    change.add_argument("--secret-from-stdin", action="append", default=[], metavar="SYSTEM.FIELD",
                        help="read this secret from a line of standard input (once per secret, in order)")
    test = actions.add_parser("test", help="test the stored connections, as Test connection does in Slack")
    test.add_argument("systems", nargs="*", metavar="SYSTEM", help="default: the chosen marketplace and PSA")


def config_command(settings: Settings, args: argparse.Namespace, *, out: TextIO | None = None,
                   err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        if args.config_command == "show":
            return asyncio.run(_show(settings, as_json=args.json, out=out))
        if args.config_command == "set":
            changes = parse_changes(_file_lines(args.file) + list(args.values), stdin_secrets=args.secret_from_stdin)
            return asyncio.run(_set(settings, changes, out=out))
        return asyncio.run(_test(settings, args.systems, out=out))
    except ConfigUsageError as exc:
        print(f"seatsync config {args.config_command}: {exc}", file=err)
        return 2


def cli_actor() -> str:
    """Who is changing things: the OS user, as the audit trail records it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return f"cli:uid {os.getuid()}"


# --- what a system needs (the one place vendors are looked up) -----------------------------------------

def _systems() -> tuple[str, ...]:
    return VENDORS.keys()


def _fields(system: str) -> Any:
    """The system's connection fields: `.options` and `.secrets`, each with `.name`, `.label`, `.required`."""
    return VENDORS.get(system).connection


def _label(system: str) -> str:
    return VENDORS.label(system)


def secret_variable(system: str, name: str) -> str:
    return SECRET_ENV.format(system=system.upper(), field=name.upper())


# --- set ---------------------------------------------------------------------------------------------------

@dataclass
class Changes:
    """What `config set` was given: app settings by name (as typed) and per system its URL, options, secrets."""

    settings: dict[str, str] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def systems(self) -> list[str]:
        return [s for s in _systems() if s in self.base_urls or s in self.options or s in self.secrets]


def _file_lines(path: str | None) -> list[str]:
    if path is None:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigUsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def parse_changes(words: Sequence[str], *, stdin_secrets: Sequence[str], environ: dict[str, str] | None = None,
                  stdin: TextIO | None = None) -> Changes:
    """KEY=VALUE words into Changes; secrets from the environment and standard input. A secret in the words is
    refused, naming the variable to use instead (its value is never repeated)."""
    from bot.db.app_settings import AppSettings
    from bot.log_redaction import register_secret

    environ = dict(os.environ) if environ is None else environ
    changes, problems = Changes(), []
    settable = {f.name for f in fields(AppSettings)}
    for word in words:
        key, equals, value = word.partition("=")
        key = key.strip()
        if not equals or not key:
            problems.append(f"{word.split('=')[0][:40]!r} must look like KEY=VALUE (poll_minutes=10, "
                            "autotask.base_url=https://...)")
            continue
        system, dot, name = key.partition(".")
        if not dot:
            if key not in settable:
                problems.append(f"unknown setting {key} (settings: {', '.join(sorted(settable))})")
                continue
            changes.settings[key] = value.strip()
            continue
        if system not in _systems():
            problems.append(f"unknown system {system} in {key} (systems: {', '.join(_systems())})")
            continue
        secret_names = {spec.name for spec in _fields(system).secrets}
        if name in secret_names:
            problems.append(_secret_refusal(system, name))
        elif name == "base_url":
            changes.base_urls[system] = value.strip()
        elif name in {spec.name for spec in _fields(system).options}:
            changes.options.setdefault(system, {})[name] = value.strip()
        else:
            known = ["base_url", *(spec.name for spec in _fields(system).options)]
            problems.append(f"unknown field {key} (settings of {system}: {', '.join(known)}; secrets: "
                            f"{', '.join(sorted(secret_names)) or 'none'})")
    for system in _systems():
        for spec in _fields(system).secrets:
            value = environ.get(secret_variable(system, spec.name))
            if value:
                changes.secrets.setdefault(system, {})[spec.name] = value
    stdin = stdin or sys.stdin
    for key in stdin_secrets:
        system, _, name = key.partition(".")
        if system not in _systems() or name not in {spec.name for spec in _fields(system).secrets}:
            problems.append(f"--secret-from-stdin {key}: not a secret SYSTEM.FIELD "
                            f"({', '.join(f'{s}.{f.name}' for s in _systems() for f in _fields(s).secrets)})")
            continue
        line = stdin.readline().rstrip("\r\n")
        if not line:
            problems.append(f"--secret-from-stdin {key}: standard input had no line for it")
            continue
        changes.secrets.setdefault(system, {})[name] = line
    for secrets in changes.secrets.values():
        for value in secrets.values():
            register_secret(value)
    if problems:
        raise ConfigUsageError("\n".join(problems))
    return changes


def _secret_refusal(system: str, name: str) -> str:
    return (f"{system}.{name} is a secret and is never taken from the command line or a file (they end up in shell "
            f"history and process lists): set {secret_variable(system, name)} in the environment, or pass "
            f"--secret-from-stdin {system}.{name} and give it on standard input")


def _settings_with(current: AppSettings, typed: dict[str, str]) -> tuple[AppSettings, list[str]]:
    """The stored settings with the typed values, each read as its field's type; problems name KEY=VALUE."""
    from bot.db.app_settings import AppSettings

    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, text in typed.items():
        now = getattr(current, key)
        default = next(f for f in fields(AppSettings) if f.name == key)
        if isinstance(now, list) or default.default_factory is list:  # type: ignore[comparison-overlap]
            values[key] = [item for item in text.replace(",", " ").split() if item]
        elif isinstance(now, int) and not isinstance(now, bool):
            try:
                values[key] = int(text)
            except ValueError:
                problems.append(f"{key}={text}: a whole number")
                continue
        elif default.default is None:  # an optional setting: empty clears it (alerts_channel=)
            values[key] = text or None
        else:
            values[key] = text
    if "marketplaces" in values and "marketplace" not in values:  # the one follows the list (its first)
        values["marketplace"] = values["marketplaces"][0] if values["marketplaces"] else None
    updated = replace(current, **values)
    for key in values:
        try:
            replace(AppSettings(), **{key: values[key]}).validate()
        except (ValueError, TypeError) as exc:
            problems.append(f"{key}={typed.get(key, values[key])}: {exc}")
    return updated, problems


async def _set(settings: Settings, changes: Changes, *, out: TextIO) -> int:
    from bot.db.engine import create_engine, session_factory
    from bot.db.migrate import upgrade
    from bot.keys import SecretBox
    from bot.services.configuration import ConfigForm, InvalidConfiguration, load_configuration, save_configuration

    actor = cli_actor()
    db = create_engine(settings.database_url)
    try:
        await upgrade(db)
        sessions = session_factory(db)
        box = SecretBox(settings.secret_key)
        async with sessions() as session:
            current = await load_configuration(session=session, box=box)
            new_settings, problems = _settings_with(current.settings, changes.settings)
            if problems:
                raise ConfigUsageError("\n".join(problems))
            connections = tuple(_connection_form(current, changes, system) for system in changes.systems)
            form = ConfigForm(settings=new_settings, connections=connections)
            try:
                saved = await save_configuration(session=session, box=box, form=form, actor=actor)
            except InvalidConfiguration as exc:
                raise ConfigUsageError("\n".join(
                    f"{problem.system + '.' if problem.system else ''}{problem.name}: {problem.message}"
                    for problem in exc.problems)) from None
            await session.commit()
    finally:
        await db.dispose()
    print(f"saved by {actor}; the audit trail has the details", file=out)
    print(f"settings changed: {', '.join(saved.changed_settings) or 'none'}", file=out)
    for system in saved.saved_connections:
        replaced = saved.secrets_changed.get(system) or ()
        print(f"{system} connection saved; " + (f"secrets replaced: {', '.join(replaced)}" if replaced
                                                 else "stored secrets kept"), file=out)
    if not saved.saved_connections and changes.systems:
        print("connections unchanged", file=out)
    print("a running `seatsync serve` reads the new configuration at its next sync", file=out)
    return 0


def _connection_form(current: Configuration, changes: Changes, system: str) -> ConnectionForm:
    """The stored connection with what was given over it: every option is passed (an empty one is removed)."""
    from bot.services.configuration import ConnectionForm

    stored = current.connections.get(system)
    options = {spec.name: str((stored.options if stored else {}).get(spec.name, "") or "")
               for spec in _fields(system).options}
    options.update(changes.options.get(system, {}))
    return ConnectionForm(system=system, base_url=changes.base_urls.get(system, stored.base_url if stored else ""),
                          options=options, secrets=dict(changes.secrets.get(system, {})))


# --- show --------------------------------------------------------------------------------------------------

async def _show(settings: Settings, *, as_json: bool, out: TextIO) -> int:
    from bot.db.audit import record_audit
    from bot.db.engine import session_factory
    from bot.db.migrate import open_existing
    from bot.keys import SecretBox
    from bot.services.configuration import load_configuration

    _need_key(settings)
    db = await open_existing(settings.database_url)
    try:
        async with session_factory(db)() as session:
            config = await load_configuration(session=session, box=SecretBox(settings.secret_key))
            record_audit(session=session, actor=cli_actor(), action="show_configuration",
                         subject_type="configuration", subject_id="cli")
            await session.commit()
    finally:
        await db.dispose()
    described = describe_configuration(config)
    if as_json:
        print(json.dumps(described, indent=2, default=str), file=out)
        return 0
    print("settings:", file=out)
    for name, value in described["settings"].items():
        print(f"  {name}: {_shown(value)}", file=out)
    for system, connection in described["connections"].items():
        print(f"{system} ({connection['label']}):", file=out)
        if not connection["stored"]:
            print("  no connection stored", file=out)
            continue
        print(f"  base_url: {connection['base_url']}", file=out)
        for name, value in connection["options"].items():
            print(f"  {name}: {_shown(value)}", file=out)
        by = connection["secrets_set_by"]
        for name, state in connection["secrets"].items():
            when = f"; by {by} at {connection['secrets_set_at']}" if state == "set" and by else ""
            print(f"  {name}: {state} (secret{when})", file=out)
    return 0


def describe_configuration(config: Configuration) -> dict[str, Any]:
    """The configuration as `config show` prints it: every secret as "set" or "unset", never its value."""
    from bot.db.app_settings import AppSettings

    chosen = [*config.settings.marketplaces, config.settings.psa]
    systems = [s for s in _systems() if s in config.connections or s in chosen]
    connections: dict[str, Any] = {}
    for system in systems:
        stored = config.connections.get(system)
        specs = _fields(system)
        connections[system] = {
            "label": _label(system), "stored": stored is not None,
            "base_url": stored.base_url if stored else None,
            "options": {spec.name: (stored.options.get(spec.name) if stored else None) for spec in specs.options},
            "secrets": {spec.name: "set" if stored and spec.name in stored.stored_secrets else "unset"
                        for spec in specs.secrets},
            "secrets_set_by": stored.secrets_set_by if stored else None,
            "secrets_set_at": stored.secrets_set_at.isoformat(timespec="seconds")
            if stored and stored.secrets_set_at else None,
        }
    return {"settings": {f.name: getattr(config.settings, f.name) for f in fields(AppSettings)},
            "connections": connections}


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(not set)"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _need_key(settings: Settings) -> None:
    if not settings.secret_key:
        raise ConfigUsageError("the stored configuration is encrypted with SEATSYNC_SECRET_KEY, which is not set and "
                               f"not stored in {settings.data_dir / 'secret.key'}")


# --- test --------------------------------------------------------------------------------------------------

async def _test(settings: Settings, systems: Sequence[str], *, out: TextIO) -> int:
    from bot.db.engine import session_factory
    from bot.db.migrate import open_existing
    from bot.keys import SecretBox

    _need_key(settings)
    unknown = [system for system in systems if system not in _systems()]
    if unknown:
        raise ConfigUsageError(f"unknown system {', '.join(unknown)} (systems: {', '.join(_systems())})")
    db = await open_existing(settings.database_url)
    try:
        return await _run_tests(session_factory(db), SecretBox(settings.secret_key), systems, out=out)
    finally:
        await db.dispose()


async def _run_tests(sessions: async_sessionmaker[AsyncSession], box: SecretBox, systems: Sequence[str], *,
                     out: TextIO) -> int:
    from bot.connectors.checks import check_connection
    from bot.db.audit import record_audit
    from bot.db.connections import load_connection
    from bot.services.configuration import load_configuration

    actor = cli_actor()
    async with sessions() as session:
        config = await load_configuration(session=session, box=box)
    wanted: list[tuple[str, str | None]] = [(system, system) for system in systems] or [
        *(("marketplace", m) for m in config.settings.marketplaces or [None]), ("psa", config.settings.psa)]
    all_ok = True
    for name, system in wanted:
        if system is None:
            print(f"{name}: none chosen (seatsync config set {name}=...)", file=out)
            all_ok = False
            continue
        async with sessions() as session:
            connection = await load_connection(session=session, box=box, system=system)
        if connection is None:
            print(f"{system}: no connection stored (seatsync config set {system}.base_url=... and its fields)",
                  file=out)
            all_ok = False
            continue
        check = await check_connection(connection)
        all_ok = all_ok and check.ok
        print(f"{system}: {'ok' if check.ok else 'failed'} — {check.detail}", file=out)
        for fact, value in check.facts.items():
            print(f"  {fact}: {value}", file=out)
        async with sessions() as session:
            record_audit(session=session, actor=actor, action="test_connection", subject_type="connection",
                         subject_id=system, after={"ok": check.ok, "detail": check.detail})
            await session.commit()
    return 0 if all_ok else 1

