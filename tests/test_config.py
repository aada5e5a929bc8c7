import os
import stat

import pytest

from bot.__main__ import main
from bot.config import DEFAULT_DATABASE_URL, DEFAULT_SLACK_API_URL, ConfigError, load_settings
from tests.conftest import TEST_SECRET_KEY, make_env


def test_defaults(tmp_path):
    settings = load_settings(make_env(tmp_path), dotenv_path=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.public_url == "http://127.0.0.1:3000"
    assert not settings.slack_enabled
    assert settings.log_level == "INFO"
    assert settings.lease_seconds == 60


def test_postgres_url_normalised_to_asyncpg(tmp_path):
    settings = load_settings(make_env(tmp_path, DATABASE_URL="postgresql://u:pw@db:5432/x"), dotenv_path=None)
    assert settings.database_url == "postgresql+asyncpg://u:pw@db:5432/x"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SEATSYNC_PORT", "abc", "SEATSYNC_PORT: 'abc' is not a port number"),
        ("SEATSYNC_PORT", "70000", "SEATSYNC_PORT: 70000 is out of range"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: 'LOUD' is not one of"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: driver 'mysql' is not supported"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: 'not a url' is not a database URL"),
        ("SEATSYNC_SECRET_KEY", "short", "SEATSYNC_SECRET_KEY: must be at least 32 characters"),
        ("SEATSYNC_SLACK_API_URL", "ftp://x", "SEATSYNC_SLACK_API_URL: 'ftp://x' is not an http(s) URL"),
        ("SEATSYNC_PUBLIC_URL", "localhost:3000", "SEATSYNC_PUBLIC_URL: 'localhost:3000' is not an http(s) URL"),
        ("SEATSYNC_HOST", "bad host!", "SEATSYNC_HOST: 'bad host!' is not a host name"),
        ("SEATSYNC_TIMEZONE", "Mars/Olympus", "SEATSYNC_TIMEZONE: 'Mars/Olympus' is not an IANA time zone"),
        ("SEATSYNC_BILLING_TEAM", "U123,bob", "SEATSYNC_BILLING_TEAM: 'bob' is not a Slack user id"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN: must start with xoxb-"),
        ("SEATSYNC_LEASE_SECONDS", "soon", "SEATSYNC_LEASE_SECONDS: 'soon' is not a number of seconds"),
        ("SEATSYNC_LEASE_SECONDS", "1", "SEATSYNC_LEASE_SECONDS: 1 is out of range (2-3600)"),
        ("SEATSYNC_LEASE_SECONDS", "nan", "SEATSYNC_LEASE_SECONDS: nan is out of range (2-3600)"),
        ("SEATSYNC_WORKER_CONCURRENCY", "many", "SEATSYNC_WORKER_CONCURRENCY: 'many' is not a whole number of jobs"),
        ("SEATSYNC_WORKER_CONCURRENCY", "0", "SEATSYNC_WORKER_CONCURRENCY: 0 is out of range (1-256)"),
        ("SEATSYNC_JOBS", "cron", "SEATSYNC_JOBS: 'cron' is not one of auto, queue, scheduler"),
        ("SEATSYNC_JOBS", "queue", "SEATSYNC_JOBS: the job queue needs PostgreSQL"),
        ("SEATSYNC_TENANT_RETENTION_DAYS", "-1", "SEATSYNC_TENANT_RETENTION_DAYS: -1 is out of range (0-3650)"),
        ("SEATSYNC_TOKEN_ROTATION_MINUTES", "soon", "SEATSYNC_TOKEN_ROTATION_MINUTES: 'soon' is not a whole number"),
        ("SEATSYNC_SLACK_AUTHORIZE_URL", "slack.com", "SEATSYNC_SLACK_AUTHORIZE_URL: 'slack.com' is not an http"),
        ("SLACK_SCOPES", "chat write", "SLACK_SCOPES: 'chat write' is not a comma-separated list"),
        ("SLACK_CLIENT_ID", "1.2", "SLACK_CLIENT_SECRET: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together"),
        ("SEATSYNC_OPERATOR_TOKEN", "short", "SEATSYNC_OPERATOR_TOKEN: must be at least 32 characters"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, expected):
    with pytest.raises(ConfigError) as error:
        load_settings(make_env(tmp_path, **{name: value}), dotenv_path=None)
    message = str(error.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_database_password_not_echoed_in_errors(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_settings(make_env(tmp_path, DATABASE_URL="mysql://user:hunter2@db/x"), dotenv_path=None)
    assert "hunter2" not in str(error.value)


def test_slack_settings_must_come_in_pairs(tmp_path):
    with pytest.raises(ConfigError, match="^SLACK_BOT_TOKEN: required when SLACK_SIGNING_SECRET"):
        load_settings(make_env(tmp_path, SLACK_SIGNING_SECRET="s"), dotenv_path=None)
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN"):
        load_settings(make_env(tmp_path, SLACK_BOT_TOKEN="xoxb-1"), dotenv_path=None)
    socket = load_settings(make_env(tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1"), dotenv_path=None)
    assert socket.socket_mode and socket.slack_enabled


def test_multi_workspace_mode_needs_the_apps_credentials_the_signing_secret_and_no_bot_token(tmp_path):
    app = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "shh", "SLACK_SIGNING_SECRET": "s"}
    settings = load_settings(make_env(tmp_path, **app), dotenv_path=None)
    assert settings.multi_workspace and settings.slack_enabled and settings.slack_bot_token is None
    assert settings.slack_scopes == ("commands", "chat:write", "users:read", "usergroups:read")
    assert (settings.token_rotation_minutes, settings.tenant_retention_days) == (120, 30)
    assert "shh" not in repr(settings)
    single = load_settings(make_env(tmp_path, **app, SLACK_BOT_TOKEN="xoxb-1"), dotenv_path=None)
    assert not single.multi_workspace  # SLACK_BOT_TOKEN set: one workspace, as before
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET: required with SLACK_CLIENT_ID"):
        load_settings(make_env(tmp_path, SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="shh"), dotenv_path=None)
    with pytest.raises(ConfigError, match="^SLACK_APP_TOKEN: Socket Mode serves one workspace"):
        load_settings(make_env(tmp_path, **app, SLACK_APP_TOKEN="xapp-1"), dotenv_path=None)


def test_secret_key_generated_once_with_0600(tmp_path):
    env = {"SEATSYNC_DATA_DIR": str(tmp_path / "data")}
    first = load_settings(env, dotenv_path=None)
    assert first.secret_key_generated
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = load_settings(env, dotenv_path=None)
    assert not second.secret_key_generated
    assert second.secret_key == first.secret_key
    assert second.secret_key not in repr(second)


def test_dotenv_is_read_and_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"SEATSYNC_PORT=4000\nLOG_LEVEL=debug\nSEATSYNC_SECRET_KEY={TEST_SECRET_KEY}\n")
    settings = load_settings({"SEATSYNC_DATA_DIR": str(tmp_path), "LOG_LEVEL": "warning"}, dotenv_path=dotenv)
    assert settings.port == 4000
    assert settings.log_level == "WARNING"


def test_cli_prints_one_clear_line_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, value in make_env(tmp_path, SEATSYNC_PORT="eighty").items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["seatsync: configuration error: SEATSYNC_PORT: 'eighty' is not a port number (1-65535)"]
