"""`seatsync demo` (the live demo) end to end: it serves SeatSync on a real port, links, posts, and prints
report links that open."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket

import httpx

from bot.config import load_settings
from bot.demo.live import run_live
from tests.conftest import make_env


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
