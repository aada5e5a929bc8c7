"""Settings from the environment (and an optional `.env`).

Nothing here runs at import: `load_settings()` reads a mapping (``os.environ`` by default) and returns
an immutable `Settings`, or raises `ConfigError` whose message is one line naming the variable and
what is wrong with it. The entry point turns that into a clean exit.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/seatsync.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLACK_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
DEFAULT_SLACK_SCOPES = ("commands", "chat:write", "users:read", "usergroups:read")  # slack/manifest.yml's bot scopes
SECRET_KEY_FILENAME = "secret.key"
MIN_SECRET_KEY_LENGTH = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable and the problem."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path("./data")
    secret_key: str = field(default="", repr=False)
    secret_key_generated: bool = False
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    # multi-workspace mode (Slack's OAuth install): the app's credentials, instead of one SLACK_BOT_TOKEN
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_scopes: tuple[str, ...] = DEFAULT_SLACK_SCOPES
    slack_authorize_url: str = DEFAULT_SLACK_AUTHORIZE_URL
    token_rotation_minutes: int = 120  # a token this close to its expiry is rotated before use
    tenant_retention_days: int = 30  # an uninstalled workspace's data is kept this long, then purged
    public_url: str = "http://127.0.0.1:3000"
    host: str = "127.0.0.1"
    port: int = 3000
    log_level: str = "INFO"
    timezone: str = "UTC"
    billing_team: tuple[str, ...] = ()
    lease_seconds: float = 60.0  # the scheduler lease; claims on intents live three quarters of it
    worker_concurrency: int = 8  # PostgreSQL: the queue jobs (tenants' cycles, posts, alerts) one instance runs at once
    db_pool_size: int | None = None  # PostgreSQL: SeatSync's own pool (None: bot.db.connection_budget's default)
    jobs: str = "auto"  # who runs the scheduled jobs: the queue (PostgreSQL), the lease-gated scheduler, or auto
    # the hosting operator's bearer token for per-tenant health and metrics (web/operator.py)
    operator_token: str | None = field(default=None, repr=False)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret or self.slack_app_token)

    @property
    def multi_workspace(self) -> bool:
        """Installed by many workspaces through Slack's OAuth flow (no single bot token)."""
        return bool(self.slack_client_id and self.slack_client_secret and not self.slack_bot_token)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def jobs_on_queue(self) -> bool:
        """The job queue (bot.job_queue) runs the jobs on PostgreSQL, unless `SEATSYNC_JOBS=scheduler` keeps the
        lease-gated scheduler (one instance at a time runs them all, as on SQLite)."""
        return self.jobs == "queue" or (self.jobs == "auto" and not self.is_sqlite)


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | Path | None = ".env",
    create_secret_key: bool = True,
    require_secret_key: bool = True,
) -> Settings:
    """Build settings from `environ` (default: the process environment plus `.env`).

    Values already in the environment win over `.env`. When no secret key is configured, one is read
    from (or, with `create_secret_key`, generated into) ``<data dir>/secret.key`` with mode 0600. A command
    that only reads passes neither: without a key, `secret_key` is then empty and nothing is written.
    """
    env: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        from dotenv import dotenv_values

        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    database_url = _database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    data_dir = Path(get("SEATSYNC_DATA_DIR") or "./data")
    secret_key, generated = _secret_key(get("SEATSYNC_SECRET_KEY"), data_dir, create=create_secret_key,
                                        required=require_secret_key)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=secret_key,
        secret_key_generated=generated,
        slack_bot_token=_slack_token("SLACK_BOT_TOKEN", get("SLACK_BOT_TOKEN"), ("xoxb-",)),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=_slack_token("SLACK_APP_TOKEN", get("SLACK_APP_TOKEN"), ("xapp-",)),
        slack_api_url=_http_url("SEATSYNC_SLACK_API_URL", get("SEATSYNC_SLACK_API_URL") or DEFAULT_SLACK_API_URL),
        slack_client_id=get("SLACK_CLIENT_ID"),
        slack_client_secret=get("SLACK_CLIENT_SECRET"),
        slack_scopes=_scopes(get("SLACK_SCOPES")),
        slack_authorize_url=_http_url("SEATSYNC_SLACK_AUTHORIZE_URL",
                                      get("SEATSYNC_SLACK_AUTHORIZE_URL") or DEFAULT_SLACK_AUTHORIZE_URL),
        token_rotation_minutes=_whole_number("SEATSYNC_TOKEN_ROTATION_MINUTES",
                                             get("SEATSYNC_TOKEN_ROTATION_MINUTES") or "120", 1, 720),
        tenant_retention_days=_whole_number("SEATSYNC_TENANT_RETENTION_DAYS",
                                            get("SEATSYNC_TENANT_RETENTION_DAYS") or "30", 0, 3650),
        public_url=_http_url(
            "SEATSYNC_PUBLIC_URL", get("SEATSYNC_PUBLIC_URL") or _default_public_url(get)
        ).rstrip("/"),
        host=_host(get("SEATSYNC_HOST") or "127.0.0.1"),
        port=_port("SEATSYNC_PORT", get("SEATSYNC_PORT") or get("PORT") or "3000"),
        log_level=_log_level(get("LOG_LEVEL") or "INFO"),
        timezone=_timezone(get("SEATSYNC_TIMEZONE") or "UTC"),
        billing_team=_billing_team(get("SEATSYNC_BILLING_TEAM")),
        lease_seconds=_lease_seconds(get("SEATSYNC_LEASE_SECONDS") or "60"),
        worker_concurrency=_worker_concurrency(get("SEATSYNC_WORKER_CONCURRENCY") or "8"),
        db_pool_size=_db_pool_size(get("SEATSYNC_DB_POOL_SIZE")),
        jobs=_jobs(get("SEATSYNC_JOBS") or "auto"),
        operator_token=_operator_token(get("SEATSYNC_OPERATOR_TOKEN")),
    )
    _check_slack_pairing(settings)
    if settings.jobs == "queue" and settings.is_sqlite:
        raise ConfigError("SEATSYNC_JOBS: the job queue needs PostgreSQL (DATABASE_URL); SQLite runs the scheduler")
    return settings


