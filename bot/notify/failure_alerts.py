"""Failure alerts: one message per failure cause in the alerts channel, kept up to date, turned green.

After the outbox passes (a job every minute; on the job queue and with a tenant per workspace, only while a
failure or an open alert is there: bot.sync.minute_work) and right after a sync from Slack, `post_failure_alerts`
groups the failed adjustments by cause (`bot.sync.failure_causes`) and keeps one message per cause
(`bot.notify.kept_messages`): the company, resource and change of each, the PSA's message in plain
words, *Retry now* (billing team: posts those adjustments at once; its listener is
`bot.commands.sync.retry`) and *Open failure log* (a signed link). A repeat updates the message only when
what it shows changed; once every adjustment of the cause has posted, the message turns green ("✅ Posted
after N attempts").

Slack's refusals (not_in_channel, channel_not_found, invalid_auth, rate limits beyond the client's
retries) are stored on the kept message for App Home and never raised; with no alerts channel set,
the pass says so once in the log and does nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.connectors.registry import VENDORS
from bot.db.app_settings import load_app_settings
from bot.db.models import AdjustmentStatus
from bot.db.tenancy import current_tenant_id
from bot.notify.kept_messages import keep_message, open_kept_messages
from bot.slack.blocks import button, buttons, context, link_button, message_blocks, section
from bot.slack.ids import AlertId
from bot.slack.mrkdwn import mrkdwn_escape
from bot.slack.report_links import signed_links
from bot.sync.failure_causes import (
    KEY_PREFIX,
    SETTLED,
    AdjustmentOutcome,
    FailureCause,
    adjustment_outcomes,
    failure_causes,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.app_context import AppContext

log = logging.getLogger(__name__)

MAX_LINES = 10


@dataclass
class AlertPass:
    posted: int = 0
    updated: int = 0
    unchanged: int = 0
    resolved: int = 0
    undelivered: list[str] = field(default_factory=list)  # Slack's error per alert it refused
    skipped: str | None = None


class _AlertState:
    """Per application and tenant: one pass at a time (two would post two messages for a new cause), and the
    missing-channel notice logged once."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.told_no_channel = False


_STATES: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], dict[int, _AlertState]] = (
    weakref.WeakKeyDictionary())


def _state(app_context: AppContext) -> _AlertState:
    return _STATES.setdefault(app_context.sessions, {}).setdefault(current_tenant_id(), _AlertState())


def psa_name(psa: str) -> str:
    return VENDORS.label(psa)


def _signed(delta: int) -> str:
    return f"+{delta}" if delta > 0 else str(delta)


async def post_failure_alerts(*, app_context: AppContext, client: AsyncWebClient) -> AlertPass:
    state = _state(app_context)
    async with state.lock:
        async with app_context.sessions() as session:
            settings = await load_app_settings(session=session)
            causes = await failure_causes(session=session)
            open_alerts = {m.key: m for m in await open_kept_messages(session=session, prefix=KEY_PREFIX)}
            gone = [m for key, m in open_alerts.items() if key not in {c.key for c in causes}]
            outcomes = {o.id: o for o in await adjustment_outcomes(
                session=session, ids=sorted({i for m in gone for i in m.payload.get("ids", [])}))}
        channel = settings.alerts_channel
        if not channel:
            if (causes or gone) and not state.told_no_channel:
                log.warning("%d failure causes to report, but no alerts channel is set (/seats config)", len(causes))
                state.told_no_channel = True
            return AlertPass(skipped="no alerts channel is set")
        state.told_no_channel = False
        result = AlertPass()
        now = app_context.clock()
        for cause in causes:
            fingerprint = _fingerprint(cause, today=now.date().isoformat())
            existing = open_alerts.get(cause.key)
            if (existing is not None and existing.channel == channel and existing.ts and existing.last_error is None
                    and existing.payload.get("fingerprint") == fingerprint):
                result.unchanged += 1
                continue
            link = signed_links(app_context, name="failures", days=settings.report_link_days, now=now,
                                filters={"date_from": cause.first_recorded_on.isoformat()})["html"]
            kept = await keep_message(
                sessions=app_context.sessions, client=client, key=cause.key, channel=channel,
                text=alert_text(cause), blocks=alert_blocks(cause, failure_log_url=link),
                payload={"ids": [a.id for a in cause.adjustments], "fingerprint": fingerprint, "psa": cause.psa})
            _count(result, kept, new=existing is None or existing.ts is None)
        for alert in gone:
            group = [outcomes[i] for i in alert.payload.get("ids", []) if i in outcomes]
            if any(o.status not in SETTLED and o.status is not AdjustmentStatus.failed for o in group):
                continue  # being posted right now: the next pass tells
            kept = await keep_message(sessions=app_context.sessions, client=client, key=alert.key,
                                      channel=alert.channel, text=resolved_text(group),
                                      blocks=resolved_blocks(group, psa=alert.payload.get("psa", "")),
                                      resolved=True)
            if kept is not None and kept.error is None:
                result.resolved += 1
            elif kept is not None:
                result.undelivered.append(kept.error or "")
        return result


