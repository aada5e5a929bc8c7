"""`seatsync demo` prints the Slack console's address, and the console there drives the demo's SeatSync: a
billing-team member's command is answered, an outsider is refused (the demo's billing team is the simulator's
@billing-team group)."""

from __future__ import annotations

import asyncio
import contextlib
import re

import httpx

from bot.config import load_settings
from bot.demo.live import run_live
from tests.conftest import make_env
from tests.e2e.test_live_demo import free_port

DANA, LEE = "U0DANA0001", "U0LEE00003"
BILLING_CHANNEL, GENERAL = "C0BILLING01", "C0GENERAL01"


async def seen_in(client: httpx.AsyncClient, console: str, user: str, channel: str, words: str) -> list[dict]:
    for _ in range(400):
        state = (await client.get(f"{console}api/state", params={"user": user})).json()
        found = [m for m in state["messages"][channel] if words in m["text"]]
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user} never saw {words!r} in {channel}: {state['messages'][channel]}")


async def test_the_demo_prints_the_console_and_the_console_drives_it(tmp_path, clock):
    said: list[str] = []
    settings = load_settings(make_env(tmp_path), dotenv_path=None)
    demo = asyncio.create_task(run_live(settings, port=free_port(), env_overrides=set(), database_url=None,
                                        day_seconds=3600, say=said.append, clock=clock))
    try:
        for _ in range(600):
            if any(line.startswith("try it in Slack") for line in said) or demo.done():
                break
            await asyncio.sleep(0.05)
        assert not demo.done(), demo.exception() if demo.done() else None
        consoles = set(re.findall(r"(http://127\.0\.0\.1:\d+/console/)", "\n".join(said)))
        assert len(consoles) == 1 and any("Slack console" in line for line in said[:3])
        console, = consoles
        async with httpx.AsyncClient(timeout=10) as client:
            page = await client.get(console)
            answered = await client.post(f"{console}api/command", json={
                "user": DANA, "channel": BILLING_CHANNEL, "text": "/seats report adjustments"})
            refused = await client.post(f"{console}api/command", json={
                "user": LEE, "channel": GENERAL, "text": "/seats sync"})
            assert page.status_code == 200 and answered.json() == refused.json() == {"ok": True}
            report, = await seen_in(client, console, DANA, BILLING_CHANNEL, "Adjustments")
            assert not report["ephemeral"]
            refusal, = await seen_in(client, console, LEE, GENERAL, "Only the billing team")
            assert refusal["ephemeral"]
            assert not [m for m in (await client.get(f"{console}api/state", params={"user": DANA})).json()[
                "messages"][GENERAL] if "billing team" in m["text"]]
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
