"""The HaloPSA simulator over real HTTP: the token (tenant, client, secret, scopes, expiry), the rate limit
and the fault knobs."""

from __future__ import annotations

import time

import aiohttp
import pytest

from bot.sandbox.faults import FaultKnobs
from tests.sandbox.halopsa_world import (
    ACME_INVOICE,
    API,
    TOKEN,
    ManualClock,
    bearer,
    build_app,
    build_world,
    request_token,
    token_form,
)


@pytest.fixture
def knobs() -> FaultKnobs:
    return FaultKnobs(seed=5)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def halo(aiohttp_client, knobs, clock):
    world = build_world()
    client = await aiohttp_client(build_app(world, knobs, clock))
    client.world = world
    return client


# --- discovery and the token -------------------------------------------------------------------
async def test_authinfo_names_the_auth_server_and_no_tenant(halo) -> None:
    response = await halo.get(f"{API}/authinfo")
    body = await response.json()
    assert response.status == 200 and body["auth_url"].endswith("/halopsa/auth") and "tenant_id" not in body


async def test_client_credentials_token_for_the_tenant(halo) -> None:
    response = await request_token(halo, halo.world, tenant="SandboxMSP", scope="read:customers read:invoices")
    body = await response.json()
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "read:customers read:invoices" and len(body["access_token"]) > 30
    api = await halo.get(f"{API}/Client", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status == 200


@pytest.mark.parametrize(("tenant", "says"), [(None, "tenant is required"),
                                              ("othermsp", "Tenant 'othermsp' not found")])
async def test_missing_or_unknown_tenant_is_invalid_request(halo, tenant, says) -> None:
    response = await request_token(halo, halo.world, tenant=tenant)
    body = await response.json()
    assert response.status == 400 and body["error"] == "invalid_request" and says in body["error_description"]


async def test_wrong_client_id_and_wrong_secret_read_the_same(halo) -> None:
    wrong_id = await request_token(halo, halo.world, client_id="00000000-0000-0000-0000-000000000000")
    wrong_secret = await request_token(halo, halo.world, client_secret="not-the-secret")
    assert wrong_id.status == wrong_secret.status == 401
    assert await wrong_id.json() == await wrong_secret.json() == {"error": "invalid_client"}
    right_id_upper = await request_token(halo, halo.world, client_id=halo.world.credentials.halopsa_client_id.upper())
    assert right_id_upper.status == 200  # a GUID, whatever its case


async def test_grant_type_and_form_body_are_required(halo) -> None:
    response = await request_token(halo, halo.world, grant_type="password")
    assert response.status == 400 and (await response.json())["error"] == "unsupported_grant_type"
    response = await halo.post(TOKEN, params={"tenant": "sandboxmsp"}, json=token_form(halo.world))
    assert response.status == 400 and (await response.json())["error"] == "invalid_request"


async def test_unknown_or_ungranted_scope_is_invalid_scope(halo) -> None:
    response = await request_token(halo, halo.world, scope="read:invoices read:everything")
    assert response.status == 400 and await response.json() == {"error": "invalid_scope"}
    halo.world.halopsa.application.granted_scopes = "read:customers read:contracts read:items read:invoices"
    for scope in ("edit:invoices", "all", "read:invoices edit:invoices"):
        response = await request_token(halo, halo.world, scope=scope)
        assert response.status == 400 and (await response.json())["error"] == "invalid_scope", scope
    assert (await request_token(halo, halo.world, scope="read:invoices")).status == 200


async def test_a_read_scope_reads_and_cannot_post(halo) -> None:
    headers = await bearer(halo, halo.world, scope="read:invoices")
    assert (await halo.get(f"{API}/RecurringInvoice/{ACME_INVOICE}", headers=headers)).status == 200
    forbidden = await halo.get(f"{API}/Client", headers=headers)
    assert forbidden.status == 403 and await forbidden.read() == b""
    post = await halo.post(f"{API}/RecurringInvoice", json=[{"id": ACME_INVOICE, "internal_note": "x"}],
                           headers=headers)
    assert post.status == 403 and halo.world.halopsa.recurring_invoices[ACME_INVOICE].internal_note == ""
    edit_only = await bearer(halo, halo.world, scope="edit:invoices")
    assert (await halo.get(f"{API}/RecurringInvoice", headers=edit_only)).status == 403  # edit is not read


async def test_a_token_minted_without_scope_is_refused_everywhere(halo) -> None:
    response = await request_token(halo, halo.world, scope=None)
    body = await response.json()
    assert response.status == 200 and "scope" not in body
    api = await halo.get(f"{API}/Client", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert api.status == 401 and 'error="invalid_token"' in api.headers["WWW-Authenticate"]


async def test_tokens_expire_after_expires_in(halo, clock) -> None:
    halo.world.halopsa.application.token_lifetime_s = 120
    response = await request_token(halo, halo.world)
    assert (await response.json())["expires_in"] == 120
    headers = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
    clock.now += 119
    assert (await halo.get(f"{API}/Item", headers=headers)).status == 200
    clock.now += 1
    expired = await halo.get(f"{API}/Item", headers=headers)
    assert expired.status == 401 and await expired.read() == b""
    assert expired.headers["WWW-Authenticate"] == \
        'Bearer error="invalid_token", error_description="The access token expired"'
    assert (await halo.get(f"{API}/Item", headers=await bearer(halo, halo.world))).status == 200


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-token", "Basic abc"])
async def test_no_or_unknown_bearer_is_401(halo, authorization) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await halo.get(f"{API}/Client", headers=headers)
    assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


# --- rate limit --------------------------------------------------------------------------------
async def test_rate_limit_is_429_with_retry_after_until_the_window_moves(halo, clock) -> None:
    halo.world.halopsa.application.requests_per_minute = 3
    headers = await bearer(halo, halo.world)  # the token endpoint does not count
    for _ in range(3):
        assert (await halo.get(f"{API}/Item", headers=headers)).status == 200
        clock.now += 10
    refused = await halo.get(f"{API}/Item", headers=headers)  # at +30; itself counted: requests at 0, 10, 20, 30
    assert refused.status == 429 and refused.headers["Retry-After"] == "40"  # when those at 0 and 10 have left
    assert "rate limit" in (await refused.json())["message"]
    assert (await halo.get(f"{API}/authinfo")).status == 200  # discovery is not limited
    clock.now += 39
    assert (await halo.get(f"{API}/Item", headers=headers)).status == 429  # too early: counted again
    clock.now += 21  # at +90 only the request refused at +69 is still in the window
    assert (await halo.get(f"{API}/Item", headers=headers)).status == 200


# --- fault knobs -------------------------------------------------------------------------------
async def test_injected_500s_and_429_bursts_speak_halos_shape(halo, knobs) -> None:
    headers = await bearer(halo, halo.world)
    knobs.error_rates = {500: 1.0}
    response = await halo.get(f"{API}/Client", headers=headers)
    assert response.status == 500 and await response.json() == {"message": "Internal Server Error"}
    knobs.error_rates, knobs.burst_429, knobs.retry_after_s = {}, 1, 2
    response = await halo.get(f"{API}/Client", headers=headers)
    assert response.status == 429 and response.headers["Retry-After"] == "2"
    assert (await halo.get(f"{API}/Client", headers=headers)).status == 200


async def test_latency_knob_delays_every_call(halo, knobs) -> None:
    headers = await bearer(halo, halo.world)
    knobs.latency_ms = 150
    started = time.monotonic()
    assert (await halo.get(f"{API}/Item", headers=headers)).status == 200
    assert time.monotonic() - started >= 0.15


async def test_a_lost_reply_still_applies_the_write(halo, knobs) -> None:
    headers = await bearer(halo, halo.world)
    current = await (await halo.get(f"{API}/RecurringInvoice/{ACME_INVOICE}", headers=headers)).json()
    current["lines"][1]["qty_order"] = 7
    current["lines"][1]["prorata_data"].append(
        {"date": "2026-03-15", "quantity": 2, "unitprice": 2.4, "longdescription": "[seatsync:k-lost] +2"})
    knobs.drop_reply_rate = 1.0
    assert (await halo.get(f"{API}/Item", headers=headers)).status == 200  # reads are never dropped
    with pytest.raises(aiohttp.ClientConnectionError):
        await halo.post(f"{API}/RecurringInvoice", json=[{"id": ACME_INVOICE, "lines": current["lines"]}],
                        headers=headers)
    knobs.drop_reply_rate = 0.0
    after = await (await halo.get(f"{API}/RecurringInvoice/{ACME_INVOICE}", headers=headers)).json()
    assert after["lines"][1]["qty_order"] == 7
    assert "[seatsync:k-lost]" in after["lines"][1]["prorata_data"][-1]["longdescription"]
    assert [(w.before, w.after, w.key) for w in halo.world.write_log] == [(5, 7, "k-lost")]


async def test_a_timed_out_call_is_not_processed(halo, knobs) -> None:
    headers = await bearer(halo, halo.world)
    knobs.timeout_rate, knobs.timeout_s = 1.0, 0.01
    response = await halo.post(f"{API}/RecurringInvoice", json=[{"id": ACME_INVOICE, "internal_note": "x"}],
                               headers=headers)
    assert response.status == 504 and halo.world.halopsa.recurring_invoices[ACME_INVOICE].internal_note == ""
