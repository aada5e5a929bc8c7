"""`/seats link [name]`: the link wizard, from marketplace company to price source, then *Set relation*.

Billing team only, checked before the modal opens and again on submit. The picks travel in sealed
private_metadata (`bot.slack.modal_state`); a pick is checked against the database each time
(`resolve_picks`), and again on submit, where a choice that became invalid is answered with
`response_action: errors` on its picker. A custom cost below the PSA's asks first (a pushed view).
Once saved, the modal closes and the one-time reconciliation runs; its result is posted in the
channel where the command was run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.link.views import (
    DEFAULT_PRICE,
    LEVEL_BY_ACTION,
    PICKERS,
    SHOW_EXPIRED,
    SHOW_LINKED,
    WizardState,
    below_cost_view,
    chosen_source,
    match_note,
    picker_block_id,
    result_message,
    wizard_view,
)
from bot.db.app_settings import load_app_settings
from bot.db.links import LinkError
from bot.db.models import PriceSourceKind
from bot.domain import money
from bot.domain.matching import HIGH_CONFIDENCE
from bot.domain.pricing import PriceSourceError
from bot.domain.proration import business_date
from bot.notify.approval_messages import show_held_changes
from bot.services.link_choices import (
    LEVELS,
    MAX_OPTIONS,
    Filters,
    Level,
    Picks,
    ResolvedPicks,
    level_choices,
    link_conflicts,
    resolve_picks,
)
from bot.services.relations import PriceChoice, cost_below_psa, set_relation, suggestion_cache
from bot.slack.blocks import truncate
from bot.slack.engines import engine_or_reason
from bot.slack.guards import billing_team_only
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId, SealedFor
from bot.slack.inbound import from_a_view, row_id
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import (
    TAMPERED,
    error_answer,
    notice_view,
    open_state,
    replace_view,
    seal_state,
    tampered_answer,
)
from bot.slack.mrkdwn import mrkdwn_escape
from bot.slack.user_replies import post_in_channel
from bot.sync.link_reconciliation import reconcile_new_links, unreconciled
from bot.sync.wiring import NotConfigured

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

MAX_HINT = 80
PREPARE_PICKER_S = 1.0  # the most a modal waits for its company picker's names (Slack's trigger lasts 3 s)


def register_wizard(app: AsyncApp) -> None:
    for action_id in LEVEL_BY_ACTION:
        app.action(action_id.value, matchers=[from_a_view])(pick_level)
    app.action(LinkActionId.FILTERS.value, matchers=[from_a_view])(set_filters)
    app.action(LinkActionId.SOURCE.value, matchers=[from_a_view])(set_source)
    app.view(LinkCallbackId.WIZARD.value, middleware=[billing_team_only])(submit_wizard)
    app.view(LinkCallbackId.BELOW_COST.value, middleware=[billing_team_only])(confirm_below_cost)


def today_for(app_context: AppContext) -> date:
    return business_date(app_context.clock(), app_context.settings.timezone)


def wizard_state(app_context: AppContext, view: dict[str, Any]) -> WizardState:
    """The wizard's state from a view Slack sent back; TamperedMetadata when it was altered."""
    try:
        return WizardState.from_payload(open_state(app_context, SealedFor.LINK_WIZARD, view.get("private_metadata")))
    except (KeyError, TypeError, ValueError) as exc:
        raise TamperedMetadata("the wizard's state is not one SeatSync wrote") from exc


def _sealed(app_context: AppContext, state: WizardState) -> str:
    return seal_state(app_context, SealedFor.LINK_WIZARD, state.to_payload())


async def open_link_wizard(command: dict[str, Any], *, app_context: AppContext, client: AsyncWebClient, reply) -> None:
    """The listener has acked (and the router checked the team): open the modal at once, then pre-pick `[name]`'s
    match."""
    user = command["user_id"]
    hint = " ".join((command.get("text") or "").split()[1:])[:MAX_HINT]
    state = WizardState(user=user, channel=command["channel_id"], hint=hint)
    async with app_context.sessions() as session:  # one row: well inside the trigger's 3 s
        sources = tuple((await load_app_settings(session=session)).marketplaces)
    await _prepare_next_picker(app_context, state)
    try:
        opened = await client.views_open(trigger_id=command["trigger_id"],
                                         view=wizard_view(state, ResolvedPicks(picks=Picks()),
                                                          sealed=_sealed(app_context, state), sources=sources))
    except SlackApiError as exc:
        log.warning("cannot open the link wizard for %s: %s", user, exc.response.get("error"))
        await reply(f"I could not open the link dialog ({exc.response.get('error')}); please try again.")
        return
    if hint:
        async with app_context.sessions() as session:
            best = await level_choices(session=session, level=Level.company, picks=Picks(), filters=Filters(),
                                       hint=hint, today=today_for(app_context), limit=1)
        if best and (best[0].score or 0) >= HIGH_CONFIDENCE:
            notice = match_note(hint, best[0], otherwise="change it below if not.")
            await render_wizard(app_context, client, opened["view"], replace(state, picks=Picks(company=best[0].id)),
                                notices=[notice])


