"""`/seats config` end to end: signed requests to the real app, Slack played by the simulator, connection
tests against the real vendor simulators over HTTP, settings and audit read back from the database."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app_factory import create_context
from bot.clock import ManualClock
from bot.commands.config.views import config_field_block, connection_test_block, result_block
from bot.config import load_settings
from bot.connectors.checks import check_connection
from bot.connectors.connection import Connection
from bot.db.app_settings import AppSettings, load_app_settings, save_app_settings
from bot.db.connections import load_connection
from bot.db.models import AuditEvent
from bot.db.tenancy import ensure_tenant, tenant_scope
from bot.log_redaction import RedactingFilter
from bot.sandbox.app import Sandbox
from bot.sandbox.slack import SlackRecorder
from bot.sandbox.slack_payloads import element_value
from bot.sandbox.slack_requests import SlackRequestSender
from bot.slack.ids import ConfigId
from bot.sync.engine import SyncEngine
from bot.sync.wiring import NotConfigured
from tests.bolt_listeners import listeners_done
from tests.commands import test_seats_command as seats_harness
from tests.commands.test_seats_command import DANA, LEE, SAM, SECRET, TOKEN, start_app
from tests.conftest import PINNED_NOW, make_env, postgres_url
from web.app import create_app

slack = seats_harness.slack  # the Slack simulator fixture
MORGAN = "U0MORGAN04"  # a workspace owner in the simulated workspace; Dana is an admin; Sam and Lee are neither


@pytest.fixture
def logs(caplog):
    """Every log line at DEBUG, through the redacting filter `serve` installs on its log handler."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())
    return caplog


@pytest.fixture
async def sandbox(today):
    started = await Sandbox.generate(seed=11, scale="small", today=today).start()
    yield started
    await started.stop()


async def start_scheduled_app(aiohttp_client, slack, tmp_path, database_url, *, tenant_per_workspace=False):
    """As `start_app`, with the scheduler running its jobs (as `serve` does). `tenant_per_workspace`: the jobs as a
    multi-workspace install schedules them (the requests still come with the one bot token)."""
    recorder, server = slack
    api_url = str(server.make_url("/slack/api/"))
    settings = load_settings(make_env(tmp_path, DATABASE_URL=database_url, SLACK_SIGNING_SECRET=SECRET,
                                      SLACK_BOT_TOKEN=TOKEN, SEATSYNC_SLACK_API_URL=api_url), dotenv_path=None)
    context = create_context(settings, clock=ManualClock(PINNED_NOW))
    context.tenant_per_workspace = tenant_per_workspace
    client = await aiohttp_client(create_app(context, run_scheduler=True))
    sender = SlackRequestSender(signing_secret=SECRET, events_url="/slack/events", recorder=recorder, client=client,
                                default_user_id=DANA, default_channel_id="C0BILLING01")
    return context, sender


# --- driving the modal like a person would -----------------------------------------------------------

def open_modal(recorder: SlackRecorder, user_id: str) -> dict[str, Any] | None:
    views = recorder.open_views(user_id)
    return views[-1] if views else None


async def open_config(sender: SlackRequestSender, recorder: SlackRecorder, user_id: str = DANA) -> dict[str, Any]:
    """`/seats config`, then wait for the loading modal to be filled in."""
    opened = len(recorder.calls("views.open"))
    reply = await sender.slash_command("config", user_id=user_id)
    assert reply.status == 200 and reply.body == ""
    await listeners_done()
    assert len(recorder.calls("views.open")) > opened
    assert "Loading" not in json.dumps(open_modal(recorder, user_id)["blocks"])
    assert recorder.calls("views.open")[-1].ok
    return open_modal(recorder, user_id)


