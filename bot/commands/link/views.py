"""Block Kit for `/seats link`: the wizard modal, the below-cost confirmation, the result message.

The wizard is one modal that grows: each level's picker appears once the level above is picked. Each
picker is an input block (so a submission error can point at it) with `dispatch_action`, so a pick
reaches the app at once. A picker's block_id carries the ids picked above it: when an upper pick
changes, the lower pickers get new block_ids and Slack forgets their old selections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.connectors.registry import VENDORS
from bot.db.models import PriceSourceKind
from bot.services.link_choices import LEVELS, Choice, Filters, Level, Picks, ResolvedPicks
from bot.services.relations import PriceChoice
from bot.slack.blocks import button, buttons, context, section, truncate
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId
from bot.slack.mrkdwn import channel_mention, mrkdwn_escape, user_mention
from bot.sync.link_reconciliation import LinkOutcome

MAX_OPTION_TEXT = 75
SHOW_EXPIRED, SHOW_LINKED = "show_expired", "show_linked"
EVERY_SOURCE = "every"  # the source filter's option for every active marketplace
DEFAULT_PRICE = "default"

PICKERS: dict[Level, tuple[LinkActionId, str]] = {
    Level.company: (LinkActionId.PICK_COMPANY, "Marketplace company"),
    Level.psa_company: (LinkActionId.PICK_PSA_COMPANY, "PSA company"),
    Level.subscription: (LinkActionId.PICK_SUBSCRIPTION, "Subscription"),
    Level.contract: (LinkActionId.PICK_CONTRACT, "Contract / agreement"),
    Level.resource: (LinkActionId.PICK_RESOURCE, "Resource"),
    Level.service: (LinkActionId.PICK_SERVICE, "Service / addition"),
}
LEVEL_BY_ACTION = {action_id: level for level, (action_id, _) in PICKERS.items()}
PRICE_KINDS: dict[str, str] = {
    DEFAULT_PRICE: "The company's or global setting",
    PriceSourceKind.keep_psa: "Keep the PSA's price",
    PriceSourceKind.marketplace_price: "The marketplace price",
    PriceSourceKind.marketplace_cost_markup: "Marketplace cost + markup %",
    PriceSourceKind.custom: "A custom price (and cost)",
}


@dataclass(frozen=True)
class WizardState:
    """What the wizard carries in its sealed private_metadata."""

    user: str
    channel: str
    picks: Picks = field(default_factory=Picks)
    filters: Filters = field(default_factory=Filters)
    hint: str = ""  # the `[name]` typed after `/seats link`

    def to_payload(self) -> dict[str, Any]:
        flags = ("e" if self.filters.show_expired else "") + ("l" if self.filters.show_linked else "")
        return {"u": self.user, "ch": self.channel, "p": self.picks.as_dict(), "f": flags, "h": self.hint,
                "m": self.filters.marketplace}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> WizardState:
        flags, source = str(payload.get("f", "")), payload.get("m")
        return cls(user=str(payload["u"]), channel=str(payload["ch"]), picks=Picks.from_dict(payload.get("p", {})),
                   filters=Filters(show_expired="e" in flags, show_linked="l" in flags,
                                   marketplace=str(source) if source else None), hint=str(payload.get("h", "")))


def match_note(typed: str, match: Choice, *, otherwise: str) -> str:
    """What `/seats link <name>` (or `/seats policy <name>`) took the typed name for."""
    return f"“{mrkdwn_escape(typed)}” looks like *{mrkdwn_escape(match.name)}* ({match.score or 0:.0f}%); {otherwise}"


def picker_block_id(level: Level, picks: Picks) -> str:
    above = LEVELS[:LEVELS.index(level)]
    revision = ".".join(str(picks.get(upper)) for upper in above) or "0"
    return f"{LinkBlockId.PICK}_{level.value}_{revision}"


def option_text(choice: Choice) -> str:
    suffix = "".join([f" · {choice.score:.0f}%" if choice.score is not None else "",
                      f" · {choice.note}" if choice.note else ""])
    return truncate(choice.name, MAX_OPTION_TEXT - len(suffix)) + suffix


def choice_option(choice: Choice) -> dict[str, Any]:
    """What `Option(...).to_dict()` gives, built directly: that model validates each of the 100 options of every
    answer as a person types, about a fifth of an options request's CPU; `option_text` keeps within the limits."""
    text = option_text(choice)
    if not 0 < len(text) <= MAX_OPTION_TEXT:  # the model leaves an empty text out, and refuses a long one
        return Option(value=str(choice.id), text=text).to_dict()
    return {"text": {"emoji": True, "text": text, "type": "plain_text"}, "value": str(choice.id)}


