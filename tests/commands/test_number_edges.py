"""Numbers at the Slack edge: signed submissions into /slack/events carrying Infinity, NaN, 1E+999999, 1e30,
-1, 0.0000001 and their kin, into the link wizard's price source, the `/seats policy` fields and the approval
Edit modal. Each is refused under its own field, in words, and nothing is saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from bot.db.models import Adjustment, AuditEvent, PriceSourceKind, PriceSourceSetting, ResourceLink, SyncPolicy
from bot.slack.ids import ApprovalId, LinkActionId, LinkBlockId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (  # noqa: F401 - the slack fixture
    BILLING_CHANNEL,
    Modal,
    messages_in,
    option_named,
    slack,
    small_world,
    start_app,
    walk_to_price,
)
from tests.commands.test_approvals import held, post_groups, started
from tests.commands.test_approvals import workspace as approvals_workspace  # noqa: F401 - a fixture
from tests.commands.test_link_wizard import workspace as link_workspace  # noqa: F401 - a fixture
from tests.commands.test_policy import field, opened
from tests.commands.test_seats_command import DANA

ABSURD = ["Infinity", "-Infinity", "NaN", "sNaN", "1E+999999", "1e30", "-1", "0.0000001", "١٢", "²", "9" * 3000]


async def saved_rows(context) -> tuple[int, ...]:
    async with context.sessions() as session:
        return tuple([await session.scalar(select(func.count()).select_from(model))
                      for model in (ResourceLink, PriceSourceSetting, SyncPolicy, AuditEvent)])


# --- the link wizard's price source ------------------------------------------------------------------------

@pytest.fixture
async def wizard(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    return context, modal


def expected_link_error(field: str, value: str) -> str:
    if value == "-1":
        return f"{field} cannot be negative (-1)" if field != "the markup" else ""
    if value == "0.0000001":
        return f"{field} has more than 4 decimals (0.0000001)"
    return f"{field}: "  # not a number in plain notation


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("block, kind, field", [
    (LinkBlockId.MARKUP, PriceSourceKind.marketplace_cost_markup, "the markup"),
    (LinkBlockId.CUSTOM_PRICE, PriceSourceKind.custom, "the unit price"),
    (LinkBlockId.CUSTOM_COST, PriceSourceKind.custom, "the unit cost"),
])
async def test_the_wizard_refuses_a_number_no_one_can_bill_under_its_field(wizard, value, block, kind, field):
    context, modal = wizard
    before = await saved_rows(context)
    values = {LinkBlockId.PRICE_KIND: kind, block: value}
    if kind is PriceSourceKind.custom and block is not LinkBlockId.CUSTOM_PRICE:
        values[LinkBlockId.CUSTOM_PRICE] = "12.00"

    reply = await modal.submit(values)

    if block is LinkBlockId.MARKUP and value == "-1":  # a 1% discount on the cost is a price
        assert reply.json == {"response_action": "clear"}
        return
    assert reply.status == 200 and reply.json["response_action"] == "errors" and reply.problems == []
    assert list(reply.json["errors"]) == [block]
    assert reply.json["errors"][block].startswith(expected_link_error(field, value)), reply.json
    assert len(reply.json["errors"][block]) <= 150
    assert await saved_rows(context) == before


@pytest.mark.parametrize("block, value, words", [
    (LinkBlockId.MARKUP, "1000.01", "the markup must be from -100 up to 1000, not 1000.01"),
    (LinkBlockId.MARKUP, "-100.5", "the markup must be from -100 up to 1000, not -100.5"),
    (LinkBlockId.CUSTOM_PRICE, "10000000000", "the unit price must be below 10,000,000,000 in size, not 10000000000"),
])
async def test_the_wizard_holds_its_ranges(wizard, block, value, words):
    context, modal = wizard
    kind = PriceSourceKind.marketplace_cost_markup if block is LinkBlockId.MARKUP else PriceSourceKind.custom
    reply = await modal.submit({LinkBlockId.PRICE_KIND: kind, block: value})
    assert reply.json["errors"] == {block: words}


async def test_the_largest_price_the_database_holds_is_saved(wizard):
    context, modal = wizard
    reply = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.custom,
                                LinkBlockId.CUSTOM_PRICE: "$9999999999.9999"})
    assert reply.json == {"response_action": "clear"}
    async with context.sessions() as session:
        assert str((await session.scalar(select(PriceSourceSetting))).custom_price) == "9999999999.9999"


# --- /seats policy -----------------------------------------------------------------------------------------

POLICY_NUMBERS = ("approval_max_units", "approval_max_percent", "approval_max_amount", "drop_prorate_below",
                  "min_margin_percent")


@pytest.mark.parametrize("value", [*ABSURD, "1,000"])
async def test_every_policy_number_refuses_what_no_one_can_bill_with(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                     database_url, value):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    await small_world(context.sessions)
    modal = Modal(recorder, sender)
    await opened(modal, sender)
    before = await saved_rows(context)
    accepted_by = {"-1": {"min_margin_percent"}}.get(value, set())  # a margin of -1% is a limit one may set

    for name in POLICY_NUMBERS:
        reply = await modal.submit({field(name, "global"): value})
        if name in accepted_by:
            assert reply.json["response_action"] == "update", reply.json
            return
        assert reply.status == 200 and reply.json["response_action"] == "errors", (name, reply.json)
        assert list(reply.json["errors"]) == [field(name, "global")] and reply.problems == []
        assert len(reply.json["errors"][field(name, "global")]) <= 150
    assert await saved_rows(context) == before


# --- the approval Edit modal -------------------------------------------------------------------------------

async def open_edit(recorder, sender, context, workspace):
    first, _ = await held(workspace)
    kept, = await post_groups(context)
    await sender.block_actions(f"{ApprovalId.EDIT}:{first.id}", message=kept.ts)
    await listeners_done()
    assert recorder.open_views(DANA)
    return first, recorder.open_views(DANA)[0]


async def adjustment_rows(workspace) -> list[tuple]:
    async with workspace.sessions() as session:
        return [(a.id, a.status, a.units_to) for a in await session.scalars(select(Adjustment).order_by(Adjustment.id))]


async def test_the_edit_modal_refuses_units_that_are_not_a_whole_number(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                        database_url, approvals_workspace):  # noqa: F811
    recorder, _ = slack
    workspace = approvals_workspace
    context, sender = await started(aiohttp_client, slack, tmp_path, database_url, workspace)
    _, modal = await open_edit(recorder, sender, context, workspace)
    before = await adjustment_rows(workspace)
    today = workspace.engine.today().isoformat()

    for value in [*ABSURD, "12.5", "1000001"]:
        reply = await sender.view_submission(modal["id"], {ApprovalId.UNITS_BLOCK: value,
                                                           ApprovalId.DATE_BLOCK: today})
        assert reply.status == 200 and reply.problems == [], value
        error = reply.json["errors"][ApprovalId.UNITS_BLOCK]
        words = "units must be a whole number from 0 to 1,000,000" if value.isascii() and value.isdigit() else (
            "Enter a whole number of units (0 or more).")
        assert words in error, (value, error)
    assert await adjustment_rows(workspace) == before


@pytest.mark.parametrize("price", ["9999999999", "not-finite"])
async def test_an_edit_whose_amount_cannot_be_computed_is_refused(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                  database_url, approvals_workspace, price):  # noqa: F811
    """Many units at a large price (or a price stored by hand that is not a number) would not fit the
    prorated amount's column: the person is told, nothing is saved."""
    recorder, _ = slack
    workspace = approvals_workspace
    context, sender = await started(aiohttp_client, slack, tmp_path, database_url, workspace)
    first, modal = await open_edit(recorder, sender, context, workspace)
    async with workspace.sessions() as session:
        dialect = (await session.connection()).dialect.name
        value = price if price != "not-finite" else {"sqlite": "9e999", "postgresql": "'NaN'"}[dialect]
        await session.execute(text(f"UPDATE adjustments SET unit_price = {value} WHERE id = {first.id}"))  # noqa: S608
        await session.commit()
    before = await adjustment_rows(workspace)

    reply = await sender.view_submission(modal["id"], {ApprovalId.UNITS_BLOCK: "1000000",
                                                       ApprovalId.DATE_BLOCK: workspace.engine.today().isoformat()})

    assert reply.status == 200 and reply.problems == []
    error = reply.json["errors"][ApprovalId.UNITS_BLOCK]
    assert error.startswith("Not saved: the change cannot be computed: "), error
    assert ("the prorated amount must be below 10,000,000,000" in error if price == "9999999999"
            else "the unit price must be a finite number, not " in error), error
    assert await adjustment_rows(workspace) == before


