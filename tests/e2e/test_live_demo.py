"""`seatsync demo` (the live demo) end to end: it serves SeatSync on a real port, links, posts, and prints
report links that open."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from dataclasses import dataclass

import httpx
import pytest

from bot.__main__ import main
from bot.config import load_settings
from bot.demo.live import run_live
from bot.sandbox.app import Sandbox
from bot.sandbox.slack_requests import SlackRequestSender
from bot.sandbox.world import AutotaskContractService, WriteRecord
from tests.conftest import TEST_SECRET_KEY, make_env
from tests.reports.html_reading import parse_html, table_rows, text_of


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_live_demo_serves_syncs_and_prints_report_links_that_open(tmp_path, clock):
    said: list[str] = []
    settings = load_settings(make_env(tmp_path), dotenv_path=None)
    port = free_port()
    demo = asyncio.create_task(run_live(settings, port=port, env_overrides=set(), database_url=None,
                                        day_seconds=0.5, say=said.append, clock=clock))
    try:
        for _ in range(600):
            if any(line.startswith("reports") for line in said) or demo.done():
                break
            await asyncio.sleep(0.05)
        assert not demo.done(), demo.exception() if demo.done() else None
        output = "\n".join(said)
        assert "link-time reconciliation" in output and f"http://127.0.0.1:{port}" in output
        links = re.findall(r"(http://127\.0\.0\.1:\d+/reports/[a-z-]+\.html\?\S+)", output)
        assert len(links) == 4
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            page = await client.get(links[0])
            forged = await client.get(links[0].replace("signature=", "signature=0"))
        assert health.status_code == 200
        assert page.status_code == 200 and "<table" in page.text
        assert forged.status_code == 403
        for _ in range(600):  # a marketplace day passes and is synced
            if any("seat increases" in line for line in said) or demo.done():
                break
            await asyncio.sleep(0.05)
        assert any("seat increases" in line for line in said), said[-3:]
        # the web app reads the demo's clock, which the day moved: the last sync is not in its future
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        age = float(re.search(r"^seatsync_last_successful_sync_age_seconds (\S+)$", metrics, re.M).group(1))
        assert 0 <= age <= 86400, age
        day_lines = [line for line in said if "seat increases" in line]
        assert day_lines[0].startswith("2026-11-17: ")  # the world began on the clock's day, 2026-11-16
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo


LEE, DANA = "U0LEE00003", "U0DANA0001"  # in the simulated workspace: Lee is service desk, Dana the billing lead


@dataclass
class LiveDemo:
    said: list[str]
    port: int
    sandbox_port: int
    sandbox: Sandbox

    def slack_sender(self) -> SlackRequestSender:
        """Slack (the simulator) sending signed requests to the demo, as a person in its workspace would."""
        return SlackRequestSender(signing_secret=self.sandbox.config()["slack"]["signing_secret"],
                                  events_url=f"http://127.0.0.1:{self.port}/slack/events", recorder=self.sandbox.slack,
                                  default_channel_id="C0BILLING01")


@pytest.fixture
async def live_demo(request, tmp_path, clock, monkeypatch):
    """`seatsync demo` running until the test ends, its first sync, links and reports done; no day passes unless
    the test asks for days (indirect parametrisation: the real seconds a day takes)."""
    day_seconds = getattr(request, "param", 3600)
    generate, started = Sandbox.generate, []

    def remember(**kwargs) -> Sandbox:  # the demo's own simulators, so the test can play Slack toward it
        started.append(generate(**kwargs))
        return started[-1]

    monkeypatch.setattr(Sandbox, "generate", remember)
    said: list[str] = []
    settings = load_settings(make_env(tmp_path), dotenv_path=None)
    port, sandbox_port = free_port(), free_port()
    demo = asyncio.create_task(run_live(settings, port=port, sandbox_port=sandbox_port, env_overrides=set(),
                                        database_url=None, day_seconds=day_seconds, say=said.append, clock=clock))
    try:
        for _ in range(600):
            if any(line.startswith("reports") for line in said) or demo.done():
                break
            await asyncio.sleep(0.05)
        assert not demo.done(), demo.exception() if demo.done() else None
        yield LiveDemo(said=said, port=port, sandbox_port=sandbox_port, sandbox=started[0])
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo


async def test_the_simulators_serve_on_the_port_asked_for(live_demo):
    assert f"simulators: http://127.0.0.1:{live_demo.sandbox_port}" in "\n".join(live_demo.said)
    async with httpx.AsyncClient() as client:
        reply = await client.post(f"http://127.0.0.1:{live_demo.sandbox_port}/slack/api/api.test")
    assert reply.status_code == 200 and reply.json()["ok"] is True


async def test_in_the_demo_someone_outside_the_billing_team_is_refused_a_dry_run(live_demo):
    recorder = live_demo.sandbox.slack
    assert "billing team" in "\n".join(live_demo.said)
    async with live_demo.slack_sender() as sender:
        await sender.slash_command("sync --dry-run", user_id=LEE)
        await sender.slash_command("sync --dry-run", user_id=DANA)
        for _ in range(600):
            if recorder.ephemeral_messages(LEE) and recorder.ephemeral_messages(DANA):
                break
            await asyncio.sleep(0.05)
    lee = [m.message.get("text", "") for m in recorder.ephemeral_messages(LEE)]
    dana = [m.message.get("text", "") for m in recorder.ephemeral_messages(DANA)]
    assert lee and lee[0].startswith("Only the billing team can do that") and "S0BILLING01" in lee[0], lee
    assert dana and dana[0].startswith("Dry run"), dana


def test_the_cli_hands_the_simulators_port_to_either_demo(monkeypatch, tmp_path):
    seen: dict[str, object] = {}

    async def live(settings, **kwargs):
        seen["live"] = kwargs["sandbox_port"]

    async def once(options, say, **kwargs):
        seen["once"] = options.sandbox_port
        return {"linked": 0}

    monkeypatch.setattr("bot.demo.live.run_live", live)
    monkeypatch.setattr("bot.demo.scripted.run_once", once)
    monkeypatch.setattr("bot.demo.scripted.summary_line", lambda result: "{}")
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEATSYNC_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["demo", "--sandbox-port", "18080"]) == 0
    assert main(["demo", "--once", "--days", "0", "--sandbox-port", "18081"]) == 0
    assert seen == {"live": 18080, "once": 18081}
    assert main(["demo", "--sandbox-port", "70000"]) == 2


def psa_record(sandbox: Sandbox, write: WriteRecord) -> AutotaskContractService:
    """The Autotask contract service, or service bundle, a logged write landed on."""
    world = sandbox.world
    records = world.autotask_contract_service_bundles if write.kind == "bundle" else world.autotask_contract_services
    return records[write.service_id]


def psa_names(sandbox: Sandbox, write: WriteRecord) -> tuple[str, str]:
    """(customer, service) a write billed, as SeatSync names them: a bundle's name ends " (service bundle)"."""
    world = sandbox.world
    line = psa_record(sandbox, write)
    contract = world.autotask_contracts[line.contract_id]
    if write.kind == "bundle":
        name = f"{world.autotask_service_bundles[line.service_id].name} (service bundle)"
    else:
        name = world.autotask_services[line.service_id].name
    return world.autotask_companies[contract.company_id].name, name