def _picked_option(object_id: int, name: str) -> Option:
    return Option(value=str(object_id), text=truncate(name, MAX_OPTION_TEXT))


def _picker(level: Level, picks: Picks, resolved: ResolvedPicks, *, focus: bool) -> Block:
    action_id, label = PICKERS[level]
    chosen, name = resolved.picks.get(level), resolved.name(level)
    element = ExternalDataSelectElement(
        action_id=action_id, placeholder=f"Search {label.lower()}…", min_query_length=0,
        initial_option=_picked_option(chosen, name) if chosen is not None and name else None,
        focus_on_load=focus or None)
    return InputBlock(block_id=picker_block_id(level, picks), label=label, element=element, dispatch_action=True)


def _filters_block(filters: Filters, sources: tuple[str, ...]) -> ActionsBlock:
    options = [Option(value=SHOW_EXPIRED, text="Show expired contracts and subscriptions"),
               Option(value=SHOW_LINKED, text="Show already linked resources and services")]
    chosen = [o for o, on in zip(options, (filters.show_expired, filters.show_linked), strict=True) if on]
    elements: list[Any] = [
        CheckboxesElement(action_id=LinkActionId.FILTERS, options=options, initial_options=chosen or None)]
    if len(sources) > 1:
        elements.append(source_select(LinkActionId.SOURCE, sources, filters.marketplace))
    return ActionsBlock(block_id=LinkBlockId.FILTERS, elements=elements)


def source_select(action_id: str, sources: tuple[str, ...], chosen: str | None) -> StaticSelectElement:
    """Every active marketplace, or one of them (by its label)."""
    options = [Option(value=EVERY_SOURCE, text="Every marketplace"),
               *(Option(value=key, text=truncate(VENDORS.label(key), MAX_OPTION_TEXT)) for key in sources)]
    initial = next((o for o in options if o.value == chosen), options[0])
    return StaticSelectElement(action_id=action_id, options=options, initial_option=initial,
                               placeholder="Marketplace")


def chosen_source(action: dict[str, Any], sources: list[str]) -> str | None:
    """The marketplace picked in a source select: a key among the active ones, else None (every one)."""
    value = (action.get("selected_option") or {}).get("value")
    return value if value in sources else None


def wizard_view(state: WizardState, resolved: ResolvedPicks, *, sealed: str, notices: list[str] | None = None,
                sources: tuple[str, ...] = ()) -> dict[str, Any]:
    """The wizard as far as the picks go: pickers up to the next level, then the price source. With several
    active marketplaces (`sources`), a select narrows the marketplace companies offered to one of them."""
    picks = resolved.picks
    next_level = picks.next_level()
    step = LEVELS.index(next_level) + 1 if next_level else len(LEVELS) + 1
    blocks: list[Block] = [
        context(f"Step {step} of {len(LEVELS) + 1}: marketplace company → PSA company → subscription → contract → "
                "resource → service → price source"),
        _filters_block(state.filters, sources),
    ]
    for note in [*(notices or []), *(f"⚠️ {mrkdwn_escape(why)}" for why in resolved.dropped.values())]:
        blocks.append(section(note))
    for level in LEVELS:
        if level in resolved.fixed_by_link:
            _, label = PICKERS[level]
            blocks.append(section(f"*{label}:* {_name(resolved, level)} _(already linked, so this one)_"))
        elif picks.get(level) is not None or level is next_level:
            blocks.append(_picker(level, picks, resolved, focus=level is next_level))
        if level is next_level:
            break
    if picks.complete:
        blocks.append(section(counts_text(resolved), block_id=LinkBlockId.COUNTS))
        blocks += _price_blocks()
    return View(type="modal", callback_id=LinkCallbackId.WIZARD, title="Link a resource", submit="Set relation",
                close="Cancel", private_metadata=sealed, blocks=blocks).to_dict()


def money(amount: Decimal) -> str:
    """12.5 -> "12.50", 6.4000 -> "6.40", 0.125 -> "0.125": cents, or every digit that matters."""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:.2f}" if cents == amount else f"{amount.normalize():f}"


