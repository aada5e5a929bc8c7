"""Ids that come back from Slack (button values, picked options, pager values) are read within the id columns'
range: a 23-digit id, or a digit Python's isdigit() takes ("²"), is "not one of ours", answered in words,
never an overflow or a ValueError in the log. Signed requests into the real app; Slack played by the simulator."""

from __future__ import annotations

import logging

import pytest

from bot.commands.relations.views import CURRENT
from bot.slack.ids import ConfigId, LinkActionId, LinkBlockId, PolicyId
from tests.bolt_listeners import listeners_done
from tests.commands import test_config as config_harness
from tests.commands.link_setup import (
    BILLING_CHANNEL,
    DANA,
    Modal,
    ephemeral_texts,
    slack,  # noqa: F401 - the fixture
    small_world,
    start_app,
)

HUGE = "12345678901234567890123"  # 23 digits
NOT_ASCII = "²"  # str.isdigit() says yes, int() says no


def option(value: str) -> dict:
    return {"text": {"type": "plain_text", "text": "Forged", "emoji": True}, "value": value}


def exceptions_logged(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.fixture
async def app(aiohttp_client, slack, tmp_path, database_url, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    world = await small_world(context.sessions)
    return recorder, context, sender, world


@pytest.mark.parametrize("action, answer", [("seats_approval_approve", "That button carries no change to approve."),
                                            ("seats_approval_reject", "That button carries no change."),
                                            ("seats_approval_edit", "That button carries no change.")])
@pytest.mark.parametrize("value", [HUGE, NOT_ASCII])
async def test_an_approval_button_with_an_id_out_of_range_is_answered(app, caplog, action, answer, value):
    recorder, _, sender, _ = app
    ts = recorder.add_user_message(BILLING_CHANNEL, DANA, "held changes")

    reply = await sender.block_actions(f"{action}:1", message=ts, value=value)

    assert reply.status == 200
    await listeners_done()
    assert ephemeral_texts(recorder, DANA)
    assert ephemeral_texts(recorder, DANA) == [answer]
    assert exceptions_logged(caplog) == []


@pytest.mark.parametrize("value", [HUGE, NOT_ASCII])
async def test_the_unlink_dialog_refuses_a_relation_id_out_of_range(app, caplog, value):
    recorder, _, sender, _ = app
    modal = Modal(recorder, sender)
    await sender.slash_command("unlink")
    await listeners_done()
    assert modal.is_open

    reply = await modal.submit({LinkBlockId.UNLINK_PICK: option(value)})

    assert reply.json == {"response_action": "errors",
                          "errors": {LinkBlockId.UNLINK_PICK: "that relation is not there any more; pick another"}}
    assert exceptions_logged(caplog) == []


@pytest.mark.parametrize("value", [HUGE, NOT_ASCII])
async def test_a_wizard_pick_out_of_range_is_no_pick(app, caplog, value):
    recorder, _, sender, _ = app
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await listeners_done()
    assert modal.is_open

    await modal.pick(LinkActionId.PICK_COMPANY, option(value))

    assert modal.has(LinkActionId.PICK_COMPANY) and not modal.has(LinkActionId.PICK_PSA_COMPANY)
    assert exceptions_logged(caplog) == []


async def test_a_pager_value_out_of_range_keeps_the_page(app, caplog):
    recorder, _, sender, _ = app
    modal = Modal(recorder, sender)
    await sender.slash_command("relations")
    await listeners_done()
    assert modal.is_open and modal.top["blocks"][0]["text"]["text"] != "Loading…"
    await modal.click(LinkActionId.RELATIONS_MODE, value=CURRENT)  # the mode that pages with an SQL offset

    await modal.click(LinkActionId.RELATIONS_NEXT, value=HUGE)

    assert "page 1 of 1" in modal.top["blocks"][0]["text"]["text"]
    assert exceptions_logged(caplog) == []


@pytest.mark.parametrize("value", [HUGE, NOT_ASCII])
async def test_a_policy_company_pick_out_of_range_is_ignored(app, caplog, value):
    recorder, _, sender, _ = app
    modal = Modal(recorder, sender)
    await sender.slash_command("policy acme mfg")  # opens at the company scope, with the company picker
    await listeners_done()
    assert modal.is_open and modal.has(PolicyId.COMPANY)
    shown = modal.top["hash"]

    reply = await sender.block_actions(PolicyId.COMPANY, view=modal.top["id"], selected_option=option(value))

    assert reply.status == 200
    await listeners_done()
    assert any("a policy modal pick with an unknown value" in r.getMessage() for r in caplog.records)
    assert modal.top["hash"] == shown  # nothing re-rendered: the pick was not one the modal offered
    assert exceptions_logged(caplog) == []


async def test_a_config_number_in_other_digits_is_not_a_whole_number(app, caplog):
    recorder, _, sender, _ = app

    await config_harness.open_config(sender, recorder)
    reply = await config_harness.submit(sender, recorder, {ConfigId.DIGEST_HOUR_BLOCK: NOT_ASCII})

    assert reply.json["errors"][ConfigId.DIGEST_HOUR_BLOCK] == f"{NOT_ASCII!r} is not a whole number."
    assert exceptions_logged(caplog) == []