async def open_prefilled_wizard(*, app_context: AppContext, client: AsyncWebClient, trigger_id: str, user: str,
                                channel: str, company: int | None, subscription: int | None, resource: int | None,
                                hint: str, reply) -> None:
    """The wizard opened on what a caller already knows (an invoice's unlinked line): its marketplace company,
    subscription and resource, each kept as far as it still holds; with no company known, the name as a hint."""
    state = WizardState(user=user, channel=channel, hint=hint[:MAX_HINT],
                        picks=Picks(company=company, subscription=subscription, resource=resource))
    async with app_context.sessions() as session:
        resolved = await resolve_picks(session=session, picks=state.picks, today=today_for(app_context))
        if company is None and hint:
            best = await level_choices(session=session, level=Level.company, picks=Picks(), filters=Filters(),
                                       hint=hint[:MAX_HINT], today=today_for(app_context), limit=1)
            if best and (best[0].score or 0) >= HIGH_CONFIDENCE:
                resolved = await resolve_picks(session=session, picks=Picks(company=best[0].id),
                                               today=today_for(app_context))
    state = replace(state, picks=resolved.picks)
    await _prepare_next_picker(app_context, state)
    try:
        await client.views_open(trigger_id=trigger_id, view=wizard_view(state, resolved,
                                                                        sealed=_sealed(app_context, state)))
    except SlackApiError as exc:
        log.warning("cannot open the link wizard for %s: %s", user, exc.response.get("error"))
        await reply(f"I could not open the link dialog ({exc.response.get('error')}); please try again.")


async def render_wizard(app_context: AppContext, client: AsyncWebClient, view: dict[str, Any], state: WizardState,
                        *, notices: list[str] | None = None) -> None:
    """Check the picks, then replace the open modal with the next step."""
    async with app_context.sessions() as session:
        resolved = await resolve_picks(session=session, picks=state.picks, today=today_for(app_context))
        conflicts = await link_conflicts(session=session, picks=resolved.picks)
        sources = tuple((await load_app_settings(session=session)).marketplaces)
    state = replace(state, picks=resolved.picks)
    notes = [*(notices or []), *(f"⚠️ {mrkdwn_escape(why)}" for why in conflicts.values())]
    body = wizard_view(state, resolved, sealed=_sealed(app_context, state), notices=notes, sources=sources)
    await _prepare_next_picker(app_context, state)
    await replace_view(client, view, body)


async def _prepare_next_picker(app_context: AppContext, state: WizardState) -> None:
    """Before the modal shows a company picker, read and rank its names (every marketplace company, or the PSA's
    companies ranked by the picked one's name), so the first keys typed into it, often by several people at once,
    find them kept instead of each waiting for ten thousand names. Past `PREPARE_PICKER_S` the modal goes on and
    the first key reads them."""
    picks = state.picks
    level = Level.company if picks.company is None else Level.psa_company if picks.psa_company is None else None
    if level is None:
        return

    async def prepare() -> None:
        async with app_context.sessions() as session:
            await level_choices(session=session, level=level, picks=picks, filters=state.filters,
                                hint=state.hint if level is Level.company else None,
                                today=today_for(app_context), limit=MAX_OPTIONS)

    try:
        await asyncio.wait_for(prepare(), PREPARE_PICKER_S)
    except Exception:  # noqa: BLE001 - only a head start: the picker reads its names itself when asked
        log.warning("could not prepare the link wizard's %s picker", level.value, exc_info=True)


async def _state_or_notice(app_context: AppContext, client: AsyncWebClient, view: dict[str, Any]):
    """The wizard's sealed state, or None after the view was replaced by the altered-dialog notice."""
    try:
        return wizard_state(app_context, view)
    except TamperedMetadata:
        await replace_view(client, view, notice_view("Dialog altered", TAMPERED))
        return None


async def pick_level(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                     app_context: AppContext) -> None:
    await ack()
    view = body["view"]
    if (state := await _state_or_notice(app_context, client, view)) is None:
        return
    level = LEVEL_BY_ACTION[LinkActionId(action["action_id"])]
    picks = state.picks.choose(level, row_id((action.get("selected_option") or {}).get("value")))
    await render_wizard(app_context, client, view, replace(state, picks=picks))


async def set_filters(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                      app_context: AppContext) -> None:
    await ack()
    view = body["view"]
    if (state := await _state_or_notice(app_context, client, view)) is None:
        return
    chosen = {option.get("value") for option in action.get("selected_options") or []}
    await render_wizard(app_context, client, view, replace(
        state, filters=replace(state.filters, show_expired=SHOW_EXPIRED in chosen, show_linked=SHOW_LINKED in chosen)))


