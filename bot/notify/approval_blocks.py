"""Block Kit for held changes: the group message (one section per change, with its buttons while it
waits). The Reject and Edit modals are the approvals family's (`bot.commands.approvals.views`)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    ButtonElement,
)

from bot.db.models import AdjustmentStatus
from bot.slack.blocks import button, buttons, context, header, message_blocks, section, truncate
from bot.slack.ids import ApprovalId
from bot.slack.mrkdwn import mrkdwn_escape, user_mention
from bot.sync.approval_groups import ApprovalGroup, EditedChange, HeldChange
from bot.wording import counted


def _amount(value: Decimal | None) -> str:
    return "no price known" if value is None else f"{value:,.2f}"


def change_line(change: HeldChange) -> str:
    return (f"*{mrkdwn_escape(change.resource)}* → *{mrkdwn_escape(change.service)}*: {change.units_from} → "
            f"{change.units_to} ({change.delta:+d}), effective {change.effective_date.isoformat()}, "
            f"prorated {_amount(change.prorated_amount)}\n_Held: {mrkdwn_escape(change.held_reason)}_")


def _posting_state(status: AdjustmentStatus, hold_until: date | None, last_error: str | None) -> str:
    if status is AdjustmentStatus.posted:
        return "posted"
    if status is AdjustmentStatus.failed:
        return f"the PSA refused it for now ({mrkdwn_escape(truncate(last_error or 'no reason given', 300))}); retrying"
    if status is AdjustmentStatus.superseded:
        return "no longer needed (the PSA already showed the count)"
    if hold_until is not None:
        return f"scheduled for {hold_until.isoformat()}"
    return "posting…"


def _edit_state(edit: EditedChange) -> str:
    return (f"{edit.units_to} units effective {edit.effective_date.isoformat()}, prorated "
            f"{_amount(edit.prorated_amount)}: {_posting_state(edit.status, edit.hold_until, edit.last_error)}")


def decision_line(change: HeldChange) -> str:
    who = user_mention(change.decided_by) if change.decided_by else "someone"
    if change.awaiting:
        return "⏳ Waiting for approval"
    if change.edit is not None:
        return f"✏️ Edited by {who}: {_edit_state(change.edit)}"
    if change.status is AdjustmentStatus.rejected:
        return f"✖️ Rejected by {who}: {mrkdwn_escape(truncate(change.decision_note or '', 500))}"
    if change.status is AdjustmentStatus.superseded and change.decided_by is None:
        return "↪️ Replaced by a newer change (the marketplace count moved)"
    return f"✅ Approved by {who}: {_posting_state(change.status, change.hold_until, change.last_error)}"


def action_id(action: ApprovalId, change: HeldChange) -> str:
    return f"{action}:{change.adjustment_id}"


def action_pattern(action: ApprovalId) -> re.Pattern[str]:
    """What Bolt matches a button's action_id against: the action, with any change id."""
    return re.compile(rf"^{re.escape(action)}(:\d+)?$")


def _danger(text: str, action_id: str, value: str) -> ButtonElement:
    return ButtonElement(text=text, action_id=action_id, value=value, style="danger")


def group_blocks(group: ApprovalGroup) -> list[dict[str, Any]]:
    waiting = group.awaiting
    blocks = [
        header(f"Changes for {group.company} waiting for approval" if waiting
               else f"Changes for {group.company}: decided"),
        context(f"Held by the approval policy on {group.day.isoformat()}. An approved change posts through the "
                "outbox; only the billing team can decide."),
    ]
    for change in group.changes:
        ident = str(change.adjustment_id)
        blocks.append(section(f"{change_line(change)}\n{decision_line(change)}",
                              block_id=f"{ApprovalId.CHANGE_BLOCK}:{ident}"))
        if change.awaiting:  # action_ids are unique within a message: each carries its change's id
            blocks.append(buttons([button("Approve", action_id(ApprovalId.APPROVE, change), value=ident, primary=True),
                                   _danger("Reject", action_id(ApprovalId.REJECT, change), ident),
                                   button("Edit units/date", action_id(ApprovalId.EDIT, change), value=ident)],
                                  block_id=f"{ApprovalId.ACTIONS_BLOCK}:{ident}"))
    return message_blocks(blocks)


def group_text(group: ApprovalGroup) -> str:
    company = mrkdwn_escape(group.company)  # `text` is read for notifications: "<!channel>" would ping
    if group.awaiting:
        waits = "waits" if group.awaiting == 1 else "wait"
        return f"{counted(group.awaiting, 'change')} for {company} {waits} for approval"
    return f"Every held change for {company} from {group.day.isoformat()} is decided"
