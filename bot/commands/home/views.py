"""App Home as Block Kit: the dashboard (`bot.services.dashboard`) and shortcut buttons. At most ~30 blocks,
well under the Home tab's 100."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock
from slack_sdk.models.views import View

from bot.connectors.registry import VENDORS
from bot.services.dashboard import Dashboard
from bot.slack.blocks import button, buttons, context, header, mrkdwn, section, truncate
from bot.slack.ids import HomeId
from bot.slack.mrkdwn import SLACK_USER, channel_mention, mrkdwn_escape, user_mention

MAX_HOME_BLOCKS = 100
STATE_MARKS = {"ok": ":large_green_circle:", "failing": ":red_circle:", "stale": ":large_orange_circle:"}
SYNC_MARKS = {"succeeded": ":white_check_mark:", "partial": ":warning:", "failed": ":x:",
              "running": ":arrows_counterclockwise:"}
SHORTCUTS = ((HomeId.SYNC, "Sync now"), (HomeId.DRY_RUN, "Dry run"), (HomeId.CHECKLIST, "Checklist"),
             (HomeId.REPORTS, "Reports"), (HomeId.LINK, "Link"), (HomeId.CONFIG, "Config"))


def home_view(dashboard: Dashboard, *, metadata: str = "") -> dict[str, Any]:
    blocks: list[Block] = [
        header("SeatSync"),
        buttons([button(label, action_id, primary=action_id is HomeId.SYNC) for action_id, label in SHORTCUTS],
                block_id=HomeId.SHORTCUTS_BLOCK),
        SectionBlock(block_id=HomeId.COUNTS_BLOCK, fields=[
            mrkdwn(f"*Linked resources*\n{dashboard.linked_resources:,}"),
            mrkdwn(f"*Unlinked resources*\n{dashboard.unlinked_resources:,} "
                   f"in {dashboard.unlinked_subscriptions:,} subscriptions{_by_source(dashboard)}"),
            mrkdwn(f"*Pending failures*\n{dashboard.failures_pending:,} ({dashboard.needs_action:,} need action)"),
            mrkdwn(f"*Held for approval*\n{dashboard.awaiting_approval:,}"),
        ]),
        DividerBlock(),
        section(_sync_line(dashboard)),
    ]
    if dashboard.connectors:
        blocks.append(section("\n".join(_connector_line(line, dashboard.now) for line in dashboard.connectors)))
    if dashboard.top_customers:
        lines = [f"{rank}. {mrkdwn_escape(c.company)}: *{c.licences:,}* seats ({c.linked_licences:,} linked)"
                 for rank, c in enumerate(dashboard.top_customers, start=1)]
        blocks += [DividerBlock(), section("*Seats per customer (top 10)*\n" + "\n".join(lines))]
    if dashboard.undelivered:
        lines = [f"• I could not post in {channel_mention(m.channel)}: `{m.error}` ({_what(m.key)}, "  # Slack's code
                 f"{_ago(m.at, dashboard.now)})"
                 for m in dashboard.undelivered]
        blocks += [DividerBlock(), section("*Slack messages not delivered*\n" + "\n".join(lines)
                                           + "\nInvite me to the channel (`/invite @SeatSync`) or pick another "
                                             "one in `/seats config`.")]
    blocks.append(context(f"Updated {dashboard.now:%Y-%m-%d %H:%M} UTC"))
    if len(blocks) > MAX_HOME_BLOCKS:
        raise ValueError(f"the Home tab holds at most {MAX_HOME_BLOCKS} blocks, not {len(blocks)}")
    return View(type="home", blocks=blocks, private_metadata=metadata or None).to_dict()


def _by_source(dashboard: Dashboard) -> str:
    """With several marketplaces, how many unlinked resources each has."""
    if len(dashboard.marketplaces) < 2:
        return ""
    return "".join(f"\n{VENDORS.label(m)}: {dashboard.unlinked_by_source.get(m, 0):,}" for m in dashboard.marketplaces)


def _sync_line(dashboard: Dashboard) -> str:
    listed = dashboard.marketplaces or ([dashboard.marketplace] if dashboard.marketplace else [])
    sources = " + ".join(VENDORS.label(m) for m in listed) or "not chosen"
    systems = f"{sources} → {VENDORS.label(dashboard.psa) if dashboard.psa else 'not chosen'}"
    run = dashboard.last_sync
    if run is None:
        return f"*Last sync*: none yet ({systems})"
    when = _ago(run.finished_at or run.started_at, dashboard.now)
    by = user_mention(run.triggered_by) if SLACK_USER.fullmatch(run.triggered_by) else mrkdwn_escape(run.trigger)
    line = (f"*Last sync*: {SYNC_MARKS.get(run.status, '')} #{run.run_id} {run.status} {when} (by {by}; "
            f"{systems})")
    if run.error:
        line += f"\n> {mrkdwn_escape(truncate(run.error, 300))}"
    return line


def _connector_line(line, now: datetime) -> str:
    label = VENDORS.label(line.system)
    success = f"last success {_ago(line.last_success_at, now)}" if line.last_success_at else "never succeeded"
    text = f"{STATE_MARKS.get(line.state, '')} *{label}*: {line.state}, {success}"
    if line.state != "ok" and line.last_error:
        text += f": {mrkdwn_escape(truncate(line.last_error, 200))}"
    return text


def _what(key: str) -> str:
    kind = key.split(":", 1)[0]
    return {"failure": "failure alert", "checklist": "month-end checklist", "digest": "daily digest",
            "health": "connector alert", "approval": "approval request"}.get(kind, kind)


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    seconds = max(0, int((now - at) / timedelta(seconds=1)))
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 36 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