def block_ids(view: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in view["blocks"]]


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """What the modal's inputs hold before the person types anything (their initial values)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        for key in ("initial_value", "initial_conversation", "initial_users"):
            if element.get(key):
                values[block["block_id"]] = element[key]
        if element.get("initial_option"):
            values[block["block_id"]] = element["initial_option"]["value"]
        if element.get("initial_options"):
            values[block["block_id"]] = [option["value"] for option in element["initial_options"]]
    return values


def type_into(recorder: SlackRecorder, view_id: str, values: dict[str, Any]) -> None:
    """The person types/picks without submitting: Slack then sends these in view.state with each action."""
    body = recorder.views[view_id].body
    state = body.setdefault("state", {"values": {}}).setdefault("values", {})
    for block in body["blocks"]:
        if block.get("type") == "input" and block["block_id"] in values:
            element = block["element"]
            state[block["block_id"]] = {element["action_id"]: {
                "type": element["type"], **element_value(element, element["type"], values[block["block_id"]])}}


async def pick(sender: SlackRequestSender, recorder: SlackRecorder, slot: str, system: str | list[str],
               user_id: str = DANA) -> dict[str, Any]:
    """Pick the PSA, or the marketplaces to read (one, or several in the order given)."""
    view = open_modal(recorder, user_id)
    updates = len(recorder.calls("views.update"))
    if slot == "psa":
        type_into(recorder, view["id"], {ConfigId.PSA_BLOCK: system})
        reply = await sender.block_actions(ConfigId.PSA, view=view["id"], selected_option=system, user_id=user_id)
    else:
        systems = [system] if isinstance(system, str) else system
        type_into(recorder, view["id"], {ConfigId.MARKETPLACE_BLOCK: systems})
        reply = await sender.block_actions(ConfigId.MARKETPLACE, view=view["id"], selected_options=systems,
                                           user_id=user_id)
    assert reply.status == 200
    await listeners_done()
    assert len(recorder.calls("views.update")) > updates
    assert recorder.calls("views.update")[-1].ok
    return open_modal(recorder, user_id)


async def submit(sender: SlackRequestSender, recorder: SlackRecorder, changes: dict[str, Any],
                 user_id: str = DANA):
    view = open_modal(recorder, user_id)
    values = {**initial_values(view), **changes}
    return await sender.view_submission(view["id"], values, user_id=user_id)


def autotask_values(sandbox: Sandbox, **changes: str) -> dict[str, str]:
    entry = sandbox.config()["autotask"]
    given = {"base_url": entry["url"], "username": entry["username"],
             "integration_code": entry["integration_code"], "secret": entry["secret"], **changes}
    return {config_field_block("autotask", name): value for name, value in given.items()}


def odin_values(sandbox: Sandbox) -> dict[str, str]:
    odin = sandbox.config()["odin"]
    return {config_field_block("odin", "base_url"): odin["url"],
            config_field_block("odin", "username"): odin["username"],
            config_field_block("odin", "password"): odin["password"]}


def sent_bodies(recorder: SlackRecorder) -> str:
    """Everything SeatSync sent to Slack's Web API, as one string."""
    return json.dumps([c.args for c in recorder.calls()])


# --- who may ------------------------------------------------------------------------------------------

async def test_someone_neither_admin_nor_on_the_team_is_refused(aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url,
                                      SEATSYNC_BILLING_TEAM="S0BILLING01")

    modal = await open_config(sender, recorder, user_id=LEE)

    text = json.dumps(modal["blocks"])
    assert "Only SeatSync admins can change its configuration" in text and "<!subteam^S0BILLING01>" in text
    assert not [b for b in modal["blocks"] if b["type"] == "input"] and modal.get("submit") is None
    assert [c.args["user"] for c in recorder.calls("users.info")] == [LEE]


