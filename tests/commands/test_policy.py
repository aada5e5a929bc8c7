"""`/seats policy` end to end: signed requests into /slack/events, Slack played by the simulator (which
validates every view), policies and audit read back from the database, and one sync cycle against the
real simulators to show a saved limit holding a change."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from sqlalchemy import select

from bot.commands.policy.views import policy_field_block
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.audit import audit_events_for
from bot.db.links import link_resource
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    DecreaseTiming,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    ResourceLink,
    SyncPolicy,
)
from bot.demo.workspace import open_workspace
from bot.domain.approval_policy import NO_AMOUNT_LIMIT
from bot.sandbox.app import Sandbox
from bot.slack.ids import PolicyId
from bot.slack.modal_state import TAMPERED
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (  # noqa: F401 - the slack fixture
    DANA,
    LEE,
    SAM,
    Modal,
    assert_valid_view,
    ephemeral_texts,
    failed_calls,
    option_named,
    option_texts,
    slack,
    small_world,
    start_app,
)
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import link_line, pick_lines


def field(name: str, key: str) -> str:
    return policy_field_block(name, key)


async def opened(modal: Modal, sender, text: str = "policy", user: str = DANA) -> dict:
    before = len(modal.recorder.calls("views.open"))
    reply = await sender.slash_command(text, user_id=user)
    assert reply.status == 200 and reply.body == ""
    await listeners_done()
    assert len(modal.recorder.calls("views.open")) > before
    assert modal.recorder.calls("views.open")[-1].ok, failed_calls(modal.recorder)
    assert_valid_view(modal.top)
    return modal.top


def hint(view: dict, block_id: str) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return block["hint"]["text"]


async def policies(context) -> dict[str, SyncPolicy]:
    async with context.sessions() as session:
        return {p.scope_key: p for p in await session.scalars(select(SyncPolicy))}


async def audit(context, key: str) -> list:
    async with context.sessions() as session:
        return await audit_events_for(session=session, subject_type="sync_policy", subject_id=key)


def saved_text(modal: Modal) -> str:
    assert modal.top["title"]["text"] == "Policy saved", modal.texts()
    return modal.texts()


async def test_global_then_a_company_override_then_inherit_back(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    modal = Modal(recorder, sender)

    view = await opened(modal, sender)
    assert hint(view, field("approval_max_units", "global")) == "In force: no limit (the default)."
    assert "at the next period's start (the default)" in hint(view, field("decrease_timing", "global"))
    reply = await modal.submit({field("approval_max_units", "global"): "10",
                                field("approval_max_percent", "global"): "25%",
                                field("approval_max_amount", "global"): "$500.50",
                                field("hold_committed_decreases", "global"): "no",
                                field("drop_prorate_below", "global"): "5",
                                field("min_margin_percent", "global"): "12.5"})
    assert reply.json["response_action"] == "update", reply.json
    assert "Saved by <@U0DANA0001> for *every company (global)*" in saved_text(modal)
    stored = (await policies(context))["global"]
    assert (stored.approval_max_units, stored.approval_max_percent, stored.approval_max_amount) == (
        10, Decimal(25), Decimal("500.50"))
    assert (stored.hold_committed_decreases, stored.decrease_timing, stored.drop_prorate_below,
            stored.min_margin_percent) == (False, None, Decimal(5), Decimal("12.5"))
    assert {e.actor for e in await audit(context, "global")} == {DANA}
    assert {e.action for e in await audit(context, "global")} == {
        "set_approval_policy", "set_drop_prorate_below", "set_min_margin_percent"}  # the timing did not change

    company = f"company:{world.acme}"
    view = await opened(modal, sender, "policy acme mfg")
    assert "looks like *Acme Mfg. Inc.*" in modal.texts()
    assert hint(view, field("approval_max_units", company)) == "In force: 10 units (inherited from global)."
    assert hint(view, field("hold_committed_decreases", company)) == "In force: no (inherited from global)."
    await modal.submit({field("approval_max_units", company): "3",
                        field("decrease_timing", company): "today"})
    assert "3 units (set here)" in saved_text(modal) and "25% (inherited from global)" in saved_text(modal)
    assert [(e.actor, e.action, e.after.get("approval_max_units") if e.action == "set_approval_policy" else
             e.after.get("decrease_timing")) for e in await audit(context, company)] == [
        (DANA, "set_approval_policy", 3), (DANA, "set_decrease_timing", "today")]

    view = await opened(modal, sender, "policy Acme")
    assert view["blocks"][-7]["element"]["initial_value"] == "3"
    assert hint(view, field("approval_max_units", company)) == "In force: 3 units (set here)."
    await modal.submit({field("approval_max_units", company): "", field("decrease_timing", company): "inherit"})
    text = saved_text(modal)
    assert "10 units (inherited from global)" in text and "at the next period's start (the default)" in text
    row = (await policies(context))[company]
    assert (row.approval_max_units, row.decrease_timing, row.updated_by) == (None, None, DANA)
    assert (await policies(context))["global"].approval_max_units == 10  # untouched
    assert failed_calls(recorder) == []


async def test_a_relation_is_picked_and_overrides_its_company(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                              database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    async with context.sessions() as session:
        link = await link_resource(session=session, resource_id=world.exchange, service_id=world.exchange_service,
                                   actor="U1")
        await session.commit()
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    await modal.submit({field("approval_max_units", "global"): "8"})
    await opened(modal, sender)

    await modal.pick(PolicyId.SCOPE, "link")
    assert modal.has(PolicyId.COMPANY) and not modal.has(PolicyId.LINK) and "Pick a company" in modal.texts()
    companies = await modal.options(PolicyId.COMPANY, "zenit")
    assert option_texts(companies)[0].startswith("Zenith Labs LLC")
    await modal.pick(PolicyId.COMPANY, option_named(await modal.options(PolicyId.COMPANY, "acme"), "Acme Mfg. Inc."))
    assert (await modal.options(PolicyId.LINK, "")).json["options"][0]["text"]["text"].startswith(
        "Exchange Online (Plan 1) → Exchange Online (Plan 1)")
    await modal.pick(PolicyId.LINK, str(link.id))
    assert_valid_view(modal.top)
    key = f"link:{link.id}"
    assert hint(modal.top, field("approval_max_units", key)) == "In force: 8 units (inherited from global)."
    reply = await modal.submit({field("approval_max_units", key): "1", field("min_margin_percent", key): "-5"})
    assert reply.json["response_action"] == "update"
    row = (await policies(context))[key]
    assert (row.resource_link_id, row.marketplace_company_id, row.approval_max_units, row.min_margin_percent) == (
        link.id, None, 1, Decimal(-5))
    assert "Acme Mfg. Inc.: Exchange Online (Plan 1) → Exchange Online (Plan 1)" in saved_text(modal)

    await opened(modal, sender)
    await modal.pick(PolicyId.SCOPE, "company")
    await modal.pick(PolicyId.COMPANY, str(world.zenith))
    assert hint(modal.top, field("approval_max_units", f"company:{world.zenith}")) == (
        "In force: 8 units (inherited from global).")
    assert failed_calls(recorder) == []


async def test_bad_values_are_refused_under_their_fields_and_nothing_is_saved(aiohttp_client, slack,  # noqa: F811
                                                                              tmp_path, database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await small_world(context.sessions)
    modal = Modal(recorder, sender)
    await opened(modal, sender)

    reply = await modal.submit({field("approval_max_units", "global"): "ten",
                                field("approval_max_percent", "global"): "1001",
                                field("approval_max_amount", "global"): "1,000",
                                field("drop_prorate_below", "global"): "-1",
                                field("min_margin_percent", "global"): "100"})

    assert reply.json["response_action"] == "errors"
    errors = reply.json["errors"]
    assert set(errors) == {field(name, "global") for name in (
        "approval_max_units", "approval_max_percent", "approval_max_amount", "drop_prorate_below",
        "min_margin_percent")}
    assert "whole number of units" in errors[field("approval_max_units", "global")]
    assert "from 0 to 1000" in errors[field("approval_max_percent", "global")]
    assert "no thousands separators" in errors[field("approval_max_amount", "global")]
    assert "not including) 100" in errors[field("min_margin_percent", "global")]
    assert reply.problems == []  # every error names an input block of the view
    for bad in ("NaN", "Infinity", "1e3", "12.34567", "99999999999"):
        reply = await modal.submit({field("approval_max_amount", "global"): bad})
        assert reply.json["response_action"] == "errors", bad
    reply = await modal.submit({field("decrease_timing", "global"): {"text": {"type": "plain_text", "text": "x"},
                                                                     "value": "yesterday"}})
    assert reply.json["errors"] == {field("decrease_timing", "global"): "pick one of the options"}
    assert await policies(context) == {}

    await modal.pick(PolicyId.SCOPE, "company")
    reply = await modal.submit()
    assert reply.json == {"response_action": "errors", "errors": {PolicyId.COMPANY_BLOCK: "Pick a company first."}}
    assert await policies(context) == {}


async def test_someone_outside_the_billing_team_is_refused(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                           database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await small_world(context.sessions)
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=[DANA]), actor="test")
        await session.commit()

    reply = await sender.slash_command("policy", user_id=LEE)
    assert reply.status == 200
    await listeners_done()
    assert ephemeral_texts(recorder, LEE)
    assert ephemeral_texts(recorder, LEE) == ["Only the billing team can do that. Ask one of: <@U0DANA0001>."]
    assert recorder.calls("views.open") == []

    modal = Modal(recorder, sender)
    await opened(modal, sender)  # Dana may; then she leaves the team before saving
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=[SAM]), actor="test")
        await session.commit()
    reply = await modal.submit({field("approval_max_units", "global"): "1"})
    assert reply.json["response_action"] == "update"
    assert "Only the billing team" in modal.texts() and "<@U0SAM00002>" in modal.texts()
    assert await policies(context) == {}


async def test_altered_metadata_is_refused(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    stored = recorder.views[modal.top["id"]].body
    body, _, signature = stored["private_metadata"].rpartition(".")
    # a forged state pointing at Zenith (a different payload keeps the old signature)
    payload = json.loads(base64.urlsafe_b64decode(body))
    payload.update(s="company", c=world.zenith)
    stored["private_metadata"] = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode() + "." + signature

    reply = await modal.submit({field("approval_max_units", "global"): "1"})

    assert reply.json == {"response_action": "errors", "errors": {PolicyId.SCOPE_BLOCK: TAMPERED}}
    assert await policies(context) == {}
    await modal.pick(PolicyId.SCOPE, "company")
    assert "altered" in modal.texts() and not modal.has(PolicyId.COMPANY)


async def test_someone_else_cannot_submit_a_modal_sealed_for_another_person(aiohttp_client, slack,  # noqa: F811
                                                                            tmp_path, database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await small_world(context.sessions)
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    await modal.pick(PolicyId.SCOPE, "company")
    foreign = await sender.block_suggestion(PolicyId.COMPANY, "acme", view=modal.top["id"], user_id=SAM)
    assert foreign.json["options"] == []

    reply = await sender.view_submission(modal.top["id"], {PolicyId.SCOPE_BLOCK: "company"}, user_id=SAM)

    assert reply.json["response_action"] == "errors" and TAMPERED in reply.json["errors"].values()
    assert await policies(context) == {}


async def test_a_company_limit_set_in_slack_holds_the_next_change_for_approval(aiohttp_client, slack,  # noqa: F811
                                                                               tmp_path, database_url, clock, today):
    recorder, _ = slack
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    try:
        line, = pick_lines(sandbox.world, "autotask", 1)
        line.set_market_total(4)
        line.set_psa_units(4)
        await workspace.engine.run_cycle(trigger="test", force_full=True)
        link_id = await link_line(workspace, line, "odin")
        context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)
        async with context.sessions() as session:
            link = await session.get(ResourceLink, link_id)
            resource = await session.get(MarketplaceResource, link.resource_id)
            subscription = await session.get(MarketplaceSubscription, resource.subscription_id)
            company = await session.get(MarketplaceCompany, subscription.company_id)
        modal = Modal(recorder, sender)
        await opened(modal, sender)
        await modal.pick(PolicyId.SCOPE, "company")
        await modal.pick(PolicyId.COMPANY, str(company.id))
        key = f"company:{company.id}"
        await modal.submit({field("approval_max_units", key): "2",
                            field("decrease_timing", key): DecreaseTiming.today.value})
        assert "2 units (set here)" in saved_text(modal)

        line.set_market_total(9)
        await workspace.engine.run_cycle(trigger="test", force_full=True)
        await workspace.engine.post_outbox(ignore_backoff=True)

        async with workspace.sessions() as session:
            change = await session.scalar(select(Adjustment).where(Adjustment.resource_link_id == link_id))
        assert (change.status, change.held_reason, change.units_from, change.units_to) == (
            AdjustmentStatus.awaiting_approval, "5 units is over the 2-unit limit", 4, 9)
        assert line.psa_units == 4 and line.writes() == []
    finally:
        await workspace.close()


async def test_a_company_name_cannot_ping_a_channel(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:
        shouty = MarketplaceCompany(marketplace="ingram", external_id="C-9", name="<!channel> & Sons")
        session.add(shouty)
        await session.commit()
    modal = Modal(recorder, sender)

    await opened(modal, sender, "policy channel sons")
    await modal.submit({field("approval_max_units", f"company:{shouty.id}"): "4"})

    views = [c.args["view"] for c in recorder.calls() if c.method.startswith("views.")] + [modal.top]
    markdown = " ".join(mrkdwn_texts(views))  # plain_text (labels, options) never renders mentions
    assert "&lt;!channel&gt; &amp; Sons" in markdown and "<!channel>" not in markdown


def mrkdwn_texts(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
        return found + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in mrkdwn_texts(value)]
    return []


async def test_the_amount_limit_has_a_default_and_none_lifts_it(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                database_url):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await small_world(context.sessions)
    modal = Modal(recorder, sender)

    view = await opened(modal, sender)
    assert hint(view, field("approval_max_amount", "global")) == "In force: 1,000.00 (the default)."
    reply = await modal.submit({field("approval_max_amount", "global"): "none"})

    assert reply.json["response_action"] == "update", reply.json
    assert "Approval limit: prorated amount: no limit (set here)" in saved_text(modal)
    assert (await policies(context))["global"].approval_max_amount == NO_AMOUNT_LIMIT
    view = await opened(modal, sender)
    assert hint(view, field("approval_max_amount", "global")) == "In force: no limit (set here)."
