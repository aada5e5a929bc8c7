"""`/seats link` end to end against the sandbox: every step of the wizard through signed requests, the
one-time reconciliation through the real engine and the Autotask simulator, the result in the channel."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.audit import audit_events_for
from bot.db.links import link_company, link_subscription
from bot.db.models import PriceSourceKind, ResourceLink, Scope
from bot.db.policies import set_approval_policy, set_price_source
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from bot.slack.ids import LinkActionId, LinkCallbackId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    BILLING_CHANNEL,
    DANA,
    Modal,
    assert_valid_message,
    assert_valid_view,
    failed_calls,
    line_rows,
    messages_in,
    option_named,
    option_texts,
    slack,  # noqa: F401 - the fixture
    start_app,
)
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import pick_lines

CONFIDENCE = re.compile(r" · \d{1,3}%")
ALERTS_CHANNEL = "C0GENERAL01"  # a channel the bot is in, other than where the wizard runs


@pytest.fixture
async def workspace(database_url, clock, today):
    """The small sandbox MSP read once (nothing linked), with one line at 8 seats bought and 1 billed."""
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    line, = pick_lines(sandbox.world, "autotask", 1)
    line.set_market_total(8)
    line.set_psa_units(1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    workspace.line = line
    workspace.rows = await line_rows(workspace.sessions, subscription_external_id=str(line.subscription_id),
                                     resource_external_id=str(line.resource_id),
                                     service_external_id=str(line.service_id))
    yield workspace
    await workspace.close()


async def test_the_wizard_walks_every_level_and_posts_the_reconciliation(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                         database_url, workspace):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    rows, modal = workspace.rows, Modal(recorder, sender)

    # `[name]`: the modal opens at once, then the likely marketplace company is picked for the user
    reply = await sender.slash_command(f"link {rows.company}")
    assert reply.status == 200 and reply.body == ""
    await listeners_done()
    assert recorder.calls("views.update")
    assert [c.method for c in recorder.calls() if c.method.startswith("views.")] == ["views.open", "views.update"]
    assert modal.top["callback_id"] == LinkCallbackId.WIZARD
    assert modal.element(LinkActionId.PICK_COMPANY)["initial_option"]["value"] == str(rows.company_id)
    assert f"looks like *{rows.company}* (100%)" in modal.texts()

    # PSA company: ranked by the marketplace company's name, confidence shown, the pick reaches the app at once
    psa_options = await modal.options(LinkActionId.PICK_PSA_COMPANY)
    assert all(CONFIDENCE.search(text) for text in option_texts(psa_options))
    scores = [int(CONFIDENCE.search(text).group()[3:-1]) for text in option_texts(psa_options)]
    assert scores == sorted(scores, reverse=True)
    await modal.pick(LinkActionId.PICK_PSA_COMPANY, option_named(psa_options, rows.psa_company))

    subscriptions = await modal.options(LinkActionId.PICK_SUBSCRIPTION)
    await modal.pick(LinkActionId.PICK_SUBSCRIPTION, option_named(subscriptions, rows.subscription))
    contracts = await modal.options(LinkActionId.PICK_CONTRACT)
    assert all(CONFIDENCE.search(text) for text in option_texts(contracts))  # ranked by the subscription's name
    await modal.pick(LinkActionId.PICK_CONTRACT, option_named(contracts, rows.contract))
    resources = await modal.options(LinkActionId.PICK_RESOURCE)
    await modal.pick(LinkActionId.PICK_RESOURCE, option_named(resources, rows.resource))
    services = await modal.options(LinkActionId.PICK_SERVICE, typed=rows.resource[:4])
    await modal.pick(LinkActionId.PICK_SERVICE, option_named(services, rows.service))

    assert "Marketplace count 8 · PSA units 1" in modal.texts()
    assert modal.top["submit"]["text"] == "Set relation"
    assert_valid_view(modal.top)
    done = await modal.submit()

    assert done.json == {"response_action": "clear"} and done.problems == []
    assert not modal.is_open
    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    posted, = messages_in(recorder, BILLING_CHANNEL)
    assert posted["text"] == (f"Odin / CloudBlue BA 8 · Autotask 1 → posted +7 {rows.resource} for "
                              f"{rows.psa_company}.")
    assert_valid_message(posted["blocks"])
    assert workspace.line.psa_units == 8
    assert [(w.before, w.after) for w in workspace.line.writes()] == [(1, 8)]
    async with workspace.sessions() as session:
        link = await session.scalar(select(ResourceLink).where(ResourceLink.resource_id == rows.resource_id))
        assert (link.psa_service_id, link.created_by) == (rows.service_id, DANA)
        assert link.reconciled_at is not None
        audit = await audit_events_for(session=session, subject_type="resource_link", subject_id=link.id)
        assert [(e.action, e.actor) for e in audit] == [("link_resource", DANA)]
    assert failed_calls(recorder) == []


async def test_a_second_link_in_the_same_subscription_is_already_in_step(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                         database_url, workspace):
    """Company and contract already linked: the wizard shows them fixed; a line already level says so."""
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    rows, modal = workspace.rows, Modal(recorder, sender)
    workspace.line.set_psa_units(8)
    await workspace.engine.run_cycle(trigger="test", force_full=True)  # the PSA cache sees 8
    async with workspace.sessions() as session:
        await link_company(session=session, marketplace_company_id=rows.company_id,
                           psa_company_id=rows.psa_company_id, actor="U0SOMEONE")
        await link_subscription(session=session, subscription_id=rows.subscription_id, contract_id=rows.contract_id,
                                actor="U0SOMEONE")
        await session.commit()

    await sender.slash_command("link")
    await listeners_done()
    assert modal.is_open
    companies = await modal.options(LinkActionId.PICK_COMPANY, typed=rows.company)
    assert option_texts(companies)[0].startswith(rows.company)
    await modal.pick(LinkActionId.PICK_COMPANY, companies.json["options"][0])
    assert f"*PSA company:* {rows.psa_company} _(already linked, so this one)_" in modal.texts()
    assert not modal.has(LinkActionId.PICK_PSA_COMPANY) and modal.has(LinkActionId.PICK_SUBSCRIPTION)
    subscriptions = await modal.options(LinkActionId.PICK_SUBSCRIPTION)
    await modal.pick(LinkActionId.PICK_SUBSCRIPTION, option_named(subscriptions, rows.subscription))
    assert f"*Contract / agreement:* {rows.contract}" in modal.texts()
    await modal.pick(LinkActionId.PICK_RESOURCE, option_named(await modal.options(LinkActionId.PICK_RESOURCE),
                                                              rows.resource))
    await modal.pick(LinkActionId.PICK_SERVICE, option_named(await modal.options(LinkActionId.PICK_SERVICE),
                                                             rows.service))
    await modal.submit()

    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    assert messages_in(recorder, BILLING_CHANNEL)[0]["text"] == (
        f"Odin / CloudBlue BA 8 · Autotask 8 → already in step: {rows.resource} for {rows.psa_company}.")
    assert workspace.line.writes() == []
    assert failed_calls(recorder) == []


async def test_a_psa_that_cannot_be_reached_is_said_in_plain_words(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                   database_url, workspace):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    rows, modal = workspace.rows, Modal(recorder, sender)
    await sender.slash_command(f"link {rows.company}")
    await listeners_done()
    assert recorder.calls("views.update")
    for action_id, name in ((LinkActionId.PICK_PSA_COMPANY, rows.psa_company),
                            (LinkActionId.PICK_SUBSCRIPTION, rows.subscription),
                            (LinkActionId.PICK_CONTRACT, rows.contract), (LinkActionId.PICK_RESOURCE, rows.resource),
                            (LinkActionId.PICK_SERVICE, rows.service)):
        await modal.pick(action_id, option_named(await modal.options(action_id, name), name))
    workspace.sandbox.faults["autotask"].update({"error_rates": {503: 1.0}})

    await modal.submit()

    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    text = messages_in(recorder, BILLING_CHANNEL)[0]["text"]
    assert text.startswith("Odin / CloudBlue BA 8 · Autotask 1 → not reconciled yet: "
                           "the PSA could not be read (")
    assert text.endswith("). The next sync will level it."), text
    assert workspace.line.writes() == []
    async with workspace.sessions() as session:  # the relation is saved all the same
        assert await session.scalar(select(ResourceLink.id).where(ResourceLink.resource_id == rows.resource_id))


async def test_under_the_default_policy_a_large_catch_up_is_held_and_the_result_says_why_and_where(
        aiohttp_client, slack, tmp_path, database_url, workspace):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    rows, modal = workspace.rows, Modal(recorder, sender)
    workspace.line.set_market_total(108)
    workspace.line.set_psa_units(0)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    async with workspace.sessions() as session:  # the policy a new install has, and a price worth holding
        await set_approval_policy(session=session, scope=Scope.global_, actor="U1")
        await set_price_source(session=session, scope=Scope.global_, kind=PriceSourceKind.custom,
                               custom_price=Decimal("100"), custom_cost=Decimal("80"), actor="U1")
        settings = await load_app_settings(session=session)
        settings.alerts_channel = ALERTS_CHANNEL
        await save_app_settings(session=session, settings=settings, actor="U1")
        await session.commit()
    await sender.slash_command(f"link {rows.company}")
    await listeners_done()
    assert recorder.calls("views.update"), "the pre-picked company"
    for action_id, name in ((LinkActionId.PICK_PSA_COMPANY, rows.psa_company),
                            (LinkActionId.PICK_SUBSCRIPTION, rows.subscription),
                            (LinkActionId.PICK_CONTRACT, rows.contract), (LinkActionId.PICK_RESOURCE, rows.resource),
                            (LinkActionId.PICK_SERVICE, rows.service)):
        await modal.pick(action_id, option_named(await modal.options(action_id, name), name))

    await modal.submit()

    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL) and messages_in(recorder, ALERTS_CHANNEL), \
        "the reconciliation result and the held change"
    result = messages_in(recorder, BILLING_CHANNEL)[0]
    assert result["text"].startswith(f"Odin / CloudBlue BA 108 · Autotask 0 → +108 {rows.resource} for "
                                     f"{rows.psa_company} waits for approval: a prorated ")
    assert "over the 1,000.00 default limit" in result["text"] and "nothing is posted until" in result["text"]
    assert f"<#{ALERTS_CHANNEL}>" in str(result["blocks"])  # where to approve it
    held = messages_in(recorder, ALERTS_CHANNEL)[0]
    assert "Approve" in str(held["blocks"]) and rows.resource in str(held["blocks"])
    assert held["text"] == f"1 change for {rows.company} waits for approval"
    assert workspace.line.writes() == [] and workspace.line.psa_units == 0
    assert failed_calls(recorder) == []
