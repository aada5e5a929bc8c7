"""GET /metrics in Prometheus text format.

Each scrape reads the database once (counts, not rows; see bot.services.service_status) and the live engine's
API call counters, then renders them through a collector registered in a registry of its own, never
the process-global one, so nothing is left behind between scrapes or between app instances in tests.

Counts from the database are the same whichever instance is scraped; API calls are this process's
(counted by the connectors since the engine was built, so they reset when the configuration changes,
which Prometheus handles as a counter reset).
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
from bot.services.service_status import ServiceStatus, service_status
from bot.sync.engine import SyncEngine
from web import CONTEXT

log = logging.getLogger(__name__)


@dataclass
class MetricsSnapshot:
    now: datetime
    status: ServiceStatus | None  # None: the database could not be read
    api_calls: dict[str, CallStats] = field(default_factory=dict)  # by system name


class SeatSyncCollector(Collector):
    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self.snapshot = snapshot

    def describe(self) -> list[Metric]:
        return []  # families vary with the data; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        snapshot, status = self.snapshot, self.snapshot.status
        yield GaugeMetricFamily("seatsync_database_up", "1 when the database answered this scrape",
                                value=0 if status is None else 1)
        yield from self._api_calls()
        if status is None:
            return
        cycles = CounterMetricFamily("seatsync_sync_cycles", "Sync cycles run, by outcome", labels=["status"])
        for name, count in status.runs_by_status.items():
            cycles.add_metric([name], count)
        yield cycles
        adjustments = GaugeMetricFamily("seatsync_adjustments", "Adjustments in the outbox, by status",
                                        labels=["status"])
        for name, count in status.adjustments_by_status.items():
            adjustments.add_metric([name], count)
        yield adjustments
        yield CounterMetricFamily("seatsync_adjustments_posted", "Adjustments posted to the PSA and confirmed",
                                  value=status.adjustments_by_status.get(AdjustmentStatus.posted.value, 0))
        yield GaugeMetricFamily("seatsync_adjustments_failed", "Adjustments whose last attempt failed (retried)",
                                value=status.pending_failures)
        yield GaugeMetricFamily("seatsync_adjustments_needs_action",
                                "Failed adjustments the PSA refused for good: a person must fix the cause",
                                value=status.needs_action)
        if status.last_sync is not None:
            age = (snapshot.now - status.last_sync.finished_at).total_seconds()
            yield GaugeMetricFamily("seatsync_last_successful_sync_age_seconds",
                                    "Seconds since the last sync cycle that read the marketplace finished",
                                    value=max(age, 0.0))
        up = GaugeMetricFamily("seatsync_connector_up",
                               "1 while a connector's last attempt succeeded and it is not stale", labels=["system"])
        for connector in status.connectors:
            up.add_metric([connector.system], 1 if connector.up else 0)
        yield up

    def _api_calls(self) -> Iterator[Metric]:
        calls = CounterMetricFamily("seatsync_api_calls", "Vendor API calls made by this process",
                                    labels=["system"])
        retries = CounterMetricFamily("seatsync_api_retries", "Vendor API calls retried by this process",
                                      labels=["system"])
        for system, stats in sorted(self.snapshot.api_calls.items()):
            calls.add_metric([system], stats.total)
            retries.add_metric([system], stats.retries)
        yield calls
        yield retries


async def read_snapshot(context: AppContext) -> MetricsSnapshot:
    now = context.clock()
    snapshot = MetricsSnapshot(now=now, status=None)
    try:
        async with context.sessions() as session:
            snapshot.status = await service_status(session=session, now=now)
    except Exception as exc:  # a scrape reports the outage (seatsync_database_up 0) rather than failing
        log.warning("metrics: the database could not be read: %s", type(exc).__name__)
        return snapshot
    # the engine in use, never a new one: a scrape must not build connectors (nor pay for the settings check)
    if context.engine_source is not None:
        try:
            engine = await context.engine_source()
        except Exception as exc:
            log.warning("metrics: no engine to count API calls from: %s", type(exc).__name__)
            return snapshot
    else:
        engine = context.engines.current
    if isinstance(engine, SyncEngine):
        snapshot.api_calls = {**{m.system: m.stats for m in engine.marketplaces}, engine.psa.system: engine.psa.stats}
    return snapshot


def render(snapshot: MetricsSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SeatSyncCollector(snapshot))
    return generate_latest(registry)


async def metrics(request: web.Request) -> web.Response:
    snapshot = await read_snapshot(request.app[CONTEXT])
    return web.Response(body=render(snapshot), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                        "Cache-Control": "no-store"})
