"""The margin guard end to end: Ingram's costs over HTTP, real SQL, alerts through the Slack simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.app_settings import load_app_settings, save_app_settings
from bot.db.models import PriceSourceKind, Scope, SlackMessage, SlackMessageState
from bot.db.policies import PolicyError, set_min_margin_percent, set_price_source
from bot.demo.workspace import open_workspace
from bot.notify.margin_alerts import post_margin_alerts
from bot.reports.catalogue import parse_filters, run_report
from bot.sandbox.app import Sandbox
from bot.sandbox.slack_blocks import validate_message_blocks
from bot.sync.margin import BELOW_COST, BELOW_MINIMUM, judge
from tests.commands.test_seats_command import BILLING_CHANNEL, slack  # noqa: F401 - the slack fixture
from tests.conftest import TEST_SECRET_KEY
from tests.notify.test_kept_messages import client_for
from tests.sync.engine_setup import link_line, pick_lines


@pytest.mark.parametrize(
    ("cost", "price", "minimum", "expected"),
    [
        ("10.00", "10.00", None, (Decimal("0.0"), None)),  # cost equal to price: not below cost
        ("10.01", "10.00", None, (Decimal("-0.1"), BELOW_COST)),
        ("8.00", "10.00", "20", (Decimal("20.0"), None)),  # exactly at the minimum is fine
        ("8.01", "10.00", "20", (Decimal("19.9"), BELOW_MINIMUM)),
        ("0.00", "0.00", "20", (None, None)),  # a free line has no margin to judge
        ("1.00", "0.00", None, (None, BELOW_COST)),
    ],
)
def test_judging_a_margin_at_its_edges(cost, price, minimum, expected):
    assert judge(unit_cost=Decimal(cost), unit_price=Decimal(price),
                 min_margin_percent=None if minimum is None else Decimal(minimum)) == expected


@pytest.fixture
async def workspace(database_url, clock, today):
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="ingram", psa="connectwise", clock=clock)
    async with workspace.sessions() as session:
        settings = await load_app_settings(session=session)
        settings.alerts_channel = BILLING_CHANNEL
        await save_app_settings(session=session, settings=settings, actor="test")
        await session.commit()
    yield workspace
    await workspace.close()


def margin_calls(recorder):
    return [(c.method, c.args) for c in recorder.calls() if c.method in ("chat.postMessage", "chat.update") and c.ok]


async def test_margin_alert_fires_once_updates_and_resolves(workspace, slack, tmp_path):  # noqa: F811
    recorder, _ = slack
    client = client_for(slack, tmp_path)
    line, = pick_lines(workspace.sandbox.world, "connectwise", 1)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    link_id = await link_line(workspace, line, "ingram")
    async with workspace.sessions() as session:
        await set_price_source(session=session, scope=Scope.link, link_id=link_id, kind=PriceSourceKind.custom,
                               custom_price=Decimal("10.00"), actor="U1")
        await session.commit()

    async def cycle_with_cost(cost: str) -> list:
        line.market.unit_cost = Decimal(cost)
        await workspace.engine.run_cycle(trigger="test", force_full=True)
        return await post_margin_alerts(sessions=workspace.sessions, client=client)

    first = await cycle_with_cost("10.50")
    assert [kept.posted_new for kept in first] == [True]
    (method, args), = margin_calls(recorder)
    assert method == "chat.postMessage" and args["channel"] == BILLING_CHANNEL
    assert "Selling below cost" in args["text"] and "marketplace cost 10.50, billed price 10.00" in args["text"]
    assert "margin -5.0%" in args["text"] and validate_message_blocks(args["blocks"]) == []

    assert await cycle_with_cost("10.50") == [] and len(margin_calls(recorder)) == 1  # nothing new: said once

    await cycle_with_cost("11.00")
    method, args = margin_calls(recorder)[-1]
    assert method == "chat.update" and "marketplace cost 11.00" in args["text"]

    async with workspace.sessions() as session:
        with pytest.raises(PolicyError):
            await set_min_margin_percent(session=session, scope=Scope.link, link_id=link_id, percent=Decimal(100),
                                         actor="U1")
        await set_min_margin_percent(session=session, scope=Scope.link, link_id=link_id, percent=Decimal(20),
                                     actor="U1")
        await session.commit()
    await cycle_with_cost("8.01")
    method, args = margin_calls(recorder)[-1]
    assert method == "chat.update" and "Margin below the 20% minimum" in args["text"] and "19.9%" in args["text"]
    report = await run_report_rows(workspace, status=BELOW_MINIMUM)
    product = workspace.sandbox.world.products[line.resource_id].name
    assert [(row[3], row[6], row[7], row[8], row[10]) for row in report] == [
        (product, Decimal("8.01"), Decimal("10.00"), Decimal("19.9"), "below the minimum margin")]

    await cycle_with_cost("8.00")  # exactly at the minimum: back to normal
    method, args = margin_calls(recorder)[-1]
    assert method == "chat.update" and "Margin back to normal" in args["text"]
    assert await cycle_with_cost("8.00") == []
    assert [m for m, _ in margin_calls(recorder)].count("chat.postMessage") == 1
    async with workspace.sessions() as session:
        kept = await session.scalar(select(SlackMessage).where(SlackMessage.key == f"margin:{link_id}"))
    assert kept.state is SlackMessageState.resolved
    assert await run_report_rows(workspace, status=BELOW_MINIMUM) == []


async def run_report_rows(workspace, **filters):
    async with workspace.sessions() as session:
        report = await run_report("margin", session=session, filters=parse_filters(filters))
        return await report.all_rows()