async def test_when_the_dialog_cannot_open_the_person_is_told_why(aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    issue = recorder.issue_trigger_id

    def stale_trigger(user_id, **kwargs):  # Slack delivered the command late: its trigger_id has expired
        trigger = issue(user_id, **kwargs)
        recorder.triggers[trigger].issued_at -= recorder.trigger_ttl_s + 1
        return trigger

    recorder.issue_trigger_id = stale_trigger

    reply = await sender.slash_command("config", user_id=DANA)

    assert reply.status == 200
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    assert [c.error for c in recorder.calls("views.open")] == ["expired_trigger_id"]
    text = recorder.ephemeral_messages(DANA)[0].message["text"]
    assert "could not open the config dialog" in text and "expired_trigger_id" in text
    assert "/seats config" in text  # what to do: run it again


async def test_team_members_and_workspace_admins_may_but_not_everyone_without_a_team(
        aiohttp_client, slack, tmp_path, database_url):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    lee_modal = await open_config(sender, recorder, user_id=LEE)  # no team configured: the demo rule is not enough
    assert "Only SeatSync admins" in json.dumps(lee_modal["blocks"])
    dana_modal = await open_config(sender, recorder, user_id=DANA)  # a workspace admin
    assert ConfigId.POLL_MINUTES_BLOCK in block_ids(dana_modal) and dana_modal["submit"]["text"] == "Save"

    _, with_team = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_BILLING_TEAM="S0BILLING01")
    sam_modal = await open_config(with_team, recorder, user_id=SAM)  # in the billing-team user group
    assert ConfigId.POLL_MINUTES_BLOCK in block_ids(sam_modal)


