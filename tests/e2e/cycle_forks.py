"""Cycle runners forked from one process that did their imports once, for the kill harness's many restarts.

A fresh `python -m tests.e2e.cycle_runner` spends ~0.6 s of CPU importing SeatSync before it can run a cycle, and
the kill harness restarts it some 35 times a harness (three harnesses a suite run). Instead
`python -m tests.e2e.cycle_forks` imports the cycle runner once, then on each `run` line forks a child that runs it:
a real process of its own (its own pid, event loop, database connections and claims owner id, all made after the
fork; `random` is reseeded in a fork), killed with a real SIGKILL, only its imports shared. The restarts through
`seatsync sync --once` stay fresh interpreters (the harness's every fifth round).

Protocol, one line each way: the server says `ready` once its imports are done; then the harness writes
`run <log path> <json argv>` and `kill <pid>`; the server answers `pid <pid>` to each run, in order, and
`exit <pid> <code>` when a child ends (code -9 when killed). It kills only a child it has not yet reaped, so a pid
reused by another process is never signalled. At the end of its stdin it kills the children left and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.e2e.processes import utc_now
from tests.e2e.write_judge import Lifetime

REAP_EVERY_S = 0.02


def serve() -> int:
    from bot.sync import claims
    from tests.e2e import cycle_runner

    _say("ready")
    children: set[int] = set()
    pending = b""
    open_input = True
    while open_input or children:
        if open_input and select.select([0], [], [], REAP_EVERY_S)[0]:
            chunk = os.read(0, 65536)
            if not chunk:
                open_input = False
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                command, _, rest = line.decode().partition(" ")
                if command == "run":
                    log_path, _, argv = rest.partition(" ")
                    assert claims._instance_id is None, "a fork would share its parent's claims owner id"
                    pid = os.fork()
                    if pid == 0:
                        _child(cycle_runner.main, log_path, json.loads(argv))
                    children.add(pid)
                    _say(f"pid {pid}")
                elif command == "kill" and int(rest) in children:
                    os.kill(int(rest), signal.SIGKILL)
        elif not open_input:
            select.select([], [], [], REAP_EVERY_S)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            children.discard(pid)
            _say(f"exit {pid} {os.waitstatus_to_exitcode(status)}")
    return 0


def _child(main, log_path: str, argv: list[str]) -> None:
    """Run in the fork: its output to the log, nothing read from the server's stdin; never returns."""
    code = 1
    try:
        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the fork's own, never closed
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _say(line: str) -> None:
    os.write(1, f"{line}\n".encode())


@dataclass
class CycleForks:
    """The harness's side: the fork server for one harness's environment."""

    env: dict[str, str]
    cwd: Path
    _process: asyncio.subprocess.Process | None = None
    _pids: asyncio.Queue = field(default_factory=asyncio.Queue)
    _exits: dict[int, asyncio.Future] = field(default_factory=dict)
    _reader: asyncio.Task | None = None

    async def start(self) -> CycleForks:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.e2e.cycle_forks", cwd=self.cwd, env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        if await self._process.stdout.readline() != b"ready\n":  # its imports done
            raise RuntimeError("the cycle fork server did not start")
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            kind, *values = line.decode().split()
            if kind == "pid":
                pid = int(values[0])
                self._exits[pid] = asyncio.get_running_loop().create_future()
                self._pids.put_nowait(pid)
            elif kind == "exit":
                self._exits[int(values[0])].set_result(int(values[1]))
        for exit_code in self._exits.values():  # the server is gone, and its children with it
            if not exit_code.done():
                exit_code.set_result(-signal.SIGKILL)
        self._pids.put_nowait(None)

    async def _send(self, line: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(f"{line}\n".encode())
        await self._process.stdin.drain()

    async def run(self, args: list[str], log_path: Path) -> int:
        await self._send(f"run {log_path} {json.dumps(args)}")
        pid = await self._pids.get()
        if pid is None:
            raise RuntimeError("the cycle fork server ended")
        return pid

    async def kill(self, pid: int) -> int:
        await self._send(f"kill {pid}")
        return await self._exits[pid]

    def exit_code(self, pid: int) -> asyncio.Future:
        return self._exits[pid]

    async def stop(self) -> None:
        if self._process is None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            async with asyncio.timeout(10):
                await self._process.wait()
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        if self._reader is not None:
            await self._reader


@dataclass
class ForkedCycleRunner:
    """A cycle runner the fork server starts at `go()`: `SeatSyncProcess`'s interface for a prewarmed runner (the
    fork is immediate, so nothing needs starting ahead); its life counts from `go()`."""

    forks: CycleForks
    args: list[str]
    log_path: Path
    started: datetime | None = None
    ended: datetime | None = None
    _pid: int | None = None

    async def spawn(self) -> ForkedCycleRunner:
        return self

    async def go(self) -> None:
        self.started = utc_now()
        self._pid = await self.forks.run(self.args, self.log_path)

    @property
    def pid(self) -> int:
        assert self._pid is not None
        return self._pid

    @property
    def lifetime(self) -> Lifetime:
        assert self.started is not None
        return Lifetime(started=self.started, ended=self.ended)

    @property
    def running(self) -> bool:
        return self._pid is not None and not self.forks.exit_code(self._pid).done()

    async def kill(self) -> None:
        if self._pid is None:
            return
        await self.forks.kill(self._pid)
        self.ended = utc_now()

    async def wait(self, seconds: float) -> int:
        """Its exit code once it ends; TimeoutError if it is still running after `seconds`."""
        async with asyncio.timeout(seconds):
            code = await asyncio.shield(self.forks.exit_code(self.pid))
        self.ended = utc_now()
        return code


if __name__ == "__main__":
    sys.exit(serve())
