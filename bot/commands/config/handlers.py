"""`/seats config` (and App Home's Config button): the admins' modal for connections, channels, team, schedule.

Flow: ack, open a "Loading…" modal at once (the trigger expires in 3 s), check the person is an admin
(`bot.slack.admins`), then fill the modal in. Changing the marketplaces picked or the PSA re-renders it; each
chosen system's *Test connection* (the button's value names the system) acks, shows "Testing…", runs the
connector's own test with the values as typed (stored secrets behind empty fields) and shows its diagnosis under
that system. Save validates per field (`response_action:
errors`), stores and audits, then the engine is rebuilt on its next use and the scheduled jobs take the
new schedule. No secret is ever put in a view, a message or a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.config.views import (
    CheckLine,
    Choices,
    check_line,
    chosen_systems,
    config_form,
    config_view,
    connection_form,
    error_blocks,
    loading_view,
    notice_view,
    picked_systems,
    problems_line,
    result_block,
    typed_secrets,
)
from bot.connectors.checks import check_connection
from bot.connectors.registry import VENDORS
from bot.db.tenancy import current_tenant_id
from bot.keys import SecretDecryptionError
from bot.log_redaction import register_secret
from bot.services.configuration import (
    Configuration,
    InvalidConfiguration,
    SavedConfiguration,
    connection_problems,
    connection_to_test,
    load_configuration,
    save_configuration,
    validate_form,
)
from bot.slack.guards import admins_only, refusal_for_admins
from bot.slack.ids import ConfigId, SealedFor
from bot.slack.inbound import from_a_view
from bot.slack.metadata import TamperedMetadata
from bot.slack.modal_state import open_state, seal_state
from bot.slack.mrkdwn import mrkdwn_escape, user_mention
from bot.sync.schedule import settings_triggers

if TYPE_CHECKING:
    from bot.app_context import AppContext

log = logging.getLogger(__name__)

TITLE = "SeatSync config"


def register_config(app: AsyncApp) -> None:
    app.action(ConfigId.MARKETPLACE.value, matchers=[from_a_view])(pick_system)
    app.action(ConfigId.PSA.value, matchers=[from_a_view])(pick_system)
    app.action(re.compile("^" + re.escape(ConfigId.TEST_CONNECTION.value)), matchers=[from_a_view],
               middleware=[typed_secrets_masked, admins_only])(test_connection)
    app.view(ConfigId.CALLBACK.value, middleware=[typed_secrets_masked, admins_only])(submit_config)


async def typed_secrets_masked(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:  # noqa: A002
    """Listener middleware, before anything else answers: the secrets typed in the modal join the redacting log
    filter (`bot.log_redaction`), since Slack's replies to views.update echo the modal's state and slack_sdk logs
    replies at DEBUG."""
    for secret in typed_secrets(((body.get("view") or {}).get("state") or {}).get("values") or {}):
        register_secret(secret)
    await next()


async def open_config(*, app_context: AppContext, client: AsyncWebClient, user_id: str, trigger_id: str,
                      reply: Callable[[str], Awaitable[object]]) -> None:
    """Called after the ack of `/seats config` or of App Home's Config button; `reply` answers the person
    (ephemerally) when Slack will not open the dialog."""
    try:
        opened = await client.views_open(trigger_id=trigger_id, view=loading_view())
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("cannot open the config modal for %s: %s", user_id, error)
        await reply(f"I could not open the config dialog: Slack said `{mrkdwn_escape(str(error))}`"
                    + (" (the request reached me too late to open a dialog)" if error == "expired_trigger_id" else "")
                    + ". Run `/seats config` again.")
        return
    view_id, view_hash = opened["view"]["id"], opened["view"]["hash"]
    refused = await refusal_for_admins(app_context, client, user_id)  # after views.open: the trigger expires in 3 s
    if refused is not None:
        await _update(client, view_id, view_hash, notice_view(TITLE, refused))
        return
    config = await _load(app_context)
    if isinstance(config, str):
        await _update(client, view_id, view_hash, notice_view(TITLE, config))
        return
    metadata = seal_state(app_context, SealedFor.CONFIG, {"opened_by": user_id})
    choices = chosen_systems({}, config.settings)
    await _update(client, view_id, view_hash, config_view(config, choices=choices, metadata=metadata,
                                                          env_team=app_context.settings.billing_team))


async def pick_system(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    await ack()
    view = body["view"]
    if not _accept_view(app_context, view):
        await _update(client, view["id"], view["hash"], notice_view(TITLE, _TAMPERED))
        return
    config = await _load(app_context)
    if isinstance(config, str):
        await _update(client, view["id"], view["hash"], notice_view(TITLE, config))
        return
    choices = chosen_systems(view["state"]["values"], config.settings)
    for action in body.get("actions") or []:  # the pick itself, in case the state lags behind it
        if action.get("action_id") == ConfigId.MARKETPLACE:
            choices = picked_systems([o.get("value") for o in action.get("selected_options") or []], choices.psa)
        else:
            choices = picked_systems(list(choices.marketplaces), (action.get("selected_option") or {}).get("value"))
    await _update(client, view["id"], view["hash"], _render(app_context, config, view, choices))


async def test_connection(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, app_context: AppContext) -> None:
    """*Test connection* under a chosen marketplace's or the PSA's fields (behind `admins_only`)."""
    await ack()
    view, user_id = body["view"], body["user"]["id"]
    system = str(body["actions"][0]["action_id"]).removeprefix(ConfigId.TEST_CONNECTION)
    if not _accept_view(app_context, view):
        await _update(client, view["id"], view["hash"], notice_view(TITLE, _TAMPERED))
        return
    config = await _load(app_context)
    if isinstance(config, str):
        await _update(client, view["id"], view["hash"], notice_view(TITLE, config))
        return
    values = view["state"]["values"]
    choices = chosen_systems(values, config.settings)
    form = connection_form(values, system) if system in choices.systems else None
    if form is None:
        return  # the button is only shown with a chosen system's fields; nothing to test
    problems = connection_problems(form)
    if problems:
        await _update(client, view["id"], view["hash"],
                      _render(app_context, config, view, choices, problems_line(system, problems)))
        return
    waiting = CheckLine(system, f":hourglass_flowing_sand: Testing the connection to {VENDORS.label(system)}…")
    new_hash = await _update(client, view["id"], view["hash"], _render(app_context, config, view, choices, waiting))
    if new_hash is None:
        return
    async with app_context.sessions() as session:
        connection = await connection_to_test(session=session, box=app_context.box, form=form)
    check = await check_connection(connection)
    log.info("connection test of %s by %s: %s", system, user_id, "ok" if check.ok else "failed")
    await _update(client, view["id"], new_hash, _render(app_context, config, view, choices, check_line(check)))


async def submit_config(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                        app_context: AppContext) -> None:
    user_id = body["user"]["id"]
    if not _accept_view(app_context, view):
        await ack(response_action="update", view=notice_view(TITLE, _TAMPERED))
        return
    outcome = await _save(app_context, view["state"]["values"], user_id)
    if isinstance(outcome, dict):
        await ack(response_action="errors", errors=outcome)
        return
    if isinstance(outcome, str):
        await ack(response_action="update", view=notice_view(TITLE, outcome))
        return
    await ack(response_action="update", view=notice_view("Config saved", saved_summary(outcome, user_id)))
    app_context.engines.invalidate()
    log.info("configuration saved by %s: settings %s, connections %s; %s", user_id,
             ", ".join(outcome.changed_settings) or "unchanged", ", ".join(outcome.saved_connections) or "none",
             _follow_the_settings(app_context, outcome))


def _follow_the_settings(app_context: AppContext, outcome: SavedConfiguration) -> str:
    """Make the jobs follow the saved timing; what was done, for the log."""
    if app_context.tenant_per_workspace:
        # no job of the install runs on this tenant's triggers: each minute reads every tenant's own settings
        return (f"tenant {current_tenant_id()}'s jobs follow them from the next minute (each tenant's jobs run on "
                "its own settings, read every minute)")
    if app_context.settings.jobs_on_queue:
        # the job queue's tick reads the settings every minute (bot.job_queue); the scheduler here holds no job
        return "the jobs follow them from the next minute (the job queue reads the settings every minute)"
    rescheduled = app_context.scheduler.reschedule(settings_triggers(outcome.settings))
    return f"rescheduled {', '.join(rescheduled) or 'no running jobs'}"


async def _save(app_context: AppContext, values: dict[str, Any],
                user_id: str) -> SavedConfiguration | dict[str, str] | str:
    """The saved configuration, the per-field errors, or a message when the stored state cannot be read."""
    config = await _load(app_context)
    if isinstance(config, str):
        return config
    form, problems = config_form(values, config.settings)
    if problems:
        return error_blocks(problems + validate_form(form))
    async with app_context.sessions() as session:
        try:
            saved = await save_configuration(session=session, box=app_context.box, form=form, actor=user_id)
        except InvalidConfiguration as exc:
            return error_blocks(exc.problems)
        await session.commit()
    return saved


def saved_summary(saved: SavedConfiguration, user_id: str) -> str:
    lines = [f"Saved by {user_mention(user_id)}; the audit trail has the details."]
    if saved.changed_settings:
        lines.append("Settings changed: " + ", ".join(name.replace("_", " ") for name in saved.changed_settings) + ".")
    for system in saved.saved_connections:
        replaced = saved.secrets_changed.get(system) or ()
        lines.append(f"{VENDORS.label(system)} connection saved"
                     + (f"; secrets replaced: {', '.join(replaced)}." if replaced else "; stored secrets kept."))
    if not saved.changed_settings and not saved.saved_connections:
        lines.append("Nothing changed.")
    settings = saved.settings
    lines.append(f"Schedule: a sync every {settings.poll_minutes} min; digest at {settings.digest_hour}:00 "
                 f"{mrkdwn_escape(settings.timezone)}; checklist {settings.checklist_days_before_month_end} days "
                 "before month end.")
    return "\n".join(lines)


# --- helpers -----------------------------------------------------------------------------------------

_TAMPERED = "This dialog's state was altered; open it again with `/seats config`."


def _accept_view(app_context: AppContext, view: dict[str, Any]) -> bool:
    """Whether the modal's private_metadata is ours. First, since Slack's replies to views.update echo the
    modal's state (typed secrets included) and slack_sdk logs replies at DEBUG, the typed secrets are
    registered before any call, so the redacting log filter masks them."""
    for secret in typed_secrets((view.get("state") or {}).get("values") or {}):
        register_secret(secret)
    try:
        open_state(app_context, SealedFor.CONFIG, view.get("private_metadata"))
    except TamperedMetadata:
        log.warning("a config modal came back with altered private_metadata; ignored")
        return False
    return True


async def _load(app_context: AppContext) -> Configuration | str:
    try:
        async with app_context.sessions() as session:
            return await load_configuration(session=session, box=app_context.box)
    except SecretDecryptionError as exc:
        return f"The stored configuration cannot be read: {mrkdwn_escape(str(exc))}."


def _render(app_context: AppContext, config: Configuration, view: dict[str, Any], choices: Choices,
            line: CheckLine | None = None) -> dict[str, Any]:
    """The modal again, keeping the test results still shown for the systems still chosen."""
    checks: dict[str, CheckLine] = {}
    shown = {block.get("block_id"): block for block in view.get("blocks", [])}
    for system in choices.systems:
        block = shown.get(result_block(system))
        if block is not None and block.get("elements"):
            checks[system] = CheckLine(system, block["elements"][0].get("text", ""))
    if line is not None:
        checks[line.system] = line
    return config_view(config, choices=choices, metadata=view["private_metadata"],
                       env_team=app_context.settings.billing_team, checks=checks)


async def _update(client: AsyncWebClient, view_id: str, view_hash: str | None, view: dict[str, Any]) -> str | None:
    """views.update guarded by the hash; the new hash, or None when Slack refused (logged)."""
    try:
        reply = await client.views_update(view_id=view_id, hash=view_hash, view=view)
    except SlackApiError as exc:
        log.warning("cannot update the config modal %s: %s", view_id, exc.response.get("error"))
        return None
    return reply["view"]["hash"]
