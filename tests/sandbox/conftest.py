"""Shared fixtures for the sandbox tests."""

from __future__ import annotations

from datetime import date

import pytest

from bot.sandbox.generator import generate_world
from bot.sandbox.world import SandboxWorld

SMALL_WORLD_TODAY = date(2026, 11, 16)


@pytest.fixture
def small_world() -> SandboxWorld:
    """A fresh small MSP (about 50 customers), the same for every test: seed 1, today 2026-11-16."""
    return generate_world(seed=1, scale="small", today=SMALL_WORLD_TODAY)
