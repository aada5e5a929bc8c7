"""Block Kit for `/seats policy`, and the policy form read back from the modal's state.

One modal: the scope (global, one company, one relation), the company and relation pickers the scope
needs (`dispatch_action`: a pick re-renders the modal at once), then the policy's fields. Each field
shows what is set at this scope (empty: inherited) and, in its hint, the value in force and where it
comes from. A field's block_id carries the scope key, so picking another company gives fresh inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.db.models import DecreaseTiming, Scope
from bot.domain import money
from bot.domain.approval_policy import NO_AMOUNT_LIMIT
from bot.services.policy_scopes import POLICY_FIELDS, FieldValue, PolicyTarget, ScopedPolicy
from bot.slack.blocks import context, section, truncate
from bot.slack.ids import PolicyId
from bot.slack.mrkdwn import mrkdwn_escape, user_mention

TITLE = "Sync policy"
MAX_OPTION_TEXT = 75
MAX_HINT = 2000
INHERIT = "inherit"
MAX_UNITS = 1_000_000
MAX_UNIT_DIGITS = len(str(MAX_UNITS))
MAX_PERCENT, MIN_MARGIN, MAX_MARGIN = money.MAX_PERCENT, money.MIN_MARGIN, money.MAX_MARGIN
MAX_MONEY = money.MONEY_LIMIT  # Numeric(14, 4): ten digits before the point
CURRENCY_SIGNS = "$€£"
NO_LIMIT_WORDS = ("none", "no limit")

SCOPE_LABELS = {Scope.global_: "Global: every company", Scope.company: "One marketplace company",
                Scope.link: "One relation (link)"}
TIMING_LABELS = {DecreaseTiming.today: "today", DecreaseTiming.next_period: "at the next period's start",
                 DecreaseTiming.commitment_end: "at the commitment's end (held until then)"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # units, percent, margin, money, limit (money, or "none"), hold, timing
    placeholder: str
    unset: str  # how "nothing set anywhere" reads


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("approval_max_units", "Approval limit: units", "units", "e.g. 10", "no limit"),
    FieldSpec("approval_max_percent", "Approval limit: percent of the units before", "percent", "e.g. 25",
              "no limit"),
    FieldSpec("approval_max_amount", "Approval limit: prorated amount", "limit", "e.g. 500, or none for no limit",
              "no limit"),
    FieldSpec("hold_committed_decreases", "Hold decreases on annual / committed terms", "hold", "", ""),
    FieldSpec("decrease_timing", "Decreases take effect", "timing", "", ""),
    FieldSpec("drop_prorate_below", "Drop credits (favourable prorates) below", "money", "e.g. 5",
              "off: every credit posts"),
    FieldSpec("min_margin_percent", "Minimum margin %", "margin", "e.g. 15", "off: no margin alert"),
)
assert tuple(f.name for f in FIELDS) == POLICY_FIELDS


def no_match_note(typed: str) -> str:
    return f"No marketplace company resembles “{mrkdwn_escape(typed)}”; showing the global policy."


def policy_field_block(name: str, key: str) -> str:
    return f"seats_policy_{name}_{key}"


def link_block(company_id: int | None) -> str:
    return f"{PolicyId.LINK_BLOCK}_{company_id or 0}"


# --- rendering ---------------------------------------------------------------------------------------

def policy_view(*, scope: Scope, company: tuple[int, str] | None, link: tuple[int, str] | None,
                policy: ScopedPolicy | None, metadata: str, note: str | None = None) -> dict[str, Any]:
    """The modal. `policy` is None until the scope's company (and relation) are picked."""
    blocks: list[Block] = [
        section("Set when changes wait for approval, when decreases take effect, which credits are dropped and "
                "the margin alert. Leave a field empty (or *Inherit*) to use the wider scope's value.",
                block_id=PolicyId.INTRO_BLOCK),
        _scope_picker(scope),
    ]
    if note:
        blocks.append(context(note))
    if scope is not Scope.global_:
        blocks.append(_company_picker(company))
    if scope is Scope.link and company is not None:
        blocks.append(_link_picker(company[0], link))
    if policy is None:
        what = "a company" if company is None else "one of its relations"
        blocks.append(section(f"Pick {what} to see and set its policy.", block_id=PolicyId.NOTICE_BLOCK))
    else:
        blocks += [DividerBlock(), section(f"*Policy for {mrkdwn_escape(policy.target.title)}*",
                                             block_id=PolicyId.TARGET_BLOCK)]
        blocks += [_field_input(spec, policy) for spec in FIELDS]
    return View(type="modal", callback_id=PolicyId.CALLBACK, title=TITLE, submit="Save", close="Cancel",
                private_metadata=metadata, blocks=blocks).to_dict()


