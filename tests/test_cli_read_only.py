"""Commands that only read (`db current`, `report`, `links export`, `links import` without --apply) never create a
database, a schema, a folder or a secret key: pointed at nothing, they say so and exit 1."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.clock import ManualClock
from bot.db.engine import create_engine
from bot.db.migrate import current_revision
from bot.services.links_transfer import COLUMNS
from tests.conftest import PINNED_NOW

READ_ONLY = [["db", "current"], ["report", "linked"], ["report", "adjustments", "--format", "html"],
             ["links", "export"], ["links", "import", "links.csv"]]


@pytest.fixture
def empty_folder(monkeypatch, tmp_path):
    """A working folder with nothing in it: no .env, no data folder, no secret key in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "SEATSYNC_SECRET_KEY", "SEATSYNC_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "links.csv").write_text(",".join(COLUMNS) + "\n")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    root.handlers[:], root.level = handlers, level


@pytest.mark.parametrize("argv", READ_ONLY, ids=lambda argv: " ".join(argv))
def test_a_read_only_command_creates_no_database_and_no_folder(empty_folder, capsys, argv):
    before = sorted(p.name for p in empty_folder.iterdir())

    code = main(argv, clock=ManualClock(PINNED_NOW))

    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "no database at data/seatsync.db" in err and "seatsync db upgrade" in err, err
    assert err.count("\n") == 1
    assert sorted(p.name for p in empty_folder.iterdir()) == before  # no ./data, no secret.key, no seatsync.db


@pytest.mark.parametrize("argv", [["report", "linked"], ["links", "export"]], ids=" ".join)
def test_a_database_without_the_schema_is_not_migrated_by_a_reader(empty_folder, monkeypatch, capsys, argv):
    path = empty_folder / "empty.db"
    path.touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")

    code = main(argv, clock=ManualClock(PINNED_NOW))

    _, err = capsys.readouterr()
    assert code == 1 and "has no schema yet" in err and "seatsync db upgrade" in err, err

    async def revision() -> str | None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) is None
    assert not Path("data").exists()


def test_a_link_needs_the_secret_key_and_says_where_it_comes_from(empty_folder, monkeypatch, capsys, database_url):
    monkeypatch.setenv("DATABASE_URL", database_url)

    code = main(["report", "linked", "--link"], clock=ManualClock(PINNED_NOW))

    _, err = capsys.readouterr()
    assert code == 2 and "SEATSYNC_SECRET_KEY" in err and "signed" in err, err
    assert not Path("data").exists()
    assert main(["report", "linked"], clock=ManualClock(PINNED_NOW)) == 0  # CSV needs no key
    assert not Path("data").exists()
