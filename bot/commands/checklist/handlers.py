"""`/seats checklist`, the scheduled month-end checklist and the daily digest, as Slack messages.

The checklist is the four steps a billing team works through before invoicing, each with its live
status and a button: (1) unlinked subscriptions (open the report), (2) PSA companies/contracts to
create (bulk relations), (3) link and confirm (linked report; adjustments since the month began),
(4) failures still pending, which must be zero (retry them: billing team only), and (5) the preview:
exactly what SeatSync will post (or hold, or would post at the next sync), written nowhere.

Scheduled, it is kept as one message per month in the checklist channel (key "checklist:YYYY-MM"),
so a re-run updates it; the daily digest is kept per day in the alerts channel. Anyone may ask for the
checklist; it posts in the channel, or ephemerally where the bot is not a member.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.relations.handlers import open_relations
from bot.commands.sync.retry import retry_failures
from bot.db.app_settings import AppSettings, load_app_settings
from bot.domain.proration import business_date
from bot.notify.kept_messages import KeptMessage, keep_message
from bot.slack.blocks import (
    button,
    context,
    header,
    link_button,
    message_blocks,
    mrkdwn,
    truncate,
)
from bot.slack.guards import billing_team_only
from bot.slack.ids import ActionId, ChecklistId
from bot.slack.inbound import from_a_message
from bot.slack.mrkdwn import mrkdwn_escape
from bot.slack.report_links import signed_links
from bot.sync.checklist import Checklist, Digest, daily_digest, month_end_checklist
from bot.sync.preview import AWAITING_APPROVAL, RETRYING, PostingPreview, PreviewRow, posting_preview

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

OK, WARN = "✅", "⚠️"
EXAMPLES = 5


def _section(markdown: str, *, block_id: str, accessory: Any) -> SectionBlock:
    return SectionBlock(text=mrkdwn(markdown), block_id=block_id,
                        accessory=accessory)


def _examples(names: list[str]) -> str:
    return "".join(f"\n   • {mrkdwn_escape(truncate(name, 120))}" for name in names[:EXAMPLES])


def _preview_line(row: PreviewRow) -> str:
    amount = "" if row.prorated_amount is None else f", prorated {row.prorated_amount:,.2f}"
    note = f" ({mrkdwn_escape(truncate(row.note, 80))})" if row.note else ""
    return (f"\n   • {mrkdwn_escape(truncate(row.company, 40))} · {mrkdwn_escape(truncate(row.service, 50))}: "
            f"{row.units_from} → {row.units_to} on {row.effective_date.isoformat()}{amount} — {row.state}{note}")


def preview_step(preview: PostingPreview) -> str:
    if not preview.rows:
        return f"{OK} *5. What will be posted*: nothing is waiting to be posted"
    states: dict[str, int] = {}
    for row in preview.rows:
        states[row.state] = states.get(row.state, 0) + 1
    counts = ", ".join(f"{count} {state}" for state, count in states.items())
    blocked = preview.count(AWAITING_APPROVAL) or preview.count(RETRYING)
    shown = "".join(_preview_line(row) for row in preview.rows[:EXAMPLES])
    more = f"\n   … and {len(preview.rows) - EXAMPLES} more" if len(preview.rows) > EXAMPLES else ""
    changes = "change" if len(preview.rows) == 1 else "changes"
    return (f"{WARN if blocked else OK} *5. What will be posted*: *{len(preview.rows)}* {changes} ({counts}); "
            f"prorated total {preview.prorated_total:,.2f}{shown}{more}")


def invoice_step_text(checklist: Checklist) -> str:
    step = checklist.invoice
    if step is None:
        return ""
    if not step.checked:
        return (f"{WARN} *6. Distributor invoice ({step.month:%B})*: not checked: "
                f"{mrkdwn_escape(truncate(step.reason, 200))}")
    if not step.findings:
        return f"{OK} *6. Distributor invoice ({step.month:%B})*: {step.lines} lines checked, no finding"
    money = step.totals
    return (f"{WARN} *6. Distributor invoice ({step.month:%B})*: *{step.findings}* findings in {step.lines} lines: "
            f"{money.get('under_billed', 0):,.2f} under-billed, {money.get('over_billed', 0):,.2f} over-billed, "
            f"{money.get('unlinked', 0):,.2f} unlinked, {money.get('billing_for_nothing', 0):,.2f} billed for "
            f"nothing, {money.get('under_cost', 0) + money.get('under_margin', 0):,.2f} missing on prices")


def checklist_blocks(checklist: Checklist, *, links: dict[str, str], as_of: datetime,
                     preview: PostingPreview | None = None) -> list[dict[str, Any]]:
    month = checklist.month_end.strftime("%B %Y")
    month_start = checklist.month_end.replace(day=1)
    unlinked = checklist.unlinked_subscriptions
    step1 = (f"{OK} *1. Unlinked subscriptions*: none, every live subscription is linked" if not unlinked else
             f"{WARN} *1. Unlinked subscriptions*: *{unlinked}* not linked, so not billed"
             + "".join(f" · {source} {count}" for source, count in checklist.unlinked_by_source.items())
             + _examples(checklist.unlinked_examples))
    missing = checklist.companies_without_psa
    step2 = (f"{OK} *2. PSA companies/contracts to create*: none, every company has its PSA company"
             if not missing else
             f"{WARN} *2. PSA companies/contracts to create*: *{missing}* marketplace "
             f"compan{'y has' if missing == 1 else 'ies have'} no PSA company linked"
             + _examples(checklist.company_examples))
    linked = checklist.linked_resources
    step3 = (f"{OK if linked else WARN} *3. Link and confirm*: *{linked}* resources linked; "
             f"*{checklist.adjustments_this_month}* adjustments posted since {month_start:%-d %B}: "
             f"<{links['adjustments']}|check them>")
    failures = checklist.failures_pending
    step4 = (f"{OK} *4. Failures pending*: none" if not failures else
             f"{WARN} *4. Failures pending*: *{failures}* ({checklist.needs_action} need action): must be zero "
             f"before invoicing. <{links['failures']}|Failure log>")
    preview = preview or PostingPreview()
    ready = checklist.ready_to_invoice and not preview.count(AWAITING_APPROVAL)
    verdict = (f"{OK} Ready to invoice." if ready else
               f"{WARN} Not ready to invoice yet: the steps marked {WARN} need attention.")
    return message_blocks([
        header(f"Month-end checklist: {month}"),
        _section(step1, block_id=ChecklistId.UNLINKED_BLOCK,
                 accessory=link_button("Unlinked report", ChecklistId.OPEN_UNLINKED, links["unlinked"])),
        _section(step2, block_id=ChecklistId.CREATE_BLOCK,
                 accessory=button("Link in bulk", ChecklistId.RELATIONS, value="relations")),
        _section(step3, block_id=ChecklistId.CONFIRM_BLOCK,
                 accessory=link_button("Linked report", ChecklistId.OPEN_LINKED, links["linked"])),
        _section(step4, block_id=ChecklistId.FAILURES_BLOCK,
                 accessory=button("Retry failures", ChecklistId.RETRY_FAILURES, value="retry",
                                  primary=bool(failures))),
        _section(preview_step(preview), block_id=ChecklistId.PREVIEW_BLOCK,
                 accessory=button("Dry run now", ActionId.HELP_SYNC_DRY_RUN, value="dry_run")),
        *([_section(invoice_step_text(checklist), block_id=ChecklistId.INVOICE_BLOCK,
                    accessory=link_button("Invoice check", ChecklistId.OPEN_INVOICE_CHECK, links["invoice-check"]))]
          if checklist.invoice is not None and "invoice-check" in links else []),
        context(f"{verdict} Live as of {as_of:%Y-%m-%d %H:%M} UTC; month ends {checklist.month_end}."),
    ])


def checklist_text(checklist: Checklist) -> str:
    return (f"Month-end checklist ({checklist.month_end:%B %Y}): {checklist.unlinked_subscriptions} unlinked "
            f"subscriptions, {checklist.companies_without_psa} companies without a PSA company, "
            f"{checklist.failures_pending} failures pending"
            + (" - ready to invoice" if checklist.ready_to_invoice else ""))


def checklist_links(app_context: AppContext, *, month_start: date, days: int, now: datetime) -> dict[str, str]:
    def html(name: str, filters: dict[str, str] | None = None) -> str:
        return signed_links(app_context, name=name, filters=filters, days=days, now=now)["html"]

    return {"unlinked": html("unlinked"), "linked": html("linked"),
            "adjustments": html("adjustments", {"date_from": month_start.isoformat()}),
            "failures": html("failures", {"date_from": (month_start - timedelta(days=365)).isoformat()}),
            "invoice-check": html("invoice-check", {"month": f"{month_start:%Y-%m}"})}


async def build_checklist(app_context: AppContext, *, now: datetime) -> tuple[str, list[dict[str, Any]], AppSettings,
                                                                               Checklist]:
    async with app_context.sessions() as session:
        settings = await load_app_settings(session=session)
        today = business_date(now, settings.timezone)
        checklist = await month_end_checklist(session=session, today=today)
        preview = await posting_preview(session=session, today=today, now=now)
        await session.rollback()  # the preview plans as a dry run; make sure nothing it touched is kept
    links = checklist_links(app_context, month_start=today.replace(day=1), days=settings.report_link_days, now=now)
    return (checklist_text(checklist), checklist_blocks(checklist, links=links, as_of=now, preview=preview),
            settings, checklist)


def checklist_key(month_end: date) -> str:
    return f"checklist:{month_end:%Y-%m}"


async def post_scheduled_checklist(*, app_context: AppContext, client: AsyncWebClient,
                                   now: datetime | None = None) -> KeptMessage | None:
    """The scheduler's checklist: kept per month in the checklist channel (a re-run updates it)."""
    now = now or app_context.clock()
    text, blocks, settings, checklist = await build_checklist(app_context, now=now)
    if not settings.checklist_channel:
        log.warning("the month-end checklist is due but no checklist channel is set (/seats config)")
        return None
    return await keep_message(sessions=app_context.sessions, client=client, key=checklist_key(checklist.month_end),
                              channel=settings.checklist_channel, text=text, blocks=blocks,
                              payload={"failures_pending": checklist.failures_pending,
                                       "unlinked_subscriptions": checklist.unlinked_subscriptions})


