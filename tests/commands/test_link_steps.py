"""The link wizard's rules, step by step, on a small hand-made world: ranking and confidence, filters,
choices that became invalid, price sources (below-cost confirmation), who may link, altered state."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.commands.link.views import picker_block_id
from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.links import link_resource
from bot.db.models import (
    AuditEvent,
    ContractStatus,
    PriceSourceKind,
    PriceSourceSetting,
    PsaContract,
    PsaService,
    ResourceLink,
)
from bot.services.link_choices import Level, Picks
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId
from bot.slack.modal_state import TAMPERED, seal_state
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    BILLING_CHANNEL,
    DANA,
    LEE,
    MORGAN,
    Modal,
    assert_valid_view,
    ephemeral_texts,
    failed_calls,
    messages_in,
    option_named,
    option_texts,
    slack,  # noqa: F401 - the fixture
    small_world,
    start_app,
    walk_to_price,
)


@pytest.fixture
async def app(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    return recorder, context, sender, world


async def links(context) -> list[tuple[int, int]]:
    async with context.sessions() as session:
        return [(link.resource_id, link.psa_service_id) for link in await session.scalars(select(ResourceLink))]


async def test_options_put_the_likely_match_first_with_its_confidence(app):
    recorder, _, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link zenith")
    await listeners_done()
    assert modal.is_open

    by_hint = await modal.options(LinkActionId.PICK_COMPANY)  # nothing typed: ranked by `[name]`
    assert option_texts(by_hint)[0].startswith("Zenith Labs LLC · ")
    typed = await modal.options(LinkActionId.PICK_COMPANY, "acm")  # a fragment counts
    assert option_texts(typed) == ["Acme Mfg. Inc. · 90%"]  # Zenith has too little to do with "acm"
    await modal.pick(LinkActionId.PICK_COMPANY, typed.json["options"][0])

    psa = await modal.options(LinkActionId.PICK_PSA_COMPANY)  # ranked by "Acme Mfg. Inc."
    texts = option_texts(psa)
    assert texts == ["Acme Co. · 95%", "Acme Plumbing · 58%", "Zenith Laboratories · 32%", "Apex Corporation · 18%"]
    assert all(len(text) <= 75 for text in texts)
    zen = await modal.options(LinkActionId.PICK_PSA_COMPANY, "zen lab")
    assert option_texts(zen)[0].startswith("Zenith Laboratories · ")
    assert failed_calls(recorder) == []


async def test_changing_an_upper_pick_forgets_the_ones_below(app):
    recorder, _, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    assert modal.has(LinkActionId.PRICE_KIND)
    psa_block = modal.block_id(LinkActionId.PICK_PSA_COMPANY)

    zenith = option_named(await modal.options(LinkActionId.PICK_COMPANY, "zenith"), "Zenith Labs LLC")
    await modal.pick(LinkActionId.PICK_COMPANY, zenith)

    assert modal.has(LinkActionId.PICK_PSA_COMPANY) and not modal.has(LinkActionId.PICK_SUBSCRIPTION)
    assert not modal.has(LinkActionId.PRICE_KIND)
    assert modal.block_id(LinkActionId.PICK_PSA_COMPANY) != psa_block  # a new block: Slack drops the old pick
    assert "initial_option" not in modal.element(LinkActionId.PICK_PSA_COMPANY)
    assert (await modal.options(LinkActionId.PICK_SUBSCRIPTION)).json["options"] == []  # no subscription picked


async def test_filters_show_expired_contracts_and_linked_resources(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    async with context.sessions() as session:
        await link_resource(session=session, resource_id=world.teams, service_id=world.teams_service, actor="U0X")
        await session.commit()
    await sender.slash_command("link")
    await walk_to_price(modal, world)

    assert [t.split(" · ")[0] for t in option_texts(await modal.options(LinkActionId.PICK_CONTRACT))] == [
        "M365 Business Standard"]
    assert option_texts(await modal.options(LinkActionId.PICK_RESOURCE)) == ["Exchange Online (Plan 1)"]
    await modal.click(LinkActionId.FILTERS, selected_options=["show_expired", "show_linked"])

    contracts = option_texts(await modal.options(LinkActionId.PICK_CONTRACT))
    assert any(t.startswith("M365 Business Standard 2024 · ") and t.endswith(" · ended 2024-12-31")
               for t in contracts)
    assert "Microsoft Teams Essentials · linked" in option_texts(await modal.options(LinkActionId.PICK_RESOURCE))
    assert any(t.startswith("Office 365 E1 (old) · expired")
               for t in option_texts(await modal.options(LinkActionId.PICK_SUBSCRIPTION)))
    assert modal.has(LinkActionId.PRICE_KIND), "the picks survive a filter change"
    # picking a linked resource is possible with the filter on, and the dialog says why it will not do
    await modal.pick(LinkActionId.PICK_RESOURCE, option_named(await modal.options(LinkActionId.PICK_RESOURCE),
                                                              "Microsoft Teams"))
    assert "this resource already feeds Teams Essentials" in modal.texts()


async def test_choices_that_became_invalid_are_answered_on_their_picker(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    async with context.sessions() as session:  # meanwhile someone links Exchange elsewhere
        other = PsaService(contract_id=world.contract, psa="autotask", external_id="V-9", name="Exchange (old SKU)",
                           units=2)
        session.add(other)
        await session.flush()
        await link_resource(session=session, resource_id=world.exchange, service_id=other.id, actor="U0X")
        await session.commit()

    reply = await modal.submit()

    assert reply.json["response_action"] == "errors" and reply.problems == []
    resource_block = modal.block_id(LinkActionId.PICK_RESOURCE)
    assert reply.json["errors"] == {
        resource_block: "this resource already feeds Exchange (old SKU); unlink it first or pick another"}
    assert modal.is_open

    async with context.sessions() as session:  # the contract ends, and the service goes away
        await session.execute(ResourceLink.__table__.delete())  # the subscription stays linked to the contract
        contract = await session.get(PsaContract, world.contract)
        contract.status = ContractStatus.expired
        await session.commit()
    reply = await modal.submit()
    assert list(reply.json["errors"]) == [modal.block_id(LinkActionId.PICK_CONTRACT)]
    assert reply.json["errors"][modal.block_id(LinkActionId.PICK_CONTRACT)] == (
        "contract M365 Business Standard has the status expired; renew it in the PSA or unlink the subscription first")

    async with context.sessions() as session:
        contract = await session.get(PsaContract, world.contract)
        contract.status = ContractStatus.active
        service = await session.get(PsaService, world.exchange_service)
        service.removed_at = context.clock()
        await session.commit()
    reply = await modal.submit()
    assert reply.json["errors"] == {modal.block_id(LinkActionId.PICK_SERVICE): "that service is no longer there"}
    assert await links(context) == []
    assert messages_in(recorder, BILLING_CHANNEL) == []


async def test_price_source_inputs_are_checked_per_field(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)

    reply = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.marketplace_cost_markup,
                                LinkBlockId.CUSTOM_COST: "twelve"})
    assert reply.json["errors"] == {
        LinkBlockId.MARKUP: "a markup price source needs the markup %",
        LinkBlockId.CUSTOM_COST: "the unit cost: 'twelve' is not a number; write it like 12.50"}
    reply = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.custom, LinkBlockId.CUSTOM_PRICE: "NaN"})
    assert reply.json["errors"] == {
        LinkBlockId.CUSTOM_PRICE: "the unit price: 'NaN' is not a number; write it like 12.50"}
    reply = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.marketplace_cost_markup,
                                LinkBlockId.MARKUP: "-150"})
    assert reply.json["errors"] == {LinkBlockId.MARKUP: "the markup must be from -100 up to 1000, not -150"}
    assert await links(context) == []

    reply = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.marketplace_cost_markup,
                                LinkBlockId.MARKUP: "25"})
    assert reply.json == {"response_action": "clear"}
    async with context.sessions() as session:
        setting = await session.scalar(select(PriceSourceSetting))
        assert (setting.kind, setting.markup_percent, setting.updated_by) == (
            PriceSourceKind.marketplace_cost_markup, Decimal("25"), DANA)
    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    text = messages_in(recorder, BILLING_CHANNEL)[0]["text"]
    assert text.startswith("Ingram Micro Cloud Marketplace 8 · Autotask 1 → not reconciled yet: "
                           "no marketplace and PSA chosen yet")


async def test_a_custom_cost_below_the_psa_cost_asks_first(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)

    reply = await modal.submit({LinkBlockId.PRICE_KIND: PriceSourceKind.custom, LinkBlockId.CUSTOM_PRICE: "9.00",
                                LinkBlockId.CUSTOM_COST: "$5.00"})

    assert reply.json["response_action"] == "push" and reply.problems == []
    assert modal.top["callback_id"] == LinkCallbackId.BELOW_COST
    assert "custom cost *5.00* is below the PSA's current cost *6.40*" in modal.texts()
    assert len(recorder.open_views(DANA)) == 2 and await links(context) == []

    confirmed = await modal.submit()

    assert confirmed.json == {"response_action": "clear"} and not modal.is_open
    assert await links(context) == [(world.exchange, world.exchange_service)]
    async with context.sessions() as session:
        setting = await session.scalar(select(PriceSourceSetting))
        assert (setting.custom_price, setting.custom_cost, setting.below_cost_confirmed) == (
            Decimal("9.00"), Decimal("5.00"), True)
        actions = [e.action for e in await session.scalars(select(AuditEvent).where(AuditEvent.actor == DANA))]
        assert actions == ["link_company", "link_subscription", "link_resource", "set_price_source"]
    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    assert failed_calls(recorder) == []


@pytest.mark.parametrize("subcommand", ["link", "link acme", "unlink", "relations"])
async def test_someone_outside_the_billing_team_is_refused_before_any_modal(aiohttp_client, slack, tmp_path,  # noqa: F811
                                                                           database_url, subcommand):
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url,
                                      SEATSYNC_BILLING_TEAM="S0BILLING01")
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=[MORGAN]), actor="test")
        await session.commit()

    reply = await sender.slash_command(subcommand, user_id=LEE, channel_id="C0GENERAL01")

    assert reply.status == 200
    await listeners_done()
    assert ephemeral_texts(recorder, LEE)
    refusal, = ephemeral_texts(recorder, LEE)
    assert refusal == f"Only the billing team can do that. Ask one of: <@{MORGAN}>, <!subteam^S0BILLING01>."
    assert recorder.calls("views.open") == []


async def test_a_member_removed_while_the_modal_was_open_cannot_save(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=[MORGAN]), actor="test")
        await session.commit()

    reply = await modal.submit()

    assert reply.json["response_action"] == "update" and reply.problems == []
    assert "Only the billing team can do that" in modal.texts()
    assert await links(context) == []


async def test_altered_private_metadata_saves_nothing(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    stored = recorder.views[modal.top["id"]]
    genuine = stored.body["private_metadata"]
    body, _, signature = genuine.rpartition(".")
    stored.body["private_metadata"] = body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB") + "." + signature

    reply = await modal.submit()
    assert reply.json == {"response_action": "errors",
                          "errors": {modal.block_id(LinkActionId.PICK_COMPANY): TAMPERED}}
    assert (await modal.options(LinkActionId.PICK_SERVICE)).json == {"options": []}

    # a genuine state from another dialog is no better, nor are ids sealed with another key
    stored.body["private_metadata"] = seal_state(context, "unlink_confirm", {"u": DANA, "ch": BILLING_CHANNEL, "l": 1})
    assert (await modal.submit()).json["errors"] == {modal.block_id(LinkActionId.PICK_COMPANY): TAMPERED}
    assert await links(context) == []

    stored.body["private_metadata"] = genuine + "x"
    await modal.pick(LinkActionId.PICK_COMPANY, {"text": {"type": "plain_text", "text": "Acme"},
                                                 "value": str(world.acme)})
    assert modal.top["callback_id"] == LinkCallbackId.REFUSED and TAMPERED in modal.texts()
    assert failed_calls(recorder) == []


async def test_picker_block_ids_follow_the_picks_above():
    picks = Picks(company=4, psa_company=9, subscription=2)
    assert picker_block_id(Level.company, picks) == "seats_link_pick_company_0"
    assert picker_block_id(Level.contract, picks) == "seats_link_pick_contract_4.9.2"
    assert picker_block_id(Level.contract, picks.choose(Level.psa_company, 5)) == "seats_link_pick_contract_4.5.None"


async def test_a_retried_slash_command_opens_one_modal(app):
    recorder, _, sender, _ = app
    first = await sender.slash_command("link")
    again = await sender.redeliver(first, retry_num=1, retry_reason="http_timeout")

    assert (first.status, again.status) == (200, 200)
    await listeners_done()
    assert recorder.calls("views.open")
    await sender.slash_command("help")
    await listeners_done()
    assert ephemeral_texts(recorder, DANA)
    assert len(recorder.calls("views.open")) == 1
    assert_valid_view(recorder.open_views(DANA)[0])


async def test_picking_writes_nothing(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    async with context.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert await links(context) == []


async def test_help_lists_the_link_family_and_stray_words_get_usage(app):
    recorder, _, sender, _ = app
    await sender.slash_command("help")
    await listeners_done()
    assert ephemeral_texts(recorder, DANA)
    help_text = ephemeral_texts(recorder, DANA)[0]
    assert "/seats link [name] - link a marketplace resource" in help_text
    assert "/seats unlink - " in help_text and "/seats relations - " in help_text

    stray = await sender.slash_command("unlink everything")
    assert "I don't know `/seats unlink everything`" in stray.json["text"]
    assert recorder.calls("views.open") == []