def _scope_picker(scope: Scope) -> InputBlock:
    options = [Option(value=s.value, text=label) for s, label in SCOPE_LABELS.items()]
    return InputBlock(block_id=PolicyId.SCOPE_BLOCK, label="Scope", dispatch_action=True,
                      element=StaticSelectElement(action_id=PolicyId.SCOPE, options=options,
                                                  initial_option=options[list(SCOPE_LABELS).index(scope)]))


def _company_picker(company: tuple[int, str] | None) -> InputBlock:
    initial = None if company is None else Option(value=str(company[0]), text=truncate(company[1], MAX_OPTION_TEXT))
    return InputBlock(block_id=PolicyId.COMPANY_BLOCK, label="Marketplace company", dispatch_action=True,
                      optional=True,
                      element=ExternalDataSelectElement(action_id=PolicyId.COMPANY, placeholder="Search companies…",
                                                        min_query_length=0, initial_option=initial))


def _link_picker(company_id: int, link: tuple[int, str] | None) -> InputBlock:
    initial = None if link is None else Option(value=str(link[0]), text=truncate(link[1], MAX_OPTION_TEXT))
    return InputBlock(block_id=link_block(company_id), label="Relation", dispatch_action=True, optional=True,
                      element=ExternalDataSelectElement(action_id=PolicyId.LINK, placeholder="Search its relations…",
                                                        min_query_length=0, initial_option=initial))


def _field_input(spec: FieldSpec, policy: ScopedPolicy) -> InputBlock:
    value = policy.fields[spec.name]
    block_id = policy_field_block(spec.name, policy.target.key)
    hint = truncate(f"In force: {shown_value(spec, value.effective)} ({_source(value, policy.target)}).", MAX_HINT)
    if spec.kind in ("hold", "timing"):
        options = _choice_options(spec, policy.target)
        here = INHERIT if value.here is None else _choice_value(value.here)
        initial = next(o for o in options if o.value == here)
        element = StaticSelectElement(action_id=spec.name, options=options, initial_option=initial)
    else:
        element = PlainTextInputElement(action_id=spec.name, placeholder=spec.placeholder, max_length=40,
                                        initial_value=None if value.here is None else _typed(spec, value.here))
    return InputBlock(block_id=block_id, label=spec.label, hint=hint, optional=True, element=element)


def _choice_options(spec: FieldSpec, target: PolicyTarget) -> list[Option]:
    inherit = "Default" if target.scope is Scope.global_ else "Inherit"
    if spec.kind == "hold":
        choices = [(INHERIT, inherit), ("yes", "Yes: they wait for approval"), ("no", "No: they post as any change")]
    else:
        choices = [(INHERIT, inherit), *((t.value, t.value.replace("_", " ").capitalize() + f": {label}")
                                         for t, label in TIMING_LABELS.items())]
    return [Option(value=value, text=truncate(text, MAX_OPTION_TEXT)) for value, text in choices]


def _choice_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return DecreaseTiming(value).value


def _typed(spec: FieldSpec, value: Any) -> str:
    """A stored value as the person would type it back."""
    if spec.kind == "limit" and value >= NO_AMOUNT_LIMIT:
        return "none"
    return _plain(value)


def _plain(value: Any) -> str:
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def shown_value(spec: FieldSpec, value: Any) -> str:
    """A value as people read it: "10 units", "25%", "500.00", "yes", "at the next period's start"."""
    if value is None:
        return spec.unset
    if spec.kind == "units":
        return f"{value} unit{'' if value == 1 else 's'}"
    if spec.kind in ("percent", "margin"):
        return f"{_plain(value)}%"
    if spec.kind == "limit" and value >= NO_AMOUNT_LIMIT:
        return "no limit"
    if spec.kind in ("money", "limit"):
        return f"{value:,.2f}"
    if spec.kind == "hold":
        return "yes" if value else "no"
    return TIMING_LABELS[DecreaseTiming(value)]


