"""What the Slack benchmarks share: a local server on a free port, waiting for `seatsync serve`, latency figures."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
from pathlib import Path

import aiohttp
from aiohttp import web


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def figures(millis: list[float]) -> dict[str, float]:
    return {"n": len(millis), "p50_ms": round(statistics.median(millis), 1), "p95_ms": round(percentile(millis, 95), 1),
            "p99_ms": round(percentile(millis, 99), 1), "max_ms": round(max(millis), 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc): a figure a loaded machine inflates far less
    than the latencies."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_healthy(port: int, process: subprocess.Popen, *, timeout_s: int) -> None:
    """Until `seatsync serve` on `port` answers /healthz with 200 (or exits, or `timeout_s` passes)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(timeout_s * 10):
            if process.poll() is not None:
                raise RuntimeError(f"seatsync serve exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"seatsync serve did not become healthy within {timeout_s} s")
