"""Everything the Pax8 simulator keeps beside the world's book: tokens, the call budget, webhook
configurations, deliveries and their knobs.

`Pax8Knobs` are the Pax8-only fault knobs (the common ones, latency, errors, 429 bursts, timeouts and
dropped replies, are the sandbox's `FaultKnobs` for "pax8"): how late a webhook delivery may arrive,
how often one arrives twice, the pause before a retry, how long Pax8 waits for the receiver, and how
often `draftItems` answers its documented 408.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from bot.sandbox.pax8.auth import TokenStore
from bot.sandbox.pax8.book import Pax8Book
from bot.sandbox.pax8.book_seed import PARTNER_NAME
from bot.sandbox.pax8.deliveries import Deliveries
from bot.sandbox.pax8.limits import Budget, CallBudget
from bot.sandbox.pax8.webhooks import WebhookStore
from bot.sandbox.world import SandboxWorld

Clock = Callable[[], float]


@dataclass
class Pax8Knobs:
    delivery_delay_s: float = 0.0  # each delivery waits a random 0..this before its first call (Pax8: up to 5 min)
    duplicate_rate: float = 0.0  # probability that a delivered event is sent a second time
    retry_delay_s: float = 1.0  # pause before the first retry, doubling after each (Pax8's schedule is unpublished)
    delivery_timeout_s: float = 10.0  # devx: "marked as failed if a response is not received after 10 seconds"
    draft_timeout_rate: float = 0.0  # probability that draftItems answers 408
    seed: int = 0
    _rng: random.Random = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def update(self, changes: dict) -> None:
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown Pax8 knob(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            value = int(value) if name == "seed" else float(value)
            if value < 0 or (name.endswith("_rate") and value > 1):
                raise ValueError(f"{name} is out of range")
            setattr(self, name, value)
        if "seed" in changes:
            self._rng = random.Random(self.seed)

    def reset(self) -> None:
        seed = self.seed
        for name, value in Pax8Knobs(seed=seed).as_dict().items():
            setattr(self, name, value)
        self._rng = random.Random(seed)

    def delay(self) -> float:
        return self._rng.uniform(0, self.delivery_delay_s) if self.delivery_delay_s else 0.0

    def roll_duplicate(self) -> bool:
        return self.duplicate_rate > 0 and self._rng.random() < self.duplicate_rate

    def roll_draft_timeout(self) -> bool:
        return self.draft_timeout_rate > 0 and self._rng.random() < self.draft_timeout_rate


class Pax8Simulator:
    """The state of one simulated Pax8 account around `world.pax8`."""

    def __init__(self, world: SandboxWorld, *, clock: Clock = time.time, budget: Budget | None = None,
                 token_lifetime_s: int | None = None) -> None:
        self.world = world
        self.clock = clock
        self.tokens = TokenStore(clock=clock) if token_lifetime_s is None else TokenStore(clock, token_lifetime_s)
        self.budget = CallBudget(budget or Budget(), clock)
        self.knobs = Pax8Knobs(seed=world.seed * 1000 + 88)
        self.webhooks = WebhookStore()
        self.deliveries = Deliveries(self)

    @property
    def book(self) -> Pax8Book:
        if self.world.pax8 is None:  # a hand-built world: an empty Pax8 account
            self.world.pax8 = Pax8Book(seed=self.world.seed, partner_name=PARTNER_NAME,
                                       partner_account_id="00000000-0000-4000-8000-000000000000")
        return self.world.pax8
