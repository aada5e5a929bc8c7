"""The `/seats config` modal as Block Kit, and the form read back from its state.

Secrets are write-only inputs: never given an initial value, never echoed; a context line says only
that a secret is stored and who set it when. The admin picks the marketplaces to read (several, side by side;
the first picked is the primary) and one PSA; only the chosen systems' fields are shown, each with its own *Test
connection*; changing a pick re-renders the modal (dispatch_action). Per-system inputs have the block id
`config_field_block(system, name)`, so each validation message lands under its own input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.connectors.registry import VENDORS
from bot.db.app_settings import AppSettings
from bot.domain.records import ConnectionCheck
from bot.services.configuration import ConfigForm, Configuration, ConnectionForm, FieldProblem, StoredConnection
from bot.slack.blocks import mrkdwn, section, truncate
from bot.slack.ids import ConfigId
from bot.slack.mrkdwn import SLACK_GROUP, SLACK_USER, group_mention, mrkdwn_escape, user_mention

SETTING_BLOCKS = {
    "poll_minutes": ConfigId.POLL_MINUTES_BLOCK,
    "checklist_days_before_month_end": ConfigId.CHECKLIST_DAYS_BLOCK,
    "digest_hour": ConfigId.DIGEST_HOUR_BLOCK,
    "timezone": ConfigId.TIMEZONE_BLOCK,
    "marketplace": ConfigId.MARKETPLACE_BLOCK,
    "marketplaces": ConfigId.MARKETPLACE_BLOCK,
    "psa": ConfigId.PSA_BLOCK,
    "billing_team": ConfigId.TEAM_GROUP_BLOCK,
    "alerts_channel": ConfigId.ALERTS_CHANNEL_BLOCK,
    "checklist_channel": ConfigId.CHECKLIST_CHANNEL_BLOCK,
}
MAX_CONTEXT_TEXT = 3000
MAX_INPUT_VALUE = 3000  # plain_text_input initial_value / max_length
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Choices:
    """The systems picked in the modal (maybe not saved yet): the marketplaces in the order picked, and the PSA."""

    marketplaces: tuple[str, ...] = ()
    psa: str | None = None

    @property
    def systems(self) -> tuple[str, ...]:
        return (*self.marketplaces, *((self.psa,) if self.psa else ()))

    def slot(self, system: str) -> str | None:
        """'marketplace' or 'psa' for a chosen system, None for one not chosen."""
        return "marketplace" if system in self.marketplaces else "psa" if system == self.psa else None


@dataclass(frozen=True)
class CheckLine:
    """The last *Test connection* result shown under a system's button (markdown)."""

    system: str
    text: str


def check_line(check: ConnectionCheck) -> CheckLine:
    """The connector's own diagnosis (vendor text, escaped) and its facts (a zone URL, a company name)."""
    mark = ":white_check_mark:" if check.ok else ":x:"
    facts = "; ".join(f"{mrkdwn_escape(name)}: {mrkdwn_escape(value)}" for name, value in check.facts.items())
    return CheckLine(check.system, f"{mark} {mrkdwn_escape(check.detail)}" + (f"\n_{facts}_" if facts else ""))


def problems_line(system: str, problems: list[FieldProblem]) -> CheckLine:
    """What is missing or wrong before a test can run; the messages quote what was typed."""
    return CheckLine(system, ":x: " + " ".join(mrkdwn_escape(p.message) for p in problems))


def config_field_block(system: str, name: str) -> str:
    return f"seats_config_{system}_{name}"


def result_block(system: str) -> str:
    return f"seats_config_result_{system}"


# --- rendering ---------------------------------------------------------------------------------------

def connection_test_block(system: str) -> str:
    """The block of a system's *Test connection* button, and the button's action_id (unique in the view)."""
    return f"{ConfigId.TEST_CONNECTION}{system}"


