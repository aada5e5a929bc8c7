"""The most PostgreSQL connections each SeatSync instance held at once, counted in `pg_stat_activity` by the
`application_name` its connections carry (bot.db.connection_budget), sampled every `every_s` until stopped."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import asyncpg


@dataclass
class ConnectionMeter:
    dsn: str  # asyncpg's form
    every_s: float = 0.1
    peaks: dict[str, int] = field(default_factory=dict)  # application_name: most connections seen at once
    _task: asyncio.Task | None = None
    _connection: asyncpg.Connection | None = None

    async def start(self) -> ConnectionMeter:
        self._connection = await asyncpg.connect(self.dsn)
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _run(self) -> None:
        assert self._connection is not None
        while True:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                rows = await self._connection.fetch(
                    "SELECT application_name, count(*) AS held FROM pg_stat_activity "
                    "WHERE datname = current_database() GROUP BY application_name")
                for row in rows:
                    self.peaks[row["application_name"]] = max(self.peaks.get(row["application_name"], 0),
                                                              row["held"])
            await asyncio.sleep(self.every_s)

    def peak_of(self, pid: int) -> int:
        """The peak of the instance whose process is `pid` (its name holds its instance id, host:pid:random)."""
        return max((held for name, held in self.peaks.items() if f":{pid}:" in name and name.startswith("seatsync ")),
                   default=0)
