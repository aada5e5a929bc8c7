"""`seatsync config show|set|test`: SeatSync configured without Slack, against the simulators over HTTP, a real
SQLite database, the audit trail read back. Secrets come from the environment or standard input, never argv."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import json
import logging

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.clock import ManualClock
from bot.db.engine import create_engine, session_factory
from bot.db.models import AuditEvent, ConnectionSetting
from bot.demo.workspace import sandbox_connection
from bot.sandbox.app import Sandbox
from bot.services.links_transfer import COLUMNS
from tests.conftest import PINNED_NOW, TEST_SECRET_KEY
from tests.sync.engine_setup import pick_lines

ACTOR = f"cli:{getpass.getuser()}"


@pytest.fixture
async def sandbox(today):
    started = await Sandbox.generate(seed=5, scale="small", today=today).start()
    yield started
    await started.stop()


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """A folder with no database yet; SeatSync's own settings in the environment."""
    database = tmp_path / "data" / "seatsync.db"
    for name, value in {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "SEATSYNC_SECRET_KEY": TEST_SECRET_KEY,
                        "SEATSYNC_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield database
    root.handlers[:], root.level = handlers, level  # main() configures logging for the process


async def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`seatsync ARGV` in-process (off the event loop: it runs its own), on a pinned clock."""
    code = await asyncio.to_thread(main, list(argv), clock=ManualClock(PINNED_NOW))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def connection_arguments(sandbox: Sandbox, system: str, monkeypatch) -> tuple[list[str], dict[str, str]]:
    """`SYSTEM.KEY=VALUE` words for the simulator's URL and options; its secrets go into the environment."""
    base_url, options, secrets = sandbox_connection(system, sandbox.config())
    for name, value in secrets.items():
        monkeypatch.setenv(f"SEATSYNC_{system.upper()}_{name.upper()}", value)
    return [f"{system}.base_url={base_url}", *(f"{system}.{name}={value}" for name, value in options.items())], secrets


async def audit_trail(database) -> list[tuple[str, str, str]]:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with session_factory(engine)() as session:
            return [(e.actor, e.action, e.subject_id) for e in await session.scalars(
                select(AuditEvent).order_by(AuditEvent.id))]
    finally:
        await engine.dispose()


async def stored_systems(database) -> list[str]:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with session_factory(engine)() as session:
            return list(await session.scalars(select(ConnectionSetting.system).order_by(ConnectionSetting.system)))
    finally:
        await engine.dispose()


async def test_the_readme_path_works_from_the_command_line_alone(cli_env, sandbox, monkeypatch, capsys, tmp_path):
    odin, _ = connection_arguments(sandbox, "odin", monkeypatch)
    autotask, secrets = connection_arguments(sandbox, "autotask", monkeypatch)
    assert (await cli(capsys, "db", "upgrade"))[0] == 0

    code, out, err = await cli(capsys, "config", "set", "marketplace=odin", "psa=autotask", "poll_minutes=10", *odin,
                         *autotask)
    assert code == 0, err
    assert "settings changed: poll_minutes, marketplace, marketplaces, psa" in out  # the list follows the one
    assert "autotask connection saved; secrets replaced: integration_code, secret" in out

    code, shown, err = await cli(capsys, "config", "show")
    assert code == 0, err
    assert "marketplace: odin" in shown and "poll_minutes: 10" in shown
    assert "  integration_code: set (secret; by " in shown and "  secret: set (secret; by " in shown
    assert "  webhook_secret: unset (secret)" in shown  # Odin's, not given
    assert not any(value in shown for value in secrets.values())
    assert json.loads((await cli(capsys, "config", "show", "--json"))[1])["connections"]["autotask"]["secrets"] == {
        "integration_code": "set", "secret": "set"}

    code, tested, err = await cli(capsys, "config", "test")
    assert code == 0, (tested, err)
    assert tested.startswith("odin: ok") and "\nautotask: ok" in tested

    code, out, err = await cli(capsys, "sync", "--once")
    assert code == 0, err
    line, = pick_lines(sandbox.world, "autotask", 1)
    links = tmp_path / "links.csv"
    with links.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerow({"level": "resource", "marketplace": "odin", "subscription_id": line.subscription_id,
                         "resource_id": line.resource_id, "psa": "autotask", "service_id": line.service_id})
    code, out, err = await cli(capsys, "links", "import", str(links), "--apply")
    assert code == 0, (out, err)
    assert "1 row saved: 1 created" in out

    trail = await audit_trail(cli_env)
    assert (ACTOR, "save_settings", "app") in trail
    assert (ACTOR, "save_connection", "odin") in trail and (ACTOR, "save_connection", "autotask") in trail
    assert (ACTOR, "test_connection", "odin") in trail and (ACTOR, "test_connection", "autotask") in trail
    assert (ACTOR, "show_configuration", "cli") in trail


@pytest.mark.parametrize("where", ["argv", "file"])
async def test_a_secret_is_never_taken_from_the_command_line_or_a_file(cli_env, sandbox, monkeypatch, capsys,
                                                                       tmp_path, where):
    autotask, _ = connection_arguments(sandbox, "autotask", monkeypatch)
    assert (await cli(capsys, "db", "upgrade"))[0] == 0
    leaked = "autotask.secret=hunter2-typed-on-the-command-line"
    if where == "argv":
        code, out, err = await cli(capsys, "config", "set", "psa=autotask", *autotask, leaked)
    else:
        path = tmp_path / "seatsync.conf"
        path.write_text("\n".join(["# the PSA", "psa=autotask", *autotask, leaked]) + "\n")
        code, out, err = await cli(capsys, "config", "set", "--file", str(path))

    assert code == 2 and out == ""
    assert "autotask.secret is a secret" in err and "SEATSYNC_AUTOTASK_SECRET" in err
    assert "--secret-from-stdin autotask.secret" in err
    assert "hunter2" not in err
    assert await stored_systems(cli_env) == []  # nothing saved


async def test_a_secret_read_from_standard_input(cli_env, sandbox, monkeypatch, capsys):
    autotask, secrets = connection_arguments(sandbox, "autotask", monkeypatch)
    monkeypatch.delenv("SEATSYNC_AUTOTASK_SECRET")
    monkeypatch.setattr("sys.stdin", io.StringIO(secrets["secret"] + "\n"))
    assert (await cli(capsys, "db", "upgrade"))[0] == 0

    code, out, err = await cli(capsys, "config", "set", "psa=autotask", *autotask,
                               "--secret-from-stdin", "autotask.secret")

    assert code == 0, err
    assert "secrets replaced: integration_code, secret" in out
    code, tested, _ = await cli(capsys, "config", "test", "autotask")
    assert code == 0 and tested.startswith("autotask: ok"), tested


async def test_what_is_wrong_is_said_per_field_and_a_failing_test_exits_1(cli_env, sandbox, monkeypatch, capsys):
    autotask, _ = connection_arguments(sandbox, "autotask", monkeypatch)
    assert (await cli(capsys, "db", "upgrade"))[0] == 0

    code, out, err = await cli(capsys, "config", "set", "colour=blue", "psa=autotask")
    assert code == 2 and "unknown setting colour" in err
    code, out, err = await cli(capsys, "config", "set", "poll_minutes=0", "digest_hour=soon")
    assert code == 2 and "poll_minutes=0: poll_minutes must be between 1 and 1440" in err
    assert "digest_hour=soon: a whole number" in err

    code, out, err = await cli(capsys, "config", "set", "psa=autotask", "autotask.base_url=not a url",
                         *[word for word in autotask if not word.startswith("autotask.base_url=")])
    assert code == 2 and "autotask.base_url: 'not a url' is not an http(s) URL." in err

    monkeypatch.setenv("SEATSYNC_AUTOTASK_SECRET", "not-the-secret")
    assert (await cli(capsys, "config", "set", "psa=autotask", *autotask))[0] == 0
    code, tested, _ = await cli(capsys, "config", "test")
    assert code == 1 and "\nautotask: failed — Autotask rejected the credentials" in tested, tested
    assert "not-the-secret" not in tested
    assert "marketplace: none chosen" in tested  # `config test` names what it could not test
