"""Shared fixtures: a pinned clock, settings, and a migrated database per test (SQLite, or PostgreSQL when
SEATSYNC_TEST_DATABASE_URL names one; .ci/run sets it for its second pass).

Time: every test reads "now" from the `clock` fixture (a ManualClock pinned to PINNED_NOW) and passes it to
what it builds (create_context, open_workspace, main(argv, clock=...)); no expected value may depend on the
machine's date. To prove it, `--wall-clock=2028-02-29T23:30:00+00:00` (or SEATSYNC_TEST_TODAY) moves the
machine's clock there for the whole session with time-machine (it keeps ticking): a test that then fails
reads the real date somewhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from slack_bolt.listener.async_listener import AsyncCustomListener
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.models import Base
from bot.db.tenant_scope import DEFAULT_TENANT_ID
from bot.log_redaction import RedactingFilter
from bot.sandbox.slack_workspace import SlackRecorder

TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
# a test using one of these is marked `db` and runs again on PostgreSQL; a test that makes a PostgreSQL database of its
# own (tests/fresh_postgres.py) or runs on a file of its own is not: the second pass would repeat it unchanged
DB_FIXTURES = {"engine", "session", "database_url", "settings"}
# "now" for every test: a Monday in mid-month, at noon UTC (the same date in every US and European zone)
PINNED_NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
PINNED_TODAY = PINNED_NOW.date()
WALL_CLOCK = pytest.StashKey[object]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--wall-clock", metavar="INSTANT", default=os.environ.get("SEATSYNC_TEST_TODAY") or None,
        help="move the machine's clock to this aware ISO instant for the whole session (time-machine; it keeps "
             "ticking), e.g. 2028-02-29T23:30:00+00:00; default: $SEATSYNC_TEST_TODAY, else the real clock")


def pytest_configure(config: pytest.Config) -> None:
    instant = config.getoption("--wall-clock")
    if not instant:
        return
    try:
        destination = datetime.fromisoformat(instant)
    except ValueError:
        raise pytest.UsageError(f"--wall-clock {instant!r} is not an ISO instant") from None
    if destination.tzinfo is None:
        raise pytest.UsageError(f"--wall-clock {instant!r} needs a UTC offset (e.g. +00:00)")
    import time_machine

    traveller = time_machine.travel(destination, tick=True)
    traveller.start()
    config.stash[WALL_CLOCK] = traveller


def pytest_unconfigure(config: pytest.Config) -> None:
    traveller = config.stash.get(WALL_CLOCK, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    if WALL_CLOCK in config.stash:
        return f"wall clock moved to {config.getoption('--wall-clock')} (time-machine; now {datetime.now(UTC)})"
    return None


# Slack's 3 s deadlines run on real time: a trigger_id lives 3 s, and Bolt waits 3 s for a listener's ack (then answers
# 404, "didn't call ack()"). On a loaded machine tests failed for the load alone: a views.open after its ack 3 s late
# (expired_trigger_id), an options answer or a submission's validation past 3 s. The 3 s are bench/slack_ack.py's to
# measure; tests/sandbox/test_slack.py checks the simulator keeps Slack's.
TESTS_SLACK_DEADLINE_S = 60


@pytest.fixture(autouse=True)
def _slack_deadlines_outlast_a_loaded_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SlackRecorder, "trigger_ttl_s", TESTS_SLACK_DEADLINE_S)
    built = AsyncCustomListener.__init__

    def with_a_longer_ack_wait(listener: AsyncCustomListener, *args: object, **kwargs: object) -> None:
        built(listener, *args, **kwargs)
        listener.ack_timeout = TESTS_SLACK_DEADLINE_S

    monkeypatch.setattr(AsyncCustomListener, "__init__", with_a_longer_ack_wait)


@pytest.fixture(autouse=True)
def _seatsyncs_log_handler_removed() -> Iterator[None]:
    """A test that runs `main(argv)` in this process gets SeatSync's log handler on the root logger, writing to the
    stderr pytest captured for that test. Left there, every later test's log records went to that closed stream
    ("--- Logging error --- ValueError: I/O operation on closed file" in the CI output)."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if any(isinstance(given, RedactingFilter) for given in handler.filters):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def clock() -> ManualClock:
    """The tests' "now": pinned to PINNED_NOW; a test moves it with `clock.advance(...)` or `clock.set(...)`."""
    return ManualClock(PINNED_NOW)


