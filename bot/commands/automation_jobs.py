"""Scheduled jobs that tell the billing team in Slack: held changes to approve, margin alerts (after the
sync cycles, at the poll interval), connector health alerts. Stable ids; only the lease holder runs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from bot.commands.approval_messages import refresh_approval_messages
from bot.commands.health_alerts import post_health_alerts
from bot.commands.margin_alerts import post_margin_alerts
from bot.db.app_settings import AppSettings, load_app_settings
from bot.sync.scheduler import Job

if TYPE_CHECKING:
    from web.context import AppContext


def automation_jobs(context: AppContext, settings: AppSettings) -> list[Job]:
    if context.bolt is None:
        return []  # Slack is not configured: nobody to tell
    client = context.bolt.client

    async def approvals() -> None:
        async with context.sessions() as session:
            channel = (await load_app_settings(session=session)).alerts_channel
        await refresh_approval_messages(sessions=context.sessions, client=client, channel=channel)

    async def margins() -> None:
        await post_margin_alerts(sessions=context.sessions, client=client)

    async def health() -> None:
        await post_health_alerts(sessions=context.sessions, client=client, now=context.clock())

    return [
        Job(id="approval-messages", trigger=IntervalTrigger(minutes=1), run=approvals),
        Job(id="margin-guard", trigger=IntervalTrigger(minutes=settings.poll_minutes), run=margins),
        Job(id="health-alerts", trigger=IntervalTrigger(minutes=1), run=health),
    ]
