"""Several marketplaces in the link family's pickers: the link wizard offers a source filter that narrows the
marketplace companies to one distributor's, each company says its source; the relations list filters its rows by
source too. End to end: signed requests to the real app, data read by the real engine from the simulators."""

from __future__ import annotations

import pytest

from bot.connectors.registry import VENDORS
from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from bot.slack.ids import LinkActionId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    Modal,
    assert_valid_view,
    option_texts,
    slack,  # noqa: F401 - the fixture
    start_app,
)
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
async def workspace(database_url, clock, today):
    """The small sandbox MSP buying from Ingram and Pax8, read once, nothing linked."""
    sandbox = await Sandbox.generate(seed=7, scale="small", today=today, bill_pax8_in_psas=True).start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace="ingram,pax8", psa="autotask", clock=clock)
    await workspace.engine.run_cycle(trigger="test", force_full=True)
    yield workspace
    await workspace.close()


def source_of(text: str) -> str:
    return text.rsplit(" · ", 1)[-1]


async def test_the_wizard_narrows_the_marketplace_companies_to_one_source(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                           database_url, workspace):
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)
    modal = Modal(recorder, sender)
    ingram, pax8 = VENDORS.label("ingram"), VENDORS.label("pax8")

    reply = await sender.slash_command("link")
    assert reply.status == 200 and reply.body == ""
    await listeners_done()
    select = modal.element(LinkActionId.SOURCE)
    assert [o["text"]["text"] for o in select["options"]] == ["Every marketplace", ingram, pax8]
    every = option_texts(await modal.options(LinkActionId.PICK_COMPANY))
    assert {source_of(text) for text in every} == {ingram, pax8}  # each company says where it comes from

    await modal.pick(LinkActionId.SOURCE, next(o for o in select["options"] if o["value"] == "pax8"))

    assert modal.element(LinkActionId.SOURCE)["initial_option"]["value"] == "pax8"
    assert_valid_view(modal.top)
    only_pax8 = option_texts(await modal.options(LinkActionId.PICK_COMPANY))
    assert only_pax8 and {source_of(text) for text in only_pax8} == {pax8}

    await modal.pick(LinkActionId.SOURCE, next(o for o in select["options"] if o["value"] == "every"))
    assert len(option_texts(await modal.options(LinkActionId.PICK_COMPANY))) == len(every)


def row_texts(modal: Modal) -> list[str]:
    return [option["text"]["text"] for block in modal.top["blocks"] if block.get("type") == "input"
            for option in block["element"]["options"]]


async def test_the_relations_list_says_each_suggestions_source_and_lists_one_source(
        aiohttp_client, slack, tmp_path, database_url, workspace):  # noqa: F811
    recorder, _ = slack
    _, sender = await start_app(aiohttp_client, slack, tmp_path, database_url, clock=workspace.clock)
    modal = Modal(recorder, sender)
    ingram, pax8 = VENDORS.label("ingram"), VENDORS.label("pax8")

    reply = await sender.slash_command("relations")
    assert reply.status == 200
    await listeners_done()
    every = row_texts(modal)
    assert every and {text.split(" · ")[-2] for text in every} <= {ingram, pax8}  # "... · <source> · 96%"
    select = modal.element(LinkActionId.RELATIONS_SOURCE)

    await modal.pick(LinkActionId.RELATIONS_SOURCE, next(o for o in select["options"] if o["value"] == "pax8"))

    assert_valid_view(modal.top)
    only_pax8 = row_texts(modal)
    assert only_pax8 and {text.split(" · ")[-2] for text in only_pax8} == {pax8}
    assert modal.element(LinkActionId.RELATIONS_SOURCE)["initial_option"]["value"] == "pax8"
