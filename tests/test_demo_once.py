"""`seatsync demo --once` is never silent: a line per phase on stderr, a heartbeat while a phase runs,
and a run that stops moving ends with DemoFailed saying where it stood (the CLI exits 1 with it)."""

from __future__ import annotations

import asyncio
import io

import pytest

from bot.__main__ import main
from bot.connectors.http import CallStats
from bot.demo.progress import DemoFailed, Progress, Watchdog
from bot.demo.scripted import DemoOptions, run_once
from tests.conftest import TEST_SECRET_KEY


async def test_a_run_that_stops_moving_ends_saying_where_it_stood() -> None:
    stream = io.StringIO()
    progress = Progress(stream=stream)
    never = asyncio.Event()

    async def script() -> dict:
        progress.enter("waiting for a reply that never comes")
        await never.wait()
        return {}

    watchdog = Watchdog(progress, lambda: {"connectwise": CallStats(total=12)}, stall_s=0.3, heartbeat_s=0.1)
    with pytest.raises(DemoFailed) as failed:
        await asyncio.wait_for(watchdog.run(script()), 5)
    message = str(failed.value)
    assert message.startswith("stuck while waiting for a reply that never comes: no vendor call answered")
    assert "12 connectwise calls" in message and "script (test_demo_once.py" in message
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("] waiting for a reply that never comes")
    assert any("] still waiting for a reply that never comes: 12 connectwise calls, 0 retried" in line
               for line in lines)


async def test_a_slow_run_that_keeps_calling_is_not_stuck() -> None:
    stats = CallStats()
    progress = Progress(stream=io.StringIO())

    async def script() -> str:
        for _ in range(30):  # 1.5 s: longer than stall_s, but a call is answered every 0.05 s
            await asyncio.sleep(0.05)
            stats.total += 1
        return "done"

    watchdog = Watchdog(progress, lambda: {"odin": stats}, stall_s=1.0, heartbeat_s=0.05)
    assert await watchdog.run(script()) == "done"


async def test_the_scripted_demo_reports_each_phase_on_stderr() -> None:
    stream, said = io.StringIO(), []
    result = await run_once(DemoOptions(psa="connectwise", marketplace="ingram", days=1, faults="light", seed=2,
                                        secret_key=TEST_SECRET_KEY), say=said.append,
                            progress=Progress(stream=stream))
    assert result["in_sync"] is True and result["duplicate_writes"] == 0
    phases = [line.split("] ", 1)[1] for line in stream.getvalue().splitlines() if "] still " not in line]
    assert phases == [
        "generating the small sandbox (seed 2)",
        "first sync cycle: a complete read of ingram and connectwise",
        "linking the high-confidence name matches",
        f"link-time reconciliation of {result['linked']} links",
        "posting what is still open",
        phases[5],  # "day 1 of 1 (<the sandbox's next day>): sync cycle"
        "day 1 of 1: posting what is still open",
        "the last day's next sync cycle: what takes two cycles",
        "reading the verdict from the simulators",
    ]
    assert phases[5].startswith("day 1 of 1 (") and phases[5].endswith("): sync cycle")


def test_the_cli_exits_1_with_the_reason_when_the_demo_cannot_finish(monkeypatch, capsys, tmp_path) -> None:
    async def cannot_finish(options, say, **_) -> dict:
        raise DemoFailed("stuck while testing: no vendor call answered")

    monkeypatch.setattr("bot.demo.scripted.run_once", cannot_finish)
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEATSYNC_SECRET_KEY", TEST_SECRET_KEY)
    assert main(["demo", "--once"]) == 1
    assert capsys.readouterr().err.strip().endswith("seatsync demo: stuck while testing: no vendor call answered")
