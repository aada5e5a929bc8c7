"""The invoices family's modals: why a finding is ignored, and the columns of a shared invoice file."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.views import View

from bot.domain.invoice_check import Finding
from bot.notify.invoice_blocks import finding_line
from bot.services.invoice_findings import MAX_REASON
from bot.slack.blocks import context, section, truncate
from bot.slack.ids import InvoiceId
from bot.slack.mrkdwn import mrkdwn_escape

MAX_OPTIONS = 100  # a static select's limit


def ignore_modal(finding: Finding, *, metadata: str) -> dict[str, Any]:
    return View(
        type="modal", callback_id=InvoiceId.IGNORE_CALLBACK, private_metadata=metadata,
        title="Ignore finding", submit="Ignore", close="Cancel",
        blocks=[
            section(finding_line(finding)),
            InputBlock(block_id=InvoiceId.REASON_BLOCK, label="Why ignore it?",
                       hint="Recorded with your name in the audit and shown in the report. The decision holds "
                            "while the finding is unchanged.",
                       element=PlainTextInputElement(action_id=InvoiceId.REASON, multiline=True,
                                                     max_length=MAX_REASON)),
        ],
    ).to_dict()


def mapping_block_id(field: str) -> str:
    return f"{InvoiceId.MAPPING_BLOCK}_{field}"


def mapping_modal(*, file_name: str, headers: list[str], fields: dict[str, str], guessed: dict[str, str],
                  required: tuple[str, ...], metadata: str) -> dict[str, Any]:
    """One picker per field the import reads, offering the file's columns; what was guessed is pre-selected."""
    options = [Option(text=truncate(h, 75), value=truncate(h, 150)) for h in headers[:MAX_OPTIONS]]
    name = mrkdwn_escape(truncate(file_name, 200))
    blocks: list[Any] = [section(f"SeatSync has not read invoices from this source before. Say which column of "
                                 f"*{name}* holds what; the mapping is saved for the next file.")]
    for field, label in fields.items():
        guess = guessed.get(field)
        initial = next((o for o in options if o.value == guess), None)
        blocks.append(InputBlock(
            block_id=mapping_block_id(field), label=truncate(label, 2000), optional=field not in required,
            element=StaticSelectElement(action_id=field, placeholder="Pick a column", options=options,
                                        initial_option=initial)))
    blocks.append(context("Nothing is stored until the file imports whole."))
    return View(type="modal", callback_id=InvoiceId.MAPPING_CALLBACK, private_metadata=metadata,
                title="Invoice columns", submit="Import", close="Cancel", blocks=blocks).to_dict()