@pytest.fixture
def today(clock: ManualClock) -> date:
    """The clock's date (UTC), for simulators generated as of "today"."""
    return clock().date()


# The files whose tests each run for a minute or more (hypothesis over kills and faults, whole demos in
# subprocesses): collected first, so that under pytest-xdist none of them starts last and holds the run open
# while the other workers sit idle.
LONGEST_FIRST = (
    "tests/sync/test_exactly_once_property.py",
    "tests/e2e/test_kill_harness.py",
    "tests/e2e/test_three_instances.py",
    "tests/connectors/test_long_queues.py",
    "tests/e2e/test_two_instances.py",
    "tests/test_demo_once.py",
    "tests/test_demo_invoice_check.py",
)


def _longest_first(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
    items.sort(key=_longest_first)  # stable: the rest keep their order


def postgres_url() -> str | None:
    return os.environ.get("SEATSYNC_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating every test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def _postgres_migrated(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The PostgreSQL database of this test process: the one named, or, under pytest-xdist, a database of
    each worker's own beside it (created here, dropped at the end), since tests empty it after each test."""
    url = postgres_url()
    if url is None:
        yield None
        return
    worker_id = getattr(request.config, "workerinput", {}).get("workerid")  # set by pytest-xdist
    own = worker_id is not None
    if own:
        url = _worker_database_url(url, worker_id)
        asyncio.run(_admin(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", "CREATE DATABASE {name}"))

    async def build() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    yield url
    if own:
        asyncio.run(_admin(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _worker_database_url(url: str, worker_id: str) -> str:
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker_id}").render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    """Run statements on the server's maintenance database, `{name}` being the database of `url`."""
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.execute(text(statement.format(name=f'"{parsed.database}"')))
    finally:
        await engine.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    pg = request.getfixturevalue("_postgres_migrated")
    if pg is not None:
        yield pg
        asyncio.run(_empty_all_tables(pg))
        return
    template = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "seatsync.db"
    shutil.copyfile(template, path)
    yield f"sqlite+aiosqlite:///{path}"


def _emptying_block(tables: list[str]) -> str:
    """One round trip that empties `tables` (referencing tables first), restarts the identities they own and puts
    back the default tenant the migration made (revision 0008), as on a fresh install.

    DELETE, not TRUNCATE: PostgreSQL truncates a table by giving it (and each index) new files and dropping its pages
    from shared buffers, which for these 31 tables took 0.6-1.4 s a test against ~0.05 s for DELETE of a test's few
    rows (measured 2026-12-07, a loaded machine); over the PostgreSQL pass's ~880 tests that was minutes."""
    names = ", ".join(f"'{table}'" for table in tables)
    deletes = "".join(f'DELETE FROM "{table}"; ' for table in reversed(tables))
    return f"""DO $$
    DECLARE owned record;
    BEGIN
        SET LOCAL lock_timeout = '30s';
        -- nothing here must survive a crash of the server: the commit need not wait for the disk
        SET LOCAL synchronous_commit = off;
        {deletes}
        FOR owned IN
            SELECT s.oid AS sequence, p.seqstart AS start
            FROM pg_class s
            JOIN pg_sequence p ON p.seqrelid = s.oid
            JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                AND d.refclassid = 'pg_class'::regclass
            JOIN pg_class t ON t.oid = d.refobjid
            WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace AND t.relname IN ({names})
        LOOP
            PERFORM setval(owned.sequence, owned.start, false);
        END LOOP;
        INSERT INTO tenants (id, is_enterprise_install, status, created_at)
            VALUES ({DEFAULT_TENANT_ID}, false, 'active', now());
        PERFORM setval(pg_get_serial_sequence('tenants', 'id'), {DEFAULT_TENANT_ID});
    END $$"""


async def _empty_all_tables(url: str) -> None:
    """Every table of the schema as the migration leaves it: no rows, identities restarted, the default tenant."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        # A test's background work (a listener's job after its ack) can leave a connection in an open
        # transaction when its event loop closes; DELETE would wait for its locks for ever. End them.
        await connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        await connection.exec_driver_sql(_emptying_block([table.name for table in Base.metadata.sorted_tables]))
    await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with session_factory(engine)() as session:
        yield session


def make_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {"SEATSYNC_DATA_DIR": str(tmp_path / "data"), "SEATSYNC_SECRET_KEY": TEST_SECRET_KEY}
    env.update(overrides)
    return env


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(make_env(tmp_path, DATABASE_URL=database_url), dotenv_path=None)
