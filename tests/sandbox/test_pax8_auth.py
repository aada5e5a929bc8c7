"""The Pax8 simulator's token call, bearer check, call budget and fault knobs (real HTTP, spec-validated)."""

from __future__ import annotations

import base64
import json

import pytest

from bot.sandbox.faults import FaultKnobs
from bot.sandbox.pax8.limits import Budget
from tests.sandbox.pax8_client import FakeClock, connect, small_world, token_request


@pytest.fixture
def world():
    return small_world()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- the token call -----------------------------------------------------------------------------------
async def test_client_credentials_with_the_partner_audience_get_a_day_long_bearer_token(aiohttp_client, world, clock):
    api = await connect(aiohttp_client, world, clock=clock, login=False)
    reply = await api.call("POST", "/token", api="token", headers={}, body=token_request(world))
    assert reply.status == 200
    assert reply.body["expires_in"] == 86400 and reply.body["token_type"] == "Bearer"
    token = reply.body["access_token"]
    assert token.count(".") == 2
    assert claims(token)["aud"] == "https://api.pax8.com"
    assert claims(token)["exp"] - claims(token)["iat"] == 86400
    api.token = token
    assert (await api.get("/companies")).status == 200


@pytest.mark.parametrize("changes", [
    {"client_secret": "not-the-secret"},
    {"client_id": "someone-else"},
    {"audience": "api://usage"},  # a vendor surface, not for a partner credential
    {"audience": "api://provisioning"},
    {"audience": "https://example.com"},
])
async def test_wrong_credentials_or_audience_get_the_401_body_of_the_spec(aiohttp_client, world, changes):
    api = await connect(aiohttp_client, world, login=False)
    reply = await api.call("POST", "/token", api="token", headers={}, body=token_request(world, **changes))
    assert (reply.status, reply.body) == (401, {"error": "access_denied", "error_description": "Unauthorized"})


@pytest.mark.parametrize(("raw", "error"), [
    (b"", "invalid_request"),
    (b"{not json", "invalid_request"),
    (b"[]", "invalid_request"),
    (json.dumps({"client_id": "x", "client_secret": "y", "grant_type": "client_credentials"}).encode(),
     "invalid_request"),  # no audience: all four are required
    (json.dumps({"client_id": "x", "client_secret": "y", "audience": "https://api.pax8.com",
                 "grant_type": "password"}).encode(), "unsupported_grant_type"),
])
async def test_a_malformed_token_request_is_an_oauth_400(aiohttp_client, world, raw, error):
    api = await connect(aiohttp_client, world, login=False)
    reply = await api.call("POST", "/token", api="token", headers={}, raw=raw)
    assert reply.status == 400 and reply.body["error"] == error


async def test_tokens_expire_after_24_hours_and_a_new_one_works(aiohttp_client, world, clock):
    api = await connect(aiohttp_client, world, clock=clock)
    clock.advance(86399)
    assert (await api.get("/subscriptions")).status == 200
    clock.advance(1)
    expired = await api.get("/subscriptions")
    assert expired.status == 401
    assert expired.body["type"] == "UNAUTHORIZED" and "expired" in expired.body["message"]
    assert expired.body["instance"] == "/public/v1/subscriptions"
    await api.login()
    assert (await api.get("/subscriptions")).status == 200


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer made-up", "Basic abc"])
async def test_every_data_call_needs_a_live_bearer_token(aiohttp_client, world, authorization):
    api = await connect(aiohttp_client, world)
    headers = {"Authorization": authorization} if authorization else {}
    for path, kind in (("/companies", "partner"), ("/webhooks", "webhooks")):
        reply = await api.call("GET", path, api=kind, headers=headers)
        assert reply.status == 401 and reply.body["type"] == "UNAUTHORIZED"


# --- the call budget ------------------------------------------------------------------------------------
async def test_the_call_budget_answers_429_with_pax8s_error_body_and_no_header(aiohttp_client, world, clock):
    api = await connect(aiohttp_client, world, clock=clock, budget=Budget(calls=3, window_s=60), login=False)
    await api.login()  # call 1
    assert (await api.get("/companies")).status == 200  # call 2
    clock.advance(20)
    assert (await api.get("/products")).status == 200  # call 3
    refused = await api.get("/companies")
    assert refused.status == 429
    assert refused.body["type"] == "TOO_MANY_REQUESTS" and refused.body["status"] == 429
    assert "Retry-After" not in refused.headers and not any(h.lower().startswith("x-ratelimit")
                                                           for h in refused.headers)
    clock.advance(39)
    assert (await api.get("/companies")).status == 429  # refused calls are not counted...
    clock.advance(1)  # ...so at t=60 the two calls of t=0 have left the window
    assert (await api.get("/companies")).status == 200
    assert (await api.get("/companies")).status == 200
    assert (await api.get("/companies")).status == 429
    webhooks = await api.call("GET", "/webhooks", api="webhooks")
    assert webhooks.status == 429  # one budget for every API of the client


async def test_the_default_budget_is_a_thousand_calls_a_minute(aiohttp_client, world, clock):
    api = await connect(aiohttp_client, world, clock=clock)
    assert api.simulator.budget.budget == Budget(calls=1000, window_s=60.0)


# --- fault knobs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_injected_errors_speak_pax8s_error_shape(aiohttp_client, world, status):
    api = await connect(aiohttp_client, world, knobs=FaultKnobs(error_rates={status: 1.0}), login=False)
    reply = await api.get("/subscriptions")
    assert reply.status == status and reply.body["status"] == status and reply.body["details"] == []


async def test_an_injected_429_burst_carries_retry_after(aiohttp_client, world):
    knobs = FaultKnobs(burst_429=2, retry_after_s=3)
    api = await connect(aiohttp_client, world, knobs=knobs, login=False)
    first = await api.call("POST", "/token", api="token", headers={}, body=token_request(world))
    assert first.status == 429 and first.headers["Retry-After"] == "3" and first.body["type"] == "TOO_MANY_REQUESTS"
    assert (await api.get("/companies")).status == 429
    await api.login()
    assert (await api.get("/companies")).status == 200


async def test_injected_timeouts_and_latency(aiohttp_client, world):
    hung = await connect(aiohttp_client, world, knobs=FaultKnobs(timeout_rate=1.0, timeout_s=0.01), login=False)
    assert (await hung.get("/companies")).status == 504
    slow = await connect(aiohttp_client, world, knobs=FaultKnobs(latency_ms=5, drop_reply_rate=1.0))
    assert (await slow.get("/subscriptions")).status == 200  # reads are never dropped


async def test_draft_items_answer_408_at_the_rate_of_their_knob(aiohttp_client, world):
    api = await connect(aiohttp_client, world)
    api.simulator.knobs.update({"draft_timeout_rate": 1.0})
    timed_out = await api.get("/invoices/draftItems")
    assert timed_out.status == 408 and timed_out.body["type"] == "REQUEST_TIMEOUT"
    assert (await api.get("/invoices")).status == 200
    api.simulator.knobs.reset()
    assert (await api.get("/invoices/draftItems")).status == 200
