"""GET /metrics in Prometheus text format.

Each scrape reads the database once (counts, not rows; see bot.services.service_status) and the live engines' API
call counters, then renders them through a collector registered in a registry of its own, never the process-global
one, so nothing is left behind between scrapes or between app instances in tests.

Counts from the database are the same whichever instance is scraped; API calls are this process's
(counted by the connectors since the engine was built, so they reset when the configuration changes,
which Prometheus handles as a counter reset).

With a tenant per workspace (multi-workspace mode) each tenant's series carry a `tenant` label (its id, never its
name), each read in that tenant's own scope; they are served to the operator's token only (web/operator.py), and
without it the scrape has the install-wide series alone (`seatsync_database_up`, `seatsync_tenants{status}`). The
single-workspace install keeps its unlabelled series, open unless an operator token is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.app_context import AppContext
from bot.connectors.http import CallStats
from bot.db.models import AdjustmentStatus
from bot.db.tenancy import DEFAULT_TENANT_ID
from bot.services.service_status import ServiceStatus, service_status, statuses_by_tenant, tenant_counts
from bot.sync.engine import SyncEngine
from web import CONTEXT
from web.operator import is_operator, operator_token_set, refuse

log = logging.getLogger(__name__)


@dataclass
class MetricsSnapshot:
    now: datetime
    database_up: bool = False
    # by tenant id; the key None is the single-workspace install's tenant, whose series carry no tenant label
    statuses: dict[int | None, ServiceStatus] = field(default_factory=dict)
    api_calls: dict[int | None, dict[str, CallStats]] = field(default_factory=dict)  # by tenant, then system
    tenants: dict[str, int] | None = None  # tenants by state, with a tenant per workspace


class SeatSyncCollector(Collector):
    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self.snapshot = snapshot

    def describe(self) -> list[Metric]:
        return []  # families vary with the data; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        yield GaugeMetricFamily("seatsync_database_up", "1 when the database answered this scrape",
                                value=1 if snapshot.database_up else 0)
        if snapshot.tenants is not None:
            tenants = GaugeMetricFamily("seatsync_tenants", "Tenants (installed workspaces), by state",
                                        labels=["status"])
            for name, count in snapshot.tenants.items():
                tenants.add_metric([name], count)
            yield tenants
        yield from self._api_calls()
        if not snapshot.database_up or not snapshot.statuses:
            return
        labelled = None not in snapshot.statuses
        tenant = ["tenant"] if labelled else []

        def family(kind, name: str, documentation: str, labels: tuple[str, ...] = ()):
            return kind(name, documentation, labels=[*tenant, *labels])

        cycles = family(CounterMetricFamily, "seatsync_sync_cycles", "Sync cycles run, by outcome", ("status",))
        adjustments = family(GaugeMetricFamily, "seatsync_adjustments", "Adjustments in the outbox, by status",
                             ("status",))
        posted = family(CounterMetricFamily, "seatsync_adjustments_posted",
                        "Adjustments posted to the PSA and confirmed")
        failed = family(GaugeMetricFamily, "seatsync_adjustments_failed",
                        "Adjustments whose last attempt failed (retried)")
        needs_action = family(GaugeMetricFamily, "seatsync_adjustments_needs_action",
                              "Failed adjustments the PSA refused for good: a person must fix the cause")
        age = family(GaugeMetricFamily, "seatsync_last_successful_sync_age_seconds",
                     "Seconds since the last sync cycle that read the marketplace finished")
        up = family(GaugeMetricFamily, "seatsync_connector_up",
                    "1 while a connector's last attempt succeeded and it is not stale", ("system",))
        for tenant_id, status in snapshot.statuses.items():
            key = [str(tenant_id)] if labelled else []
            for name, count in status.runs_by_status.items():
                cycles.add_metric([*key, name], count)
            for name, count in status.adjustments_by_status.items():
                adjustments.add_metric([*key, name], count)
            posted.add_metric(key, status.adjustments_by_status.get(AdjustmentStatus.posted.value, 0))
            failed.add_metric(key, status.pending_failures)
            needs_action.add_metric(key, status.needs_action)
            if status.last_sync is not None:
                age.add_metric(key, max((snapshot.now - status.last_sync.finished_at).total_seconds(), 0.0))
            for connector in status.connectors:
                up.add_metric([*key, connector.system], 1 if connector.up else 0)
        yield from (cycles, adjustments, posted, failed, needs_action)
        if age.samples:
            yield age
        yield up

    def _api_calls(self) -> Iterator[Metric]:
        labelled = None not in self.snapshot.api_calls
        tenant = ["tenant"] if labelled else []
        calls = CounterMetricFamily("seatsync_api_calls", "Vendor API calls made by this process",
                                    labels=[*tenant, "system"])
        retries = CounterMetricFamily("seatsync_api_retries", "Vendor API calls retried by this process",
                                      labels=[*tenant, "system"])
        for tenant_id, by_system in self.snapshot.api_calls.items():
            key = [str(tenant_id)] if labelled else []
            for system, stats in sorted(by_system.items()):
                calls.add_metric([*key, system], stats.total)
                retries.add_metric([*key, system], stats.retries)
        yield calls
        yield retries


async def read_snapshot(context: AppContext, *, per_tenant: bool) -> MetricsSnapshot:
    """The install's figures; each tenant's too with `per_tenant` (a tenant per workspace and the operator's
    token), or the single-workspace install's unlabelled ones."""
    now = context.clock()
    snapshot = MetricsSnapshot(now=now)
    try:
        if context.tenant_per_workspace:
            async with context.sessions() as session:
                snapshot.tenants = await tenant_counts(session)
            if per_tenant:
                snapshot.statuses = dict(await statuses_by_tenant(context.sessions, now=now))
        else:
            async with context.sessions() as session:
                snapshot.statuses = {None: await service_status(session=session, now=now)}
    except Exception as exc:  # a scrape reports the outage (seatsync_database_up 0) rather than failing
        log.warning("metrics: the database could not be read: %s", type(exc).__name__)
        return snapshot
    snapshot.database_up = True
    if not context.tenant_per_workspace:
        engine = await _single_engine(context)
        if isinstance(engine, SyncEngine):
            snapshot.api_calls = {None: _calls_of(engine)}
    elif per_tenant:
        # the engines in use, never new ones: a scrape must not build connectors (nor pay for the settings check)
        snapshot.api_calls = {tenant_id: _calls_of(engine) for tenant_id in snapshot.statuses
                              if isinstance(engine := context.engines.cached(tenant_id), SyncEngine)}
    return snapshot


async def _single_engine(context: AppContext):
    if context.engine_source is None:
        return context.engines.cached(DEFAULT_TENANT_ID)
    try:
        return await context.engine_source()
    except Exception as exc:
        log.warning("metrics: no engine to count API calls from: %s", type(exc).__name__)
        return None


def _calls_of(engine: SyncEngine) -> dict[str, CallStats]:
    return {**{m.system: m.stats for m in engine.marketplaces}, engine.psa.system: engine.psa.stats}


def render(snapshot: MetricsSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SeatSyncCollector(snapshot))
    return generate_latest(registry)


async def metrics(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    operator = is_operator(request)
    if not operator and "Authorization" in request.headers:
        return refuse(request)  # a wrong token is said, not answered with fewer series
    if operator_token_set(request) and not operator and not context.tenant_per_workspace:
        return refuse(request)  # the single workspace's figures, closed once the operator set a token
    snapshot = await read_snapshot(context, per_tenant=operator)
    return web.Response(body=render(snapshot), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                        "Cache-Control": "no-store"})