async def test_a_submission_is_checked_again_and_altered_state_is_refused(aiohttp_client, slack, tmp_path,
                                                                          database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    modal = await open_config(sender, recorder, user_id=DANA)

    recorder.views[modal["id"]].user_id = LEE  # Lee somehow holds Dana's modal
    as_lee = await submit(sender, recorder, {ConfigId.POLL_MINUTES_BLOCK: "2"}, user_id=LEE)
    assert as_lee.json["response_action"] == "update"
    assert "Only SeatSync admins" in json.dumps(as_lee.json["view"])

    modal = await open_config(sender, recorder, user_id=DANA)
    recorder.views[modal["id"]].body["private_metadata"] += "x"
    tampered = await submit(sender, recorder, {ConfigId.POLL_MINUTES_BLOCK: "2"})
    assert "state was altered" in json.dumps(tampered.json["view"])
    async with context.sessions() as session:
        assert (await load_app_settings(session=session)).poll_minutes == 5
        assert list(await session.scalars(select(AuditEvent))) == []


# --- validation ---------------------------------------------------------------------------------------

async def test_each_bad_field_gets_its_own_error_and_nothing_is_saved(aiohttp_client, slack, tmp_path,
                                                                      database_url, sandbox):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")

    reply = await submit(sender, recorder, {
        **autotask_values(sandbox, base_url="webservices.autotask.net/ATServicesRest", secret=""),
        ConfigId.POLL_MINUTES_BLOCK: "0", ConfigId.DIGEST_HOUR_BLOCK: "seven",
        ConfigId.TIMEZONE_BLOCK: "Mars/Olympus_Mons", ConfigId.TEAM_GROUP_BLOCK: "billing-team"})

    assert reply.status == 200 and reply.problems == []  # every key is an input block of the modal
    errors = reply.json["errors"]
    assert reply.json["response_action"] == "errors"
    assert errors[ConfigId.POLL_MINUTES_BLOCK] == "Must be between 1 and 1440."
    assert errors[ConfigId.DIGEST_HOUR_BLOCK] == "'seven' is not a whole number."
    assert errors[ConfigId.TIMEZONE_BLOCK].startswith("'Mars/Olympus_Mons' is not an IANA time zone")
    assert errors[config_field_block("autotask", "base_url")] == \
        "'webservices.autotask.net/ATServicesRest' is not an http(s) URL."
    assert "'billing-team' is not a Slack user id" in errors[ConfigId.TEAM_GROUP_BLOCK]
    assert open_modal(recorder, DANA) is not None  # the modal stays open for corrections
    async with context.sessions() as session:
        assert await load_connection(session=session, box=context.box, system="autotask") is None
        assert (await load_app_settings(session=session)).poll_minutes == 5

    # URL fixed: a first save still needs the secret that was left empty
    reply = await submit(sender, recorder, {**autotask_values(sandbox, secret="")})
    assert reply.json["errors"] == {config_field_block("autotask", "secret"):
                                    "API user secret is required: none is stored yet."}


# --- secrets, audit, engine and schedule ---------------------------------------------------------------

async def test_secrets_are_write_only_audited_as_changed_and_never_sent_or_logged(
        aiohttp_client, slack, tmp_path, database_url, sandbox, logs):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    secret = sandbox.config()["autotask"]["secret"]
    code = sandbox.config()["autotask"]["integration_code"]
    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")
    modal = await pick(sender, recorder, "marketplace", "odin")
    assert "No Autotask connection is saved yet" in json.dumps(modal["blocks"])

    saved = await submit(sender, recorder, {**autotask_values(sandbox), **odin_values(sandbox),
                                            ConfigId.ALERTS_CHANNEL_BLOCK: "C0BILLING01"})

    assert saved.json["response_action"] == "update", saved.json
    summary = json.dumps(saved.json["view"])
    assert "Autotask connection saved; secrets replaced: integration_code, secret." in summary
    async with context.sessions() as session:
        stored = await load_connection(session=session, box=context.box, system="autotask")
        settings = await load_app_settings(session=session)
        audit = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert stored.secrets == {"integration_code": code, "secret": secret}
    assert (settings.marketplace, settings.psa, settings.alerts_channel) == ("odin", "autotask", "C0BILLING01")
    assert {(e.actor, e.action, e.subject_id) for e in audit} == {
        (DANA, "save_connection", "autotask"), (DANA, "save_connection", "odin"),
        (DANA, "save_settings", "app")}
    autotask_audit = next(e for e in audit if e.subject_id == "autotask")
    assert autotask_audit.after["secrets_changed"] is True
    assert secret not in json.dumps([(e.before, e.after) for e in audit])

    # opened again: the secret is neither pre-filled nor shown, only that it is stored and by whom
    modal = await open_config(sender, recorder)
    secret_input = next(b for b in modal["blocks"] if b.get("block_id") == config_field_block("autotask", "secret"))
    assert "initial_value" not in secret_input["element"]
    assert secret_input["hint"]["text"] == "A value is stored; leave empty to keep it."
    assert f"A secret is stored (set by <@{DANA}> on " in json.dumps(modal["blocks"])

    # saved again with the secrets left empty: the stored ones are kept, the audit says they did not change
    kept = await submit(sender, recorder, {ConfigId.POLL_MINUTES_BLOCK: "10",
                                           config_field_block("autotask", "username"): "other@msp.example.com"})
    assert "stored secrets kept" in json.dumps(kept.json["view"])
    async with context.sessions() as session:
        stored = await load_connection(session=session, box=context.box, system="autotask")
        last = (await session.scalars(select(AuditEvent).where(AuditEvent.subject_id == "autotask")
                                      .order_by(AuditEvent.id.desc()))).first()
    assert stored.secrets == {"integration_code": code, "secret": secret}
    assert stored.options["username"] == "other@msp.example.com"
    assert last.after["secrets_changed"] is False and last.actor == DANA

    for value in (secret, code):
        assert value not in sent_bodies(recorder)
        assert value not in logs.text


@pytest.mark.skipif(postgres_url() is not None, reason="the in-process scheduler serves SQLite; on PostgreSQL the "
                    "job queue's tick reads the saved settings every minute (tests/test_job_queue.py)")
async def test_a_save_rebuilds_the_engine_and_reschedules_the_jobs(aiohttp_client, slack, tmp_path, database_url,
                                                                  sandbox):
    recorder, _ = slack
    context, sender = await start_scheduled_app(aiohttp_client, slack, tmp_path, database_url)
    assert context.scheduler.job_trigger("sync-poll") is not None  # registered at the app's start
    assert context.scheduler.job_trigger("sync-poll").interval == timedelta(minutes=5)
    assert isinstance(await context.engines.get(), NotConfigured)

    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")
    await pick(sender, recorder, "marketplace", "odin")
    reply = await submit(sender, recorder, {**autotask_values(sandbox), **odin_values(sandbox),
                                            ConfigId.POLL_MINUTES_BLOCK: "17", ConfigId.DIGEST_HOUR_BLOCK: "6",
                                            ConfigId.TIMEZONE_BLOCK: "America/Denver"})
    assert reply.json["response_action"] == "update"

    await listeners_done()
    assert context.scheduler.job_trigger("sync-poll").interval == timedelta(minutes=17)
    assert context.scheduler.job_trigger("margin-guard").interval == timedelta(minutes=17)
    digest = context.scheduler.job_trigger("daily-digest")
    assert str(digest.timezone) == "America/Denver" and "hour='6'" in str(digest)
    engine = await context.engines.get()
    assert isinstance(engine, SyncEngine) and engine.psa.system == "autotask"


async def test_a_save_in_multi_workspace_mode_says_the_tenants_jobs_follow_its_own_settings(
        aiohttp_client, slack, tmp_path, database_url, sandbox, logs):
    recorder, _ = slack
    context, sender = await start_scheduled_app(aiohttp_client, slack, tmp_path, database_url,
                                                tenant_per_workspace=True)
    async with context.sessions() as session:
        tenant = await ensure_tenant(session, team_id=recorder.team_id, enterprise_id=None,
                                     is_enterprise_install=False)
        await session.commit()
    assert context.scheduler.job_trigger("sync-poll") is None  # each tenant's minutes, no job on one's triggers

    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")
    await pick(sender, recorder, "marketplace", "odin")
    reply = await submit(sender, recorder, {**autotask_values(sandbox), **odin_values(sandbox),
                                            ConfigId.POLL_MINUTES_BLOCK: "17"})
    assert reply.json["response_action"] == "update"
    await listeners_done()

    [saved] = [r.getMessage() for r in logs.records if r.getMessage().startswith("configuration saved by")]
    assert saved.endswith(f"tenant {tenant}'s jobs follow them from the next minute (each tenant's jobs run on its "
                          "own settings, read every minute)")
    assert "poll_minutes" in saved and "rescheduled" not in saved
    with tenant_scope(tenant):
        async with context.sessions() as session:
            assert (await load_app_settings(session=session)).poll_minutes == 17


@pytest.mark.skipif(postgres_url() is None, reason="the job queue runs the jobs on PostgreSQL only")
async def test_a_save_on_the_job_queue_says_the_jobs_follow_the_settings_from_the_next_minute(
        aiohttp_client, slack, tmp_path, database_url, sandbox, logs):
    recorder, _ = slack
    context, sender = await start_scheduled_app(aiohttp_client, slack, tmp_path, database_url)

    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")
    await pick(sender, recorder, "marketplace", "odin")
    await submit(sender, recorder, {**autotask_values(sandbox), **odin_values(sandbox),
                                    ConfigId.POLL_MINUTES_BLOCK: "17"})
    await listeners_done()

    [saved] = [r.getMessage() for r in logs.records if r.getMessage().startswith("configuration saved by")]
    assert saved.endswith("the jobs follow them from the next minute (the job queue reads the settings every minute)")
    assert "no running jobs" not in saved


# --- Test connection ----------------------------------------------------------------------------------

def shown_result(recorder: SlackRecorder, system: str) -> str | None:
    modal = open_modal(recorder, DANA)
    block = next((b for b in modal["blocks"] if b.get("block_id") == result_block(system)), None)
    return block["elements"][0]["text"] if block else None


async def press_test(sender: SlackRequestSender, recorder: SlackRecorder, slot: str, system: str,
                     typed: dict[str, str]) -> str:
    """Type the values, press *Test connection*, wait for the verdict under the button."""
    modal = open_modal(recorder, DANA)
    type_into(recorder, modal["id"], typed)
    updates = len(recorder.calls("views.update"))
    reply = await sender.block_actions(connection_test_block(system), view=modal["id"])
    assert reply.status == 200 and reply.body == ""
    await listeners_done()
    assert len(recorder.calls("views.update")) > updates
    assert (shown_result(recorder, system) or "").startswith((":white_check_mark:", ":x:"))
    return shown_result(recorder, system)


async def test_test_connection_shows_the_connectors_own_diagnosis(aiohttp_client, slack, tmp_path, database_url,
                                                                   sandbox, logs):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")

    good = await press_test(sender, recorder, "psa", "autotask", autotask_values(sandbox))
    assert good.startswith(":white_check_mark: Connected to Autotask")
    assert any("Testing the connection to Autotask" in json.dumps(c.args["view"])
               for c in recorder.calls("views.update"))

    wrong = "not-the-secret-4711"
    bad = await press_test(sender, recorder, "psa", "autotask", autotask_values(sandbox, secret=wrong))
    entry = sandbox.config()["autotask"]
    expected = await check_connection(Connection(
        system="autotask", base_url=entry["url"], options={"username": entry["username"]},
        secrets={"integration_code": entry["integration_code"], "secret": wrong}))
    assert not expected.ok and "rejected the credentials" in expected.detail
    assert bad.split("\n")[0] == f":x: {expected.detail}"

    bad_url = await press_test(sender, recorder, "psa", "autotask", autotask_values(sandbox, base_url="ftp://nowhere"))
    assert bad_url == ":x: 'ftp://nowhere' is not an http(s) URL."
    assert all(c.ok for c in recorder.calls("views.update"))
    for value in (entry["secret"], entry["integration_code"], wrong):
        assert value not in sent_bodies(recorder) and value not in logs.text


async def test_test_connection_is_for_admins_and_the_typed_secret_stays_masked(aiohttp_client, slack, tmp_path,
                                                                                database_url, sandbox, logs):
    """`admins_only` on *Test connection*: someone else holding the modal sees it turn into the refusal, no test
    runs, and what they typed is masked in the log before anything answers them (`typed_secrets_masked`)."""
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, SEATSYNC_BILLING_TEAM="S0BILLING01")
    modal = await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")
    recorder.views[modal["id"]].user_id = LEE  # Lee somehow holds Dana's modal
    typed = "typed-by-lee-0815"
    type_into(recorder, modal["id"], autotask_values(sandbox, secret=typed))
    updates = len(recorder.calls("views.update"))

    reply = await sender.block_actions(connection_test_block("autotask"), view=modal["id"], user_id=LEE)

    assert reply.status == 200 and reply.body == ""
    await listeners_done()
    refused = [json.dumps(c.args["view"]) for c in recorder.calls("views.update")[updates:]]
    assert len(refused) == 1 and "Only SeatSync admins can change its configuration" in refused[0]
    assert "<!subteam^S0BILLING01>" in refused[0] and "Testing the connection" not in refused[0]
    assert typed not in sent_bodies(recorder) and typed not in logs.text


