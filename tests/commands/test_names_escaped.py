"""Names from the marketplace and the PSA are data, not markup: wherever the link family and the approval
messages show them in mrkdwn (and in a message's `text`, which Slack also reads for notifications), `&`, `<`
and `>` are escaped, so a company called "<!channel>" pings nobody and "R&D <Main>" shows as typed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.db.links import link_resource
from bot.db.models import (
    Adjustment,
    AdjustmentStatus,
    MarketplaceCompany,
    MarketplaceResource,
    PriceSourceKind,
    PsaCompany,
    Scope,
)
from bot.db.policies import set_price_source
from bot.demo.workspace import open_workspace
from bot.notify.failure_alerts import post_failure_alerts
from bot.notify.margin_alerts import post_margin_alerts
from bot.sandbox.app import Sandbox
from bot.slack.ids import BlockId, LinkActionId, LinkBlockId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    BILLING_CHANNEL,
    DANA,
    Modal,
    assert_valid_message,
    failed_calls,
    messages_in,
    option_named,
    slack,  # noqa: F401 - the fixture
    small_world,
    start_app,
)
from tests.commands.test_approvals import message, post_groups, started
from tests.commands.test_approvals import workspace as approval_workspace  # noqa: F401 - the fixture
from tests.commands.test_hostile_names import hostile_markup
from tests.commands.test_link_wizard import workspace  # noqa: F401 - the fixture
from tests.commands.test_seats_command import start_demo_app
from tests.commands.test_seats_command import workspace as seats_workspace  # noqa: F401 - the fixture
from tests.conftest import TEST_SECRET_KEY
from tests.notify.test_failure_alerts import (
    failing,  # noqa: F401 - the fixture
    start_alerting_app,
)
from tests.notify.test_health_alerts import alerts_at, record
from tests.notify.test_health_alerts import sessions as health_sessions  # noqa: F401 - the fixture
from tests.notify.test_kept_messages import client_for
from tests.sync.engine_setup import link_line, pick_lines
from tests.sync.test_margin import workspace as margin_workspace  # noqa: F401 - the fixture

HOSTILE = "<!channel> R&D <Main>"
PAY_NOW = "<!channel> <https://x.example/pay|Pay now>"
ESCAPED = "&lt;!channel&gt; R&amp;D &lt;Main&gt;"


def no_raw_markup(payload) -> None:
    dumped = json.dumps(payload, ensure_ascii=False)
    assert "<!channel>" not in dumped and "<Main>" not in dumped, dumped


async def test_the_link_result_in_the_channel_escapes_the_names(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                database_url, workspace):  # noqa: F811
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
    async with workspace.sessions() as session:  # renamed in the PSA since the last read
        await session.execute(update(PsaCompany).where(PsaCompany.id == rows.psa_company_id).values(name=HOSTILE))
        await session.commit()

    await modal.submit()

    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    posted, = messages_in(recorder, BILLING_CHANNEL)
    assert posted["text"].endswith(f"for {ESCAPED}."), posted["text"]
    assert ESCAPED in posted["blocks"][0]["text"]["text"]
    no_raw_markup(posted)
    assert_valid_message(posted["blocks"])
    assert failed_calls(recorder) == []


async def test_unlink_and_the_wizard_escape_the_names(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    async with context.sessions() as session:
        await session.execute(update(MarketplaceResource).where(MarketplaceResource.id == world.exchange)
                              .values(name=f"Exchange {HOSTILE}"))
        await link_resource(session=session, resource_id=world.exchange, service_id=world.exchange_service,
                            actor="U0SOMEONE")
        await session.commit()
    modal = Modal(recorder, sender)

    await sender.slash_command("unlink")
    await listeners_done()
    assert modal.is_open
    option = (await modal.options(LinkActionId.UNLINK_PICK)).json["options"][0]
    assert HOSTILE in option["text"]["text"]  # plain_text: shown as typed, nothing to escape
    await modal.submit({LinkBlockId.UNLINK_PICK: option})
    assert f"Unlink *Exchange {ESCAPED}*" in modal.texts()
    no_raw_markup(modal.top["blocks"])
    await modal.submit()

    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    done, = recorder.ephemeral_messages(DANA)
    assert ESCAPED in done.message["text"]
    no_raw_markup(done.message)


async def test_the_wizard_shows_names_escaped(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    async with context.sessions() as session:
        await session.execute(update(MarketplaceCompany).where(MarketplaceCompany.id == world.acme)
                              .values(name=f"Acme Mfg. {HOSTILE}"))
        await session.execute(update(MarketplaceResource).where(MarketplaceResource.id == world.exchange)
                              .values(name=f"Exchange {HOSTILE}"))
        await session.commit()
    modal = Modal(recorder, sender)

    await sender.slash_command(f"link Acme Mfg. {HOSTILE}")
    await listeners_done()
    assert recorder.calls("views.update")
    assert f"looks like *Acme Mfg. {ESCAPED}*" in modal.texts(), modal.texts()
    for action_id, name in ((LinkActionId.PICK_PSA_COMPANY, "Acme Co."),
                            (LinkActionId.PICK_SUBSCRIPTION, "Microsoft 365"),
                            (LinkActionId.PICK_CONTRACT, "M365 Business Standard ·"),
                            (LinkActionId.PICK_RESOURCE, "Exchange"), (LinkActionId.PICK_SERVICE, "Exchange")):
        await modal.pick(action_id, option_named(await modal.options(action_id), name))

    assert f"*Exchange {ESCAPED}* → *Exchange Online (Plan 1)*" in modal.texts()
    sections = [b for b in modal.top["blocks"] if b["type"] in ("section", "context")]
    no_raw_markup(sections)


async def test_held_change_messages_escape_the_names(aiohttp_client, slack, tmp_path, database_url,  # noqa: F811
                                                     approval_workspace):  # noqa: F811
    recorder, _ = slack
    context, _sender = await started(aiohttp_client, slack, tmp_path, database_url, approval_workspace)
    async with approval_workspace.sessions() as session:
        await session.execute(update(MarketplaceCompany).values(name=HOSTILE))
        await session.execute(update(MarketplaceResource).values(name=f"Exchange {HOSTILE}"))
        await session.commit()
        resource_names = set(await session.scalars(select(MarketplaceResource.name)))
    assert resource_names == {f"Exchange {HOSTILE}"}

    kept = await post_groups(context)

    assert kept
    for one in kept:
        posted = message(recorder, one.ts)
        assert HOSTILE in posted["blocks"][0]["text"]["text"]  # the header is plain_text: shown as typed
        assert ESCAPED in posted["text"]
        no_raw_markup({"text": posted["text"], "blocks": posted["blocks"][1:]})
        assert_valid_message(posted["blocks"])
    first_change = next(b for b in message(recorder, kept[0].ts)["blocks"] if b["type"] == "section")
    assert f"*Exchange {ESCAPED}*" in first_change["text"]["text"]


async def test_a_margin_alert_escapes_the_names(slack, tmp_path, margin_workspace):  # noqa: F811
    recorder, _ = slack
    line, = pick_lines(margin_workspace.sandbox.world, "connectwise", 1)
    line.market.unit_cost = Decimal("10.50")
    await margin_workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(margin_workspace, line, "ingram")
    async with margin_workspace.sessions() as session:
        await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=PriceSourceKind.custom,
                               custom_price=Decimal("10.00"), actor="U1")
        await session.execute(update(MarketplaceCompany).values(name=HOSTILE))
        await session.commit()

    kept, = await post_margin_alerts(sessions=margin_workspace.sessions, client=client_for(slack, tmp_path))

    posted, = [c.args for c in recorder.calls("chat.postMessage") if c.ok]
    assert "Selling below cost" in posted["text"] and ESCAPED in posted["text"]
    assert f"*{ESCAPED}*" in posted["blocks"][0]["text"]["text"]
    no_raw_markup(posted)


async def test_a_health_alert_escapes_the_vendor_text(slack, tmp_path, health_sessions):  # noqa: F811
    """A proxy's HTML error page in the diagnosis would otherwise be read as Slack links and mentions."""
    recorder, _ = slack
    await record(health_sessions, "autotask", 0)
    await record(health_sessions, "autotask", 64, f"HTTP 502 from the proxy: <html>{HOSTILE}</html>")

    await alerts_at(health_sessions, client_for(slack, tmp_path), 64)

    posted, = [c.args for c in recorder.calls("chat.postMessage") if c.ok]
    assert f"&lt;html&gt;{ESCAPED}&lt;/html&gt;" in posted["text"]
    assert f"&lt;html&gt;{ESCAPED}&lt;/html&gt;" in posted["blocks"][0]["text"]["text"]
    no_raw_markup(posted)