async def set_source(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                     app_context: AppContext) -> None:
    """One marketplace's companies in the company picker, or every active one's; the picks made stay."""
    await ack()
    view = body["view"]
    if (state := await _state_or_notice(app_context, client, view)) is None:
        return
    async with app_context.sessions() as session:
        sources = (await load_app_settings(session=session)).marketplaces
    await render_wizard(app_context, client, view, replace(
        state, filters=replace(state.filters, marketplace=chosen_source(action, sources))))


# --- submitting -----------------------------------------------------------------------------------

def parse_price(values: dict[str, Any]) -> tuple[PriceChoice, dict[str, str]]:
    """The price source as typed, and per-block errors for what cannot be read or is missing."""
    def text(block_id: LinkBlockId, action_id: LinkActionId) -> str:
        return str(((values.get(block_id) or {}).get(action_id) or {}).get("value") or "").strip()

    selected = ((values.get(LinkBlockId.PRICE_KIND) or {}).get(LinkActionId.PRICE_KIND) or {}).get("selected_option")
    kind_value = (selected or {}).get("value") or DEFAULT_PRICE
    errors: dict[str, str] = {}
    amounts: dict[LinkBlockId, Decimal | None] = {}
    for block_id, action_id, field in ((LinkBlockId.MARKUP, LinkActionId.MARKUP, "the markup"),
                                       (LinkBlockId.CUSTOM_PRICE, LinkActionId.CUSTOM_PRICE, "the unit price"),
                                       (LinkBlockId.CUSTOM_COST, LinkActionId.CUSTOM_COST, "the unit cost")):
        raw = text(block_id, action_id)
        amounts[block_id] = None
        if not raw:
            continue
        try:  # bot.domain.money's rules: plain decimals, finite, within what the database holds
            number = money.parse_number(raw.removeprefix("$").removesuffix("%").replace(" ", ""), field=field)
            amounts[block_id] = (money.markup(number, field=field) if block_id is LinkBlockId.MARKUP
                                 else money.amount(number, field=field))
        except money.NumberError as exc:
            errors[block_id] = truncate(str(exc), 150)
    try:
        kind = None if kind_value == DEFAULT_PRICE else PriceSourceKind(kind_value)
    except ValueError:
        errors[LinkBlockId.PRICE_KIND] = "pick one of the listed price sources"
        kind = None
    if kind is PriceSourceKind.marketplace_cost_markup and amounts[LinkBlockId.MARKUP] is None:
        errors.setdefault(LinkBlockId.MARKUP, "a markup price source needs the markup %")
    if kind is PriceSourceKind.custom and amounts[LinkBlockId.CUSTOM_PRICE] is None:
        errors.setdefault(LinkBlockId.CUSTOM_PRICE, "a custom price source needs the unit price")
    price = PriceChoice(kind=kind, markup_percent=amounts[LinkBlockId.MARKUP],
                        custom_price=amounts[LinkBlockId.CUSTOM_PRICE], custom_cost=amounts[LinkBlockId.CUSTOM_COST])
    return price, errors


def _price_payload(price: PriceChoice) -> dict[str, str | None]:
    return {"k": price.kind.value if price.kind else None,
            **{key: None if amount is None else str(amount) for key, amount in
               (("m", price.markup_percent), ("p", price.custom_price), ("c", price.custom_cost))}}


def _price_from_payload(payload: dict[str, Any]) -> PriceChoice:
    def amount(key: str) -> Decimal | None:
        return None if payload.get(key) is None else Decimal(str(payload[key]))

    kind = payload.get("k")
    return PriceChoice(kind=PriceSourceKind(kind) if kind else None, markup_percent=amount("m"),
                       custom_price=amount("p"), custom_cost=amount("c"))


def pick_errors(view: dict[str, Any], state: WizardState, problems: dict[Level, str]) -> dict[str, str]:
    """Problems keyed by the picker block they concern (as the submitted view has them)."""
    inputs = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    errors: dict[str, str] = {}
    for level, message in problems.items():
        block_id = picker_block_id(level, state.picks)
        if block_id not in inputs:  # not on screen (yet): say it on the deepest picker shown
            shown = [picker_block_id(lv, state.picks) for lv in LEVELS if picker_block_id(lv, state.picks) in inputs]
            block_id = shown[-1] if shown else (inputs[0] if inputs else None)
        if block_id:
            errors.setdefault(block_id, message)
    return errors


def _incomplete(resolved: ResolvedPicks) -> dict[Level, str]:
    if resolved.dropped:
        return dict(resolved.dropped)
    missing = resolved.picks.next_level()
    if missing is None:
        return {}
    return {missing: f"pick the {PICKERS[missing][1].lower()} first"}


