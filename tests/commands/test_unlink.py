"""`/seats unlink` and the Unlink button, end to end: pick, confirm, audited, unsent changes cancelled."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.db.app_settings import AppSettings, save_app_settings
from bot.db.links import link_resource, unlink_resource
from bot.db.models import Adjustment, AdjustmentStatus, AdjustmentTrigger, AuditEvent, ResourceLink
from bot.slack.ids import LinkActionId, LinkBlockId, LinkCallbackId
from bot.slack.modal_state import TAMPERED
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    BILLING_CHANNEL,
    DANA,
    LEE,
    Modal,
    assert_valid_message,
    ephemeral_texts,
    failed_calls,
    messages_in,
    option_texts,
    slack,  # noqa: F401 - the fixture
    small_world,
    start_app,
    walk_to_price,
)

LABEL = "Acme Mfg. Inc.: Exchange Online (Plan 1) → Exchange Online (Plan 1)"


@pytest.fixture
async def app(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    return recorder, context, sender, world


async def linked(context, world) -> int:
    async with context.sessions() as session:
        link = await link_resource(session=session, resource_id=world.exchange, service_id=world.exchange_service,
                                   actor="U0SOMEONE")
        for n, status in enumerate((AdjustmentStatus.pending, AdjustmentStatus.posting, AdjustmentStatus.failed,
                                    AdjustmentStatus.posted)):
            session.add(Adjustment(idempotency_key=f"ss-test-{n}", resource_link_id=link.id, resource_id=world.exchange,
                                   psa_service_id=world.exchange_service, psa="autotask", units_from=1,
                                   units_to=8, delta=7, effective_date=date(2026, 3, 1), status=status,
                                   trigger=AdjustmentTrigger.link))
        await session.commit()
        return link.id


async def test_pick_confirm_unlink_and_the_unsent_changes_are_cancelled(app):
    recorder, context, sender, world = app
    link_id = await linked(context, world)
    modal = Modal(recorder, sender)

    await sender.slash_command("unlink")
    await listeners_done()
    assert modal.is_open
    assert option_texts(await modal.options(LinkActionId.UNLINK_PICK)) == [LABEL]
    typed = await modal.options(LinkActionId.UNLINK_PICK, "exchange")
    assert option_texts(typed)[0].startswith(LABEL[:40]) and option_texts(typed)[0].endswith("%")
    assert typed.json["options"][0]["description"]["text"] == "Acme Co. · M365 Business Standard"

    confirm = await modal.submit({LinkBlockId.UNLINK_PICK: typed.json["options"][0]})
    assert confirm.json["response_action"] == "update" and confirm.problems == []
    assert modal.top["callback_id"] == LinkCallbackId.UNLINK_CONFIRM
    assert "Unlink *Exchange Online (Plan 1)* (Acme Mfg. Inc., Microsoft 365 Business Standard)" in modal.texts()

    done = await modal.submit()

    assert done.json is None and not modal.is_open
    await listeners_done()
    assert ephemeral_texts(recorder, DANA)
    assert ephemeral_texts(recorder, DANA) == [f"Unlinked {LABEL}. SeatSync no longer syncs it."]
    async with context.sessions() as session:
        assert list(await session.scalars(select(ResourceLink))) == []
        adjustments = {a.idempotency_key: (a.status, a.resource_link_id)
                       for a in await session.scalars(select(Adjustment))}
        assert adjustments == {"ss-test-0": (AdjustmentStatus.superseded, None),
                               "ss-test-1": (AdjustmentStatus.posting, None),  # its outcome is the poster's to settle
                               "ss-test-2": (AdjustmentStatus.superseded, None),
                               "ss-test-3": (AdjustmentStatus.posted, None)}
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "unlink_resource"))
        assert (audit.actor, audit.subject_id, audit.before["changes_cancelled"]) == (DANA, str(link_id), 2)
    assert failed_calls(recorder) == []


async def test_a_relation_removed_meanwhile_is_said_plainly(app):
    recorder, context, sender, world = app
    link_id = await linked(context, world)
    modal = Modal(recorder, sender)
    await sender.slash_command("unlink")
    await listeners_done()
    assert modal.is_open
    option = (await modal.options(LinkActionId.UNLINK_PICK)).json["options"][0]
    await modal.submit({LinkBlockId.UNLINK_PICK: option})
    async with context.sessions() as session:
        await unlink_resource(session=session, resource_link_id=link_id, actor="U0SOMEONE")
        await session.commit()

    reply = await modal.submit()

    assert reply.json["response_action"] == "update"
    assert f"Nothing was unlinked: there is no relation #{link_id} (it may have been removed already)." \
        in modal.texts()


async def test_an_option_value_that_is_no_relation_is_an_error_on_the_picker(app):
    recorder, context, sender, world = app
    await linked(context, world)
    modal = Modal(recorder, sender)
    await sender.slash_command("unlink")
    await listeners_done()
    assert modal.is_open

    reply = await modal.submit({LinkBlockId.UNLINK_PICK: {"text": {"type": "plain_text", "text": "x"},
                                                          "value": "999"}})

    assert reply.json == {"response_action": "errors",
                          "errors": {LinkBlockId.UNLINK_PICK: "that relation is not there any more; pick another"}}


async def test_an_altered_confirmation_unlinks_nothing(app):
    recorder, context, sender, world = app
    await linked(context, world)
    modal = Modal(recorder, sender)
    await sender.slash_command("unlink")
    await listeners_done()
    assert modal.is_open
    await modal.submit({LinkBlockId.UNLINK_PICK: (await modal.options(LinkActionId.UNLINK_PICK)).json["options"][0]})
    stored = recorder.views[modal.top["id"]]
    stored.body["private_metadata"] = stored.body["private_metadata"].replace(".", "x.", 1)

    reply = await modal.submit()

    assert reply.json["response_action"] == "update" and TAMPERED in modal.texts()
    async with context.sessions() as session:
        assert len(list(await session.scalars(select(ResourceLink)))) == 1


async def test_the_unlink_button_on_a_link_result(app):
    recorder, context, sender, world = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await walk_to_price(modal, world)
    await modal.submit()
    await listeners_done()
    assert messages_in(recorder, BILLING_CHANNEL)
    result_ts = recorder.channel_messages(BILLING_CHANNEL)[-1]["ts"]
    posted, = messages_in(recorder, BILLING_CHANNEL)
    assert_valid_message(posted["blocks"])
    button = posted["blocks"][-1]["elements"][0]
    assert (button["action_id"], button["style"], button["confirm"]["confirm"]["text"]) == (
        LinkActionId.UNLINK_BUTTON, "danger", "Unlink")
    async with context.sessions() as session:
        await save_app_settings(session=session, settings=AppSettings(billing_team=[DANA]), actor="test")
        await session.commit()

    await sender.block_actions(LinkActionId.UNLINK_BUTTON, message=result_ts, user_id=LEE)
    await listeners_done()
    assert ephemeral_texts(recorder, LEE)
    assert ephemeral_texts(recorder, LEE) == [f"Only the billing team can do that. Ask one of: <@{DANA}>."]

    forged = button["value"].rpartition(".")[0] + "." + "0" * 32
    await sender.block_actions(LinkActionId.UNLINK_BUTTON, message=result_ts, value=forged, user_id=DANA)
    await listeners_done()
    assert ephemeral_texts(recorder, DANA)
    assert ephemeral_texts(recorder, DANA)[-1] == "This button was altered, so nothing was unlinked."
    async with context.sessions() as session:
        link_id = await session.scalar(select(ResourceLink.id))
    assert link_id is not None

    await sender.block_actions(LinkActionId.UNLINK_BUTTON, message=result_ts, user_id=DANA)
    await listeners_done()
    assert len(ephemeral_texts(recorder, DANA)) == 2
    assert ephemeral_texts(recorder, DANA)[-1] == f"Unlinked {LABEL}. SeatSync no longer syncs it."
    await sender.block_actions(LinkActionId.UNLINK_BUTTON, message=result_ts, user_id=DANA)
    await listeners_done()
    assert len(ephemeral_texts(recorder, DANA)) == 3
    assert ephemeral_texts(recorder, DANA)[-1] == (
        f"Nothing was unlinked: there is no relation #{link_id} (it may have been removed already).")
    async with context.sessions() as session:
        assert await session.scalar(select(ResourceLink.id)) is None
    assert failed_calls(recorder) == []
