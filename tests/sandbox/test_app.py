"""The composed sandbox: every simulator under one port, the admin routes and `seatsync sandbox`."""

import json

import aiohttp
import pytest

from bot.__main__ import main
from bot.sandbox.app import Sandbox


@pytest.fixture
async def sandbox():
    sandbox = await Sandbox.generate(seed=3, scale="small").start()
    yield sandbox
    await sandbox.stop()


def admin_headers(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.world.credentials.admin_token}"}


async def test_config_lists_every_simulator_with_working_urls(sandbox):
    config = sandbox.config()
    assert set(config) == {"odin", "ingram", "autotask", "connectwise", "halopsa", "slack", "pax8", "admin"}
    async with aiohttp.ClientSession() as http, http.get(config["autotask"]["url"] + "/v1.0/zoneInformation",
                        params={"user": config["autotask"]["username"]}) as response:
        assert response.status == 200
        assert (await response.json())["url"].startswith(sandbox.base_url)


async def test_admin_needs_the_token(sandbox):
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.base_url + "/admin/state") as response:
            assert response.status == 401
        async with http.get(sandbox.base_url + "/admin/state", headers={"Authorization": "Bearer nope"}) as response:
            assert response.status == 401


async def test_faults_are_set_validated_and_reset_over_admin(sandbox):
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        async with http.put(sandbox.base_url + "/admin/faults/autotask", json={"burst_429": 2}) as response:
            assert response.status == 200 and (await response.json())["burst_429"] == 2
        async with http.put(sandbox.base_url + "/admin/faults/autotask", json={"bogus": 1}) as response:
            assert response.status == 400 and "bogus" in (await response.json())["error"]
        async with http.put(sandbox.base_url + "/admin/faults/nowhere", json={}) as response:
            assert response.status == 404
        async with http.put(sandbox.base_url + "/admin/faults/slack", json={"profile": "heavy"}) as response:
            assert (await response.json())["drop_reply_rate"] > 0
        zone_url = sandbox.config()["autotask"]["url"] + "/v1.0/zoneInformation"
        user = sandbox.world.credentials.autotask_username
        for expected in (429, 429, 200):
            async with http.get(zone_url, params={"user": user}) as response:
                assert response.status == expected
                if expected == 429:
                    assert response.headers["Retry-After"]
        async with http.post(sandbox.base_url + "/admin/faults/reset") as response:
            assert response.status == 200
        assert sandbox.faults["slack"].drop_reply_rate == 0


async def test_days_pass_and_state_resets(sandbox):
    before = sandbox.world.today
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        async with http.post(sandbox.base_url + "/admin/advance-day", params={"days": "2"}) as response:
            body = await response.json()
            assert response.status == 200 and len(body["days"]) == 2
        assert (sandbox.world.today - before).days == 2
        async with http.post(sandbox.base_url + "/admin/advance-day", params={"days": "0"}) as response:
            assert response.status == 400
        async with http.get(sandbox.base_url + "/admin/writes/autotask") as response:
            assert (await response.json()) == {"total": 0, "per_service": {}, "writes": []}
        async with http.post(sandbox.base_url + "/admin/reset") as response:
            assert (await response.json())["customers"] == len(sandbox.world.customers)


async def test_the_write_counts_keep_autotask_bundles_apart_from_services(sandbox):
    sandbox.world.record_write("autotask", 12, 1, 2, "k-1", reference="7")
    sandbox.world.record_write("autotask", 12, 3, 5, "k-2", reference="bundle:8", kind="bundle")
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http, \
            http.get(sandbox.base_url + "/admin/writes/autotask") as response:
        body = await response.json()
    assert body["total"] == 2 and body["per_service"] == {"12": 1, "bundle:12": 1}
    assert [(w["service_id"], w["kind"]) for w in body["writes"]] == [(12, "service"), (12, "bundle")]


async def test_webhooks_only_to_localhost_and_zone_moves(sandbox):
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        async with http.put(sandbox.base_url + "/admin/webhook", json={"url": "http://10.0.0.1/hook"}) as response:
            assert response.status == 400
        async with http.put(sandbox.base_url + "/admin/webhook", json={"url": "http://127.0.0.1:9/hook"}) as response:
            assert response.status == 200
        async with http.put(sandbox.base_url + "/admin/autotask/zone", json={"zone": "webservices2"}) as response:
            assert response.status == 200
        async with http.put(sandbox.base_url + "/admin/autotask/zone", json={"zone": "../etc"}) as response:
            assert response.status == 400
    assert sandbox.world.autotask_zone == "webservices2"


