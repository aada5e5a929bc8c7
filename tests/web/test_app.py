import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest

from bot.app_factory import create_context
from bot.config import load_settings
from tests.conftest import make_env
from web.app import create_app

SIGNING_SECRET = "test-signing-secret"
COMMAND_BODY = urlencode({"token": "x", "team_id": "T1", "user_id": "U1", "channel_id": "C1", "command": "/seats",
                          "text": "help", "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/r"})


def sign(body: str, ts: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's signature; `ts` is real time: Bolt checks Slack's 5-minute window on the machine's clock."""
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def slack_settings(tmp_path, database_url):
    return load_settings(make_env(tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                  SLACK_BOT_TOKEN="xoxb-test", SEATSYNC_SLACK_API_URL="http://127.0.0.1:9/api/"),
                         dotenv_path=None)


async def test_healthz_reports_database_and_version(aiohttp_client, settings, clock):
    client = await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]
    assert body["last_sync_at"] is None and body["slack"] == "not configured"


async def test_healthz_503_when_database_unreachable(aiohttp_client, tmp_path, clock):
    settings = load_settings(make_env(tmp_path, DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none"),
                             dotenv_path=None)
    client = await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "unreachable"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda: sign(COMMAND_BODY, int(time.time()), secret="wrong"), id="forged"),
        pytest.param(lambda: sign(COMMAND_BODY, int(time.time()) - 600), id="stale"),
        pytest.param(lambda: sign(COMMAND_BODY, int(time.time()) + 600), id="future"),
        pytest.param(lambda: {"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"),
        pytest.param(lambda: {**sign(COMMAND_BODY, int(time.time())), "X-Slack-Request-Timestamp": "abc"},
                     id="garbage-timestamp"),
    ],
)
async def test_slack_requests_without_a_valid_signature_get_401(aiohttp_client, slack_settings, headers, clock):
    client = await aiohttp_client(create_app(create_context(slack_settings, clock=clock), run_scheduler=False))
    response = await client.post("/slack/events", data=COMMAND_BODY, headers=headers())
    assert response.status == 401


async def test_tampered_body_gets_401(aiohttp_client, slack_settings, clock):
    client = await aiohttp_client(create_app(create_context(slack_settings, clock=clock), run_scheduler=False))
    headers = sign(COMMAND_BODY, int(time.time()))
    response = await client.post("/slack/events", data=COMMAND_BODY.replace("help", "sync"), headers=headers)
    assert response.status == 401


async def test_slack_endpoint_503_when_not_configured(aiohttp_client, settings, clock):
    client = await aiohttp_client(create_app(create_context(settings, clock=clock), run_scheduler=False))
    response = await client.post("/slack/events", data=COMMAND_BODY, headers=sign(COMMAND_BODY, int(time.time())))
    assert response.status == 503
    assert "SLACK_BOT_TOKEN" in (await response.json())["error"]
