"""Slack's Block Kit limits with 5,000 marketplace companies: every options answer, modal and message the
link family sends is checked by the simulator (100 options, 75-character option texts, 100 blocks a
modal, 10 options a checkbox group, 50 blocks a message, 3,000-character private_metadata)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.commands.relations.views import rows_block_id
from bot.db.links import link_resource
from bot.db.models import MarketplaceCompany, PsaService, ResourceLink
from bot.slack.ids import LinkActionId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    DANA,
    Modal,
    assert_valid_message,
    assert_valid_view,
    failed_calls,
    option_texts,
    slack,  # noqa: F401 - the fixture
    start_app,
)
from tests.many_companies import insert_many_companies

COMPANIES = 5000
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff " * 6 + "Holdings Inc."


@pytest.fixture
async def big(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:
        many = await insert_many_companies(session=session, count=COMPANIES, now=context.clock())
        session.add(MarketplaceCompany(marketplace="ingram", external_id="long", name=LONG_NAME[:255]))
        await session.commit()
    if context.engine.dialect.name == "postgresql":
        # what autovacuum does within a minute of a bulk load: with row-level security's tenant predicate on every
        # joined table, tables never analyzed get nested-loop plans, and the unlink picker's query misses Slack's 3 s
        async with context.engine.connect() as connection:
            await connection.exec_driver_sql("ANALYZE")
    return recorder, context, sender, many


def assert_options_within_limits(reply) -> None:
    assert reply.problems == []
    assert 0 < len(reply.json["options"]) <= 100
    assert all(len(text) <= 75 for text in option_texts(reply))


async def test_the_wizard_with_5000_companies(big):
    recorder, context, sender, many = big
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await listeners_done()
    assert modal.is_open

    for typed in ("", "a", "acme", "wolfeschlegel", many.marketplace_names[1234][:12]):
        assert_options_within_limits(await modal.options(LinkActionId.PICK_COMPANY, typed))
    long_option = option_texts(await modal.options(LinkActionId.PICK_COMPANY, "wolfeschlegelsteinhausen"))[0]
    assert long_option.startswith("Wolfeschlegel") and "…" in long_option and long_option.endswith("%")
    wanted = many.marketplace_names[1234]
    found = await modal.options(LinkActionId.PICK_COMPANY, wanted)
    assert option_texts(found)[0].startswith(wanted[:40])
    await modal.pick(LinkActionId.PICK_COMPANY, found.json["options"][0])

    psa = await modal.options(LinkActionId.PICK_PSA_COMPANY)
    assert_options_within_limits(psa)
    assert any(text.startswith(many.psa_names[1234][:40]) for text in option_texts(psa)[:3])
    for action_id in (LinkActionId.PICK_PSA_COMPANY, LinkActionId.PICK_SUBSCRIPTION, LinkActionId.PICK_CONTRACT,
                      LinkActionId.PICK_RESOURCE, LinkActionId.PICK_SERVICE):
        reply = await modal.options(action_id)
        assert_options_within_limits(reply)
        await modal.pick(action_id, reply.json["options"][0])
    assert modal.has(LinkActionId.PRICE_KIND)
    assert len(modal.top["blocks"]) <= 100 and len(modal.top["private_metadata"]) <= 3000
    assert_valid_view(modal.top)
    assert failed_calls(recorder) == []


async def test_relations_and_unlink_with_5000_companies(big):
    recorder, context, sender, _ = big
    modal = Modal(recorder, sender)
    await sender.slash_command("relations")
    await listeners_done()
    assert modal.is_open and modal.top["blocks"][0]["text"]["text"] != "Loading…"

    header = modal.top["blocks"][0]["text"]["text"]
    assert "page 1 of" in header and int(header.split(" in all")[0].rsplit(" ", 1)[1]) > 4000
    groups = [b for b in modal.top["blocks"] if b["type"] == "input"]
    assert [len(b["element"]["options"]) for b in groups] == [10, 10]
    assert len(modal.top["blocks"]) <= 100
    assert_valid_view(modal.top)
    await modal.click(LinkActionId.RELATIONS_NEXT)
    assert_valid_view(modal.top)

    await modal.submit({rows_block_id(0, page=1): [str(i) for i in range(10)],
                        rows_block_id(1, page=1): [str(i) for i in range(10, 20)]})
    await listeners_done()
    assert recorder.ephemeral_messages(DANA)
    summary = recorder.ephemeral_messages(DANA)[0].message
    assert summary["text"] == "Set 20 of 20 relations."
    assert_valid_message(summary["blocks"])

    async with context.sessions() as session:  # enough relations that the unlink picker must search
        linked = set(await session.scalars(select(ResourceLink.psa_service_id)))
        services = [s for s in await session.scalars(select(PsaService).order_by(PsaService.id).limit(400))
                    if s.id not in linked][:150]
        for service in services:
            resource_id = int(service.external_id.removeprefix("ps-")) + 1
            await link_resource(session=session, resource_id=resource_id, service_id=service.id, actor="U0SETUP")
        await session.commit()
    unlink = Modal(recorder, sender)
    await sender.slash_command("unlink")
    await listeners_done()
    assert unlink.is_open and unlink.top["callback_id"] == "seats_unlink_pick"
    everything = await unlink.options(LinkActionId.UNLINK_PICK)
    assert len(everything.json["options"]) == 100  # of 170: the first hundred by name, search for the rest
    for typed in ("microsoft", "exchange online", "allen"):
        assert_options_within_limits(await unlink.options(LinkActionId.UNLINK_PICK, typed))
    assert failed_calls(recorder) == []