def config_view(config: Configuration, *, choices: Choices, metadata: str,
                env_team: tuple[str, ...] = (), checks: dict[str, CheckLine] | None = None) -> dict[str, Any]:
    """The whole modal, with the fields of the systems currently picked."""
    checks = checks or {}
    settings = config.settings
    blocks: list[Block] = [section("Changes take effect when you press *Save*, and are audited with your Slack "
                                   "user id. Secrets are write-only: leave one empty to keep the stored value.")]
    blocks += _marketplace_blocks(choices.marketplaces, config, checks)
    blocks += _psa_blocks(choices.psa, config, checks)
    blocks += [DividerBlock(), HeaderBlock(text="Channels"),
               _channel_input(ConfigId.ALERTS_CHANNEL_BLOCK, "Alerts channel", settings.alerts_channel,
                              "Failure and health alerts are posted here."),
               _channel_input(ConfigId.CHECKLIST_CHANNEL_BLOCK, "Checklist channel", settings.checklist_channel,
                              "The month-end checklist and the daily digest are posted here."),
               DividerBlock(), HeaderBlock(text="Billing team")]
    users = [i for i in settings.billing_team if not i.startswith("S")]
    groups = [i for i in settings.billing_team if i.startswith("S")]
    blocks += [
        InputBlock(block_id=ConfigId.TEAM_USERS_BLOCK, label="People", optional=True,
                   element=UserMultiSelectElement(action_id=ConfigId.TEAM_USERS_BLOCK, initial_users=users or None,
                                                  placeholder="Who may sync, link and approve")),
        InputBlock(block_id=ConfigId.TEAM_GROUP_BLOCK, label="Slack user group id", optional=True,
                   hint="A user group's id (S…); its members are on the team.",
                   element=PlainTextInputElement(action_id=ConfigId.TEAM_GROUP_BLOCK, placeholder="S0123ABCD",
                                      initial_value=", ".join(groups) or None, max_length=200)),
    ]
    if env_team:
        blocks.append(_context("Also on the team from `SEATSYNC_BILLING_TEAM` (change it in the environment): "
                               + ", ".join(_mention(i) for i in env_team)))
    if not settings.billing_team and not env_team:
        blocks.append(_context("No billing team yet: everyone may sync and link, and only workspace admins may "
                               "change this configuration."))
    blocks += [DividerBlock(), HeaderBlock(text="Schedule"),
               _text_input(ConfigId.POLL_MINUTES_BLOCK, "Poll every (minutes)", str(settings.poll_minutes),
                           "1 to 1440."),
               _text_input(ConfigId.CHECKLIST_DAYS_BLOCK, "Post the checklist (days before month end)",
                           str(settings.checklist_days_before_month_end), "0 to 27; 0 is the month's last day."),
               _text_input(ConfigId.DIGEST_HOUR_BLOCK, "Daily digest hour", str(settings.digest_hour),
                           "0 to 23, in the time zone below."),
               _text_input(ConfigId.TIMEZONE_BLOCK, "Time zone", settings.timezone,
                           "An IANA name such as America/Denver; business dates follow it.")]
    return View(type="modal", callback_id=ConfigId.CALLBACK, title="SeatSync config", submit="Save",
                close="Cancel", private_metadata=metadata, blocks=blocks).to_dict()


def _marketplace_blocks(systems: tuple[str, ...], config: Configuration,
                        checks: dict[str, CheckLine]) -> list[Block]:
    options = {v.key: Option(value=v.key, text=v.label) for v in VENDORS.by_kind("marketplace")}
    blocks: list[Block] = [
        DividerBlock(), HeaderBlock(text="Marketplaces"),
        InputBlock(block_id=ConfigId.MARKETPLACE_BLOCK, label="Marketplaces to read", dispatch_action=True,
                   optional=True, hint="Each is read every cycle, side by side; the first is the primary.",
                   element=StaticMultiSelectElement(
                       action_id=ConfigId.MARKETPLACE, options=list(options.values()),
                       initial_options=[options[m] for m in systems if m in options] or None,
                       placeholder="Choose the marketplaces")),
    ]
    for system in systems:
        if len(systems) > 1:
            blocks.append(section(f"*{mrkdwn_escape(VENDORS.label(system))}*"))
        blocks += _connection_blocks(system, config, checks)
    return blocks


def _psa_blocks(system: str | None, config: Configuration, checks: dict[str, CheckLine]) -> list[Block]:
    options = [Option(value=v.key, text=v.label) for v in VENDORS.by_kind("psa")]
    initial = next((o for o in options if o.value == system), None)
    blocks: list[Block] = [
        DividerBlock(), HeaderBlock(text="PSA"),
        InputBlock(block_id=ConfigId.PSA_BLOCK, label="Active PSA", dispatch_action=True, optional=True,
                   element=StaticSelectElement(action_id=ConfigId.PSA, options=options, initial_option=initial,
                                               placeholder="Choose the PSA")),
    ]
    return blocks if system is None else blocks + _connection_blocks(system, config, checks)