async def refresh_failure_alerts(*, app_context: AppContext, client: AsyncWebClient | None = None) -> None:
    """The alert pass where it must not disturb its caller (a job, a sync from Slack): errors are logged."""
    client = client or (app_context.bolt.client if app_context.bolt is not None else None)
    if client is None:
        return
    try:
        await post_failure_alerts(app_context=app_context, client=client)
    except Exception:
        log.exception("the failure alerts could not be brought up to date")


def _count(result: AlertPass, kept: Any, *, new: bool) -> None:
    if kept is None:
        return
    if kept.error is not None:
        result.undelivered.append(kept.error)
    elif kept.posted_new:
        result.posted += 1
    else:
        result.updated += 1


def _fingerprint(cause: FailureCause, *, today: str) -> str:
    """What the alert shows; the day is in it so the message's signed link is renewed daily."""
    shown = [cause.message, today, [(a.id, a.attempts, a.delta, a.needs_action) for a in cause.adjustments]]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:32]


def alert_text(cause: FailureCause) -> str:
    count = len(cause.adjustments)
    return (f"{psa_name(cause.psa)} could not take {count} change{'s' if count != 1 else ''}: "
            f"{mrkdwn_escape(cause.message)}")


def alert_blocks(cause: FailureCause, *, failure_log_url: str) -> list[dict[str, Any]]:
    count = len(cause.adjustments)
    headline = (f":red_circle: *{psa_name(cause.psa)} could not take "
                f"{'this change' if count == 1 else f'{count} changes'}*")
    lines = [f"• *{mrkdwn_escape(a.company)}* · {mrkdwn_escape(a.resource)}: {_signed(a.delta)} "
             f"({a.units_from} → {a.units_to}) · {a.attempts} attempt{'s' if a.attempts != 1 else ''}"
             for a in cause.adjustments[:MAX_LINES]]
    if count > MAX_LINES:
        lines.append(f"… and {count - MAX_LINES} more (see the failure log)")
    why = "\n".join(f"> {mrkdwn_escape(line)}" for line in cause.message.splitlines() or [""])
    if cause.needs_action:
        note = "Someone has to fix the cause; SeatSync keeps retrying hourly and posts as soon as it can."
    else:
        note = "SeatSync retries by itself, waiting a little longer each time."
    return message_blocks([
        section(f"{headline}\n{why}\n" + "\n".join(lines), block_id=AlertId.SUMMARY_BLOCK),
        buttons([button("Retry now", AlertId.RETRY_NOW, value=cause.key, primary=True),
                 link_button("Open failure log", AlertId.OPEN_FAILURE_LOG, failure_log_url)],
                block_id=AlertId.ACTIONS_BLOCK),
        context(note),
    ])


def resolved_text(group: list[AdjustmentOutcome]) -> str:
    posted = [o for o in group if o.status is AdjustmentStatus.posted]
    if group and len(posted) == len(group):
        return f"Posted after {max(o.attempts for o in group)} attempts"
    return "No longer failing for this reason"


def resolved_blocks(group: list[AdjustmentOutcome], *, psa: str) -> list[dict[str, Any]]:
    posted = [o for o in group if o.status is AdjustmentStatus.posted]
    still_failing = [o for o in group if o.status is AdjustmentStatus.failed]
    if group and len(posted) == len(group):
        attempts = max(o.attempts for o in group)
        headline = f":white_check_mark: *Posted after {attempts} attempt{'s' if attempts != 1 else ''}*"
    else:
        parts = [f"{len(posted)} posted"] if posted else []
        if len(group) - len(posted) - len(still_failing):
            parts.append(f"{len(group) - len(posted) - len(still_failing)} no longer needed")
        if still_failing:
            parts.append(f"{len(still_failing)} now failing for another reason (see that alert)")
        headline = ":white_check_mark: *No longer failing for this reason*" + (f": {', '.join(parts)}" if parts
                                                                              else "")
    lines = [f"• *{mrkdwn_escape(o.company)}* · {mrkdwn_escape(o.resource)}: {_signed(o.delta)} "
             f"({o.status.value})" for o in group[:MAX_LINES]]
    blocks = [section(headline + ("\n" + "\n".join(lines) if lines else ""), block_id=AlertId.SUMMARY_BLOCK)]
    if psa:
        blocks.append(context(f"{psa_name(psa)} took the change{'s' if len(posted) != 1 else ''}; nothing to do."
                              if posted and len(posted) == len(group) else "Nothing left to do for this alert."))
    return message_blocks(blocks)
