"""`/seats policy [company name]`: view and set the sync policy globally, for a company or for one relation.

Billing team only (checked when the modal opens and again on Save). The modal's scope and picks travel
sealed in its private_metadata; a pick re-renders the modal with that scope's values. Save validates
each field (`response_action: errors` under the field), stores through the audited setters with the
Slack user id, and answers with the values now in force.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Option
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.link.views import choice_option, match_note
from bot.commands.link.wizard import today_for
from bot.commands.policy.views import (
    MAX_OPTION_TEXT,
    TITLE,
    link_block,
    no_match_note,
    picked,
    policy_form,
    policy_view,
    summary_text,
)
from bot.db.models import Scope
from bot.db.policies import PolicyError
from bot.services.policy_scopes import (
    PolicyTarget,
    PolicyTargetGone,
    best_company,
    company_choices,
    company_links,
    find_target,
    save_policy,
    scoped_policy,
)
from bot.slack.blocks import truncate
from bot.slack.guards import billing_team_only
from bot.slack.ids import PolicyId, SealedFor
from bot.slack.inbound import from_a_view, row_id
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import TAMPERED, notice_view, open_state, seal_state, tampered_answer
from bot.slack.mrkdwn import mrkdwn_escape

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

MAX_NAME = 100
CATCHING_UP = "The dialog was still showing your last pick; wait a moment, then save again."


def register_policy(app: AsyncApp) -> None:
    for action_id in (PolicyId.SCOPE, PolicyId.COMPANY, PolicyId.LINK):
        app.action(action_id.value, matchers=[from_a_view])(pick_scope)
    app.options(PolicyId.COMPANY.value)(company_options)
    app.options(PolicyId.LINK.value)(link_options)
    app.view(PolicyId.CALLBACK.value, middleware=[billing_team_only])(submit_policy)


async def open_policy(command: dict[str, Any], *, app_context: AppContext, client: AsyncWebClient, reply) -> None:
    """The listener has acked (and the router checked the team): open the modal (at `[company name]`'s best
    match)."""
    user = command["user_id"]
    name = " ".join((command.get("text") or "").split()[1:])[:MAX_NAME]
    scope, company_id, note = Scope.global_, None, None
    if name:
        async with app_context.sessions() as session:
            best = await best_company(session=session, name=name, today=today_for(app_context))
        if best is None:
            note = no_match_note(name)
        else:
            scope, company_id = Scope.company, best.id
            note = match_note(name, best, otherwise="pick another company below if not.")
    view = await _render(app_context, user=user, channel=command["channel_id"], scope=scope, company_id=company_id,
                         link_id=None, note=note)
    try:
        await client.views_open(trigger_id=command["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("cannot open the policy modal for %s: %s", user, exc.response.get("error"))
        await reply(f"I could not open the policy dialog ({exc.response.get('error')}); please try again.")


async def _render(app_context: AppContext, *, user: str, channel: str, scope: Scope, company_id: int | None,
                  link_id: int | None, note: str | None = None) -> dict[str, Any]:
    """The modal at this scope, its names read back; a company or relation that is gone is dropped, and said."""
    company = link = policy = None
    async with app_context.sessions() as session:
        try:
            if scope is Scope.link and link_id is not None:
                target = await find_target(session=session, scope=scope, link_id=link_id)
                link = (target.link_id, target.link_label or "")
            elif scope is not Scope.global_ and company_id is not None:
                target = await find_target(session=session, scope=Scope.company, company_id=company_id)
            else:
                target = PolicyTarget(Scope.global_) if scope is Scope.global_ else None
        except PolicyTargetGone as exc:
            target, company_id, link_id, note = None, None, None, f"{mrkdwn_escape(str(exc))}; pick again."
        if target is not None and target.company_id is not None:
            company = (target.company_id, target.company_name or "")
        if target is not None and (target.scope is scope):
            policy = await scoped_policy(session=session, target=target)
    sealed = seal_state(app_context, SealedFor.POLICY, {"u": user, "ch": channel, "s": scope.value,
                                               "c": None if company is None else company[0],
                                               "l": None if link is None else link[0]})
    return policy_view(scope=scope, company=company, link=link, policy=policy, metadata=sealed, note=note)


def _state(app_context: AppContext, view: dict[str, Any], user: str) -> dict[str, Any]:
    """The sealed state; TamperedMetadata when altered, or when someone else sends back this user's modal."""
    state = open_state(app_context, SealedFor.POLICY, view.get("private_metadata"))
    try:
        state["s"] = Scope(state["s"])
        for key in ("c", "l"):
            state[key] = None if state.get(key) is None else int(state[key])
    except (KeyError, TypeError, ValueError):
        raise TamperedMetadata("the policy dialog's state is incomplete") from None
    if state.get("u") != user:
        raise TamperedMetadata("this policy dialog was opened by someone else")
    return state


async def pick_scope(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                     app_context: AppContext) -> None:
    await ack()
    view, user = body["view"], body["user"]["id"]
    try:
        state = _state(app_context, view, user)
    except TamperedMetadata:
        await _update(client, view, notice_view("Dialog altered", TAMPERED))
        return
    value = (action.get("selected_option") or {}).get("value")
    scope, company_id, link_id = state["s"], state["c"], state["l"]
    try:
        if action.get("action_id") == PolicyId.SCOPE:
            scope = Scope(value)
            link_id = link_id if scope is Scope.link else None
        elif action.get("action_id") == PolicyId.COMPANY:
            company_id, link_id = _picked_id(value), None
        else:
            link_id = _picked_id(value)
    except (TypeError, ValueError):
        log.warning("a policy modal pick with an unknown value %r by %s", value, user)
        return
    await _update(client, view, await _render(app_context, user=user, channel=state.get("ch") or "", scope=scope,
                                               company_id=company_id, link_id=link_id))