def _connection_blocks(system: str, config: Configuration, checks: dict[str, CheckLine]) -> list[Block]:
    blocks: list[Block] = []
    spec = VENDORS.get(system).connection
    stored = config.connections.get(system)
    blocks.append(_text_input(config_field_block(system, "base_url"), spec.url_label,
                              stored.base_url if stored else None, spec.url_hint))
    for field in spec.fields:
        if field.secret:
            blocks.append(InputBlock(
                block_id=config_field_block(system, field.name), label=field.label, optional=True,
                hint=_secret_hint(field.name, field.required, stored),
                element=PlainTextInputElement(action_id=config_field_block(system, field.name),
                                              max_length=MAX_INPUT_VALUE,
                                              placeholder="Type a new value to replace it")))
        else:
            value = (stored.options.get(field.name) if stored else None)
            blocks.append(_text_input(config_field_block(system, field.name), field.label,
                                      None if value in (None, "") else str(value), field.hint,
                                      optional=not field.required))
    blocks.append(_context(_secrets_line(system, stored)))
    blocks.append(ActionsBlock(block_id=connection_test_block(system), elements=[
        ButtonElement(text="Test connection", action_id=connection_test_block(system), value=system)]))
    check = checks.get(system)
    if check is not None:
        blocks.append(ContextBlock(block_id=result_block(system), elements=[mrkdwn(check.text, MAX_CONTEXT_TEXT)]))
    return blocks


def _secret_hint(name: str, required: bool, stored: StoredConnection | None) -> str:
    if stored is not None and name in stored.stored_secrets:
        return "A value is stored; leave empty to keep it."
    return "Required: none is stored yet." if required else "Optional; none is stored."


def _secrets_line(system: str, stored: StoredConnection | None) -> str:
    if stored is None:
        return f":lock: No {VENDORS.label(system)} connection is saved yet."
    if not stored.stored_secrets:
        return ":lock: No secret is stored."
    when = f" on {stored.secrets_set_at:%Y-%m-%d}" if stored.secrets_set_at else ""
    return f":lock: A secret is stored (set by {_mention(stored.secrets_set_by or 'unknown')}{when})."


def _mention(slack_id: str) -> str:
    if SLACK_GROUP.fullmatch(slack_id):
        return group_mention(slack_id)
    if SLACK_USER.fullmatch(slack_id):
        return user_mention(slack_id)
    return mrkdwn_escape(slack_id)  # "demo", "cli": not a Slack user


def _context(markdown: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(markdown, MAX_CONTEXT_TEXT)])


def _text_input(block_id: str, label: str, value: str | None, hint: str | None, *,
                optional: bool = False) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, hint=hint, optional=optional,
                      element=PlainTextInputElement(action_id=block_id, initial_value=value or None,
                                                    max_length=MAX_INPUT_VALUE))


def _channel_input(block_id: str, label: str, channel: str | None, hint: str) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, hint=hint, optional=True,
                      element=ConversationSelectElement(
                          action_id=block_id, initial_conversation=channel, placeholder="Choose a channel",
                          filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True)))


def notice_view(title: str, markdown: str) -> dict[str, Any]:
    """A modal that only says something (a refusal, a saved summary, an altered dialog)."""
    return View(type="modal", title=truncate(title, 24), close="Close",
                blocks=[section(markdown)]).to_dict()


def loading_view() -> dict[str, Any]:
    return notice_view("SeatSync config", "Loading the configuration…")


# --- reading the state back --------------------------------------------------------------------------

def chosen_systems(values: dict[str, Any], fallback: AppSettings) -> Choices:
    """The marketplaces and the PSA picked in the modal (the stored ones when the state has no entry)."""
    entry = (values.get(ConfigId.MARKETPLACE_BLOCK) or {}).get(ConfigId.MARKETPLACE)
    marketplaces = (fallback.marketplaces if entry is None
                    else [o.get("value") for o in entry.get("selected_options") or []])
    entry = (values.get(ConfigId.PSA_BLOCK) or {}).get(ConfigId.PSA)
    psa = fallback.psa if entry is None else (entry.get("selected_option") or {}).get("value")
    return picked_systems(marketplaces, psa)


