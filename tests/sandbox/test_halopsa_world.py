"""The generated MSP's HaloPSA side (deterministic, realistic, and no change to the other PSAs) and the
simulator inside the composed sandbox: config, admin routes, the write log, faults, days passing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import aiohttp
import pytest

from bot.__main__ import main
from bot.sandbox import generator
from bot.sandbox.app import Sandbox
from bot.sandbox.day_passes import advance_day
from bot.sandbox.generator import generate_world
from tests.sandbox.conftest import SMALL_WORLD_TODAY


def test_the_same_seed_gives_the_same_halo_side() -> None:
    first = generate_world(seed=4, scale="small", today=SMALL_WORLD_TODAY)
    again = generate_world(seed=4, scale="small", today=SMALL_WORLD_TODAY)
    other = generate_world(seed=5, scale="small", today=SMALL_WORLD_TODAY)
    assert first.halopsa == again.halopsa and first.truth == again.truth
    assert first.halopsa != other.halopsa


def test_seeding_halo_changes_nothing_the_other_psas_had(monkeypatch) -> None:
    with_halo = generate_world(seed=2, scale="small", today=SMALL_WORLD_TODAY)
    monkeypatch.setattr(generator, "seed_halopsa", lambda world, profiles: None)
    without = generate_world(seed=2, scale="small", today=SMALL_WORLD_TODAY)
    for name in ("customers", "subscriptions", "autotask_companies", "autotask_contract_services",
                 "autotask_contracts", "connectwise_companies", "connectwise_agreements", "connectwise_additions"):
        assert getattr(with_halo, name) == getattr(without, name), name
    assert with_halo.truth.prelinked == without.truth.prelinked
    strip = {key: {psa: i for psa, i in ids.items() if psa != "halopsa"}
             for key, ids in with_halo.truth.service_for_line.items()}
    assert {k: v for k, v in strip.items() if v} == without.truth.service_for_line
    assert without.halopsa.clients == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_halo_side_is_a_real_msps(seed: int) -> None:
    world = generate_world(seed=seed, scale="small", today=SMALL_WORLD_TODAY)
    halo, truth = world.halopsa, world.truth
    drift = Counter()
    for key, services in truth.service_for_line.items():
        if "halopsa" not in services:
            continue
        ordered, units = world.line(*key).ordered, halo.units(services["halopsa"])
        drift["zero" if units == 0 and ordered else "equal" if units == ordered else "other"] += 1
    assert drift["equal"] > 0.55 * sum(drift.values()) and drift["other"] + drift["zero"] > 0
    assert all(services.get("halopsa") for key, services in truth.service_for_line.items() if key in truth.prelinked)
    linked_clients = {ids["halopsa"] for ids in truth.company_for_account.values() if "halopsa" in ids}
    assert set(halo.clients) - linked_clients  # clients billed for managed services only
    customer_names = {c.name for c in world.customers.values()}
    assert sum(halo.clients[c].name not in customer_names for c in linked_clients) > 0.8 * len(linked_clients)
    assert all(ri < -1 for ri in halo.recurring_invoices)
    assert any(c.end_date is not None and c.end_date < world.today for c in halo.contracts.values())
    assert all(halo.line_home[line.id] == ri.id for ri in halo.recurring_invoices.values() for line in ri.lines)
    assert len(halo.line_home) == sum(len(ri.lines) for ri in halo.recurring_invoices.values())
    assert all(ri.next_creation == date(2026, 12, 1) for ri in halo.recurring_invoices.values())


def test_some_lines_carry_a_manual_pro_rata_charge_and_days_bill_them() -> None:
    world = generate_world(seed=1, scale="small", today=SMALL_WORLD_TODAY)
    pending = [p for ri in world.halopsa.recurring_invoices.values() for ln in ri.lines for p in ln.prorata]
    assert pending and all(p.invoice_id is None and p.day <= world.today for p in pending)
    while world.today < date(2026, 12, 1):
        assert world.halopsa.invoices == {}
        advance_day(world)
    assert len(world.halopsa.invoices) > 0.8 * len(world.halopsa.recurring_invoices)
    assert all(p.invoice_id in world.halopsa.invoices for p in pending)
    assert all(ri.next_creation == date(2027, 1, 1) for ri in world.halopsa.recurring_invoices.values())


# --- the composed sandbox ----------------------------------------------------------------------
@pytest.fixture
async def sandbox():
    sandbox = await Sandbox.generate(seed=3, scale="small", today=SMALL_WORLD_TODAY).start()
    yield sandbox
    await sandbox.stop()


def admin_headers(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.world.credentials.admin_token}"}


async def test_config_write_log_admin_and_faults_for_halo(sandbox) -> None:
    config = sandbox.config()["halopsa"]
    assert config["api_url"] == config["url"] + "/api" and config["auth_url"] == config["url"] + "/auth"
    world = sandbox.world
    line_id = next(i for i in world.halopsa.line_home if not world.halopsa.line(i).ended(world.today))
    invoice_id = world.halopsa.line_home[line_id]
    async with aiohttp.ClientSession() as http:
        form = {"grant_type": "client_credentials", "client_id": config["client_id"],
                "client_secret": config["client_secret"], "scope": config["scope"]}
        async with http.post(config["auth_url"] + "/token", params={"tenant": config["tenant"]}, data=form) as r:
            headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        async with http.get(f"{config['api_url']}/RecurringInvoice/{invoice_id}", headers=headers) as r:
            invoice = await r.json()
        line = next(ln for ln in invoice["lines"] if ln["id"] == line_id)
        line["qty_order"] += 1
        line["comment_1"] = "[seatsync:k-admin]"
        async with http.post(f"{config['api_url']}/RecurringInvoice", headers=headers,
                             json=[{"id": invoice_id, "lines": invoice["lines"]}]) as r:
            assert r.status == 201
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http:
        async with http.get(sandbox.base_url + "/admin/writes/halopsa") as r:
            log = await r.json()
        assert log["total"] == 1 and log["per_service"] == {str(line_id): 1}
        assert log["writes"][0]["key"] == "k-admin" and log["writes"][0]["reference"] == f"{invoice_id}/{line_id}"
        async with http.get(sandbox.base_url + "/admin/state") as r:
            assert (await r.json())["halopsa"]["writes"] == 1
        async with http.put(sandbox.base_url + "/admin/halopsa/application",
                            json={"granted_scopes": "read:invoices", "token_lifetime_s": 60}) as r:
            assert r.status == 200 and (await r.json())["token_lifetime_s"] == 60
        async with http.put(sandbox.base_url + "/admin/halopsa/application", json={"requests_per_minute": -1}) as r:
            assert r.status == 400
        async with http.put(sandbox.base_url + "/admin/faults/halopsa", json={"burst_429": 1}) as r:
            assert r.status == 200
    assert world.halopsa.application.granted_scopes == "read:invoices"
    async with aiohttp.ClientSession() as http, http.get(config["api_url"] + "/authinfo") as r:
        assert r.status == 429 and r.headers["Retry-After"]
    sandbox.apply_profile("heavy")
    assert sandbox.faults["halopsa"].drop_reply_rate > 0


async def test_a_reset_brings_the_halo_side_back(sandbox) -> None:
    world = sandbox.world
    before = {ri_id: [ln.quantity for ln in ri.lines] for ri_id, ri in world.halopsa.recurring_invoices.items()}
    next(iter(world.halopsa.recurring_invoices.values())).lines.clear()
    world.halopsa.application.requests_per_minute = 1
    async with aiohttp.ClientSession(headers=admin_headers(sandbox)) as http, \
            http.post(sandbox.base_url + "/admin/reset") as r:
        assert (await r.json())["halopsa"]["recurring_invoices"] == len(before)
    assert {ri_id: [ln.quantity for ln in ri.lines] for ri_id, ri in world.halopsa.recurring_invoices.items()} == before
    assert world.halopsa.application.requests_per_minute == 1000


def test_print_config_has_the_halo_tenant_and_application(capsys) -> None:
    assert main(["sandbox", "--port", "9555", "--seed", "4", "--print-config"]) == 0
    halo = json.loads(capsys.readouterr().out)["halopsa"]
    assert halo["url"] == "http://127.0.0.1:9555/halopsa" and halo["tenant"] == "sandboxmsp"
    assert len(halo["client_id"]) == 36 and len(halo["client_secret"]) == 73 and halo["scope"] == "all"


def test_the_day_onto_the_first_creates_the_invoices() -> None:
    world = generate_world(seed=1, scale="small", today=date(2026, 11, 30))
    quantities = {line_id: world.halopsa.units(line_id) for line_id in world.halopsa.line_home}
    assert advance_day(world).day == date(2026, 12, 1) and world.halopsa.invoices
    assert {line_id: world.halopsa.units(line_id) for line_id in world.halopsa.line_home} == quantities