async def test_the_narration_names_the_customer_and_the_psa_service_and_what_was_held(live_demo):
    said = "\n".join(live_demo.said)
    headline = re.search(r"^link-time reconciliation of (\d+) links: (\d+) posted, (\d+) held for approval", said,
                         re.M)
    assert headline, said
    assert int(headline.group(3)) >= 1  # default policy: large catch-ups wait (seed 1 has a 0 -> 108 line)
    held = [line for line in live_demo.said if line.startswith("  held ")]
    assert len(held) == int(headline.group(3))
    assert any(re.search(r" for approval: .*: a prorated [\d,]+\.\d\d is over the 1,000\.00 default limit", line)
               for line in held), held
    writes = [w for w in live_demo.sandbox.world.write_log if w.system == "autotask"]
    assert len(writes) == int(headline.group(2))
    assert any(w.kind == "bundle" for w in writes)  # the world bills some seats as service bundles
    for write in writes:  # each link-time post is narrated with the customer and the PSA service it billed
        customer, service = psa_names(live_demo.sandbox, write)
        narrated = f"  posted {write.after - write.before:+d}: {customer} · {service} (marketplace {write.after}, " \
                   f"PSA {write.before})"
        assert narrated in live_demo.said, (narrated, [line for line in live_demo.said if customer in line])


