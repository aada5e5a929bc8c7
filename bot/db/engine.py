"""The async engine and session factory (SQLite with WAL and foreign keys, or PostgreSQL via asyncpg)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.db.tenant_filter import TenantSession


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL (None for PostgreSQL or an in-memory database)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def create_engine(database_url: str, *, echo: bool = False, create_folder: bool = True, pool_size: int | None = None,
                  application_name: str | None = None) -> AsyncEngine:
    """`create_folder`: make a SQLite file's folder if missing (a command that only reads passes False).
    PostgreSQL: `pool_size` bounds the pool (no overflow: an instance's budget, bot.db.connection_budget); without
    it, 10 and 10 more at a peak, for a short-lived command or a test; `application_name` names its connections."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite"):
        path = sqlite_file(database_url)
        if path is not None and create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    sizes = dict(pool_size=10, max_overflow=10) if pool_size is None else dict(pool_size=pool_size, max_overflow=0)
    connect_args = {"server_settings": {"application_name": application_name}} if application_name else {}
    return create_async_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args, **sizes)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that see the current tenant's rows only (bot.db.tenant_filter)."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TenantSession)
