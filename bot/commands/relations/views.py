"""Block Kit for `/seats relations`: one page of rows as checkboxes, the pager, the per-row summary.

A page holds 20 rows in checkbox groups of 10 (Slack's limit per checkbox element). A row's option
value is its index on the page; the page's rows themselves are in the sealed state, so a submission
can only ever name rows the page showed. Rows ticked on other pages travel in the sealed state too and
come back ticked when their page is shown again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, CheckboxesElement, InputBlock, Option
from slack_sdk.models.views import View

from bot.commands.link.views import held_note, source_select
from bot.connectors.registry import VENDORS
from bot.services.relations import Relation, RowOutcome
from bot.services.suggestions import LinkSuggestion
from bot.slack.blocks import button, buttons, context, message_blocks, plain_section, section, truncate
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId
from bot.slack.mrkdwn import mrkdwn_escape
from bot.sync.link_reconciliation import LinkOutcome

PAGE_SIZE = 20
ROWS_PER_GROUP = 10  # Slack: at most 10 options in a checkboxes element
MAX_OPTION_TEXT = 75
SUGGESTED, CURRENT = "s", "r"


@dataclass(frozen=True)
class Row:
    text: str
    description: str


def suggestion_row(suggestion: LinkSuggestion, *, labelled: bool = False) -> Row:
    """`labelled`: several marketplaces are active, so the row says which one the resource comes from."""
    source = f" · {VENDORS.label(suggestion.marketplace)}" if labelled and suggestion.marketplace else ""
    suffix = f"{source} · {suggestion.score:.0f}%"
    text = truncate(f"{suggestion.company} · {suggestion.resource}", MAX_OPTION_TEXT - len(suffix)) + suffix
    return Row(text, truncate(f"→ {suggestion.psa_company} · {suggestion.contract} · {suggestion.service}",
                              MAX_OPTION_TEXT))


def relation_row(relation: Relation) -> Row:
    source = f" · {relation.source}" if relation.source else ""
    return Row(truncate(f"{relation.company} · {relation.resource}{source}", MAX_OPTION_TEXT),
               truncate(f"→ {relation.psa_company} · {relation.contract} · {relation.service}", MAX_OPTION_TEXT))


def rows_block_id(group: int, *, page: int = 0, mode: str = SUGGESTED) -> str:
    """Page and mode are part of the id: Slack keeps an input's ticks across views.update for as long as its
    block_id stays, so a tick must not carry over to the same index of another page, or of the other mode."""
    return f"{LinkBlockId.RELATIONS_ROWS}_{mode}{page}_{group}"


def rows_action_id(group: int) -> str:
    return f"{LinkActionId.RELATIONS_ROWS}_{group}"


def loading_view(sealed: str) -> dict[str, Any]:
    return View(type="modal", callback_id=LinkCallbackId.RELATIONS, title="Relations", close="Close",
                private_metadata=sealed, blocks=[section("Loading…", block_id=LinkBlockId.RELATIONS_HEADER)]).to_dict()


def relations_view(*, mode: str, page: int, total: int, rows: list[Row], sealed: str,
                   ticked: frozenset[int] = frozenset(), ticked_elsewhere: int = 0,
                   cap_reached: int | None = None, sources: tuple[str, ...] = (),
                   source: str | None = None) -> dict[str, Any]:
    """One page; with several active marketplaces (`sources`), a select lists one source's rows (`source`)."""
    pages = max(1, -(-total // PAGE_SIZE))
    what = ("*Suggested matches*, high confidence first" if mode == SUGGESTED else "*Current relations*")
    toggle = (button("Show current relations", LinkActionId.RELATIONS_MODE, value=CURRENT) if mode == SUGGESTED
              else button("Show suggestions", LinkActionId.RELATIONS_MODE, value=SUGGESTED))
    elsewhere = f" · {ticked_elsewhere} ticked on other pages" if ticked_elsewhere else ""
    header = section(f"{what} · {total} in all · page {page + 1} of {pages}{elsewhere}",
                     block_id=LinkBlockId.RELATIONS_HEADER)
    header.accessory = toggle
    blocks: list[Block] = [header]
    if len(sources) > 1:
        blocks.append(ActionsBlock(block_id=LinkBlockId.RELATIONS_FILTER,
                                   elements=[source_select(LinkActionId.RELATIONS_SOURCE, sources, source)]))
    if cap_reached is not None:
        blocks.append(context(f"At most {cap_reached} rows can be ticked across pages: submit these, then "
                              "open the dialog again for more."))
    if not rows:
        blocks.append(section("Nothing to show: no suggestions above the confidence threshold." if mode == SUGGESTED
                              else "No relations yet: set some from the suggestions or with `/seats link`."))
    for group, start in enumerate(range(0, len(rows), ROWS_PER_GROUP)):
        options = [Option(value=str(index), text=row.text, description=row.description)
                   for index, row in enumerate(rows[start:start + ROWS_PER_GROUP], start=start)]
        initial = [option for option in options if int(option.value) in ticked] or None
        blocks.append(InputBlock(block_id=rows_block_id(group, page=page, mode=mode), optional=True,
                                 label=f"Rows {start + 1}–{start + len(options)}",
                                 element=CheckboxesElement(action_id=rows_action_id(group), options=options,
                                                           initial_options=initial)))
    pager = []
    if page > 0:
        pager.append(button("◀ Previous", LinkActionId.RELATIONS_PREVIOUS, value=str(page - 1)))
    if page + 1 < pages:
        pager.append(button("Next ▶", LinkActionId.RELATIONS_NEXT, value=str(page + 1)))
    if pager:
        blocks.append(buttons(pager, block_id=LinkBlockId.RELATIONS_PAGER))
    submit = ("Set selected" if mode == SUGGESTED else "Clear selected") if rows else None
    return View(type="modal", callback_id=LinkCallbackId.RELATIONS, title="Relations", submit=submit, close="Close",
                private_metadata=sealed, blocks=blocks).to_dict()


def summary_message(*, mode: str, outcomes: list[RowOutcome], reconciled: dict[int, LinkOutcome],
                    not_reconciled: str | None = None, approvals_channel: str | None = None
                    ) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks): one line per row, failures saying why."""
    done = sum(1 for o in outcomes if o.ok)
    verb = "Set" if mode == SUGGESTED else "Cleared"
    headline = f"{verb} {done} of {len(outcomes)} relations."
    blocks: list[Block] = [section(f"*{headline}*", block_id=LinkBlockId.RELATIONS_SUMMARY)]
    for outcome in outcomes:  # names and the reasons, nothing of ours to format: plain_text, shown as typed
        if not outcome.ok:
            blocks.append(plain_section(f"❌ {outcome.label}: {outcome.error}"))
            continue
        after = reconciled.get(outcome.link_id) if outcome.link_id is not None else None
        blocks.append(plain_section(f"✅ {outcome.label}" + (f"\n{after.sentence()}" if after else "")))
    if mode == SUGGESTED and done:
        blocks.append(context(f"Not reconciled yet: {mrkdwn_escape(not_reconciled)}. The next sync levels them."
                              if not_reconciled
                              else "Each new relation was reconciled once; the scheduled sync keeps it in step."))
    if any(outcome.state == "awaiting_approval" for outcome in reconciled.values()):
        blocks.append(context(held_note(approvals_channel)))
    return headline, message_blocks(blocks)
