"""`/seats relations`: set many suggested matches, or clear many current relations, a page at a time.

Billing team only. The modal opens at once ("Loading…") and is filled after; the mode, the page and
the page's rows travel in sealed state. On submit the modal closes, each ticked row is set (or
cleared) in its own transaction, new relations get the one-time reconciliation, and a per-row
summary, failures included, is sent to the user where the command was run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.link.views import EVERY_SOURCE
from bot.commands.relations.views import (
    CURRENT,
    PAGE_SIZE,
    ROWS_PER_GROUP,
    SUGGESTED,
    loading_view,
    relation_row,
    relations_view,
    rows_action_id,
    rows_block_id,
    suggestion_row,
    summary_message,
)
from bot.db.app_settings import load_app_settings
from bot.notify.approval_messages import show_held_changes
from bot.services.relations import (
    clear_relations,
    pair_labels,
    relations_by_id,
    relations_page,
    set_relations,
    suggestion_cache,
)
from bot.slack.engines import engine_or_reason
from bot.slack.guards import billing_team_only
from bot.slack.ids import LinkActionId, LinkCallbackId, SealedFor
from bot.slack.inbound import from_a_view, whole_number
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import TAMPERED, notice_view, open_state, replace_view, seal_state, tampered_answer
from bot.slack.user_replies import tell_user
from bot.sync.engine import SyncEngine
from bot.sync.link_reconciliation import LinkOutcome, reconcile_new_links
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

MAX_PICKS = 60  # rows ticked across pages, kept in the sealed state (Slack allows 3,000 characters of it)
MAX_PAGE = 1_000_000  # a pager value past this is not one the dialog showed


def register_relations(app: AsyncApp) -> None:
    for action_id in (LinkActionId.RELATIONS_MODE, LinkActionId.RELATIONS_NEXT, LinkActionId.RELATIONS_PREVIOUS,
                      LinkActionId.RELATIONS_SOURCE):
        app.action(action_id.value, matchers=[from_a_view])(turn_page)
    app.view(LinkCallbackId.RELATIONS.value, middleware=[billing_team_only])(submit_relations)


async def open_relations(command: dict[str, Any], *, app_context: AppContext, client: AsyncWebClient, reply) -> None:
    """`/seats relations` or the checklist's button (billing team: checked by the router or `billing_team_only`),
    acked."""
    user, channel = command["user_id"], command["channel_id"]
    state = {"u": user, "ch": channel, "m": SUGGESTED, "pg": 0, "rows": [], "pk": []}
    try:
        opened = await client.views_open(trigger_id=command["trigger_id"],
                                         view=loading_view(seal_state(app_context, SealedFor.RELATIONS, state)))
    except SlackApiError as exc:
        await reply(f"I could not open the relations dialog ({exc.response.get('error')}); please try again.")
        return
    await show_page(app_context, client, opened["view"], state)


async def show_page(app_context: AppContext, client: AsyncWebClient, view: dict[str, Any],
                    state: dict[str, Any]) -> None:
    mode, page = state["m"], max(0, int(state["pg"]))
    async with app_context.sessions() as session:
        sources = tuple((await load_app_settings(session=session)).marketplaces)
    source = state.get("src") if state.get("src") in sources else None
    if mode == SUGGESTED:
        suggestions = await suggestion_cache(app_context.sessions).get(app_context.sessions)
        if source is not None:
            suggestions = [s for s in suggestions if s.marketplace == source]
        total = len(suggestions)
        page = min(page, max(0, (total - 1) // PAGE_SIZE))
        shown = suggestions[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
        rows = [suggestion_row(s, labelled=len(sources) > 1) for s in shown]
        keys = [[s.resource_id, s.service_id] for s in shown]
    else:
        async with app_context.sessions() as session:
            relations, total = await relations_page(session=session, offset=page * PAGE_SIZE, limit=PAGE_SIZE,
                                                    marketplace=source)
        rows, keys = [relation_row(r) for r in relations], [r.link_id for r in relations]
    picked = state.get("pk") or []
    ticked = frozenset(index for index, key in enumerate(keys) if key in picked)
    sealed = seal_state(app_context, SealedFor.RELATIONS, {**state, "m": mode, "pg": page, "rows": keys, "pk": picked})
    await replace_view(client, view, relations_view(
        mode=mode, page=page, total=total, rows=rows, sealed=sealed, ticked=ticked,
        ticked_elsewhere=len(picked) - len(ticked), cap_reached=MAX_PICKS if state.get("cap") else None,
        sources=sources, source=source))


def _state(app_context: AppContext, view: dict[str, Any]) -> dict[str, Any]:
    state = open_state(app_context, SealedFor.RELATIONS, view.get("private_metadata"))
    if (state.get("m") not in (SUGGESTED, CURRENT) or not isinstance(state.get("rows"), list)
            or not isinstance(state.get("pk", []), list)):
        raise TamperedMetadata("the relations state is not one SeatSync wrote")
    return state


def picked_rows(view: dict[str, Any], state: dict[str, Any]) -> list[Any]:
    """Rows ticked on other pages (from the sealed state) and on this one (as the view's state says now)."""
    page_rows = state["rows"]
    here = [page_rows[i] for i in ticked_indexes(view, len(page_rows), page=int(state["pg"]), mode=state["m"])]
    return [key for key in state.get("pk") or [] if key not in page_rows] + here


async def turn_page(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                    app_context: AppContext) -> None:
    """The mode toggle, the source select and the pager: the button's value is the mode or page to show."""
    await ack()
    view = body["view"]
    try:
        state = _state(app_context, view)
    except TamperedMetadata:
        await replace_view(client, view, notice_view("Dialog altered", TAMPERED))
        return
    value = str(action.get("value") or "")
    if action["action_id"] == LinkActionId.RELATIONS_SOURCE:  # another source's rows: ticks start afresh
        source = (action.get("selected_option") or {}).get("value")
        state = {**state, "src": None if source == EVERY_SOURCE else source, "pg": 0, "pk": [], "cap": False}
    elif action["action_id"] == LinkActionId.RELATIONS_MODE:  # the other mode's rows: ticks start afresh
        state = {**state, "m": CURRENT if value == CURRENT else SUGGESTED, "pg": 0, "pk": [], "cap": False}
    elif (page := whole_number(value, maximum=MAX_PAGE)) is not None:
        picked = picked_rows(view, state)
        state = {**state, "pg": page, "pk": picked[:MAX_PICKS], "cap": len(picked) > MAX_PICKS}
    await show_page(app_context, client, view, state)


def ticked_indexes(view: dict[str, Any], row_count: int, *, page: int, mode: str) -> list[int]:
    """Indexes of the ticked rows, only those the page showed."""
    values = (view.get("state") or {}).get("values") or {}
    ticked: set[int] = set()
    for group in range(-(-row_count // ROWS_PER_GROUP)):
        block = values.get(rows_block_id(group, page=page, mode=mode)) or {}
        for option in (block.get(rows_action_id(group)) or {}).get("selected_options") or []:
            index = whole_number(option.get("value"), maximum=row_count - 1)
            if index is not None:
                ticked.add(index)
    return sorted(ticked)


async def submit_relations(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                           app_context: AppContext) -> None:
    try:
        state = _state(app_context, view)
    except TamperedMetadata:
        await ack(**tampered_answer(view))
        return
    actor = body["user"]["id"]
    chosen = picked_rows(view, state)
    if not chosen:
        await ack(response_action="errors",
                  errors={rows_block_id(0, page=int(state["pg"]), mode=state["m"]): "tick at least one row"})
        return
    await ack()
    try:
        text, blocks = await apply_rows(app_context, client, mode=state["m"], chosen=chosen, actor=actor)
    except (TypeError, ValueError):
        text, blocks = TAMPERED, None
    await tell_user(client, channel=state.get("ch"), user=actor, text=text, blocks=blocks)


async def apply_rows(app_context: AppContext, client: AsyncWebClient, *, mode: str, chosen: list[Any], actor: str
                     ) -> tuple[str, list[dict[str, Any]]]:
    reconciled: dict[int, LinkOutcome] = {}
    not_reconciled: str | None = None
    approvals_channel: str | None = None
    if mode == SUGGESTED:
        pairs = [(int(resource_id), int(service_id)) for resource_id, service_id in chosen]
        async with app_context.sessions() as session:
            labels = await pair_labels(session=session, pairs=pairs)
        outcomes = await set_relations(sessions=app_context.sessions, pairs=pairs, labels=labels, actor=actor,
                                       now=app_context.clock())
        suggestion_cache(app_context.sessions).clear()
        new_links = [o.link_id for o in outcomes if o.ok and o.link_id is not None]
        engine = await engine_or_reason(app_context) if new_links else None
        if isinstance(engine, SyncEngine):
            for outcome in await reconcile_new_links(engine=engine, link_ids=new_links, actor=actor):
                reconciled[outcome.facts.link_id] = outcome
            approvals_channel = await show_held_changes(app_context=app_context, client=client,
                                                        outcomes=reconciled.values())
        elif isinstance(engine, NotConfigured):
            not_reconciled = engine.reason
    else:
        link_ids = [int(link_id) for link_id in chosen]
        async with app_context.sessions() as session:
            labels = {i: r.label for i, r in (await relations_by_id(session=session, link_ids=link_ids)).items()}
        outcomes = await clear_relations(sessions=app_context.sessions, link_ids=link_ids, labels=labels, actor=actor)
        suggestion_cache(app_context.sessions).clear()
    return summary_message(mode=mode, outcomes=outcomes, reconciled=reconciled, not_reconciled=not_reconciled,
                           approvals_channel=approvals_channel)