@pytest.mark.parametrize("live_demo", [0.5], indirect=True)
async def test_each_day_posted_is_narrated_with_customer_service_and_contract(live_demo):
    world = live_demo.sandbox.world
    before = len(world.write_log)
    for _ in range(600):
        if any(line.startswith("  posted: ") for line in live_demo.said) and len(world.write_log) > before:
            break
        await asyncio.sleep(0.05)
    day_writes = world.write_log[before:]
    posted = [line for line in live_demo.said if line.startswith("  posted: ")]
    assert posted and day_writes
    write = day_writes[0]
    customer, service = psa_names(live_demo.sandbox, write)
    contract = world.autotask_contracts[psa_record(live_demo.sandbox, write).contract_id].name
    assert any(line.startswith(f"  posted: {customer} · {service} on {contract}: {write.before} → {write.after} ")
               for line in posted), (customer, service, posted[:5])


async def test_the_reports_show_the_demos_simulated_day(live_demo):
    """The demo's clock reads the simulated world's day; every date its reports show is on that clock."""
    links = dict(re.findall(r"^  ([a-z-]+): (http://\S+)$", "\n".join(live_demo.said), re.M))
    async with httpx.AsyncClient() as client:
        pages = {name: parse_html((await client.get(links[name])).text) for name in ("linked", "adjustments")}
    day = live_demo.sandbox.world.today.isoformat()  # 2026-11-16, the pinned clock's; not the machine's date
    for name, root in pages.items():
        assert f"Generated {day} " in " ".join(text_of(root.find(".//p[@class='meta']")).split())
    linked_at = [row[-1] for row in table_rows(pages["linked"])]
    posted_at = [row[0] for row in table_rows(pages["adjustments"])]
    assert linked_at and posted_at
    assert {value[:10] for value in linked_at} == {day} and {value[:10] for value in posted_at} == {day}


async def test_a_pax8_live_demo_receives_pax8_webhooks_and_says_the_pax8_day(tmp_path, clock, monkeypatch):
    """`seatsync demo --marketplace pax8`: the Pax8 simulator is configured (its webhooks API) to call SeatSync, each
    day's subscription events are delivered there and synced before the day's cycle; the day's line is the Pax8
    book's, not the Ingram world's."""
    generate, started = Sandbox.generate, []

    def remember(**kwargs) -> Sandbox:
        started.append(generate(**kwargs))
        return started[-1]

    monkeypatch.setattr(Sandbox, "generate", remember)
    said: list[str] = []
    settings = load_settings(make_env(tmp_path), dotenv_path=None)
    port = free_port()
    demo = asyncio.create_task(run_live(settings, port=port, env_overrides=set(), database_url=None, day_seconds=0.3,
                                        say=said.append, clock=clock, marketplace="pax8"))
    try:
        for _ in range(1200):
            if any(line.startswith("  webhook → ") for line in said) or demo.done():
                break
            await asyncio.sleep(0.05)
        assert not demo.done(), demo.exception() if demo.done() else None
        assert f"  Pax8 webhooks: configured on its simulator to call http://127.0.0.1:{port}" \
               "/webhooks/marketplace/pax8" in said
        logs = started[0].pax8.webhooks.logs.values()
        assert logs and {entry.final_status for entry in logs} <= {"SUCCESS", "PENDING", None}
        assert any(entry.final_status == "SUCCESS" for entry in logs)
        day_lines = [line for line in said if re.match(r"^\d{4}-\d\d-\d\d: ", line)]
        assert day_lines[0].startswith("2026-11-17: ")
        assert all(re.match(r"^\d{4}-\d\d-\d\d: [\d,]+ seat increases?, [\d,]+ drops?", line) for line in day_lines)
        assert not any("cancelled subscriptions" in line for line in day_lines)  # the Ingram world's words
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