# --- the daily digest ----------------------------------------------------------------------------

def digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    last = ("no sync has finished yet" if digest.last_sync_at is None else
            f"last sync {digest.last_sync_at:%Y-%m-%d %H:%M} UTC ({digest.last_sync_status})")
    lines = [f"*{digest.adjustments_posted}* adjustments posted (+{digest.units_added} / -{digest.units_removed} "
             "units)",
             f"{WARN if digest.failures_pending else OK} *{digest.failures_pending}* failures pending",
             f"{WARN if digest.new_unlinked_subscriptions else OK} *{digest.new_unlinked_subscriptions}* new "
             "subscriptions not linked yet",
             last]
    return message_blocks([
        _section("*Daily digest*\n" + "\n".join(lines), block_id=ChecklistId.DIGEST_BLOCK, accessory=None),
        context(f"Since {digest.since:%Y-%m-%d %H:%M} UTC."),
    ])


def digest_text(digest: Digest) -> str:
    return (f"Daily digest: {digest.adjustments_posted} adjustments posted, {digest.failures_pending} failures "
            f"pending, {digest.new_unlinked_subscriptions} new unlinked subscriptions")


async def post_daily_digest(*, app_context: AppContext, client: AsyncWebClient,
                            now: datetime | None = None) -> KeptMessage | None:
    """The scheduler's digest of the last day, kept per day in the alerts channel."""
    now = now or app_context.clock()
    async with app_context.sessions() as session:
        settings = await load_app_settings(session=session)
        digest = await daily_digest(session=session, since=now - timedelta(days=1))
    if not settings.alerts_channel:
        log.warning("the daily digest is due but no alerts channel is set (/seats config)")
        return None
    today = business_date(now, settings.timezone)
    return await keep_message(sessions=app_context.sessions, client=client, key=f"digest:{today.isoformat()}",
                              channel=settings.alerts_channel, text=digest_text(digest), blocks=digest_blocks(digest))