async def test_a_failure_alert_escapes_the_psa_message_in_its_text(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                   database_url, failing):  # noqa: F811
    recorder, _ = slack
    context, _sender = await start_alerting_app(aiohttp_client, slack, tmp_path, database_url, failing)
    async with context.sessions() as session:
        await session.execute(update(Adjustment).where(Adjustment.status == AdjustmentStatus.failed)
                              .values(last_error=f"Contract for {HOSTILE} is inactive"))
        await session.commit()

    await post_failure_alerts(app_context=context, client=context.bolt.client)

    posted, = [c.args for c in recorder.calls("chat.postMessage") if c.ok]
    assert posted["text"].endswith(f"Contract for {ESCAPED} is inactive"), posted["text"]
    no_raw_markup(posted)


@pytest.fixture
async def hostile_workspace(database_url, clock, today):
    """As test_seats_command's workspace, with the linked line's customer named like markup before SeatSync first
    reads it (Odin's names are read once and refreshed on the complete-read cadence, not on every sync)."""
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    opened = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="odin", psa="autotask", clock=clock)
    line, = pick_lines(sandbox.world, "autotask", 1)
    line.set_market_total(8)
    line.set_psa_units(1)
    world = sandbox.world
    world.customers[world.subscriptions[line.subscription_id].account_id].name = f"{PAY_NOW} *bold* _x_ ~x~ `code`"
    await opened.engine.run_cycle(trigger="test", force_full=True)
    await link_line(opened, line, "odin")
    opened.line = line
    yield opened
    await opened.close()


async def test_the_sync_summary_of_a_customer_named_like_markup_pings_no_one(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                             database_url, hostile_workspace):
    """The issue's case: a marketplace customer named "<!channel> <https://x.example/pay|Pay now>", read from the
    marketplace simulator by a real dry run typed in Slack."""
    recorder, _ = slack
    context, sender = await start_demo_app(aiohttp_client, slack, tmp_path, database_url, hostile_workspace)
    world = hostile_workspace.sandbox.world
    customer = world.customers[world.subscriptions[hostile_workspace.line.subscription_id].account_id]

    await sender.slash_command("sync --dry-run")

    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    posted, = messages_in(recorder, BILLING_CHANNEL)
    changes = next(b for b in posted["blocks"] if b.get("block_id") == BlockId.SYNC_CHANGES)
    assert customer.name in changes["text"]["text"] and changes["text"]["type"] == "plain_text"  # shown as typed
    assert hostile_markup(posted) == []
    assert_valid_message(posted["blocks"])
