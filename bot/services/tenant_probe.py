"""Does any read path show a tenant another tenant's rows? `probe_cross_tenant_reads` counts them; the demo's
verdict prints the count (`cross_tenant_reads`) and the isolation suite (tests/tenancy/) wants 0.

Two probes, both through the sessions the application uses (`bot.db.tenant_filter`):
- each active tenant reads every tenant-owned table through the ORM, and on PostgreSQL through raw SQL too (row
  security covers statements the ORM never sees); every row it gets that carries another tenant's id counts;
- a tenant that owns nothing runs the screen-shaped read paths (every report, App Home's numbers, bulk
  relations, link suggestions, the links export, undelivered messages, the configuration): any row they give it
  is another tenant's. Its transactions are rolled back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Base, Tenant, TenantOwned
from bot.db.tenancy import active_tenant_ids, tenant_scope
from bot.keys import SecretBox
from bot.reports.catalogue import MONTHLY, REPORTS, parse_filters, run_report
from bot.services.configuration import load_configuration
from bot.services.dashboard import home_dashboard, undelivered_messages
from bot.services.links_transfer import export_rows
from bot.services.relations import relations_page, suggested_relations


async def probe_cross_tenant_reads(*, sessions: async_sessionmaker[AsyncSession], box: SecretBox,
                                   now: datetime) -> int:
    """The number of rows some read path showed a tenant that belong to another (0 when isolation holds)."""
    async with sessions() as session:
        tenants = await active_tenant_ids(session)
        nobody = (await session.scalar(select(func.max(Tenant.id))) or 0) + 1
    seen = 0
    for tenant_id in tenants:
        with tenant_scope(tenant_id):
            seen += await _foreign_rows(sessions, tenant_id)
    with tenant_scope(nobody):
        seen += await _rows_shown_to_nobody(sessions, box, now)
    return seen


def _owned_models() -> list[type[TenantOwned]]:
    return sorted((mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, TenantOwned)),
                  key=lambda model: model.__tablename__)


async def _foreign_rows(sessions: async_sessionmaker[AsyncSession], tenant_id: int) -> int:
    seen = 0
    async with sessions() as session:
        for model in _owned_models():
            seen += sum(1 for row in await session.scalars(select(model)) if row.tenant_id != tenant_id)
            if session.get_bind().dialect.name == "postgresql":
                seen += await session.scalar(text(f"SELECT count(*) FROM {model.__tablename__} "
                                                  "WHERE tenant_id <> :tenant"), {"tenant": tenant_id})
        await session.rollback()
    return seen


async def _rows_shown_to_nobody(sessions: async_sessionmaker[AsyncSession], box: SecretBox, now: datetime) -> int:
    seen = 0
    async with sessions() as session:
        for name in REPORTS:
            pairs = [("month", now.strftime("%Y-%m"))] if name in MONTHLY else []
            report = await run_report(name, session=session, filters=parse_filters(pairs, today=now.date()))
            seen += sum([1 async for _ in report.rows])
        dashboard = await home_dashboard(session=session, now=now)
        seen += (dashboard.linked_resources + dashboard.unlinked_resources + dashboard.unlinked_subscriptions
                 + dashboard.failures_pending + dashboard.needs_action + dashboard.awaiting_approval
                 + (dashboard.last_sync is not None))
        relations, total = await relations_page(session=session, offset=0, limit=1000)
        seen += len(relations) + total
        seen += len(await suggested_relations(session=session))
        seen += len(await export_rows(session=session))
        seen += len(await undelivered_messages(session=session, limit=1000))
        seen += len((await load_configuration(session=session, box=box)).connections)
        await session.rollback()
    return seen
