"""Options loading (block_suggestion) for every external_select of the link family.

Searched server-side: the candidates in the scope of the modal's sealed state, ranked by rapidfuzz
(`bot.domain.picker_ranking`), the likely match first with its confidence in the text
("Acme Co · 96%"), at most 100 options of at most 75 characters. A state that fails its seal gets
no options: the dialog shows "no results" and the submit explains.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.models.blocks import Option

from bot.commands.link.views import LEVEL_BY_ACTION, MAX_OPTION_TEXT, choice_option
from bot.commands.link.wizard import today_for, wizard_state
from bot.services.link_choices import MAX_OPTIONS, Level, level_choices
from bot.services.relations import relation_choices
from bot.slack.blocks import truncate
from bot.slack.ids import LinkActionId, SealedFor
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import open_state

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

def register_option_loaders(app: AsyncApp) -> None:
    for action_id in LEVEL_BY_ACTION:
        app.options(action_id.value)(wizard_options)
    app.options(LinkActionId.UNLINK_PICK.value)(relation_options)


def _typed(payload: dict[str, Any]) -> str:
    return str(payload.get("value") or "")[:200]


async def wizard_options(ack: AsyncAck, body: dict[str, Any], payload: dict[str, Any], app_context: AppContext) -> None:
    try:
        state = wizard_state(app_context, body.get("view") or {})
    except TamperedMetadata:
        log.warning("options asked with altered link wizard state by %s", (body.get("user") or {}).get("id"))
        await ack(options=[])
        return
    level = LEVEL_BY_ACTION[LinkActionId(payload["action_id"])]
    async with app_context.sessions() as session:
        choices = await level_choices(session=session, level=level, picks=state.picks, filters=state.filters,
                                      typed=_typed(payload), hint=state.hint if level is Level.company else None,
                                      today=today_for(app_context), limit=MAX_OPTIONS)
    await ack(options=[choice_option(choice) for choice in choices])


async def relation_options(ack: AsyncAck, body: dict[str, Any], payload: dict[str, Any],
                           app_context: AppContext) -> None:
    try:
        open_state(app_context, SealedFor.UNLINK_PICK, (body.get("view") or {}).get("private_metadata"))
    except TamperedMetadata:
        await ack(options=[])
        return
    async with app_context.sessions() as session:
        ranked = await relation_choices(session=session, typed=_typed(payload), limit=MAX_OPTIONS)
    options = []
    for relation, score in ranked:
        suffix = f" · {score:.0f}%" if score is not None else ""
        options.append(Option(value=str(relation.link_id),
                              text=truncate(relation.label, MAX_OPTION_TEXT - len(suffix)) + suffix,
                              description=truncate(f"{relation.psa_company} · {relation.contract}",
                                                   MAX_OPTION_TEXT)).to_dict())
    await ack(options=options)