@pytest.mark.parametrize("url", ["http://localhost.example.com/hook", "http://127.0.0.1@example.com/hook",
                                 "http://localhost:80@example.com/hook", "https://example.com/?http://127.0.0.1",
                                 "file:///etc/passwd", 7])
async def test_webhooks_to_anything_that_only_looks_like_localhost_are_refused(sandbox, url):
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        async with http.put(sandbox.base_url + "/admin/webhook", json={"url": url}) as response:
            assert response.status == 400
        async with http.put(sandbox.base_url + "/admin/webhook", data=b"{not json") as response:
            assert response.status == 400
    assert sandbox.world.webhook_url is None


async def test_webhooks_to_loopback_names_and_addresses_are_kept(sandbox):
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        for url in ("http://localhost:3000/webhooks/marketplace", "http://127.0.0.2:9/hook", "http://[::1]:9/h"):
            async with http.put(sandbox.base_url + "/admin/webhook", json={"url": url}) as response:
                assert response.status == 200
                assert sandbox.world.webhook_url == url
        async with http.put(sandbox.base_url + "/admin/webhook", json={"url": None}) as response:
            assert response.status == 200
    assert sandbox.world.webhook_url is None


def test_print_config_is_one_json_object_fixed_for_a_seed(capsys):
    assert main(["sandbox", "--port", "9555", "--seed", "4", "--print-config"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["sandbox", "--port", "9555", "--seed", "4", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert first["autotask"]["url"] == "http://127.0.0.1:9555/autotask/ATServicesRest"
    assert main(["sandbox", "--port", "9555", "--seed", "5", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["autotask"]["secret"] != first["autotask"]["secret"]


def test_bad_port_is_refused(capsys):
    assert main(["sandbox", "--port", "70000", "--print-config"]) == 2
    assert "out of range" in capsys.readouterr().err


async def test_the_counts_set_over_admin_are_kept_as_history(sandbox):
    world = sandbox.world
    subscription = next(s for s in world.subscriptions.values() if s.status == "active" and s.lines)
    line = subscription.lines[0]
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        for total in (7, 3):
            path = f"/admin/counts/{subscription.subscription_id}/{line.resource_id}"
            async with http.put(sandbox.base_url + path, json={"total": total}) as response:
                assert response.status == 200
        async with http.post(sandbox.base_url + "/admin/advance-day") as response:
            changed = (await response.json())["days"][0]
        async with http.get(sandbox.base_url + "/admin/counts/history") as response:
            history = (await response.json())["changes"]
    mine = [(c["total"], c["status"]) for c in history
            if (c["subscription_id"], c["resource_id"]) == (subscription.subscription_id, line.resource_id)]
    assert mine[:2] == [(7, "active"), (3, "active")]
    assert [c["at"] for c in history] == sorted(c["at"] for c in history)
    recorded_by_the_day = {c["subscription_id"] for c in history[len(subscription.lines) * 2:]}
    assert recorded_by_the_day == set(changed["changed_subscriptions"])


@pytest.mark.parametrize("bumps", [True, False])
async def test_the_ingram_knob_decides_whether_a_seat_change_moves_last_modified_date(sandbox, bumps):
    world = sandbox.world
    sub = next(s for s in world.subscriptions.values() if s.status == "active" and s.lines)
    before = sub.last_modified
    line = sub.lines[0]
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        async with http.put(sandbox.base_url + "/admin/ingram/knobs",
                            json={"seat_change_bumps_last_modified": "no"}) as response:
            assert response.status == 400
        async with http.put(sandbox.base_url + "/admin/ingram/knobs",
                            json={"seat_change_bumps_last_modified": bumps}) as response:
            assert response.status == 200
        async with http.put(f"{sandbox.base_url}/admin/counts/{sub.subscription_id}/{line.resource_id}",
                            json={"total": line.included + line.additional + 2}) as response:
            assert response.status == 200
        moved = sub.last_modified != before
        assert moved is bumps
        # a day's seat changes follow the knob too; other changes (status, price, new orders) always move it
        async with http.post(sandbox.base_url + "/admin/advance-day") as response:
            day = (await response.json())["days"][0]
    repriced = {c["resource_id"] for c in day["price_changes"]}
    seat_only = ({c["subscription_id"] for c in day["increases"] + day["decreases"]}
                 - set(day["renewed_subscriptions"] + day["expired_subscriptions"] + day["new_subscriptions"]
                       + day["cancelled_subscriptions"]))
    seat_only = {sid for sid in seat_only
                 if not {line.resource_id for line in world.subscriptions[sid].lines} & repriced}
    assert seat_only
    assert all((world.subscriptions[sid].last_modified.date() == world.today) is bumps for sid in seat_only)