async def test_test_connection_uses_the_stored_secret_behind_an_empty_field(aiohttp_client, slack, tmp_path,
                                                                           database_url, sandbox):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:  # saved earlier; the modal never saw these values
        await save_app_settings(session=session, settings=AppSettings(marketplace="ingram"), actor="test")
        await session.commit()
    entry = sandbox.config()["ingram"]
    await open_config(sender, recorder)
    typed = {config_field_block("ingram", "base_url"): entry["url"],
             config_field_block("ingram", "username"): entry["username"],
             config_field_block("ingram", "marketplace"): entry["marketplace"],
             config_field_block("ingram", "subscription_key"): entry["subscription_key"],
             config_field_block("ingram", "password"): entry["password"]}
    saved = await submit(sender, recorder, typed)
    assert saved.json["response_action"] == "update", saved.json

    await open_config(sender, recorder)
    result = await press_test(sender, recorder, "marketplace", "ingram", {
        k: v for k, v in typed.items() if not k.endswith(("subscription_key", "password"))})

    assert result.startswith(":white_check_mark: Logged in to marketplace"), result


# --- several marketplaces ------------------------------------------------------------------------------

def pax8_values(sandbox: Sandbox, **changes: str) -> dict[str, str]:
    entry = sandbox.config()["pax8"]
    given = {"base_url": entry["url"], "client_id": entry["client_id"], "audience": entry["audience"],
             "token_url": entry["token_url"], "client_secret": entry["client_secret"], **changes}
    return {config_field_block("pax8", name): value for name, value in given.items()}


