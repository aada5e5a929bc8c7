"""Connector health alerts: one Slack alert when a connector has failed or gone stale for longer than
`AppSettings.connector_stale_minutes`, and one "recovered" update of that same message when it is back.

A scheduled job (`post_health_alerts`) asks bot.db.connector_health.health_changes what changed and
keeps one message per system (key "health:<system>"). When Slack refuses the message, the health row
is put back as it was, so the next run tries again instead of the alert being lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings
from bot.db.connector_health import HealthChange, health_changes, mark_alerted
from bot.db.models import ConnectorState
from bot.notify.kept_messages import KeptMessage, keep_message
from bot.slack.blocks import context, message_blocks, section
from bot.slack.mrkdwn import mrkdwn_escape

log = logging.getLogger(__name__)


def health_key(system: str) -> str:
    return f"health:{system}"


def _minutes(since: datetime | None, now: datetime) -> str:
    minutes = int((now - since).total_seconds() // 60) if since else 0
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def alert_text(change: HealthChange, *, now: datetime) -> str:
    name = VENDORS.label(change.system)
    diagnosis = mrkdwn_escape(change.last_error or "no error was recorded")  # vendor text: an HTML page, names
    if change.recovered:
        return f"{name} has recovered: SeatSync reached it again at {now:%Y-%m-%d %H:%M} UTC."
    if change.last_success_at is None:
        return f"{name} has never been reached: {diagnosis}"
    if change.state is ConnectorState.stale:
        return (f"{name} has not been reached for {_minutes(change.last_success_at, now)} "
                f"(last success {change.last_success_at:%Y-%m-%d %H:%M} UTC): is the sync running?")
    return f"{name} has failed for {_minutes(change.last_success_at, now)}: {diagnosis}"


def alert_blocks(change: HealthChange, *, now: datetime) -> list[dict]:
    icon = "✅" if change.recovered else "🔴"
    blocks = [section(f"{icon} {alert_text(change, now=now)}")]
    if not change.recovered:
        blocks.append(context("Changes wait in the outbox meanwhile; nothing is lost. This message turns green "
                              "when the connection works again. Check it with `/seats config`."))
    return message_blocks(blocks)


async def post_health_alerts(
    *, sessions: async_sessionmaker[AsyncSession], client: AsyncWebClient, now: datetime,
) -> list[KeptMessage]:
    async with sessions() as session:
        settings = await load_app_settings(session=session)
        if not settings.alerts_channel:
            return []  # nothing could be said; the changes are not marked said either
        changes = await health_changes(session=session, now=now,
                                       stale_after=timedelta(minutes=settings.connector_stale_minutes))
        await session.commit()  # before Slack: another session writes the kept message
    sent: list[KeptMessage] = []
    for change in changes:
        kept = await keep_message(sessions=sessions, client=client, key=health_key(change.system),
                                  channel=settings.alerts_channel, text=alert_text(change, now=now),
                                  blocks=alert_blocks(change, now=now), resolved=change.recovered,
                                  payload={"state": change.state.value, "recovered": change.recovered})
        if kept is not None and kept.error is None:
            sent.append(kept)
            continue
        if kept is not None:  # Slack refused it: say it again on the next run
            async with sessions() as session:
                await mark_alerted(session=session, system=change.system, alerted=change.recovered)
                await session.commit()
    return sent
