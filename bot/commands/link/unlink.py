"""`/seats unlink`: pick a relation, confirm, unlink; or the *Unlink* button on a link's result message.

Billing team only (the router's table, `billing_team_only`). The modal's two steps carry sealed state; the
button carries the link id sealed, and Slack shows its confirm dialog before the click reaches us. Unlinking
goes through `bot.db.links.unlink_resource` (audited with the Slack user id; changes planned for the link and
not sent yet are cancelled there, so the outbox job cannot post them after the link is gone).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ExternalDataSelectElement, InputBlock
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.relations import Relation, RowOutcome, clear_relations, relations_by_id, suggestion_cache
from bot.slack.blocks import context as context_block
from bot.slack.blocks import section
from bot.slack.guards import billing_team_only
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId, SealedFor
from bot.slack.inbound import from_a_message, row_id
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import notice_view, open_state, seal_state, tampered_answer
from bot.slack.mrkdwn import mrkdwn_escape
from bot.slack.user_replies import tell_user

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

def register_unlink(app: AsyncApp) -> None:
    app.view(LinkCallbackId.UNLINK_PICK.value, middleware=[billing_team_only])(picked)
    app.view(LinkCallbackId.UNLINK_CONFIRM.value, middleware=[billing_team_only])(confirmed)
    app.action(LinkActionId.UNLINK_BUTTON.value, matchers=[from_a_message], middleware=[billing_team_only])(
        unlink_button)


def pick_view(sealed: str) -> dict[str, Any]:
    picker = ExternalDataSelectElement(action_id=LinkActionId.UNLINK_PICK, placeholder="Search company, resource…",
                                       min_query_length=0, focus_on_load=True)
    return View(type="modal", callback_id=LinkCallbackId.UNLINK_PICK, title="Unlink a relation", submit="Next",
                close="Cancel", private_metadata=sealed,
                blocks=[InputBlock(block_id=LinkBlockId.UNLINK_PICK, label="Relation", element=picker)]).to_dict()


def confirm_view(relation: Relation, sealed: str) -> dict[str, Any]:
    resource, company, subscription, service, psa_company, contract = map(mrkdwn_escape, (
        relation.resource, relation.company, relation.subscription, relation.service, relation.psa_company,
        relation.contract))
    text = (f"Unlink *{resource}* ({company}, {subscription}) from *{service}* ({psa_company}, {contract})?\n"
            "SeatSync stops syncing it; changes planned for it and not sent yet are cancelled.")
    return View(type="modal", callback_id=LinkCallbackId.UNLINK_CONFIRM, title="Unlink?", submit="Unlink",
                close="Cancel", private_metadata=sealed,
                blocks=[section(text, block_id=LinkBlockId.UNLINK_CONFIRM),
                        context_block("Nothing is changed in the PSA or the marketplace.")]).to_dict()


async def open_unlink_dialog(command: dict[str, Any], *, app_context: AppContext, client: AsyncWebClient,
                             reply) -> None:
    """`/seats unlink` (billing team: the router has checked), acked."""
    user = command["user_id"]
    sealed = seal_state(app_context, SealedFor.UNLINK_PICK, {"u": user, "ch": command["channel_id"]})
    try:
        await client.views_open(trigger_id=command["trigger_id"], view=pick_view(sealed))
    except SlackApiError as exc:
        await reply(f"I could not open the unlink dialog ({exc.response.get('error')}); please try again.")


async def picked(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                 app_context: AppContext) -> None:
    try:
        state = open_state(app_context, SealedFor.UNLINK_PICK, view.get("private_metadata"))
    except TamperedMetadata:
        await ack(**tampered_answer(view))
        return
    selected = (((view.get("state") or {}).get("values") or {}).get(LinkBlockId.UNLINK_PICK) or {}).get(
        LinkActionId.UNLINK_PICK) or {}
    link_id = row_id((selected.get("selected_option") or {}).get("value"))
    relation = None
    if link_id is not None:
        async with app_context.sessions() as session:
            relation = (await relations_by_id(session=session, link_ids=[link_id])).get(link_id)
    if relation is None:
        await ack(response_action="errors",
                  errors={LinkBlockId.UNLINK_PICK: "that relation is not there any more; pick another"})
        return
    sealed = seal_state(app_context, SealedFor.UNLINK_CONFIRM, {"u": state.get("u"), "ch": state.get("ch"),
                                                       "l": relation.link_id})
    await ack(response_action="update", view=confirm_view(relation, sealed))


async def confirmed(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                    app_context: AppContext) -> None:
    try:
        state = open_state(app_context, SealedFor.UNLINK_CONFIRM, view.get("private_metadata"))
        link_id = int(state["l"])
    except (TamperedMetadata, KeyError, TypeError, ValueError):
        await ack(**tampered_answer(view))
        return
    actor = body["user"]["id"]
    done = await unlink_one(app_context, link_id, actor)
    if not done[0]:
        await ack(response_action="update", view=notice_view("Not unlinked", done[1]))
        return
    await ack()
    await tell_user(client, channel=state.get("ch"), user=actor, text=done[1])


async def unlink_one(app_context: AppContext, link_id: int, actor: str) -> tuple[bool, str]:
    """(done, what to tell the user)."""
    async with app_context.sessions() as session:
        labels = {i: r.label for i, r in (await relations_by_id(session=session, link_ids=[link_id])).items()}
    outcome, = await clear_relations(sessions=app_context.sessions, link_ids=[link_id], labels=labels, actor=actor)
    suggestion_cache(app_context.sessions).clear()
    return outcome.ok, unlink_answer(outcome)


def unlink_answer(outcome: RowOutcome) -> str:
    if outcome.ok:
        return f"Unlinked {mrkdwn_escape(outcome.label)}. SeatSync no longer syncs it."
    return f"Nothing was unlinked: {mrkdwn_escape(str(outcome.error))}."


async def unlink_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
                        client: AsyncWebClient, app_context: AppContext) -> None:
    await ack()
    actor = body["user"]["id"]
    try:
        link_id = int(open_state(app_context, SealedFor.UNLINK_BUTTON, action.get("value"))["l"])
    except (TamperedMetadata, KeyError, TypeError, ValueError):
        log.warning("an Unlink button with an altered value was clicked by %s", actor)
        await respond(text="This button was altered, so nothing was unlinked.", response_type="ephemeral",
                      replace_original=False)
        return
    _, text = await unlink_one(app_context, link_id, actor)
    await respond(text=text, response_type="ephemeral", replace_original=False)