def picked_systems(marketplaces: list[Any], psa: Any) -> Choices:
    """Only what the modal offered (a vendor of the registry, of the right kind), each marketplace once."""
    offered = VENDORS.keys("marketplace")
    return Choices(marketplaces=tuple(dict.fromkeys(m for m in marketplaces if m in offered)),
                   psa=psa if psa in VENDORS.keys("psa") else None)


def connection_form(values: dict[str, Any], system: str) -> ConnectionForm | None:
    """A system's connection as typed, or None when its fields are not in the modal (not rendered yet)."""
    if config_field_block(system, "base_url") not in values:
        return None
    spec = VENDORS.get(system).connection
    options = {f.name: _text(values, config_field_block(system, f.name)) for f in spec.options}
    # a secret is taken exactly as typed (no trimming): it is the vendor's to judge
    secrets = {f.name: str(_entry(values, config_field_block(system, f.name)).get("value") or "")
               for f in spec.secrets}
    return ConnectionForm(system=system, base_url=_text(values, config_field_block(system, "base_url")),
                          options=options, secrets={k: v for k, v in secrets.items() if v})


def typed_secrets(values: dict[str, Any]) -> list[str]:
    """Every secret typed into the modal, whichever system it belongs to (to register for log redaction)."""
    return [str(_entry(values, config_field_block(vendor.key, f.name)).get("value") or "")
            for vendor in VENDORS for f in vendor.connection.secrets]


def config_form(values: dict[str, Any], base: AppSettings) -> tuple[ConfigForm, list[FieldProblem]]:
    """The form as submitted, over `base` (fields the modal does not show keep their stored value)."""
    problems: list[FieldProblem] = []
    numbers: dict[str, int] = {}
    for name, block_id in (("poll_minutes", ConfigId.POLL_MINUTES_BLOCK),
                           ("checklist_days_before_month_end", ConfigId.CHECKLIST_DAYS_BLOCK),
                           ("digest_hour", ConfigId.DIGEST_HOUR_BLOCK)):
        raw = _text(values, block_id)
        if WHOLE_NUMBER.fullmatch(raw):  # not str.isdigit(): "²" is a digit to it, and not to int()
            numbers[name] = int(raw)
        else:
            problems.append(FieldProblem(None, name, f"{raw or 'An empty value'!r} is not a whole number."))
    chosen = chosen_systems(values, base)
    users = list(_entry(values, ConfigId.TEAM_USERS_BLOCK).get("selected_users") or [])
    groups = [g.strip() for g in _text(values, ConfigId.TEAM_GROUP_BLOCK).replace(",", " ").split() if g.strip()]
    settings = replace(base, **numbers, timezone=_text(values, ConfigId.TIMEZONE_BLOCK) or base.timezone,
                       marketplaces=list(chosen.marketplaces),
                       marketplace=chosen.marketplaces[0] if chosen.marketplaces else None,
                       psa=chosen.psa, billing_team=users + groups,
                       alerts_channel=_entry(values, ConfigId.ALERTS_CHANNEL_BLOCK).get("selected_conversation"),
                       checklist_channel=_entry(values, ConfigId.CHECKLIST_CHANNEL_BLOCK).get(
                           "selected_conversation"))
    connections: list[ConnectionForm] = []
    for system in chosen.systems:
        slot = "marketplaces" if chosen.slot(system) == "marketplace" else "psa"
        form = connection_form(values, system)
        if form is None:
            problems.append(FieldProblem(None, slot, f"Fill in the {VENDORS.label(system)} connection first."))
        else:
            connections.append(form)
    return ConfigForm(settings=settings, connections=tuple(connections)), problems


def error_blocks(problems: list[FieldProblem]) -> dict[str, str]:
    """`response_action: errors` content: each message under its input (several joined)."""
    errors: dict[str, str] = {}
    for problem in problems:
        block_id = (config_field_block(problem.system, problem.name) if problem.system
                    else SETTING_BLOCKS.get(problem.name, ConfigId.POLL_MINUTES_BLOCK))
        errors[block_id] = truncate(f"{errors[block_id]} {problem.message}" if block_id in errors
                                    else problem.message, 2000)
    return errors


def _entry(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of an input block's one element (its action_id is the block id)."""
    return (values.get(block_id) or {}).get(block_id) or {}


def _text(values: dict[str, Any], block_id: str) -> str:
    return str(_entry(values, block_id).get("value") or "").strip()
