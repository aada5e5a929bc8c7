"""A seeded, realistic MSP for the simulators, and the "a day passes" mutator.

`generate_world(seed=, scale=, today=)` is deterministic: everything comes from `random.Random(seed)`
and the `today` given, never from the global generator or the real clock, so the same seed gives the
same ids, names, counts and timestamps. `small` is about 50 customers; `large` is 2,000 customers and
about 10,000 subscription lines, built in well under a second.

The marketplace half is built by `bot.sandbox.marketplace_seed`, the PSA half (Autotask and
ConnectWise both, for the same MSP) by `bot.sandbox.psa_seed` and its HaloPSA side by
`bot.sandbox.halopsa.seed`, the MSP's Pax8 book (and, on request, what the PSAs bill for it) by
`bot.sandbox.pax8.book_seed`, the Autotask service bundles some customers' Microsoft 365 seats are sold as by
`bot.sandbox.autotask_bundle_seed`, and `advance_day` lives in `bot.sandbox.day_passes`; this module is the
one entry point the sandbox app and tests use.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Literal

from bot.sandbox.autotask_bundle_seed import plant_bundles
from bot.sandbox.day_passes import DayReport, advance_day
from bot.sandbox.halopsa.seed import seed_halopsa
from bot.sandbox.marketplace_seed import build_customers, build_products
from bot.sandbox.pax8.book_seed import build_book
from bot.sandbox.psa_seed import seed_psa
from bot.sandbox.world import Credentials, SandboxWorld

Scale = Literal["small", "large"]
CUSTOMERS_PER_SCALE: dict[str, int] = {"small": 50, "large": 2000}

__all__ = ["CUSTOMERS_PER_SCALE", "DayReport", "Scale", "advance_day", "generate_world"]


def generate_world(*, seed: int, scale: Scale, today: date, bill_pax8_in_psas: bool = False) -> SandboxWorld:
    """The world of `seed`; `bill_pax8_in_psas` also has the PSAs bill the MSP's Pax8 seats (new PSA
    contracts and services after the others, see bot.sandbox.pax8.psa_billing)."""
    if scale not in CUSTOMERS_PER_SCALE:
        raise ValueError(f"unknown scale {scale!r}; choose small or large")
    rng = random.Random(seed)
    world = SandboxWorld(seed=seed, today=today, credentials=Credentials.for_seed(seed))
    build_products(world, rng)
    profiles = build_customers(world, rng, CUSTOMERS_PER_SCALE[scale])
    seed_psa(world, rng, profiles)
    seed_halopsa(world, profiles)  # its own seeded generator: the other PSAs are the same with or without it
    world.credentials.odin_sample_account = _sample_account(world)
    # last, from streams of its own: the rest is the same with or without Pax8
    build_book(world, profiles, billed_in_psas=bill_pax8_in_psas)
    plant_bundles(world)  # its own stream too: Autotask records only
    return world


def _sample_account(world: SandboxWorld) -> int:
    """The first customer with an active subscription: the Odin example `--print-config` offers."""
    for sub in world.subscriptions.values():
        if sub.status == "active":
            return sub.account_id
    return next(iter(world.customers))
