"""What a process keeps in memory between requests is kept per tenant too."""

from __future__ import annotations

from bot.db.engine import session_factory
from bot.db.tenancy import tenant_scope
from bot.services.relations import suggestion_cache


async def test_the_suggestion_cache_is_one_per_tenant(engine):
    sessions = session_factory(engine)
    with tenant_scope(1):
        first = suggestion_cache(sessions)
        assert suggestion_cache(sessions) is first
    with tenant_scope(2):
        assert suggestion_cache(sessions) is not first