def _source(value: FieldValue, target: PolicyTarget) -> str:
    if value.source == "here":
        return "set here"
    if value.source == "company":
        return f"inherited from {target.company_name or 'the company'}"
    if value.source == "global":
        return "inherited from global"
    return "the default"


def summary_text(policy: ScopedPolicy, changed: list[str], user_id: str) -> str:
    """What the saved notice says: who saved, what changed, and every value now in force here."""
    names = {spec.name: spec.label for spec in FIELDS}
    lines = [f"Saved by {user_mention(user_id)} for *{mrkdwn_escape(policy.target.title)}*; the audit trail has the "
             "details.",
             ("Changed: " + ", ".join(names[n].lower() for n in changed) + ".") if changed else "Nothing changed."]
    lines += [f"• {spec.label}: {shown_value(spec, policy.fields[spec.name].effective)} "
              f"({mrkdwn_escape(_source(policy.fields[spec.name], policy.target))})" for spec in FIELDS]
    return "\n".join(lines)


# --- reading the state back --------------------------------------------------------------------------

def picked(values: dict[str, Any], block_id: str, action_id: str) -> str | None:
    """The value of a select in the state; None when nothing is picked (or the block is not there)."""
    entry = (values.get(block_id) or {}).get(action_id) or {}
    return (entry.get("selected_option") or {}).get("value")


def policy_form(values: dict[str, Any], key: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(field name -> value, None to inherit; block_id -> error) from a submitted modal at scope `key`."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in FIELDS:
        block_id = policy_field_block(spec.name, key)
        entry = (values.get(block_id) or {}).get(spec.name) or {}
        if spec.kind in ("hold", "timing"):
            raw = str((entry.get("selected_option") or {}).get("value") or INHERIT)
        else:
            raw = str(entry.get("value") or "").strip()
        try:
            parsed[spec.name] = parse_field(spec, raw)
        except ValueError as exc:
            errors[block_id] = truncate(str(exc), 150)
    return parsed, errors


def parse_field(spec: FieldSpec, raw: str) -> Any:
    """One field's value (None: inherit), or ValueError saying what to type."""
    if spec.kind in ("hold", "timing"):
        if raw == INHERIT:
            return None
        if spec.kind == "hold" and raw in ("yes", "no"):
            return raw == "yes"
        if spec.kind == "timing" and raw in {t.value for t in DecreaseTiming}:
            return DecreaseTiming(raw)
        raise ValueError("pick one of the options")
    if not raw:
        return None
    if spec.kind == "units":
        if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_UNIT_DIGITS or int(raw) > MAX_UNITS:
            raise ValueError(f"type a whole number of units from 0 to {MAX_UNITS:,}, or leave it empty")
        return int(raw)
    if spec.kind in ("percent", "margin"):
        number = _decimal(raw.removesuffix("%").strip(), "a percent such as 25 or 12.5")
        if spec.kind == "percent" and not Decimal(0) <= number <= MAX_PERCENT:
            raise ValueError(f"type a percent from 0 to {MAX_PERCENT}, or leave it empty")
        if spec.kind == "margin" and not MIN_MARGIN <= number < MAX_MARGIN:
            raise ValueError("type a margin from -100 up to (not including) 100, or leave it empty")
        return number
    if spec.kind == "limit" and raw.lower() in NO_LIMIT_WORDS:
        return NO_AMOUNT_LIMIT
    number = _decimal(raw.lstrip(CURRENCY_SIGNS).strip(), "an amount such as 500 or 12.50")
    if not Decimal(0) <= number < MAX_MONEY:
        lifted = ", none for no limit," if spec.kind == "limit" else ""
        raise ValueError(f"type an amount from 0 to {MAX_MONEY - 1:,}{lifted} or leave it empty")
    return number


def _decimal(raw: str, example: str) -> Decimal:
    """bot.domain.money's plain notation (no exponents, NaN or Infinity, which Decimal would take), at most the
    database's 4 decimals; the ranges are the caller's."""
    if "," in raw:
        raise ValueError(f"type {example}: a dot for decimals and no thousands separators")
    try:
        number = money.parse_number(raw, field="that")
    except money.NumberError:
        raise ValueError(f"{truncate(raw, 20)!r} is not a number; type {example}") from None
    if -number.as_tuple().exponent > money.MONEY_SCALE:
        raise ValueError(f"use at most {money.MONEY_SCALE} decimals")
    return number
