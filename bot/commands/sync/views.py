"""A sync cycle's report as a Slack message: counts, then up to ten planned changes.

The changes are data (customer, resource and service names as the vendors spell them), shown as plain_text;
the headline's errors are vendor text, escaped into its mrkdwn."""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import context, message_blocks, plain_section, section
from bot.slack.ids import BlockId
from bot.slack.mrkdwn import mrkdwn_escape, user_mention
from bot.sync.engine import CycleReport
from bot.sync.summary import describe_change, held_count
from bot.wording import counted

MAX_CHANGES_SHOWN = 10


def summary_headline(report: CycleReport, *, actor: str) -> str:
    kind = "Dry run" if report.dry_run else "Sync"
    return f"{kind} #{report.run_id} by {user_mention(actor)}: {report.status.value} in {report.seconds:.1f} s"


def summary_counts(report: CycleReport) -> list[str]:
    verb = "would post" if report.dry_run else "planned"
    held = held_count(report)
    held_note = f", *{held}* {'would hold' if report.dry_run else 'held'} for approval" if held else ""
    lines = [f"{_bold_count(len(report.planned) - held, 'change')} {verb}{held_note}"]
    if report.dry_run:
        lines.append("Nothing was written to the PSA.")
    if report.marketplace:
        market = report.marketplace
        lines.append(f"Marketplace: {counted(market.resources_seen, 'resource')} in "
                     f"{counted(market.subscriptions_seen, 'subscription')}; "
                     f"{counted(len(market.increases), 'increase')}, {counted(len(market.decreases), 'drop')}")
    if report.posting:
        posting = report.posting
        lines.append(f"Posted {posting.posted}, confirmed {posting.confirmed}, failed {posting.failed}"
                     f" ({posting.needs_action} need action)")
    lines += [f"Error: {mrkdwn_escape(error)}" for error in report.errors]
    return lines


def summary_blocks(report: CycleReport, *, actor: str) -> list[dict[str, Any]]:
    blocks = [section(f"*{summary_headline(report, actor=actor)}*\n" + "\n".join(summary_counts(report)),
                      block_id=BlockId.SYNC_SUMMARY)]
    shown = report.planned[:MAX_CHANGES_SHOWN]
    if shown:
        blocks.append(plain_section("\n".join(f"• {describe_change(change, dry_run=report.dry_run)}"
                                              for change in shown), block_id=BlockId.SYNC_CHANGES))
    if len(report.planned) > len(shown):
        blocks.append(context(f"… and {len(report.planned) - len(shown)} more (see the adjustments report)"))
    return message_blocks(blocks)


def summary_text(report: CycleReport, *, actor: str) -> str:
    return summary_headline(report, actor=actor) + f"; {counted(len(report.planned), 'change')}"


def _bold_count(count: int, noun: str) -> str:
    number, _, word = counted(count, noun).partition(" ")
    return f"*{number}* {word}"
