"""*Retry now* on a failure alert, and the checklist's retry: the failed changes posted at once.

Behind `billing_team_only`. The changes go through the engine's outbox, ignoring their back-off; then the
failure alerts are brought up to date (`bot.notify.failure_alerts`) before the answer, which says how many
posted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.failure_alerts import refresh_failure_alerts
from bot.slack.engines import engine_or_reason
from bot.slack.guards import billing_team_only
from bot.slack.ids import AlertId
from bot.slack.inbound import from_a_message
from bot.slack.mrkdwn import mrkdwn_escape
from bot.sync.failure_causes import failure_causes
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)


def register_alert_actions(app: AsyncApp) -> None:
    app.action(AlertId.RETRY_NOW.value, matchers=[from_a_message], middleware=[billing_team_only])(retry_now)
    app.action(AlertId.OPEN_FAILURE_LOG.value)(_ack_only)


async def _ack_only(ack: AsyncAck) -> None:
    await ack()


async def retry_now(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                    app_context: AppContext) -> None:
    """*Retry now* on a failure alert (behind `billing_team_only`): that cause's changes."""
    await ack()
    user_id = body["user"]["id"]
    cause_key = str(body["actions"][0].get("value") or "")
    await retry_failures(app_context=app_context, client=client, user_id=user_id, respond=respond,
                         cause_key=cause_key)


async def retry_failures(*, app_context: AppContext, client: AsyncWebClient, user_id: str, respond: AsyncRespond,
                         cause_key: str | None) -> bool:
    """Post one cause's failed adjustments (or every failed one) now, through the engine, then bring the alerts
    up to date (the billing team only: the buttons that ask are behind `billing_team_only`). Returns whether
    anything was tried."""

    async def tell(text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async with app_context.sessions() as session:
        causes = await failure_causes(session=session)
    ids = [a.id for c in causes if cause_key is None or c.key == cause_key for a in c.adjustments]
    if not ids:
        await refresh_failure_alerts(app_context=app_context, client=client)
        await tell("Nothing is failing for this reason any more.")
        return False
    engine = await engine_or_reason(app_context)
    if isinstance(engine, NotConfigured):
        await tell(f"Cannot retry yet: {mrkdwn_escape(engine.reason)}.")
        return False
    await tell(f"Retrying {len(ids)} change{'s' if len(ids) != 1 else ''} now…")
    try:
        report = await engine.post_outbox(ignore_backoff=True, only_ids=ids)
    except Exception:
        log.exception("a retry asked for by %s failed", user_id)
        await tell("The retry failed unexpectedly; the details are in SeatSync's log.")
        return True
    await refresh_failure_alerts(app_context=app_context, client=client)  # before the answer: it is the last word
    done = report.posted + report.confirmed + report.not_needed
    if report.read_error:
        await tell(f"Nothing was posted: the PSA could not be read ({mrkdwn_escape(report.read_error)}).")
    else:
        await tell(f"Posted {done} of {len(ids)}; {report.failed} still failing.")
    return True
