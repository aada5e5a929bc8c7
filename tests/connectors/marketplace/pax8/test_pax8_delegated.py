"""Delegated access for a hosted install, against the Pax8 simulator: the admin's browser consents at the authorize
URL (clientId, state, redirect_uri and the mandatory audience), the code it brings back is exchanged once for a
refresh token, and a connection with `grant = authorization_code` and that refresh token among its secrets reads
Pax8 like a partner credential does; no new data model (the grant is a connection option)."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.connectors.connection import Connection
from bot.connectors.marketplace.pax8.auth import ConsentRefusedError, authorize_url, exchange_code
from bot.connectors.marketplace.pax8.client import Pax8Client
from bot.log_redaction import redact
from bot.sandbox.app import Sandbox

REDIRECT = "https://seatsync.example/oauth/pax8/callback"


@pytest.fixture
async def sandbox():
    started = await Sandbox.generate(seed=5, scale="small", today=date(2026, 11, 16)).start()
    yield started
    await started.stop()


async def consent(http: httpx.AsyncClient, pax8: dict, *, state: str = "tenant-T1.sig") -> str:
    """What the admin's browser does: open the consent screen, come back to SeatSync's callback with a code."""
    url = authorize_url(client_id=pax8["client_id"], redirect_uri=REDIRECT, state=state, base=pax8["authorize_url"])
    answer = await http.get(url, follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    query = parse_qs(back.query)
    assert query["state"] == [state]
    return query["code"][0]


async def test_a_consented_install_reads_pax8_with_the_refresh_token_only(sandbox):
    pax8 = sandbox.config()["pax8"]
    async with httpx.AsyncClient() as http:
        code = await consent(http, pax8)
        refresh = await exchange_code(http, pax8["token_url"], client_id=pax8["client_id"],
                                      client_secret=pax8["client_secret"], code=code, redirect_uri=REDIRECT)
        with pytest.raises(ConsentRefusedError):  # a code is good once
            await exchange_code(http, pax8["token_url"], client_id=pax8["client_id"],
                                client_secret=pax8["client_secret"], code=code, redirect_uri=REDIRECT)

    connection = Connection("pax8", pax8["url"], {"client_id": pax8["client_id"], "grant": "authorization_code"},
                            {"client_secret": pax8["client_secret"], "refresh_token": refresh})
    client = Pax8Client.from_connection(connection)
    try:
        companies = await client.list_companies()
        check = await client.test_connection()
    finally:
        await client.aclose()
    assert len(companies) == len(sandbox.world.pax8.companies)
    assert check.ok, check.detail
    assert client.grant.body()["grant_type"] == "refresh_token"
    assert refresh not in redact(f"refresh_token={refresh}")  # a secret: masked in every log line


async def test_a_revoked_consent_is_said_so_and_a_delegated_connection_needs_its_refresh_token(sandbox):
    pax8 = sandbox.config()["pax8"]
    connection = Connection("pax8", pax8["url"], {"client_id": pax8["client_id"], "grant": "authorization_code"},
                            {"client_secret": pax8["client_secret"], "refresh_token": "revoked-or-never-issued"})
    client = Pax8Client.from_connection(connection)
    try:
        check = await client.test_connection()
    finally:
        await client.aclose()
    assert not check.ok and "refused the partner's consent" in check.detail and "Connect Pax8 again" in check.detail

    with pytest.raises(ValueError, match="secrets.refresh_token"):
        Pax8Client.from_connection(Connection("pax8", pax8["url"], {**connection.options}, {"client_secret": "s"}))


async def test_the_consent_screen_requires_the_audience(sandbox):
    pax8 = sandbox.config()["pax8"]
    url = authorize_url(client_id=pax8["client_id"], redirect_uri=REDIRECT, state="s", base=pax8["authorize_url"])
    async with httpx.AsyncClient() as http:
        answer = await http.get(url.replace("&audience=", "&not_audience="), follow_redirects=False)
    assert answer.status_code == 400 and "audience" in answer.json()["error_description"]