def _check_slack_pairing(settings: Settings) -> None:
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        missing = "SLACK_CLIENT_SECRET" if settings.slack_client_id else "SLACK_CLIENT_ID"
        raise ConfigError(f"{missing}: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (the app's credentials)")
    if settings.multi_workspace:
        if not settings.slack_signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID (Slack signs every request)")
        if settings.slack_app_token:
            raise ConfigError("SLACK_APP_TOKEN: Socket Mode serves one workspace; unset it with SLACK_CLIENT_ID")
        return
    if settings.slack_signing_secret and not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET is set (the bot's xoxb- token), "
                          "or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to be installed by many workspaces")
    if settings.slack_app_token and not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN: required when SLACK_APP_TOKEN is set (Socket Mode still posts as the bot)")
    if settings.slack_bot_token and not settings.slack_enabled:
        raise ConfigError(
            "SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set (or set SLACK_APP_TOKEN for Socket Mode)"
        )


def _default_public_url(get) -> str:
    host = get("SEATSYNC_HOST") or "127.0.0.1"
    port = get("SEATSYNC_PORT") or get("PORT") or "3000"
    return f"http://{host}:{port}"


def _database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL: {_safe_url(value)!r} is not a database URL") from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    elif url.drivername == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"DATABASE_URL: driver {url.drivername!r} is not supported; "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )
    if url.drivername.startswith("sqlite") and not url.database:
        raise ConfigError("DATABASE_URL: a SQLite URL needs a file path (sqlite+aiosqlite:///./data/seatsync.db)")
    return url.render_as_string(hide_password=False)


def _safe_url(value: str) -> str:
    """The URL with any password replaced, for error messages."""
    parts = urlsplit(value)
    if parts.password:
        return value.replace(parts.password, "***")
    return value


