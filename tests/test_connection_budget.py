"""An instance's PostgreSQL connections are bounded by its settings (bot.db.connection_budget) and named after it:
counted in pg_stat_activity by application_name while more sessions than its pool and more queue calls than the
queue's pool ask at once, they stay within the stated budget. The PostgreSQL test skips, saying why, without a
server at 127.0.0.1:5432; `tests/e2e/test_three_instances.py` counts three `seatsync serve` the same way."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app_factory import create_context
from bot.config import ConfigError, Settings, load_settings
from bot.db.connection_budget import ConnectionBudget, application_name
from bot.db.migrate import upgrade
from bot.job_queue import create_queue, run_worker
from bot.sync.claims import process_instance_id
from tests.conftest import TEST_SECRET_KEY
from tests.fresh_postgres import fresh_postgres_database

ASKING_AT_ONCE = 20


def test_the_pool_follows_the_worker_concurrency_unless_set():
    assert ConnectionBudget.for_settings(Settings(worker_concurrency=8), queue=True) == ConnectionBudget(18, 3, 2)
    assert ConnectionBudget.for_settings(Settings(worker_concurrency=8, db_pool_size=5), queue=False).total == 5
    assert ConnectionBudget(sessions=5, queue_pool=3, listeners=2).describe().startswith(
        "at most 10 PostgreSQL connections")


def test_the_pool_size_comes_from_the_environment(tmp_path):
    env = {"SEATSYNC_SECRET_KEY": TEST_SECRET_KEY, "SEATSYNC_DATA_DIR": str(tmp_path)}
    assert load_settings(environ={**env, "SEATSYNC_DB_POOL_SIZE": "6"}, dotenv_path=None).db_pool_size == 6
    assert load_settings(environ=env, dotenv_path=None).db_pool_size is None
    with pytest.raises(ConfigError, match="SEATSYNC_DB_POOL_SIZE"):
        load_settings(environ={**env, "SEATSYNC_DB_POOL_SIZE": "0"}, dotenv_path=None)


def test_a_name_too_long_for_postgresql_is_cut_to_its_limit():
    assert application_name("h" * 100) == ("seatsync " + "h" * 100)[:63]


@pytest.fixture
async def postgres_database():
    async for url in fresh_postgres_database("an instance's connection budget"):
        yield url


async def peak_connections(dsn: str, name: str, load: asyncio.Future) -> int:
    """The most connections named `name` seen at once until `load` is done."""
    admin = await asyncpg.connect(dsn)
    peak = 0
    try:
        while not load.done():
            peak = max(peak, await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name))
            await asyncio.sleep(0.01)
    finally:
        await admin.close()
    return peak


async def test_an_instance_under_load_holds_no_more_connections_than_its_stated_budget(postgres_database, tmp_path):
    settings = Settings(database_url=postgres_database, data_dir=tmp_path, secret_key=TEST_SECRET_KEY,
                        lease_seconds=4.0, worker_concurrency=1, db_pool_size=2)
    budget = ConnectionBudget.for_settings(settings, queue=True)
    context = create_context(settings)
    try:
        await upgrade(context.engine)
        queue = create_queue(settings)

        async def hold_a_session() -> None:
            async with context.sessions() as session:
                await session.execute(text("SELECT pg_sleep(0.2)"))

        async def ask_the_queue() -> None:
            await queue.job_manager.list_jobs_async(queue="nothing")

        async with run_worker(context, queue=queue):
            load = asyncio.ensure_future(asyncio.gather(*(hold_a_session() for _ in range(ASKING_AT_ONCE)),
                                                        *(ask_the_queue() for _ in range(ASKING_AT_ONCE))))
            dsn = make_url(postgres_database).set(drivername="postgresql").render_as_string(hide_password=False)
            peak = await peak_connections(dsn, application_name(process_instance_id()), load)
            await load
    finally:
        await context.engine.dispose()
    # above the queue's own share: the sessions' load was seen, under the instance's name
    assert budget.queue_pool + budget.listeners < peak <= budget.total, (peak, budget)
