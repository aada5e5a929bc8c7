"""What one call to the Autotask simulator carries: the app's state, the resolved route, paging cursors."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.sandbox.autotask_entities import Entity
from bot.sandbox.autotask_limits import AutotaskLimits, RequestMeter
from bot.sandbox.autotask_query import QuerySpec
from bot.sandbox.world import SandboxWorld

CURSOR_CAPACITY = 10_000


@dataclass(frozen=True)
class Cursor:
    entity: str
    spec: QuerySpec
    after: int | None = None
    before: int | None = None


@dataclass
class AutotaskState:
    world: SandboxWorld
    limits: AutotaskLimits
    drop_unknown_operators: bool = False
    meter: RequestMeter = field(init=False)
    cursors: OrderedDict[str, Cursor] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.meter = RequestMeter(self.limits)

    def remember(self, cursor: Cursor) -> str:
        token = secrets.token_urlsafe(18)
        self.cursors[token] = cursor
        while len(self.cursors) > CURSOR_CAPACITY:
            self.cursors.popitem(last=False)
        return token


STATE = web.AppKey("autotask_state", AutotaskState)


@dataclass
class Call:
    request: web.Request
    state: AutotaskState
    base_url: str  # ".../ATServicesRest" of the zone the call came to
    entity: Entity | None = None
    parent_id: int | None = None
    record_id: int | None = None

    @property
    def world(self) -> SandboxWorld:
        return self.state.world

    @property
    def target(self) -> Entity:
        """The entity the route named (always set once `_resolve` has accepted the route)."""
        if self.entity is None:
            raise RuntimeError("no entity resolved for this call")
        return self.entity


Handler = Callable[[Call], Awaitable[web.Response]]


def autotask_error(status: int, message: str) -> web.Response:
    return web.json_response({"errors": [message]}, status=status)
