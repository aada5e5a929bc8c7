"""CPU seconds spent by a set of processes and by the PostgreSQL backends serving them, read from /proc (Linux), so
a capacity can be stated independently of how loaded the machine is: a core gives 300 CPU seconds in 5 minutes
whoever else runs on it, while the wall-clock pace of a cycle depends on the load.

A process's time is utime + stime, plus cutime + cstime (its children, once waited for). A backend of PostgreSQL is
one process per connection: it counts when its client port belongs to a socket of one of the metered processes
(their /proc/<pid>/fd against /proc/net/tcp*). Backends come and go with the pools, so they are sampled every
`every_s`, each kept at its last reading once gone (a backend's last second before it closes may be missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int, *, children: bool = True) -> float | None:
    """utime + stime (+ cutime + cstime) of `pid` in seconds, None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": fields from the 3rd (state) on
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + (cutime + cstime if children else 0)) / TICKS


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(FileNotFoundError, PermissionError, ProcessLookupError):
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def local_ports(inodes: set[int]) -> set[int]:
    """The local TCP ports of these sockets."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for row in Path(table).read_text().splitlines()[1:]:
                columns = row.split()
                if int(columns[9]) in inodes:
                    ports.add(int(columns[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class CpuReading:
    processes_s: float  # the metered processes, the dead ones at their last reading
    backends_s: float  # their PostgreSQL backends
    others_s: dict[str, float] = field(default_factory=dict)  # processes metered apart (the simulators)

    def minus(self, earlier: CpuReading) -> CpuReading:
        return CpuReading(self.processes_s - earlier.processes_s, self.backends_s - earlier.backends_s,
                          {name: value - earlier.others_s.get(name, 0.0) for name, value in self.others_s.items()})

    @property
    def total_s(self) -> float:
        return self.processes_s + self.backends_s


@dataclass
class CpuMeter:
    """Meters `pids` (add more with `watch`) and their backends on the database at `dsn` (asyncpg's form), plus
    `apart` (name: pid) counted on their own."""

    dsn: str
    pids: set[int] = field(default_factory=set)
    apart: dict[str, int] = field(default_factory=dict)
    every_s: float = 1.0
    _last: dict[int, float] = field(default_factory=dict)  # metered process: last reading
    _backends: dict[int, float] = field(default_factory=dict)  # backend pid: last reading
    _others: dict[str, float] = field(default_factory=dict)
    _task: asyncio.Task | None = None
    _connection: asyncpg.Connection | None = None
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # the sampler and a caller share one connection

    def watch(self, pid: int) -> None:
        self.pids.add(pid)

    async def start(self) -> CpuMeter:
        self._connection = await asyncpg.connect(self.dsn)
        await self.sample()
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._connection is not None:
            await self._connection.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await self.sample()

    async def sample(self) -> CpuReading:
        async with self._turn:
            return await self._sample()

    async def _sample(self) -> CpuReading:
        for pid in self.pids:
            if (seconds := process_cpu_s(pid)) is not None:
                self._last[pid] = seconds
        for name, pid in self.apart.items():
            if (seconds := process_cpu_s(pid)) is not None:
                self._others[name] = seconds
        ports = local_ports(set().union(*(socket_inodes(pid) for pid in self.pids))) if self.pids else set()
        if ports and self._connection is not None:
            rows = await self._connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", sorted(ports))
            for row in rows:
                if (seconds := process_cpu_s(row["pid"], children=False)) is not None:
                    self._backends[row["pid"]] = seconds
        return self.reading()

    def reading(self) -> CpuReading:
        return CpuReading(sum(self._last.values()), sum(self._backends.values()), dict(self._others))