# --- a price the database holds, times the seats to post, is more than any amount it holds ------------------

async def test_the_wizard_says_when_the_change_cannot_be_computed(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                  database_url, link_workspace):  # noqa: F811
    """9,999,999,999.99 a seat is a price the wizard takes; +7 seats of it is an amount no column holds. The link
    is saved, nothing is posted, and the channel is told why instead of "already in step"."""
    recorder, _ = slack
    workspace = link_workspace
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)

    async def demo_engine():
        return workspace.engine

    context.engine_source = demo_engine
    rows, modal = workspace.rows, Modal(recorder, sender)
    await sender.slash_command("link")
    await listeners_done()
    assert modal.is_open
    for action, typed, name in ((LinkActionId.PICK_COMPANY, rows.company, rows.company),
                                (LinkActionId.PICK_PSA_COMPANY, rows.psa_company, rows.psa_company),
                                (LinkActionId.PICK_SUBSCRIPTION, "", rows.subscription),
                                (LinkActionId.PICK_CONTRACT, "", rows.contract),
                                (LinkActionId.PICK_RESOURCE, "", rows.resource),
                                (LinkActionId.PICK_SERVICE, rows.resource[:4], rows.service)):
        await modal.pick(action, option_named(await modal.options(action, typed), name))

    done = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.custom,
                               LinkBlockId.CUSTOM_PRICE: "9999999999.99"})

    assert done.json == {"response_action": "clear"}
    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    posted, = messages_in(recorder, BILLING_CHANNEL)
    assert posted["text"].startswith(f"Odin / CloudBlue BA 8 · Autotask 1 → nothing posted for "
                                     f"{rows.resource} for {rows.psa_company}: the prorated amount must be below "
                                     "10,000,000,000 in size")
    assert posted["text"].endswith("It is not billed until that is fixed.")
    assert workspace.line.writes() == [] and await adjustment_rows(workspace) == []
