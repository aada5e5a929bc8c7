"""The Reject and Edit modals of a held change (its message: `bot.notify.approval_blocks`)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import DatePickerElement, InputBlock, NumberInputElement, PlainTextInputElement
from slack_sdk.models.views import View

from bot.notify.approval_blocks import change_line
from bot.slack.blocks import context, section
from bot.slack.ids import ApprovalId
from bot.sync.approval_groups import HeldChange

MAX_REASON = 500


def reject_modal(change: HeldChange, *, metadata: str) -> dict[str, Any]:
    return View(
        type="modal", callback_id=ApprovalId.REJECT_CALLBACK, private_metadata=metadata,
        title="Reject change", submit="Reject", close="Cancel",
        blocks=[
            section(change_line(change)),
            InputBlock(block_id=ApprovalId.REASON_BLOCK, label="Why reject it?",
                       hint="Recorded with your name. SeatSync will not propose this count again until the "
                            "marketplace count changes.",
                       element=PlainTextInputElement(action_id=ApprovalId.REASON, multiline=True,
                                                     max_length=MAX_REASON)),
        ],
    ).to_dict()


def edit_modal(change: HeldChange, *, metadata: str) -> dict[str, Any]:
    return View(
        type="modal", callback_id=ApprovalId.EDIT_CALLBACK, private_metadata=metadata,
        title="Edit change", submit="Approve", close="Cancel",
        blocks=[
            section(change_line(change)),
            InputBlock(block_id=ApprovalId.UNITS_BLOCK, label=f"Units to bill (now {change.units_from})",
                       element=NumberInputElement(action_id=ApprovalId.UNITS, is_decimal_allowed=False,
                                                  initial_value=str(change.units_to), min_value="0")),
            InputBlock(block_id=ApprovalId.DATE_BLOCK, label="Effective date",
                       element=DatePickerElement(action_id=ApprovalId.DATE,
                                                 initial_date=change.effective_date.isoformat())),
            context("The prorated amount is recomputed for the new units and date, and the change is approved."),
        ],
    ).to_dict()