def _secret_key(value: str | None, data_dir: Path, *, create: bool, required: bool) -> tuple[str, bool]:
    if value is not None:
        if len(value) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SEATSYNC_SECRET_KEY: must be at least {MIN_SECRET_KEY_LENGTH} characters "
                f"(it is {len(value)}); generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value, False
    path = data_dir / SECRET_KEY_FILENAME
    if path.is_file():
        stored = path.read_text().strip()
        if len(stored) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SEATSYNC_SECRET_KEY: the stored key in {path} is too short; remove the file or set the variable"
            )
        return stored, False
    if not create:
        if not required:
            return "", False
        raise ConfigError(f"SEATSYNC_SECRET_KEY: not set and no key stored in {path}")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
    except FileExistsError:  # another process created it a moment ago
        return path.read_text().strip(), False
    except OSError as exc:
        raise ConfigError(
            f"SEATSYNC_SECRET_KEY: not set, and a new key cannot be stored in {path}: {exc.strerror}"
        ) from None
    return key, True


def _slack_token(name: str, value: str | None, prefixes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if not value.startswith(prefixes):
        raise ConfigError(f"{name}: must start with {' or '.join(prefixes)} (the value given does not)")
    return value


def _scopes(value: str | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_SLACK_SCOPES
    scopes = tuple(part.strip() for part in value.split(",") if part.strip())
    if not scopes or not all(scope.replace(":", "").replace(".", "").replace("_", "").isalnum() for scope in scopes):
        raise ConfigError(f"SLACK_SCOPES: {value!r} is not a comma-separated list of scopes (commands,chat:write)")
    return scopes


def _whole_number(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{name}: {number} is out of range ({low}-{high})")
    return number


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: {value!r} is not an http(s) URL")
    return value


def _host(value: str) -> str:
    if value in ("localhost", "0.0.0.0", "::"):  # noqa: S104 - binding all interfaces is the user's explicit choice
        return value
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not all(part.isalnum() or "-" in part for part in value.split(".")):
            raise ConfigError(f"SEATSYNC_HOST: {value!r} is not a host name or IP address") from None
    return value


def _port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a port number (1-65535)") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name}: {port} is out of range (1-65535)")
    return port


def _lease_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"SEATSYNC_LEASE_SECONDS: {value!r} is not a number of seconds") from None
    if not 2 <= seconds <= 3600:  # also refuses nan and inf
        raise ConfigError(f"SEATSYNC_LEASE_SECONDS: {value} is out of range (2-3600)")
    return seconds


JOB_RUNNERS = ("auto", "queue", "scheduler")


def _operator_token(value: str | None) -> str | None:
    if value is not None and len(value) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SEATSYNC_OPERATOR_TOKEN: must be at least {MIN_SECRET_KEY_LENGTH} characters "
                          "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return value


def _jobs(value: str) -> str:
    if value not in JOB_RUNNERS:
        raise ConfigError(f"SEATSYNC_JOBS: {value!r} is not one of {', '.join(JOB_RUNNERS)}")
    return value


def _worker_concurrency(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise ConfigError(f"SEATSYNC_WORKER_CONCURRENCY: {value!r} is not a whole number of jobs") from None
    if not 1 <= jobs <= 256:
        raise ConfigError(f"SEATSYNC_WORKER_CONCURRENCY: {jobs} is out of range (1-256)")
    return jobs


def _db_pool_size(value: str | None) -> int | None:
    return None if not value else _whole_number("SEATSYNC_DB_POOL_SIZE", value, 1, 500)


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL: {value!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SEATSYNC_TIMEZONE: {value!r} is not an IANA time zone (e.g. America/Denver)") from None
    return value


def _billing_team(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    for slack_id in ids:
        if not (slack_id[:1] in ("U", "W", "S") and slack_id[1:].isalnum()):
            raise ConfigError(
                f"SEATSYNC_BILLING_TEAM: {slack_id!r} is not a Slack user id (U…/W…) or user group id (S…)"
            )
    return ids
