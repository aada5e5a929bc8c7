"""One writer at a time for a part of a tenant's data, across processes, until the caller's transaction ends.

The snapshot of a marketplace and the PSA cache are stored by reading what is known, then inserting what is new.
Two cycles of one tenant storing at once (a queued poll and `seatsync sync --once`, say) would both find a company
new and the second insert would break the unique key. Whoever comes second now waits, then reads the first one's
rows. On PostgreSQL the wait is a transaction-level advisory lock, keyed by tenant and part. SQLite has one write
lock for the whole database: the first write of a transaction takes it until commit, so a no-op write comes first
and the reads after it see what the other writer committed.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Tenant
from bot.db.tenant_scope import current_tenant_id


async def one_writer_at_a_time(session: AsyncSession, part: str) -> None:
    """Call first in the transaction that reads, then writes, `part` ("marketplace:odin", "psa:autotask")."""
    tenant_id = current_tenant_id()
    if session.bind.dialect.name == "postgresql":
        key = func.hashtextextended(f"seatsync:{tenant_id}:{part}", 0)
        await session.execute(select(func.pg_advisory_xact_lock(key)))
        return
    await session.execute(update(Tenant).where(Tenant.id == tenant_id).values(status=Tenant.status)
                          .execution_options(synchronize_session=False))