async def submit_wizard(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        app_context: AppContext) -> None:
    try:
        state = wizard_state(app_context, view)
    except TamperedMetadata:
        await ack(**tampered_answer(view))
        return
    actor = body["user"]["id"]
    price, price_errors = parse_price((view.get("state") or {}).get("values") or {})
    async with app_context.sessions() as session:
        resolved = await resolve_picks(session=session, picks=state.picks, today=today_for(app_context))
        problems = _incomplete(resolved) or await link_conflicts(session=session, picks=resolved.picks)
        if problems or price_errors:
            await ack(response_action="errors", errors={**pick_errors(view, state, problems), **price_errors})
            return
        psa_cost = await cost_below_psa(session=session, service_id=resolved.picks.service, price=price)
        if psa_cost is not None:
            sealed = seal_state(app_context, SealedFor.LINK_BELOW_COST,
                                {**state.to_payload(), "pr": _price_payload(price)})
            await ack(response_action="push",
                      view=below_cost_view(resolved=resolved, price=price, psa_cost=psa_cost, sealed=sealed))
            return
        answer, link_id = await _save(session, view, state, resolved, price, actor, app_context.clock())
    await ack(**answer)
    if link_id is not None:
        suggestion_cache(app_context.sessions).clear()
        await report_link(app_context, client, state=state, link_id=link_id, actor=actor)


async def _save(session, view: dict[str, Any], state: WizardState, resolved: ResolvedPicks, price: PriceChoice,
                actor: str, now: datetime) -> tuple[dict[str, Any], int | None]:
    """(the view_submission answer, the new link id or None)."""
    try:
        link = await set_relation(session=session, resource_id=resolved.picks.resource,
                                  service_id=resolved.picks.service, price=price, actor=actor, now=now)
        await session.commit()
    except PriceSourceError as exc:
        await session.rollback()
        return _on_block(view, LinkBlockId.PRICE_KIND, str(exc)) or error_answer(view, str(exc)), None
    except LinkError as exc:
        await session.rollback()
        errors = pick_errors(view, state, {Level.resource: str(exc)})
        return ({"response_action": "errors", "errors": errors} if errors else error_answer(view, str(exc))), None
    return {"response_action": "clear"}, link.id


def _on_block(view: dict[str, Any], block_id: str, message: str) -> dict[str, Any]:
    if any(b.get("block_id") == block_id and b.get("type") == "input" for b in view.get("blocks", [])):
        return {"response_action": "errors", "errors": {block_id: message}}
    return {}


async def confirm_below_cost(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                             app_context: AppContext) -> None:
    try:
        payload = open_state(app_context, SealedFor.LINK_BELOW_COST, view.get("private_metadata"))
        state = WizardState.from_payload(payload)
        price = replace(_price_from_payload(payload.get("pr") or {}), below_cost_confirmed=True)
    except (TamperedMetadata, KeyError, TypeError, ValueError, InvalidOperation):
        await ack(**tampered_answer(view))
        return
    actor = body["user"]["id"]
    async with app_context.sessions() as session:
        resolved = await resolve_picks(session=session, picks=state.picks, today=today_for(app_context))
        problems = _incomplete(resolved) or await link_conflicts(session=session, picks=resolved.picks)
        if problems:
            await ack(response_action="update", view=notice_view(
                "Not saved", "Nothing was saved: " + "; ".join(map(mrkdwn_escape, problems.values()))
                + ". Go back and pick again."))
            return
        answer, link_id = await _save(session, view, state, resolved, price, actor, app_context.clock())
    await ack(**answer)
    if link_id is not None:
        suggestion_cache(app_context.sessions).clear()
        await report_link(app_context, client, state=state, link_id=link_id, actor=actor)


async def report_link(app_context: AppContext, client: AsyncWebClient, *, state: WizardState, link_id: int,
                      actor: str) -> None:
    """After the ack: the one-time reconciliation, then its result where the command was run."""
    engine = await engine_or_reason(app_context)  # none: the link is saved all the same; the next sync levels it
    if isinstance(engine, NotConfigured):
        async with app_context.sessions() as session:
            outcomes = await unreconciled(session=session, link_ids=[link_id], reason=engine.reason)
    else:
        outcomes = await reconcile_new_links(engine=engine, link_ids=[link_id], actor=actor)
    alerts_channel = await show_held_changes(app_context=app_context, client=client, outcomes=outcomes)
    unlink_value = seal_state(app_context, SealedFor.UNLINK_BUTTON, {"l": link_id}) if outcomes else None
    text, blocks = result_message(outcomes[0] if outcomes else None, unlink_value=unlink_value, actor=actor,
                                  approvals_channel=alerts_channel)
    await post_in_channel(client, channel=state.channel, user=actor, text=text, blocks=blocks)