async def test_an_admin_picks_two_marketplaces_fills_and_tests_each_and_saves_both(aiohttp_client, slack, tmp_path,
                                                                                    database_url, sandbox):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)
    await pick(sender, recorder, "psa", "autotask")
    modal = await pick(sender, recorder, "marketplace", ["odin", "pax8"])

    shown = block_ids(modal)
    for system in ("odin", "pax8"):  # each chosen marketplace's fields and its own Test connection
        assert config_field_block(system, "base_url") in shown and connection_test_block(system) in shown
    assert config_field_block("ingram", "base_url") not in shown
    assert shown.index(config_field_block("odin", "base_url")) < shown.index(config_field_block("pax8", "base_url"))

    wrong = await press_test(sender, recorder, "marketplace", "pax8", pax8_values(sandbox, client_secret="not-it"))
    assert wrong.startswith(":x: Pax8 rejected the client secret"), wrong
    assert shown_result(recorder, "odin") is None  # the verdict lands under Pax8's fields only
    good = await press_test(sender, recorder, "marketplace", "pax8", {**odin_values(sandbox), **pax8_values(sandbox)})
    assert good.startswith(":white_check_mark: Signed in to Pax8"), good

    saved = await submit(sender, recorder, {**autotask_values(sandbox), **odin_values(sandbox),
                                            **pax8_values(sandbox)})

    assert saved.json["response_action"] == "update", saved.json
    summary = json.dumps(saved.json["view"])
    assert "Pax8 connection saved; secrets replaced: client_secret." in summary
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
        pax8 = await load_connection(session=session, box=context.box, system="pax8")
    assert (settings.marketplaces, settings.marketplace, settings.psa) == (["odin", "pax8"], "odin", "autotask")
    assert pax8.options["client_id"] == sandbox.config()["pax8"]["client_id"]
    engine = await context.engines.get()
    assert isinstance(engine, SyncEngine)

    # opened again: both marketplaces are picked, in their order, each with its fields
    modal = await open_config(sender, recorder)
    picker = next(b for b in modal["blocks"] if b.get("block_id") == ConfigId.MARKETPLACE_BLOCK)
    assert [o["value"] for o in picker["element"]["initial_options"]] == ["odin", "pax8"]

    # dropping Odin keeps its stored connection but reads Pax8 alone
    await pick(sender, recorder, "marketplace", ["pax8"])
    saved = await submit(sender, recorder, {})
    assert saved.json["response_action"] == "update", saved.json
    async with context.sessions() as session:
        settings = await load_app_settings(session=session)
        odin = await load_connection(session=session, box=context.box, system="odin")
    assert (settings.marketplaces, settings.marketplace) == (["pax8"], "pax8")
    assert odin is not None


async def test_a_marketplace_picked_without_its_fields_is_refused_under_the_picker(aiohttp_client, slack, tmp_path,
                                                                                    database_url, sandbox):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await open_config(sender, recorder)
    view = open_modal(recorder, DANA)
    # Slack sends what is in the state: a pick whose fields the modal never rendered
    saved = await sender.view_submission(view["id"], {**initial_values(view), ConfigId.MARKETPLACE_BLOCK: ["pax8"]},
                                         user_id=DANA)
    assert saved.json["response_action"] == "errors", saved.json
    assert "Fill in the Pax8 connection first." in saved.json["errors"][ConfigId.MARKETPLACE_BLOCK]