# --- Slack listeners -----------------------------------------------------------------------------

async def checklist_command(*, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                            client: AsyncWebClient, app_context: AppContext) -> None:
    await ack()
    text, blocks, _, _ = await build_checklist(app_context, now=app_context.clock())
    try:
        await client.chat_postMessage(channel=command["channel_id"], text=text, blocks=blocks)
    except SlackApiError as exc:
        log.info("cannot post the checklist in %s (%s); answering ephemerally", command["channel_id"],
                 exc.response.get("error"))
        await respond(text=text, blocks=blocks, response_type="ephemeral")


def register_checklist_actions(app: AsyncApp) -> None:
    for action_id in (ChecklistId.OPEN_UNLINKED, ChecklistId.OPEN_LINKED, ChecklistId.OPEN_INVOICE_CHECK):
        app.action(action_id.value)(_ack_only)
    guarded = {"matchers": [from_a_message], "middleware": [billing_team_only]}
    app.action(ChecklistId.RELATIONS.value, **guarded)(relations_button)
    app.action(ChecklistId.RETRY_FAILURES.value, **guarded)(retry_failures_button)


async def _ack_only(ack: AsyncAck) -> None:
    await ack()


async def relations_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                           app_context: AppContext) -> None:
    """Step 2's button: the bulk relations dialog, as `/seats relations` opens it (behind `billing_team_only`)."""
    await ack()

    async def reply(text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    await open_relations({"user_id": body["user"]["id"], "channel_id": channel_id,
                          "trigger_id": body["trigger_id"]}, app_context=app_context, client=client, reply=reply)


async def retry_failures_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                                app_context: AppContext) -> None:
    """Step 4's button: every failed change, now (behind `billing_team_only`); then the checklist redrawn."""
    await ack()
    tried = await retry_failures(app_context=app_context, client=client, user_id=body["user"]["id"],
                                 respond=respond, cause_key=None)
    if tried:
        await _refresh_message(app_context, client=client, body=body, respond=respond)


async def _refresh_message(app_context: AppContext, *, client: AsyncWebClient, body: dict[str, Any],
                           respond: AsyncRespond) -> None:
    """The checklist the button was on, redrawn with the statuses after the retry."""
    text, blocks, _, _ = await build_checklist(app_context, now=app_context.clock())
    container = body.get("container") or {}
    try:
        if container.get("is_ephemeral"):
            await respond(text=text, blocks=blocks, replace_original=True)
        elif container.get("message_ts"):
            await client.chat_update(channel=container["channel_id"], ts=container["message_ts"], text=text,
                                     blocks=blocks)
    except SlackApiError as exc:
        log.info("cannot redraw the checklist: %s", exc.response.get("error"))
