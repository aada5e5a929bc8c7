"""The HaloPSA simulator on a real port (the hand-built world of tests/sandbox/halopsa_world.py), and clients on it.

The simulator and the client share one ManualClock of monotonic seconds, so a test moves the token's expiry by
hand; every request the client sends is recorded (it still goes over HTTP to 127.0.0.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.connectors.connection import Connection
from bot.connectors.http import RetryPolicy
from bot.connectors.psa.halopsa.client import HaloPsaClient
from bot.sandbox.faults import FaultKnobs
from bot.sandbox.world import SandboxWorld
from tests.sandbox.halopsa_world import ManualClock

FAST_RETRY = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.5, max_total_s=10.0)


class RecordingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, sent: list[httpx.Request]) -> None:
        super().__init__()
        self.sent = sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await super().handle_async_request(request)


@dataclass
class HaloServer:
    world: SandboxWorld
    knobs: FaultKnobs
    clock: ManualClock
    base_url: str
    sent: list[httpx.Request] = field(default_factory=list)

    def connection(self, **changes: Any) -> Connection:
        creds = self.world.credentials
        options = {"tenant": creds.halopsa_tenant, "client_id": creds.halopsa_client_id, "scope": "all"}
        secrets = {"client_secret": creds.halopsa_client_secret}
        for name, value in changes.items():
            (secrets if name == "client_secret" else options)[name] = value
        return Connection("halopsa", changes.pop("base_url", self.base_url), options, secrets)

    def client(self, *, base_url: str | None = None, **changes: Any) -> HaloPsaClient:
        sizes = {name: changes.pop(name) for name in ("page_size", "retry", "timeout", "clock") if name in changes}
        sizes.setdefault("clock", self.clock)
        sizes.setdefault("retry", FAST_RETRY)
        sizes.setdefault("timeout", httpx.Timeout(5.0, connect=2.0))
        connection = self.connection(**changes)
        if base_url is not None:
            connection = Connection("halopsa", base_url, connection.options, connection.secrets)
        return HaloPsaClient.from_connection(connection, today=lambda: self.world.today,
                                             transport=RecordingTransport(self.sent), **sizes)

    def requests(self, method: str | None = None, path_end: str = "") -> list[httpx.Request]:
        return [r for r in self.sent if (method is None or r.method == method)
                and r.url.path.lower().endswith(path_end.lower())]

    def writes(self) -> list[tuple]:
        return [(w.service_id, w.before, w.after, w.key) for w in self.world.write_log if w.system == "halopsa"]
