"""Two tenants: A (the data a report shows) and B (an MSP of its own, whose reads must find none of A's)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.db.engine import session_factory
from bot.db.tenancy import DEFAULT_TENANT_ID, ensure_tenant, tenant_scope
from tests.reports.dataset import build_dataset

TEAM_B = "TBRAVO0001"


@dataclass(frozen=True)
class Tenants:
    a: int
    b: int


@pytest.fixture
async def tenants(engine) -> Tenants:
    """A is the default tenant holding the reports' dataset; B is a workspace that installed, with no rows."""
    sessions = session_factory(engine)
    async with sessions() as session:
        b = await ensure_tenant(session, team_id=TEAM_B, enterprise_id=None, is_enterprise_install=False)
        await session.commit()
    with tenant_scope(DEFAULT_TENANT_ID):
        async with sessions() as session:
            await build_dataset(session)
            await session.commit()
    return Tenants(a=DEFAULT_TENANT_ID, b=b)