def counts_text(resolved: ResolvedPicks) -> str:
    prices = ", ".join(part for part in (
        f"PSA price {money(resolved.psa_price)}" if resolved.psa_price is not None else "",
        f"PSA cost {money(resolved.psa_cost)}" if resolved.psa_cost is not None else "") if part)
    return (f"*{_name(resolved, Level.resource)}* → *{_name(resolved, Level.service)}*\n"
            f"Marketplace count {resolved.marketplace_total} · PSA units {resolved.psa_units}"
            + (f" · {prices}" if prices else ""))


def _name(resolved: ResolvedPicks, level: Level) -> str:
    """A picked name for mrkdwn: names are data, so "<!channel>" or "R&D <Main>" shows as typed."""
    return mrkdwn_escape(str(resolved.name(level)))


def _price_blocks() -> list[Block]:
    kinds = [Option(value=str(value), text=text) for value, text in PRICE_KINDS.items()]
    return [
        InputBlock(block_id=LinkBlockId.PRICE_KIND, label="Price source",
                   element=StaticSelectElement(action_id=LinkActionId.PRICE_KIND, options=kinds,
                                               initial_option=kinds[0])),
        InputBlock(block_id=LinkBlockId.MARKUP, label="Markup %", optional=True,
                   hint="For marketplace cost + markup, e.g. 20",
                   element=PlainTextInputElement(action_id=LinkActionId.MARKUP, max_length=12)),
        InputBlock(block_id=LinkBlockId.CUSTOM_PRICE, label="Custom unit price", optional=True,
                   element=PlainTextInputElement(action_id=LinkActionId.CUSTOM_PRICE, max_length=16)),
        InputBlock(block_id=LinkBlockId.CUSTOM_COST, label="Custom unit cost", optional=True,
                   element=PlainTextInputElement(action_id=LinkActionId.CUSTOM_COST, max_length=16)),
    ]


def below_cost_view(*, resolved: ResolvedPicks, price: PriceChoice, psa_cost: Decimal, sealed: str
                    ) -> dict[str, Any]:
    text = (f"The custom cost *{money(price.custom_cost)}* is below the PSA's current cost *{money(psa_cost)}* for "
            f"*{_name(resolved, Level.service)}* ({_name(resolved, Level.psa_company)}).\n"
            "Adjustments would be posted at a cost lower than what the PSA shows. Save it anyway?")
    return View(type="modal", callback_id=LinkCallbackId.BELOW_COST, title="Cost below the PSA's",
                submit="Save anyway", close="Back", private_metadata=sealed,
                blocks=[section(text, block_id=LinkBlockId.BELOW_COST)]).to_dict()


def result_message(outcome: LinkOutcome | None, *, unlink_value: str | None, actor: str,
                   approvals_channel: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) of the reconciliation result posted where `/seats link` was run; a held change says where it
    waits for a decision (`approvals_channel`, the alerts channel)."""
    sentence = (mrkdwn_escape(outcome.sentence()) if outcome is not None
                else "The relation was saved, then removed before it was reconciled.")
    held = outcome is not None and outcome.state == "awaiting_approval"
    return sentence, result_blocks(sentence, unlink_value=unlink_value, actor=actor,
                                   held_in=approvals_channel if held else None, held=held)


def held_note(channel: str | None) -> str:
    """Where a change held at link time is decided."""
    if channel is None:
        return "Held changes are approved from the alerts channel, which is not set yet: pick one in `/seats config`."
    return f"Approve, edit or reject it in {channel_mention(channel)}; `/seats checklist` lists every held change."


def result_blocks(sentence: str, *, unlink_value: str | None, actor: str, held_in: str | None = None,
                  held: bool = False) -> list[dict[str, Any]]:
    blocks: list[Block] = [section(sentence, block_id=LinkBlockId.RESULT)]
    if held:
        blocks.append(context(held_note(held_in)))
    blocks.append(context(f"Linked by {user_mention(actor)}"))
    if unlink_value is not None:
        blocks.append(buttons([unlink_button(unlink_value)], block_id=LinkBlockId.RESULT_ACTIONS))
    return [block.to_dict() for block in blocks]


def unlink_button(value: str) -> ButtonElement:
    """Unlink straight from a message; `value` is the sealed link id, checked before anything happens."""
    element = button("Unlink", LinkActionId.UNLINK_BUTTON, value=value)
    element.style = "danger"
    element.confirm = ConfirmObject(title="Unlink this relation?", confirm="Unlink", deny="Keep it",
                                    text="SeatSync stops syncing it; changes planned and not sent yet are cancelled.")
    return element