def _picked_id(value: str | None) -> int | None:
    """The company or relation picked (None: the pick was cleared); ValueError for a value no option has."""
    if not value:
        return None
    picked_id = row_id(value)
    if picked_id is None:
        raise ValueError(value)
    return picked_id


async def company_options(ack: AsyncAck, body: dict[str, Any], payload: dict[str, Any],
                          app_context: AppContext) -> None:
    try:
        _state(app_context, body.get("view") or {}, (body.get("user") or {}).get("id"))
    except TamperedMetadata:
        await ack(options=[])
        return
    async with app_context.sessions() as session:
        choices = await company_choices(session=session, typed=_typed(payload), today=today_for(app_context))
    await ack(options=[choice_option(choice) for choice in choices])


async def link_options(ack: AsyncAck, body: dict[str, Any], payload: dict[str, Any], app_context: AppContext) -> None:
    try:
        state = _state(app_context, body.get("view") or {}, (body.get("user") or {}).get("id"))
    except TamperedMetadata:
        await ack(options=[])
        return
    if state["c"] is None:
        await ack(options=[])
        return
    async with app_context.sessions() as session:
        links = await company_links(session=session, company_id=state["c"], typed=_typed(payload))
    options = []
    for link_id, label, score in links:
        suffix = f" · {score:.0f}%" if score is not None else ""
        options.append(Option(value=str(link_id),
                              text=truncate(label, MAX_OPTION_TEXT - len(suffix)) + suffix).to_dict())
    await ack(options=options)


async def submit_policy(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        app_context: AppContext) -> None:
    actor = body["user"]["id"]
    try:
        state = _state(app_context, view, actor)
    except TamperedMetadata:
        log.warning("a policy modal came back with altered private_metadata from %s; nothing saved", actor)
        await ack(**tampered_answer(view))
        return
    values = (view.get("state") or {}).get("values") or {}
    scope, company_id, link_id = state["s"], state["c"], state["l"]
    lagging = _lagging_pick(values, scope, company_id, link_id)
    if lagging is not None:
        await ack(response_action="errors", errors={lagging: CATCHING_UP})
        return
    if scope is not Scope.global_ and company_id is None:
        await ack(response_action="errors", errors={PolicyId.COMPANY_BLOCK: "Pick a company first."})
        return
    if scope is Scope.link and link_id is None:
        await ack(response_action="errors", errors={link_block(company_id): "Pick one of its relations first."})
        return
    target = PolicyTarget(scope, company_id=company_id, link_id=link_id if scope is Scope.link else None)
    form, errors = policy_form(values, target.key)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    async with app_context.sessions() as session:
        try:
            changed = await save_policy(session=session, target=target, values=form, actor=actor)
            policy = await scoped_policy(session=session, target=await find_target(
                session=session, scope=target.scope, company_id=target.company_id, link_id=target.link_id))
        except PolicyTargetGone as exc:
            block = PolicyId.COMPANY_BLOCK if scope is Scope.company else link_block(company_id)
            await ack(response_action="errors", errors={block: f"{str(exc).capitalize()}; pick again."})
            return
        except PolicyError as exc:
            await ack(**_first_field_error(view, str(exc)))
            return
        await session.commit()
    log.info("sync policy for %s saved by %s: %s", target.key, actor, ", ".join(changed) or "nothing changed")
    await ack(response_action="update", view=notice_view("Policy saved", summary_text(policy, changed, actor)))


def _lagging_pick(values: dict[str, Any], scope: Scope, company_id: int | None, link_id: int | None) -> str | None:
    """The block of a pick the modal has not been re-rendered for yet (its fields belong to another scope)."""
    shown = {PolicyId.SCOPE_BLOCK: (picked(values, PolicyId.SCOPE_BLOCK, PolicyId.SCOPE), scope.value),
             PolicyId.COMPANY_BLOCK: (picked(values, PolicyId.COMPANY_BLOCK, PolicyId.COMPANY), company_id),
             link_block(company_id): (picked(values, link_block(company_id), PolicyId.LINK), link_id)}
    for block_id, (in_state, in_metadata) in shown.items():
        if in_state is not None and in_state != str(in_metadata):
            return block_id
    return None


def _first_field_error(view: dict[str, Any], message: str) -> dict[str, Any]:
    block_id = next((b["block_id"] for b in view.get("blocks", [])
                     if b.get("type") == "input" and str(b.get("block_id", "")).startswith("seats_policy_approval")),
                    None)
    if block_id is None:
        return {"response_action": "update", "view": notice_view(TITLE, mrkdwn_escape(message))}
    return {"response_action": "errors", "errors": {block_id: truncate(message, 150)}}


def _typed(payload: dict[str, Any]) -> str:
    return str(payload.get("value") or "")[:200]


async def _update(client: AsyncWebClient, view: dict[str, Any], new_view: dict[str, Any]) -> None:
    try:
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
    except SlackApiError as exc:
        log.warning("cannot update the policy modal %s: %s", view.get("id"), exc.response.get("error"))
